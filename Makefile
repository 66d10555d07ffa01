# Convolutions, Hands-On. On a fresh machine:  make book  then  make test.
PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
export PATH := $(abspath $(BIN)):$(PATH)

.PHONY: book test test-fast release clean env sandbox lab

env: $(STAMP)

$(STAMP): requirements.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	$(BIN)/python -m pip install --quiet --no-deps -e .
	# jupyter-events asks for jsonschema[format-nongpl], whose rfc3987-syntax compiles an IRI
	# grammar whenever jsonschema is imported: 1.2 s in every nbgrader, Jupyter and grading
	# process. Nothing here checks the "iri" format; jsonschema skips it when it is absent.
	$(BIN)/python -m pip uninstall --quiet --yes rfc3987-syntax
	touch $@

book: $(STAMP)
	$(BIN)/jupyter-book build -W -n --keep-going .
	$(BIN)/python -c "from autograder.lab import write_book_config; write_book_config()"
	touch $(BUILT)
	@echo "The book is in _build/html: open _build/html/index.html in a browser."

# What `make test` needs built: the book, rebuilt when a file the build reads is newer than the
# last build (Sphinx's own check, which would find nothing to do, takes 8 s to start).
BUILT := _build/html/.built
BOOK_INPUTS := _config.yml _toc.yml autograder/lab.py \
	$(shell find book -type f -not -path '*/__pycache__/*' -not -name '*.pyc')
$(BUILT): $(STAMP) $(BOOK_INPUTS)
	$(MAKE) --no-print-directory book

# Test files run side by side (pytest-xdist, one file per worker: a file's fixtures are built
# once): the slow files mostly wait on sandboxes, sleeps and time limits. They start in the
# order tests/conftest.py gives (LONGEST_FIRST); xdist would otherwise start the files with the
# most tests first, and the longest ones last. Three workers on this 2-core machine
# (benchmarks/suite_cost.sh, pairs run back to back): four took 1.16-1.18 times the CPU time and
# the wall time of three; two took 0.92-0.97 times the CPU time but 1.00-1.05 times the wall time
# (a core stands idle while a worker waits on a test's sleeps and time limits).
XDIST := -n 3 --dist loadfile --no-loadscope-reorder
# The environment may forbid .pyc files (PYTHONDONTWRITEBYTECODE); the tests allow them, so that
# the hundred-odd Python processes they start (graders, sandboxes, validate) import the library
# compiled once, and pytest keeps its rewritten test modules. (__pycache__ is ignored by git.)
PYTEST := PYTHONDONTWRITEBYTECODE= $(BIN)/python -m pytest

test: $(BUILT) sandbox
	$(PYTEST) $(XDIST)

# The grader runs learner notebooks in bubblewrap; install it where we can (root with apt-get).
sandbox:
	@command -v bwrap >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq bubblewrap >/dev/null 2>&1 || \
	    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq bubblewrap >/dev/null; }; \
	  else echo "The grader's tests need bubblewrap: sudo apt-get install bubblewrap" >&2; exit 1; fi; }

# The edit-test loop: everything but the slow tests (nbgrader, browser, sandboxes, Dask, book code).
test-fast: $(STAMP)
	$(PYTEST) -n 2 --dist loadfile --no-loadscope-reorder -m "not slow"

# JupyterLab for learners, on exercises/, without nbgrader's instructor tools.
lab: $(STAMP)
	$(BIN)/python -m autograder lab

release: $(STAMP)
	$(BIN)/python -m autograder release

clean:
	rm -rf _build
