# Convolutions, Hands-On. On a fresh machine:  make book  then  make test.
PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
export PATH := $(abspath $(BIN)):$(PATH)

.PHONY: book test release clean env

env: $(STAMP)

$(STAMP): requirements.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $@

book: $(STAMP)
	$(BIN)/jupyter-book build -W -n --keep-going .
	@echo "The book is in _build/html: open _build/html/index.html in a browser."

test: book
	$(BIN)/python -m pytest

release: $(STAMP)
	$(BIN)/python -m autograder release

clean:
	rm -rf _build
