"""`make test` builds the book before the tests only when it has to (README, "Set-up").

Asked with ``make -n`` (print the commands, run none), against a build stamp of the test's own:
the book is built when the stamp is missing or older than a file the book is built from, and
not otherwise. The environment's stamp counts as old (``-o``), whatever state it is in here.
"""
import shutil
import subprocess

import pytest

from tests.conftest import REPO

pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="needs make")

BUILD_COMMAND = "jupyter-book build"


def _plan(built, *options):
    """The commands `make test` would run, with ``built`` as the book's build stamp."""
    proc = subprocess.run(["make", "-n", "-o", ".venv/.installed", *options, "test",
                           f"BUILT={built}"], cwd=REPO, capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def test_a_book_never_built_is_built_first(tmp_path):
    plan = _plan(tmp_path / ".built")
    assert BUILD_COMMAND in plan
    assert plan.index(BUILD_COMMAND) < plan.index("pytest")


def test_an_up_to_date_book_is_not_built_again(tmp_path):
    built = tmp_path / ".built"
    built.touch()
    plan = _plan(built)
    assert BUILD_COMMAND not in plan and "pytest" in plan


@pytest.mark.parametrize("changed", ["book/intro.md", "book/figures/common.py", "_config.yml",
                                     "_toc.yml", "book/references.bib",
                                     "autograder/lab.py"])
def test_a_changed_source_of_the_book_builds_it_again(tmp_path, changed):
    assert (REPO / changed).is_file(), changed
    built = tmp_path / ".built"
    built.touch()                        # newer than every file of the repository
    plan = _plan(built, "-W", changed)   # -W: make takes this one as modified after it
    assert BUILD_COMMAND in plan, changed
