"""The course as a package: ``pip install <the project>`` into a fresh virtual environment (no
repository on the path, no Jupyter, no nbgrader) gives a learner the checks and the ``autograder
validate`` command, which check an exercise notebook copied anywhere."""
import json
import os
import shutil
import subprocess
import sys

import pytest

from tests.conftest import REPO, filled_exercise, solution_sources
from tests.implementations import load_all

pytestmark = pytest.mark.slow

CH1 = "01_cross_correlation"
# The tested PyTorch (a local CPU wheel here): an unpinned install would fetch the newest CUDA
# build, gigabytes. A learner's own PyTorch is kept as it is.
TORCH = "torch==2.13.0"


@pytest.fixture(scope="module")
def venv(tmp_path_factory):
    root = tmp_path_factory.mktemp("fresh")
    project = root / "project"      # a copy: building in the checkout would leave build/ there
    shutil.copytree(REPO / "autograder", project / "autograder",
                    ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(REPO / "pyproject.toml", project)
    subprocess.run([sys.executable, "-m", "venv", str(root / "venv")], check=True, timeout=300)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    proc = subprocess.run([str(root / "venv" / "bin" / "python"), "-m", "pip", "install",
                           "--quiet", str(project), TORCH], capture_output=True, text=True,
                          timeout=900, env=env, cwd=root)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return root, env


def _validate(venv, notebook):
    root, env = venv
    folder = root / "my-work"                       # outside the repository
    folder.mkdir(exist_ok=True)
    path = folder / f"{CH1}.ipynb"
    path.write_text(json.dumps(notebook))
    return subprocess.run([str(root / "venv" / "bin" / "autograder"), "validate", path.name],
                          capture_output=True, text=True, timeout=600, env=env, cwd=folder)


def test_the_package_brings_no_instructor_tools(venv):
    root, env = venv
    proc = subprocess.run([str(root / "venv" / "bin" / "python"), "-c",
                           "import importlib.util as u, autograder; "
                           "print(autograder.__file__, u.find_spec('nbgrader') is None)"],
                          capture_output=True, text=True, timeout=120, env=env, cwd=root)
    assert proc.returncode == 0, proc.stderr
    location, no_nbgrader = proc.stdout.split()
    assert str(REPO) not in location and no_nbgrader == "True", proc.stdout


def test_validate_passes_a_finished_notebook_outside_the_repository(venv):
    proc = _validate(venv, filled_exercise(CH1, solution_sources(CH1)))
    assert proc.returncode == 0 and "all tests pass" in proc.stdout, proc.stdout + proc.stderr


def test_validate_names_the_failing_test_outside_the_repository(venv):
    mutants, _ = load_all()
    sources = solution_sources(CH1)
    sources["pad2d"] = next(m for m in mutants if m.exercise == f"{CH1}.pad2d").source()
    proc = _validate(venv, filled_exercise(CH1, sources))
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "test_pad2d: pad2d failed case" in " ".join(proc.stdout.split()), proc.stdout
