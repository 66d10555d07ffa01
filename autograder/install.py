"""The lines that open every exercise's setup cell: install the course where it is missing.

On Colab, or in any fresh environment, the course's package (``pip install
convolutions-hands-on==V``) is not there, and the notebook's checks could not be imported. The
setup cell's first lines install it, pinned to the version the notebook was released with
(`install_lines`, written by `autograder.authoring.layout`). Where the package is installed (the
course's environment, the grader's sandbox) they do nothing.

The grader knows these lines as the course's own: `blank_install_lines` blanks exactly them (any
version) before a submission's code is read for review, and nothing else. Standard library only.
"""
from __future__ import annotations

import re
from pathlib import Path

__all__ = ["PACKAGE", "course_version", "install_lines", "blank_install_lines"]

PACKAGE = "convolutions-hands-on"          # pyproject.toml's [project] name
_PYPROJECT = Path(__file__).resolve().parent.parent / "pyproject.toml"
_VERSION = "[0-9][0-9A-Za-z.+!-]*"


def course_version(pyproject=_PYPROJECT):
    """The course's version: ``pyproject.toml``'s, else the installed package's."""
    try:
        found = re.search(r'^version = "([^"]+)"', Path(pyproject).read_text(), re.M)
    except OSError:
        found = None
    if found:
        return found.group(1)
    from importlib.metadata import version
    return version(PACKAGE)


def install_lines(version=None):
    """The setup cell's first lines, pinned to ``version`` (default: `course_version`). Plain
    Python (no ``%pip``): the grader runs the cell too, where nothing is installed."""
    return ("# On Colab or in a fresh environment: install the course's checks (once).\n"
            "import importlib.util\n"
            "import sys\n\n"
            'if importlib.util.find_spec("autograder") is None:\n'
            "    import subprocess\n"
            '    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet",\n'
            f'                    "{PACKAGE}=={version or course_version()}"], check=True)\n'
            "    importlib.invalidate_caches()\n\n")


_MARK = "0.0.0-version-here"
_LINES = re.compile(r"\A" + re.escape(install_lines(_MARK)).replace(re.escape(_MARK), _VERSION))


def blank_install_lines(source):
    """``source`` with the course's install lines at its start (exactly them, for any version)
    replaced by as many empty lines, so that line numbers stay; other text is unchanged."""
    found = _LINES.match(source)
    if not found:
        return source
    return "\n" * found.group(0).count("\n") + source[found.end():]
