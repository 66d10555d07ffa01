"""Validate a learner's notebook as the grader would, on its visible tests.

``autograder validate NOTEBOOK.ipynb`` (or ``python -m autograder validate``), from any folder:
it needs only the learner's side of the package (torch and NumPy), no Jupyter and no copy of the
course's notebooks (the tests come from the registry: `autograder.authoring.released_tests`).
"""
from __future__ import annotations

from pathlib import Path

__all__ = ["validate"]


def validate(notebook):
    """Check a learner's notebook as the grader would, on its visible tests; return the problems.

    The notebook's cells run in a learner process with the grader's guards (not the OS sandbox:
    it is the learner's own code, on the learner's machine) and every visible test of the
    released exercise is checked outside it, as `python -m autograder grade` does, so a test
    cell that was edited or deleted is named and the other tests still run. Returns (problems,
    notes): a line per problem (none: every visible test passes) and a line per note (a cell
    that compares with an operation this part forbids: allowed, its result skipped). No
    Jupyter kernel is started.
    """
    from . import notebook as nb
    from .authoring import released_tests
    from .job import GradingJob
    from .sandbox import Sandbox
    from .grade_notebook import grade_job

    path = Path(notebook)
    try:
        parsed = nb.read(path)
    except nb.NotebookError as error:
        return [f"{path.name} is not a notebook that can be checked ({error.detail})"], []
    text = path.read_bytes().decode("utf-8", errors="replace")
    assignment = _assignment_of(path, parsed)
    if assignment is None:
        return [f"{path.name} is not one of this course's exercises "
                f"({', '.join(_course_assignments())})"], []
    tests = released_tests(assignment)
    job = GradingJob("learner", assignment, text, tests, 0, "", cell_timeout=60.0,
                     sandboxed=False)
    with Sandbox(sandboxed=False) as sandbox:
        result = grade_job(job, sandbox)
    problems = [f"test cell {cell}: the grader uses the original test"
                for cell in result.tampered_cells]
    problems += [f"{p.cell}: {p.message}" for p in result.cell_problems if p.kind != "note"]
    problems += [f"{t.grade_id}: {t.message}" for t in result.tests if not t.passed]
    notes = [f"{p.cell}: {p.message}" for p in result.cell_problems if p.kind == "note"]
    return problems, notes


def _course_assignments():
    """The course's assignments, from the exercise registry (no notebook needed)."""
    from .exercise_db import exercise_db
    return sorted({info.assignment for info in exercise_db.values()})


def _assignment_of(path, notebook):
    """The assignment a notebook belongs to: by its file name, else by its test cells' ids."""
    from .exercise_db import exercise_db

    known = _course_assignments()
    if path.stem in known:
        return path.stem
    ids = notebook.grade_ids()
    for name in known:
        if {f"test_{info.name}" for info in exercise_db.values()
                if info.assignment == name} & ids:
            return name
    return None
