"""The course's nbgrader configuration, applied by every command in `autograder.grading`.

nbgrader reads ``nbgrader_config.py`` from the directory it runs in; the grading commands write a
two-line one there that calls `configure`, so the whole configuration lives here, in one place.
"""
from __future__ import annotations

import os
from pathlib import Path

__all__ = ["REPO_ROOT", "DEFAULT_GRADEBOOK", "CELL_TIMEOUT", "configure"]

REPO_ROOT = Path(__file__).resolve().parent.parent

# The gradebook stores every hidden test: keep it in the instructor's data directory, outside the
# repository that learners clone and outside any submission folder.
DEFAULT_GRADEBOOK = (Path(os.environ.get("XDG_DATA_HOME", Path.home() / ".local" / "share"))
                     / "convolutions-hands-on" / "gradebook.db")

# Seconds one notebook cell may run during grading. Checks stop a learner's function after 10 s
# per call; this is the backstop for code outside functions and for loops that catch interrupts.
CELL_TIMEOUT = 60


def configure(c, *, root, gradebook, source=REPO_ROOT / "solutions", release=None,
              timeout=CELL_TIMEOUT, seed_salt=""):
    """Fill the traitlets config ``c`` for a course rooted at ``root``.

    Args:
        root: the course directory (submitted/, autograded/, feedback/ live under it).
        gradebook: path of the SQLite gradebook.
        source: the nbgrader source notebooks (this repository's solutions/).
        release: where generate_assignment writes student versions (default root/release).
        timeout: per-cell execution limit in seconds.
        seed_salt: a course secret mixed into each student's hidden-test seed.
    """
    from nbconvert.preprocessors import ClearMetadataPreprocessor, CSSHTMLHeaderPreprocessor
    from nbgrader.preprocessors import (AssignLatePenalties, CheckCellMetadata,
                                        ClearHiddenTests, GetGrades, IgnorePattern,
                                        LimitOutput, SaveAutoGrades)

    from .nbgrader_ext import ConciseErrors, GradingExecute

    c.CourseDirectory.root = str(root)
    c.CourseDirectory.source_directory = str(source)
    c.CourseDirectory.release_directory = str(release or Path(root) / "release")
    c.CourseDirectory.db_url = f"sqlite:///{gradebook}"
    c.CourseDirectory.course_id = "convolutions-hands-on"
    c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback"]

    c.Execute.timeout = timeout
    c.Execute.interrupt_on_timeout = True
    c.GradingExecute.seed_salt = seed_salt
    c.OverwriteCells.add_missing_cells = True
    c.Autograde.create_student = True
    c.Autograde.autograde_preprocessors = [
        GradingExecute, IgnorePattern, ClearMetadataPreprocessor, LimitOutput, SaveAutoGrades,
        AssignLatePenalties, CheckCellMetadata,
    ]
    # Feedback keeps each failure's message (the case, its seed, how to replay it) but neither
    # the hidden tests' source nor tracebacks, which would quote it.
    c.GenerateFeedback.preprocessors = [GetGrades, ClearHiddenTests, ConciseErrors,
                                        CSSHTMLHeaderPreprocessor]
    c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
