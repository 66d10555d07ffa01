"""Release the exercises (nbgrader's student versions of solutions/) and validate a notebook.

Grading lives in `autograder.instructor` (``python -m autograder grade``).
"""
from __future__ import annotations

import tempfile
from pathlib import Path

from .nbgrader_config import REPO_ROOT

__all__ = ["assignments", "release", "validate"]

SOLUTIONS = REPO_ROOT / "solutions"
EXERCISES = REPO_ROOT / "exercises"


def assignments(source=SOLUTIONS):
    """Assignment names: the folders of solutions/ that hold a notebook of the same name."""
    return sorted(p.name for p in Path(source).iterdir()
                  if (p / f"{p.name}.ipynb").is_file())


def release(destination=EXERCISES, names=None):
    """Write the student version of each assignment into ``destination/<assignment>/``.

    First lays out the source notebooks from the exercise registry (`authoring.layout_all`),
    then runs nbgrader's generate_assignment (solutions and hidden tests removed, checksums
    added) on each, in this process, with a throwaway gradebook. Returns the paths written.
    Raises RuntimeError with nbgrader's log if nbgrader fails on one.
    """
    import warnings

    from nbgrader.apps import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory
    from traitlets.config import Config

    from .authoring import layout_all
    from .nbgrader_config import alembic_in_process, configure

    layout_all(SOLUTIONS, names)
    destination = Path(destination).resolve()
    written = []
    alembic_in_process()
    with tempfile.TemporaryDirectory() as workdir, warnings.catch_warnings():
        warnings.simplefilter("ignore")           # nbgrader's SQLAlchemy and deprecation ones
        config = Config()
        configure(config, root=workdir, gradebook=Path(workdir) / "gradebook.db",
                  release=destination)
        api = NbGraderAPI(coursedir=CourseDirectory(config=config), config=config)
        for name in names or assignments():
            outcome = api.generate_assignment(name, force=True)
            if not outcome["success"]:
                raise RuntimeError(f"nbgrader generate_assignment {name} failed:\n"
                                   f"{outcome.get('log', '')}{outcome.get('error', '')}")
            written.append(destination / name / f"{name}.ipynb")
    return written


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
    from .trusted import grade_job

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
