"""``python -m autograder lab``: JupyterLab for learners, without nbgrader's instructor tools.

The course's environment installs nbgrader, whose JupyterLab extension also brings the
instructor's tools (the "Create Assignment" sidebar, the formgrader and course list). Learners
get a JupyterLab on ``exercises/`` where those are switched off and the learner's tools
(assignment list, "Validate") stay: a Jupyter configuration folder inside the environment,
written on each start, named by ``JUPYTER_CONFIG_DIR`` for that server only. Nothing is changed
for anyone else using the environment.
"""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from .nbgrader_config import REPO_ROOT

__all__ = ["INSTRUCTOR_LAB_PLUGINS", "INSTRUCTOR_SERVER_EXTENSIONS", "write_learner_config",
           "write_book_config", "main"]

INSTRUCTOR_LAB_PLUGINS = ("@jupyter/nbgrader:formgrader", "@jupyter/nbgrader:create-assignment",
                          "@jupyter/nbgrader:course-list")
INSTRUCTOR_SERVER_EXTENSIONS = ("nbgrader.server_extensions.formgrader",
                                "nbgrader.server_extensions.course_list")


def write_learner_config(folder=Path(sys.prefix) / "etc" / "jupyter-learner"):
    """Write the learner's Jupyter configuration folder; return its path."""
    folder = Path(folder)
    (folder / "labconfig").mkdir(parents=True, exist_ok=True)
    (folder / "labconfig" / "page_config.json").write_text(json.dumps(
        {"disabledExtensions": {name: True for name in INSTRUCTOR_LAB_PLUGINS}}, indent=1))
    (folder / "jupyter_server_config.json").write_text(json.dumps(
        {"ServerApp": {"jpserver_extensions": {name: False
                                               for name in INSTRUCTOR_SERVER_EXTENSIONS}}},
        indent=1))
    return folder


def write_book_config(book=REPO_ROOT / "_build" / "html",
                      folder=Path(sys.prefix) / "etc" / "jupyter"):
    """Serve the rendered book at ``/static/`` from every Jupyter server of this environment.

    The exercises link each part to ``/static/book/<chapter>.html#<section>``
    (`autograder.authoring.book_url`): an address on the Jupyter server itself, so the link
    works whether JupyterLab was started at the repository root, in exercises/ or elsewhere.
    It is the environment's ``jupyter_server_config.json`` (Jupyter reads ``ServerApp``
    settings from that file, not from the ``jupyter_server_config.d`` folder, which only enables
    extensions); other settings in it are kept. ``make book`` calls this; returns the file.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "jupyter_server_config.json"
    config = json.loads(path.read_text()) if path.is_file() else {}
    config.setdefault("ServerApp", {})["extra_static_paths"] = [str(Path(book))]
    path.write_text(json.dumps(config, indent=1))
    return path


def main(arguments=()):
    """Replace this process by ``jupyter lab exercises/`` with the learner's configuration."""
    write_book_config()
    env = dict(os.environ, JUPYTER_CONFIG_DIR=str(write_learner_config()))
    jupyter = Path(sys.executable).with_name("jupyter")
    command = [str(jupyter), "lab", str(REPO_ROOT / "exercises")]
    if not any(a.startswith("--ip") for a in arguments):
        command.append("--ip=127.0.0.1")
    os.execve(jupyter, command + list(arguments), env)
