"""``python -m autograder lab``: JupyterLab for learners, without nbgrader's instructor tools.

The course's environment installs nbgrader, whose JupyterLab extension also brings the
instructor's tools (the "Create Assignment" sidebar, the formgrader and course list). Learners
get a JupyterLab on ``exercises/`` where those are switched off and the learner's tools
(assignment list, "Validate") stay: a Jupyter configuration folder inside the environment,
written on each start, named by ``JUPYTER_CONFIG_DIR`` for that server only. Nothing is changed
for anyone else using the environment.

``exercises/`` and ``127.0.0.1`` are only defaults, written in that configuration folder: a
JupyterLab option on the command line (``--ServerApp.root_dir=DIR``, ``--notebook-dir=DIR``, a
folder as positional argument, ``--ip=...``) always wins over them. ``--help`` prints `HELP`;
run as root, it stops before starting JupyterLab unless ``--allow-root`` is given (it is passed
through, never added).
"""
from __future__ import annotations

import json
import os
import shlex
import sys
from pathlib import Path

from .book_links import enable
from .nbgrader_config import REPO_ROOT

__all__ = ["INSTRUCTOR_LAB_PLUGINS", "INSTRUCTOR_SERVER_EXTENSIONS", "HELP", "LabUsageError",
           "write_learner_config", "write_book_config", "jupyter_command", "main"]

INSTRUCTOR_LAB_PLUGINS = ("@jupyter/nbgrader:formgrader", "@jupyter/nbgrader:create-assignment",
                          "@jupyter/nbgrader:course-list")
INSTRUCTOR_SERVER_EXTENSIONS = ("nbgrader.server_extensions.formgrader",
                                "nbgrader.server_extensions.course_list")
EXERCISES = REPO_ROOT / "exercises"

HELP = f"""\
usage: python -m autograder lab [-h] [--allow-root] [JUPYTERLAB OPTION ...] [FOLDER]

Start JupyterLab for learners, on the course's exercises/ ({EXERCISES}) unless told
otherwise, with nbgrader's instructor tools switched off for this server only (the "Create
Assignment" sidebar, formgrader, course list); the learner's tools (assignment list,
"Validate") and the links to the book stay, at any --ServerApp.base_url (JupyterHub's
/user/NAME/). `make lab` runs it.

options of its own:
  -h, --help            show this help and exit
  --allow-root          let JupyterLab run as root (a container, a VM): it stops otherwise,
                        with "Running as root is not recommended"; passed on to JupyterLab,
                        never added for you
  --help-all            JupyterLab's own help: every option it takes

Any other option is passed on to JupyterLab, and wins over the course's defaults, e.g.
  --port=8890                   another port (default: 8888, or the next free one)
  --no-browser                  do not open a browser
  --ServerApp.root_dir=DIR      serve DIR instead of exercises/, e.g. your own copy of the
                                exercises (also --notebook-dir=DIR, or DIR alone)
  --ip=0.0.0.0                  listen on every interface (default: 127.0.0.1)

examples:
  python -m autograder lab --port=8890 --ServerApp.root_dir=$HOME/my-exercises
  python -m autograder lab --allow-root --no-browser       # as root, in a container
"""


class LabUsageError(Exception):
    """Arguments JupyterLab would refuse; the message says what to give instead."""


def write_learner_config(folder=Path(sys.prefix) / "etc" / "jupyter-learner", root=EXERCISES):
    """Write the learner's Jupyter configuration folder; return its path.

    It also holds the defaults ``root_dir`` (the folder served: ``root``) and ``ip``: a
    configuration file, so that the same setting on the command line wins (a positional folder
    given to ``jupyter lab`` beats both).
    """
    folder = Path(folder)
    (folder / "labconfig").mkdir(parents=True, exist_ok=True)
    (folder / "labconfig" / "page_config.json").write_text(json.dumps(
        {"disabledExtensions": {name: True for name in INSTRUCTOR_LAB_PLUGINS}}, indent=1))
    (folder / "jupyter_server_config.json").write_text(json.dumps(
        {"ServerApp": {"jpserver_extensions": {name: False
                                               for name in INSTRUCTOR_SERVER_EXTENSIONS},
                       "root_dir": str(root), "ip": "127.0.0.1"}},
        indent=1))
    return folder


def write_book_config(book=REPO_ROOT / "_build" / "html",
                      folder=Path(sys.prefix) / "etc" / "jupyter"):
    """Serve the rendered book at ``{base_url}static/`` from every Jupyter server of this
    environment, and enable `autograder.book_links` there.

    The exercises link each part to ``/static/book/<chapter>.html#<section>``
    (`autograder.authoring.book_url`): an address on the Jupyter server itself, so the link
    works whether JupyterLab was started at the repository root, in exercises/ or elsewhere;
    `autograder.book_links` points it at the server's base URL (JupyterHub's ``/user/NAME/``).
    The static path is the environment's ``jupyter_server_config.json`` (Jupyter reads
    ``ServerApp`` settings from that file, not from the ``jupyter_server_config.d`` folder,
    which only enables extensions); other settings in it are kept. ``make book`` calls this;
    returns the file.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "jupyter_server_config.json"
    config = json.loads(path.read_text()) if path.is_file() else {}
    config.setdefault("ServerApp", {})["extra_static_paths"] = [str(Path(book))]
    path.write_text(json.dumps(config, indent=1))
    enable(folder.parent.parent)
    return path


def _allows_root(arguments):
    """Whether the command line lets JupyterLab run as root (``--allow-root`` or
    ``--ServerApp.allow_root=True``)."""
    for i, argument in enumerate(arguments):
        if argument == "--allow-root":
            return True
        name, equals, value = argument.partition("=")
        if name == "--ServerApp.allow_root":
            if not equals:
                value = arguments[i + 1] if i + 1 < len(arguments) else ""
            if value.strip().lower() in ("true", "1"):
                return True
    return False


def jupyter_command(arguments=(), *, as_root=None):
    """The command line that starts JupyterLab for these learner's arguments.

    The arguments are passed on as they are, after ``jupyter lab``: the course's defaults
    (exercises/, 127.0.0.1) are in the configuration (`write_learner_config`), so that the
    learner's own root folder and address win. Run as root (``as_root``, default: this
    process's user) without ``--allow-root``, raise `LabUsageError`, which says how to allow it;
    ``--allow-root`` is never added.
    """
    arguments = list(arguments)
    if as_root is None:
        as_root = getattr(os, "geteuid", lambda: -1)() == 0
    informational = {"--help-all", "--version"} & set(arguments)
    if as_root and not informational and not _allows_root(arguments):
        again = shlex.join([sys.executable, "-m", "autograder", "lab", "--allow-root",
                            *arguments])
        raise LabUsageError(
            "JupyterLab refuses to run as root (\"Running as root is not recommended\"). If "
            "this is a container or a machine of your own where that is what you want, add "
            f"--allow-root (it is passed on to JupyterLab):\n    {again}")
    return [str(Path(sys.executable).with_name("jupyter")), "lab", *arguments]


def main(arguments=()):
    """Print `HELP` (``-h``/``--help``) and return 0, or replace this process by ``jupyter lab``
    with the learner's configuration; return 2 (after saying why) if JupyterLab would refuse to
    start as root."""
    arguments = list(arguments)
    if "-h" in arguments or "--help" in arguments:
        print(HELP, end="")
        return 0
    try:
        command = jupyter_command(arguments)
    except LabUsageError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    write_book_config()
    env = dict(os.environ, JUPYTER_CONFIG_DIR=str(write_learner_config()))
    os.execve(command[0], command, env)
