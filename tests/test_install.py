"""The course as a package: ``pip install <the project>`` into a fresh virtual environment (no
repository on the path, no Jupyter, no nbgrader) gives a learner the checks and the ``autograder
validate`` command, which check an exercise notebook copied anywhere."""
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO, filled_exercise, solution_sources
from tests.implementations import load_all

pytestmark = pytest.mark.slow

CH1 = "01_cross_correlation"


def _torch_only(folder):
    """``folder`` holding links to this environment's PyTorch and what PyTorch needs, each with
    its ``.dist-info`` (so pip sees them installed), and nothing else: what ``pip install
    torch==2.13.0`` would unpack there, without unpacking a gigabyte per test run."""
    import importlib.metadata as metadata

    from packaging.requirements import Requirement

    folder.mkdir()
    wanted, found = ["torch"], {}
    while wanted:
        distribution = metadata.distribution(wanted.pop())
        name = distribution.metadata["Name"].lower().replace("_", "-")
        if name in found or name == "setuptools":        # a fresh venv has its own setuptools
            continue
        found[name] = distribution
        requirements = [Requirement(text) for text in distribution.requires or []]
        wanted += [r.name for r in requirements
                   if r.marker is None or r.marker.evaluate({"extra": ""})]
    for distribution in found.values():
        tops = {Path(str(f)).parts[0] for f in distribution.files or []}
        for top in tops - {"..", "__pycache__"}:
            source = Path(distribution.locate_file(top))
            if source.exists() and not top.endswith(".pth"):
                (folder / top).symlink_to(source)
    assert (folder / "torch").is_dir() and not (folder / "autograder").exists()
    return sorted(found)


@pytest.fixture(scope="module")
def venv(tmp_path_factory):
    """A fresh virtual environment with PyTorch only, into which an exercise's own setup cell,
    run outside the repository, installs the course (``pip install convolutions-hands-on==V``:
    here from a wheel of the project, as if published; on Colab from PyPI). PyTorch is this
    environment's, linked (`_torch_only`); pip and the course's install see it as installed."""
    root = tmp_path_factory.mktemp("fresh")
    project = root / "project"      # a copy: building in the checkout would leave build/ there
    shutil.copytree(REPO / "autograder", project / "autograder",
                    ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(REPO / "pyproject.toml", project)
    subprocess.run([sys.executable, "-m", "venv", str(root / "venv")], check=True, timeout=300)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    python = str(root / "venv" / "bin" / "python")
    site = subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                          capture_output=True, text=True, check=True).stdout.strip()
    linked = _torch_only(root / "torch-only")
    Path(site, "torch-only.pth").write_text(str(root / "torch-only") + "\n")
    proc = subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps",
                           "--no-build-isolation", "--wheel-dir", str(root / "wheels"),
                           str(project)], capture_output=True, text=True, timeout=900, cwd=root)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    listed = subprocess.run([python, "-m", "pip", "list", "--format=json"], capture_output=True,
                            text=True, env=env, check=True)
    present = {p["name"].lower().replace("_", "-") for p in json.loads(listed.stdout)}
    assert present == set(linked) | {"pip", "setuptools"}, present
    env["PIP_FIND_LINKS"] = str(root / "wheels")
    return root, env


def _setup_cell():
    notebook = json.loads((REPO / "exercises" / CH1 / f"{CH1}.ipynb").read_text())
    return next("".join(cell["source"]) for cell in notebook["cells"]
                if cell["metadata"].get("nbgrader", {}).get("grade_id") == "setup")


@pytest.fixture(scope="module")
def installed(venv):
    """Run the notebook's setup cell in the fresh environment, from a folder of the learner's:
    it installs the course and imports the checks; run again, it installs nothing."""
    root, env = venv
    folder = root / "colab"
    folder.mkdir()
    script = _setup_cell() + "\nprint('checks from', autograder.__file__, check.__name__)\n"
    runs = [subprocess.run([str(root / "venv" / "bin" / "python"), "-c", script],
                           capture_output=True, text=True, timeout=900, env=env, cwd=folder)
            for _ in range(2)]
    for proc in runs:
        assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return venv, runs


def test_the_setup_cell_installs_the_pinned_course_where_it_is_missing(installed):
    (root, env), (first, again) = installed
    from autograder.install import course_version
    assert f'"convolutions-hands-on=={course_version()}"' in _setup_cell()
    assert "checks from" in first.stdout and str(root / "venv") in first.stdout, first.stdout
    assert str(REPO) not in first.stdout
    listed = subprocess.run([str(root / "venv" / "bin" / "python"), "-m", "pip", "list",
                             "--format=json"], capture_output=True, text=True, env=env)
    versions = {p["name"]: p["version"] for p in json.loads(listed.stdout)}
    assert versions.get("convolutions-hands-on") == course_version(), versions
    assert "checks from" in again.stdout and again.stderr == "", again.stderr


def test_pip_install_enables_the_book_links_extension(installed):
    (root, _), _ = installed
    enabled = root / "venv" / "etc" / "jupyter" / "jupyter_server_config.d" / "autograder.json"
    assert json.loads(enabled.read_text())["ServerApp"]["jpserver_extensions"] == {
        "autograder.book_links": True}


def _validate(installed, notebook):
    (root, env), _ = installed
    folder = root / "my-work"                       # outside the repository
    folder.mkdir(exist_ok=True)
    path = folder / f"{CH1}.ipynb"
    path.write_text(json.dumps(notebook))
    return subprocess.run([str(root / "venv" / "bin" / "autograder"), "validate", path.name],
                          capture_output=True, text=True, timeout=600, env=env, cwd=folder)


def test_the_package_brings_no_instructor_tools(installed):
    (root, env), _ = installed
    proc = subprocess.run([str(root / "venv" / "bin" / "python"), "-c",
                           "import importlib.util as u, autograder; "
                           "print(autograder.__file__, u.find_spec('nbgrader') is None)"],
                          capture_output=True, text=True, timeout=120, env=env, cwd=root)
    assert proc.returncode == 0, proc.stderr
    location, no_nbgrader = proc.stdout.split()
    assert str(REPO) not in location and no_nbgrader == "True", proc.stdout


def test_validate_passes_a_finished_notebook_outside_the_repository(installed):
    proc = _validate(installed, filled_exercise(CH1, solution_sources(CH1)))
    assert proc.returncode == 0 and "all tests pass" in proc.stdout, proc.stdout + proc.stderr


def test_validate_names_the_failing_test_outside_the_repository(installed):
    mutants, _ = load_all()
    sources = solution_sources(CH1)
    sources["pad2d"] = next(m for m in mutants if m.exercise == f"{CH1}.pad2d").source()
    proc = _validate(installed, filled_exercise(CH1, sources))
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "test_pad2d: pad2d failed case" in " ".join(proc.stdout.split()), proc.stdout
