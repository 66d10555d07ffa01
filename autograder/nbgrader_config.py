"""The course's nbgrader configuration, in one place. Imports neither torch nor the check library.

Two uses:

* this package's own commands (`release`, and `grade`, which calls nbgrader's API in-process to
  record assignments in the gradebook) call `configure` with their paths;
* an instructor's own nbgrader course gets the trusted grader with two lines in its
  ``nbgrader_config.py``::

      from autograder.nbgrader_config import use_trusted_grading
      use_trusted_grading(get_config())

  Stock ``nbgrader autograde`` then grades each notebook in the sandbox with the verdict outside
  the learner's process (`autograder.nbgrader_ext.TrustedGrading` instead of nbgrader's Execute),
  with seeds derived from the course secret, and ``nbgrader generate_feedback`` shows each test's
  message without hidden-test source or grader frames.
"""
from __future__ import annotations

import os
from pathlib import Path

from .install import PACKAGE

__all__ = ["REPO_ROOT", "DATA_DIR", "DEFAULT_GRADEBOOK", "CELL_TIMEOUT", "NOTEBOOK_BUDGET",
           "COURSE_ID",
           "configure", "use_trusted_grading", "alembic_in_process"]

REPO_ROOT = Path(__file__).resolve().parent.parent
COURSE_ID = PACKAGE       # the course is named as its package

# The instructor's data folder: gradebook (it stores every hidden test), course secret, grading
# state. Outside the repository that learners clone, outside every submission, and never visible
# inside the sandbox that runs learner code.
DATA_DIR = (Path(os.environ.get("XDG_DATA_HOME", Path.home() / ".local" / "share")) / COURSE_ID)
DEFAULT_GRADEBOOK = DATA_DIR / "gradebook.db"

# Seconds one learner cell may run during grading (a call of a learner function has its own,
# shorter limit per exercise).
CELL_TIMEOUT = 60
# Seconds one notebook may take in all, every cell and call of every learner process together
# (a complete solution takes 3 to 20 s; see benchmarks/notebook_budget.py).
NOTEBOOK_BUDGET = 120


def configure(c, *, root, gradebook, source=REPO_ROOT / "solutions", release=None):
    """Fill the traitlets config ``c`` for a course rooted at ``root`` (release and bookkeeping).

    Args:
        root: the course directory (release/, submitted/, autograded/, feedback/ live under it).
        gradebook: path of the SQLite gradebook.
        source: the nbgrader source notebooks (this repository's solutions/).
        release: where generate_assignment writes student versions (default root/release).
    """
    c.CourseDirectory.root = str(root)
    c.CourseDirectory.source_directory = str(source)
    c.CourseDirectory.release_directory = str(release or Path(root) / "release")
    c.CourseDirectory.db_url = f"sqlite:///{gradebook}"
    c.CourseDirectory.course_id = COURSE_ID
    c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback"]
    c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}


def alembic_in_process():
    """Make nbgrader's `Gradebook` read the revision it stamps a new gradebook with in this
    process, instead of running the ``alembic`` command (a subprocess that must be on PATH,
    seconds per gradebook): the answer is the head of nbgrader's own migration scripts, which
    alembic's API reads directly. Call before opening a `Gradebook`; idempotent."""
    import logging

    import nbgrader.api
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    def head():
        config = Config()
        config.set_main_option("script_location",
                               str(Path(nbgrader.__file__).parent / "alembic"))
        return ScriptDirectory.from_config(config).get_current_head()

    nbgrader.api.get_alembic_version = head
    logging.getLogger("alembic").setLevel(logging.WARNING)


def use_trusted_grading(c, *, sandboxed=True, timeout=CELL_TIMEOUT, secret=None):
    """Make stock ``nbgrader autograde``/``generate_feedback`` use the course's trusted grader.

    Autograde runs each notebook through `autograder.nbgrader_ext.TrustedGrading` (sandboxed
    learner process, verdict in nbgrader's process) instead of executing it in a kernel; hidden
    cases are seeded from ``secret`` (default: the course secret kept next to the gradebook,
    created on first use); feedback shows each test's message and hides hidden tests.
    """
    from nbconvert.preprocessors import ClearMetadataPreprocessor, CSSHTMLHeaderPreprocessor
    from nbgrader.preprocessors import (AssignLatePenalties, CheckCellMetadata,
                                        ClearHiddenTests, GetGrades, IgnorePattern,
                                        LimitOutput, SaveAutoGrades)

    from .nbgrader_ext import ConciseErrors, TrustedGrading

    c.TrustedGrading.sandboxed = sandboxed
    c.TrustedGrading.cell_timeout = float(timeout)
    if secret is not None:
        c.TrustedGrading.secret = secret
    c.OverwriteCells.add_missing_cells = True
    c.Autograde.autograde_preprocessors = [
        TrustedGrading, IgnorePattern, ClearMetadataPreprocessor, LimitOutput, SaveAutoGrades,
        AssignLatePenalties, CheckCellMetadata,
    ]
    c.GenerateFeedback.preprocessors = [GetGrades, ClearHiddenTests, ConciseErrors,
                                        CSSHTMLHeaderPreprocessor]
