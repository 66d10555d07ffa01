"""The instructor's pipeline: release exercises, grade a folder of submissions with nbgrader.

`grade` never touches the submitted files: it copies them into a private course directory, runs
nbgrader's generate_assignment, autograde, generate_feedback and export there, and reports per
student. A notebook that is not valid JSON, hangs, crashes its kernel, deletes or edits test
cells, or fails on import costs only that student's points; the command still exits 0.
"""
from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from .nbgrader_config import CELL_TIMEOUT, DEFAULT_GRADEBOOK, REPO_ROOT

__all__ = ["assignments", "release", "grade", "validate", "GradingReport"]

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

    Uses nbgrader generate_assignment (solutions and hidden tests removed, checksums added) with
    a throwaway gradebook. Returns the paths written.
    """
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
    """Run a notebook's tests as nbgrader validate does; return a list of problems (empty: pass).

    nbgrader's ``validate`` command exits 0 even when tests fail, so learners and scripts should
    use this instead: each problem names the test cell and ends with the error's last lines.
    """
    import html
    import re

    from nbgrader.validator import Validator

    result = Validator().validate(str(notebook))
    problems = []
    for kind, label in (("changed", "a test cell was changed"),
                        ("type_changed", "a cell changed type"), ("failed", "a test failed")):
        for entry in result.get(kind, []):
            source = entry.get("source", "").strip().splitlines()
            text = html.unescape(re.sub(r"<[^>]+>", "", entry.get("error", "")))
            lines = [line for line in text.strip().splitlines() if line.strip()]
            starts = [i for i, line in enumerate(lines) if re.match(
                r"[A-Za-z_][\w.]*(Error|Failure|Exception|Interrupt|Exit|Timeout|Died)\b", line)]
            tail = lines[starts[-1]:] if starts else lines[-5:]
            problems.append(f"{label}: {source[0] if source else ''}\n    "
                            + "\n    ".join(tail))
    return problems


@dataclass
class StudentResult:
    """One student's grade on one assignment, and what went wrong, in plain words."""

    student: str
    assignment: str
    score: float = 0.0
    max_score: float = 0.0
    problems: list = field(default_factory=list)


@dataclass
class GradingReport:
    results: list
    csv_path: Path
    feedback_dir: Path | None

    def summary(self):
        lines = [f"Graded {len(self.results)} submission(s); grades in {self.csv_path}"]
        if self.feedback_dir:
            lines.append(f"Feedback (HTML, one per notebook) in {self.feedback_dir}")
        for r in sorted(self.results, key=lambda r: (r.assignment, r.student)):
            lines.append(f"  {r.assignment}  {r.student}: {r.score:g} / {r.max_score:g}")
            lines += [f"      - {p}" for p in r.problems]
        return "\n".join(lines)


def _valid_notebook(path):
    """None if ``path`` reads as a notebook, else the reason it does not."""
    import nbformat
    try:
        nbformat.validate(nbformat.read(path, as_version=4))
    except json.JSONDecodeError as error:
        return f"not valid JSON ({error.msg} at line {error.lineno})"
    except Exception as error:  # nbformat raises several kinds for malformed notebooks
        return f"not a valid notebook ({type(error).__name__}: {str(error).splitlines()[0]})"
    return None


def _collect(submitted_dir, known, course_submitted, results):
    """Copy valid notebooks into the course's submitted/ folder; record the others' problems."""
    for student_dir in sorted(p for p in Path(submitted_dir).iterdir() if p.is_dir()):
        student = student_dir.name
        for assignment_dir in sorted(p for p in student_dir.iterdir() if p.is_dir()):
            name = assignment_dir.name
            if name not in known:
                print(f"warning: {student}/{name} is not an assignment of this course; skipped")
                continue
            result = StudentResult(student, name)
            results[(student, name)] = result
            notebook = assignment_dir / f"{name}.ipynb"
            if not notebook.is_file():
                result.problems.append(f"no notebook {name}.ipynb in the submission")
                continue
            reason = _valid_notebook(notebook)
            if reason:
                result.problems.append(f"{name}.ipynb is {reason}; it could not be graded")
                continue
            target = Path(course_submitted) / student / name
            shutil.copytree(assignment_dir, target, ignore=shutil.ignore_patterns(
                ".ipynb_checkpoints", "__pycache__"))
            for path in target.rglob("*"):
                path.chmod(0o644 if path.is_file() else 0o755)


def _failed_tests(autograded_notebook):
    """One line per cell that raised: failing tests, and learner cells that hung or crashed."""
    failures = []
    nb = json.loads(Path(autograded_notebook).read_text())
    for cell in nb["cells"]:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if cell.get("cell_type") != "code":
            continue
        for output in cell.get("outputs", []):
            if output.get("output_type") != "error":
                continue
            if not meta.get("grade") and output.get("ename") not in ("GradingTimeout", "KernelDied"):
                break
            lines = (output.get("evalue") or "").strip().splitlines()
            label = meta.get("grade_id", "a cell") if meta.get("grade") else \
                f"cell {meta.get('grade_id', '?')}"
            failures.append(f"{label}: {output.get('ename')}: {lines[0] if lines else ''}"[:300])
            break
    return failures


def grade(submitted_dir, out=Path("grades.csv"), feedback_dir=None, gradebook=DEFAULT_GRADEBOOK,
          timeout=CELL_TIMEOUT, seed_salt="", workdir=None):
    """Grade ``submitted_dir/<student>/<assignment>/<assignment>.ipynb`` with nbgrader.

    Writes nbgrader's CSV export to ``out`` and the HTML feedback to ``feedback_dir`` (default:
    a ``feedback`` folder next to ``out``); returns a `GradingReport`. The submitted files are
    only read. ``workdir`` keeps the nbgrader course directory for inspection (default: a
    temporary one, removed afterwards).
    """
    from nbgrader.api import Gradebook

    submitted_dir = Path(submitted_dir).resolve()
    out = Path(out).resolve()
    feedback_dir = Path(feedback_dir or out.parent / "feedback").resolve()
    gradebook = Path(gradebook).resolve()
    gradebook.parent.mkdir(parents=True, exist_ok=True)
    out.parent.mkdir(parents=True, exist_ok=True)
    known = assignments()
    cleanup = workdir is None
    workdir = Path(workdir or tempfile.mkdtemp(prefix="autograder-")).resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    try:
        _write_config(workdir, root=str(workdir), gradebook=str(gradebook), timeout=timeout,
                      seed_salt=seed_salt)
        results = {}
        _collect(submitted_dir, known, workdir / "submitted", results)
        names = sorted({name for _, name in results})
        for name in names:
            _nbgrader(workdir, "generate_assignment", name, "--force")
        with Gradebook(f"sqlite:///{gradebook}") as gb:
            for student in sorted({student for student, _ in results}):
                gb.update_or_create_student(student)
        for name in names:
            proc = _nbgrader(workdir, "autograde", name, "--force", check=False)
            (workdir / f"autograde-{name}.log").write_text(proc.stdout + proc.stderr)
            _nbgrader(workdir, "generate_feedback", name, "--force", check=False)
        _nbgrader(workdir, "export", "--to", str(out))
        _fill_results(results, gradebook, workdir)
        if (workdir / "feedback").is_dir():
            shutil.copytree(workdir / "feedback", feedback_dir, dirs_exist_ok=True)
        report = GradingReport(list(results.values()), out, feedback_dir)
    finally:
        if cleanup:
            shutil.rmtree(workdir, ignore_errors=True)
    return report


def _fill_results(results, gradebook, workdir):
    """Scores from the gradebook and failing tests from the autograded notebooks."""
    from nbgrader.api import Gradebook, MissingEntry

    with Gradebook(f"sqlite:///{gradebook}") as gb:
        for (student, name), result in results.items():
            assignment = gb.find_assignment(name)
            result.max_score = assignment.max_score
            try:
                submission = gb.find_submission(name, student)
            except MissingEntry:
                if not result.problems:
                    result.problems.append("nbgrader could not grade this notebook")
                continue
            result.score = submission.score
            graded = workdir / "autograded" / student / name / f"{name}.ipynb"
            if graded.is_file():
                result.problems += _failed_tests(graded)
            elif not result.problems:
                result.problems.append("nbgrader could not grade this notebook")


def read_grades(csv_path):
    """The rows of an nbgrader CSV export, as dicts (scores as floats)."""
    with open(csv_path, newline="") as handle:
        rows = list(csv.DictReader(handle))
    for row in rows:
        for key in ("raw_score", "score", "max_score"):
            if row.get(key) not in (None, ""):
                row[key] = float(row[key])
    return rows
