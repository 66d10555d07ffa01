"""Shared helpers: the course's notebooks as functions and as filled-in submissions."""
import functools
import json
import os
from pathlib import Path

# One intra-op thread, as the grader's workers and `validate` use: the tests make many small
# calls, which PyTorch's thread pool only slows down, and test files run side by side
# (pytest-xdist), where pools of every worker would fight for the same cores (measured here:
# make test-fast 65 s with one thread per worker, 179 s without). Set before torch is imported.
os.environ.setdefault("OMP_NUM_THREADS", "1")

import pytest


REPO = Path(__file__).resolve().parent.parent
SOLUTIONS = REPO / "solutions"
EXERCISES = REPO / "exercises"


def read_notebook(path):
    return json.loads(Path(path).read_text())


def cell_source(cell):
    source = cell["source"]
    return "".join(source) if isinstance(source, list) else source


def nbgrader_meta(cell):
    return cell.get("metadata", {}).get("nbgrader", {})


def solution_cells(notebook):
    """{grade_id: cell} for the cells learners write in."""
    return {nbgrader_meta(c)["grade_id"]: c for c in notebook["cells"] if nbgrader_meta(c).get("solution")}


def graded_cells(notebook):
    return [c for c in notebook["cells"] if nbgrader_meta(c).get("grade")]


@functools.lru_cache(maxsize=None)
def solution_functions(assignment):
    """Execute the setup and solution cells of solutions/<assignment>; return the functions."""
    import torch
    namespace = {"torch": torch}
    notebook = read_notebook(SOLUTIONS / assignment / f"{assignment}.ipynb")
    setup = [c for c in notebook["cells"] if nbgrader_meta(c).get("grade_id") == "setup"]
    for cell in setup:
        exec(compile(cell_source(cell), f"<{assignment}:setup>", "exec"), namespace)
    for grade_id, cell in solution_cells(notebook).items():
        exec(compile(cell_source(cell), f"<{assignment}:{grade_id}>", "exec"), namespace)
    return {name: namespace[name] for name in solution_cells(notebook)}


def solution_sources(assignment):
    """`autograder.authoring.solution_sources`, imported when first used: importing the
    package's modules here, before any test, would bind ``autograder.exercise_db`` to the
    submodule instead of the registry the tests import by that name."""
    from autograder.authoring import solution_sources as sources
    return sources(assignment)


def filled_exercise(assignment, sources):
    """`autograder.authoring.filled_exercise`, imported when first used (see above)."""
    from autograder.authoring import filled_exercise as filled
    return filled(assignment, sources)


def write_submission(root, student, assignment, notebook):
    folder = Path(root) / student / assignment
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{assignment}.ipynb"
    path.write_text(notebook if isinstance(notebook, str) else json.dumps(notebook, indent=1))
    return path


def summary_block(summary, student, assignment):
    """The lines of `python -m autograder grade`'s summary about one student's notebook."""
    lines = summary.splitlines()
    head = f"  {assignment}  {student}:"
    start = next((i for i, line in enumerate(lines) if line.startswith(head)), None)
    assert start is not None, f"{student} is not in the summary:\n{summary[-3000:]}"
    block = [lines[start]]
    for line in lines[start + 1:]:
        if not line.startswith("      "):
            break
        block.append(line)
    return "\n".join(block)


@pytest.fixture(scope="session")
def assignments():
    from autograder.release import assignments as names
    return names()


def points(key):
    """Points of one part (``"01_cross_correlation.corr2d"``), from the exercise registry."""
    from autograder.exercise_db import exercise_db
    return float(exercise_db[key].points)


def total_points(assignment):
    """Points of a whole assignment, from the exercise registry."""
    from autograder.exercise_db import exercise_db
    return float(sum(i.points for i in exercise_db.values() if i.assignment == assignment))



# The test files that take longest (they grade whole classes through the real command) start
# first, so that `make test`'s workers (pytest-xdist, a file per worker) end close together.
LONGEST_FIRST = ("test_term.py", "test_one_notebook.py", "test_adversarial.py",
                 "test_exercises.py", "test_dask.py", "test_grading_runs.py", "test_book.py",
                 "test_grading.py", "test_validate.py", "test_corpus_cli.py",
                 "test_book_answers.py", "test_nbgrader_course.py", "test_criteria.py",
                 "test_simulated_opinfo.py", "test_install.py")


def pytest_collection_modifyitems(items):
    rank = {name: i for i, name in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))   # stable: files stay whole
