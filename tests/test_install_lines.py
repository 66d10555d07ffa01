"""The setup cell's install lines (`autograder.install`): the course's own code, which the grader's
review skips, exactly them and nothing else."""
import pytest

from autograder.install import blank_install_lines, course_version, install_lines
from autograder.review import review_reasons
from tests.conftest import EXERCISES, nbgrader_meta, read_notebook


def _setup_cells():
    for folder in sorted(EXERCISES.iterdir()):
        notebook = read_notebook(folder / f"{folder.name}.ipynb")
        yield folder.name, next("".join(c["source"]) for c in notebook["cells"]
                                if nbgrader_meta(c).get("grade_id") == "setup")


def test_every_setup_cell_opens_with_the_install_lines_of_this_version():
    cells = dict(_setup_cells())
    assert len(cells) == 10
    for name, source in cells.items():
        assert source.startswith(install_lines(course_version())), name
        assert "import autograder" in source


def test_the_review_reads_the_setup_cells_without_their_install_lines():
    for name, source in _setup_cells():
        assert review_reasons([("setup", source)])                  # subprocess, sys, importlib
        assert review_reasons([("setup", blank_install_lines(source))]) == [], name


@pytest.mark.parametrize("version", ["0.1.0", "2.0.0rc1", "10.4.2.post3"])
def test_any_version_is_the_courses(version):
    source = install_lines(version) + "import torch\n"
    blanked = blank_install_lines(source)
    assert blanked.strip() == "import torch"
    assert blanked.count("\n") == source.count("\n")               # line numbers stay


@pytest.mark.parametrize("change", [
    lambda s: s.replace("    import subprocess\n", "    import subprocess\n    import ctypes\n"),
    lambda s: s.replace("convolutions-hands-on==", "evil-package=="),
    lambda s: s.replace('is None:', 'is None or True:'),
    lambda s: s.replace("0.1.0", "0.1.0; import ctypes"),
    lambda s: "x = 1\n" + s,
])
def test_anything_else_is_read_as_the_learners(change):
    source = change(install_lines("0.1.0") + "import torch\n")
    assert blank_install_lines(source) == source
    assert review_reasons([("setup", blank_install_lines(source))])
