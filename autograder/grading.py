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
