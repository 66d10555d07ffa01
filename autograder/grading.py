"""Release the exercises (nbgrader's student versions of solutions/) and validate a notebook.

Grading lives in `autograder.instructor` (``python -m autograder grade``).
"""
from __future__ import annotations

import os
import subprocess
import sys
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


def _write_config(workdir, **settings):
    lines = ["from autograder.nbgrader_config import configure",
             "configure(get_config(), " + ", ".join(f"{k}={v!r}" for k, v in settings.items())
             + ")"]
    (Path(workdir) / "nbgrader_config.py").write_text("\n".join(lines) + "\n")


def _nbgrader(workdir, *args, check=True):
    """Run an nbgrader command in ``workdir`` with this interpreter's tools on PATH."""
    env = dict(os.environ)
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    env["PYTHONPATH"] = str(REPO_ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    proc = subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=workdir, env=env,
                          capture_output=True, text=True)
    if check and proc.returncode != 0:
        raise RuntimeError(f"nbgrader {' '.join(args)} failed:\n{proc.stdout}\n{proc.stderr}")
    return proc


def release(destination=EXERCISES, names=None):
    """Write the student version of each assignment into ``destination/<assignment>/``.

    First lays out the source notebooks from the exercise registry (`authoring.layout_all`),
    then runs nbgrader generate_assignment (solutions and hidden tests removed, checksums added)
    with a throwaway gradebook. Returns the paths written.
    """
    from .authoring import layout_all

    layout_all(SOLUTIONS, names)
    destination = Path(destination).resolve()
    written = []
    with tempfile.TemporaryDirectory() as workdir:
        _write_config(workdir, root=workdir, gradebook=str(Path(workdir) / "gradebook.db"),
                      release=str(destination))
        for name in names or assignments():
            _nbgrader(workdir, "generate_assignment", name, "--force")
            written.append(destination / name / f"{name}.ipynb")
    return written


def validate(notebook):
    """Check a learner's notebook as the grader would, on its visible tests; return the problems.

    The notebook's cells run in a learner process with the grader's guards (not the OS sandbox:
    it is the learner's own code, on the learner's machine) and every visible test of the
    released exercise is checked outside it, as `python -m autograder grade` does, so a test
    cell that was edited or deleted is named and the other tests still run. Returns one line
    per problem (empty: every visible test passes). No Jupyter kernel is started.
    """
    from . import notebook as nb
    from .job import GradingJob, source_tests
    from .sandbox import Sandbox
    from .trusted import grade_job

    path = Path(notebook)
    try:
        parsed = nb.read(path)
    except nb.NotebookError as error:
        return [f"{path.name} is not a notebook that can be checked ({error.detail})"]
    text = path.read_bytes().decode("utf-8", errors="replace")
    assignment = _assignment_of(path, parsed)
    if assignment is None:
        return [f"{path.name} is not one of this course's exercises ({', '.join(assignments())})"]
    tests = source_tests(EXERCISES / assignment / f"{assignment}.ipynb", released=True)
    job = GradingJob("learner", assignment, text, tests, 0, "", cell_timeout=60.0,
                     sandboxed=False)
    with Sandbox(sandboxed=False) as sandbox:
        result = grade_job(job, sandbox)
    problems = [f"test cell {cell}: the grader uses the original test"
                for cell in result.tampered_cells]
    problems += [f"{p.cell}: {p.message}" for p in result.cell_problems]
    problems += [f"{t.grade_id}: {t.message}" for t in result.tests if not t.passed]
    return problems


def _assignment_of(path, notebook):
    """The assignment a notebook belongs to: by its file name, else by its cells' grade ids."""
    from . import notebook as nb

    known = assignments()
    if path.stem in known:
        return path.stem
    ids = notebook.grade_ids()
    for name in known:
        if nb.read(EXERCISES / name / f"{name}.ipynb").grade_ids() & ids:
            return name
    return None
