"""A unit of grading work: one student's notebook for one assignment, as a picklable record.

`GradingJob` carries everything a worker needs and nothing it must not have: the submitted
notebook's text, the assignment's test cells as the instructor wrote them (read from the source
notebook, never from the submission), the student's hidden-test seed and the limits. Standard
library only, so that Dask workers and GPU machines without nbgrader can unpickle it.
"""
from __future__ import annotations

import ast
import hashlib
import json
import re
from dataclasses import dataclass, field

from . import notebook as nb

__all__ = ["TestCell", "GradingJob", "source_tests", "reference_cells", "released_source",
           "student_seed",
           "learner_code_digest", "content_hash", "GRADER_VERSION"]

# Bump when grading itself changes, so `grade` regrades notebooks graded by an older version.
GRADER_VERSION = "5"


@dataclass(frozen=True)
class TestCell:
    """One graded test cell of the source notebook: ``check("<exercise>", <function>[, hidden=True])``."""

    grade_id: str
    exercise: str            # e.g. "01_cross_correlation.corr2d"
    function: str            # the name the learner defines, e.g. "corr2d"
    hidden: bool
    points: float
    released: str            # the cell as learners receive it (hidden tests removed)


@dataclass
class GradingJob:
    student: str
    assignment: str
    notebook: str                    # the submitted .ipynb, as text (may be invalid)
    tests: tuple                     # TestCell, in notebook order
    seed: int                        # hidden cases' seed for this student
    content_hash: str
    cell_timeout: float = 60.0       # seconds one learner cell may run
    call_time_limit: float | None = None   # seconds one call may run (default: per exercise)
    budget: float = 120.0            # seconds for the whole notebook: every cell and call
    memory_limit: int = 4 << 30      # bytes of address space for a learner process
    sandboxed: bool = True
    devices: tuple | None = None     # default: CPU plus every CUDA device of the worker
    options: dict = field(default_factory=dict)
    # the course solution's code cells [(label, source)]: timed in the same sandbox, they set
    # how much CPU time a vectorised function may take (`ExerciseInfo.timing_inputs`)
    reference_cells: tuple = ()


_HIDDEN = re.compile(r"^[ \t]*### BEGIN HIDDEN TESTS.*?^[ \t]*### END HIDDEN TESTS[ \t]*\n?",
                     re.M | re.S)


def released_source(source):
    """A test cell's text as nbgrader releases it: the hidden-test block removed."""
    return _HIDDEN.sub("", source)


def _check_call(source):
    """(exercise, function, hidden) of the ``check(...)`` call in a test cell's source."""
    for node in ast.walk(nb.parse_python(source)):
        if (isinstance(node, ast.Call) and getattr(node.func, "id", None) == "check"
                and len(node.args) >= 2 and isinstance(node.args[0], ast.Constant)
                and isinstance(node.args[1], ast.Name)):
            hidden = any(k.arg == "hidden" and getattr(k.value, "value", False) is True
                         for k in node.keywords)
            return node.args[0].value, node.args[1].id, hidden
    raise ValueError(f"no check(...) call in test cell:\n{source}")


def source_tests(source_notebook, released=False):
    """The `TestCell`s of an nbgrader source notebook (a path, a parsed dict such as an
    nbformat node, or an `autograder.notebook.Notebook`), in order.

    ``released=True`` reads a student version instead: its hidden-test cells hold no ``check``
    call any more and are left out.
    """
    notebook = source_notebook
    if isinstance(notebook, dict):
        notebook = nb.parse(notebook)
    elif not isinstance(notebook, nb.Notebook):
        notebook = nb.read(notebook)
    tests = []
    for cell in notebook.test_cells():
        if released and "check(" not in cell.source:
            continue
        exercise, function, hidden = _check_call(cell.source)
        tests.append(TestCell(cell.grade_id, exercise, function, hidden,
                              float(cell.nbgrader.get("points", 0)), released_source(cell.source)))
    return tuple(tests)


def reference_cells(source_notebook):
    """The course solution's code cells, ``((label, source), ...)``: every code cell of an
    nbgrader source notebook but its test cells (a path, a parsed dict or a `Notebook`)."""
    notebook = source_notebook
    if isinstance(notebook, dict):
        notebook = nb.parse(notebook)
    elif not isinstance(notebook, nb.Notebook):
        notebook = nb.read(notebook)
    return tuple((cell.label, cell.source) for cell in notebook.learner_cells()
                 if cell.source.strip())


def student_seed(student_id, assignment_id, notebook_id, secret, code=""):
    """A 31-bit seed for a student's hidden cases.

    It depends on the course secret (so no student can compute it) and on ``code``, the
    `learner_code_digest` of the submission (so resubmitting a table of answers for the cases
    printed in earlier feedback draws new cases); the same submission always gets the same seed.
    """
    digest = hashlib.sha256(
        f"{secret}/{assignment_id}/{notebook_id}/{student_id}/{code}".encode()).digest()
    return int.from_bytes(digest[:4], "big") % 2**31


def learner_code_digest(notebook_text):
    """SHA-256 of the learner's code: every code cell's source except test cells, in order.

    Unchanged by outputs, metadata and test cells, so stock nbgrader (which restores test cells
    before grading) and ``python -m autograder grade`` derive the same seed from a submission.
    A text that is not a notebook is digested whole.
    """
    try:
        sources = [cell.source for cell in nb.parse(notebook_text).learner_cells()]
    except nb.NotebookError:
        sources = [str(notebook_text)]
    return hashlib.sha256("\x00".join(sources).encode("utf-8", "surrogatepass")).hexdigest()


def content_hash(notebook_bytes, tests, secret):
    """What a grade depends on: the submission, the tests, the course secret, the grader version."""
    digest = hashlib.sha256()
    for part in (GRADER_VERSION.encode(), secret.encode(), notebook_bytes,
                 json.dumps([t.__dict__ for t in tests], sort_keys=True).encode()):
        digest.update(hashlib.sha256(part).digest())
    return digest.hexdigest()
