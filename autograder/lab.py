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
           "main"]

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


def main(arguments=()):
    """Replace this process by ``jupyter lab exercises/`` with the learner's configuration."""
    env = dict(os.environ, JUPYTER_CONFIG_DIR=str(write_learner_config()))
    jupyter = Path(sys.executable).with_name("jupyter")
    command = [str(jupyter), "lab", str(REPO_ROOT / "exercises")]
    if not any(a.startswith("--ip") for a in arguments):
        command.append("--ip=127.0.0.1")
    os.execve(jupyter, command + list(arguments), env)
