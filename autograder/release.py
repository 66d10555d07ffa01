"""Release the exercises: nbgrader's student versions of solutions/, laid out from the registry.

``python -m autograder release``. Validating a learner's notebook is `autograder.validate`;
grading, `autograder.instructor` (``python -m autograder grade``).
"""
from __future__ import annotations

import tempfile
from pathlib import Path

from .nbgrader_config import REPO_ROOT

__all__ = ["assignments", "release"]

SOLUTIONS = REPO_ROOT / "solutions"
EXERCISES = REPO_ROOT / "exercises"


def assignments(source=SOLUTIONS):
    """Assignment names: the folders of solutions/ that hold a notebook of the same name."""
    return sorted(p.name for p in Path(source).iterdir()
                  if (p / f"{p.name}.ipynb").is_file())


def release(destination=EXERCISES, names=None):
    """Write the student version of each assignment into ``destination/<assignment>/``.

    First lays out the source notebooks from the exercise registry (`authoring.layout_all`),
    then runs nbgrader's generate_assignment (solutions and hidden tests removed, checksums
    added) on each, in this process, with a throwaway gradebook. Returns the paths written.
    Raises RuntimeError with nbgrader's log if nbgrader fails on one.
    """
    import warnings

    from nbgrader.apps import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory
    from traitlets.config import Config

    from .authoring import layout_all
    from .nbgrader_config import alembic_in_process, configure

    layout_all(SOLUTIONS, names)
    destination = Path(destination).resolve()
    written = []
    alembic_in_process()
    with tempfile.TemporaryDirectory() as workdir, warnings.catch_warnings():
        warnings.simplefilter("ignore")           # nbgrader's SQLAlchemy and deprecation ones
        config = Config()
        configure(config, root=workdir, gradebook=Path(workdir) / "gradebook.db",
                  release=destination)
        api = NbGraderAPI(coursedir=CourseDirectory(config=config), config=config)
        for name in names or assignments():
            outcome = api.generate_assignment(name, force=True)
            if not outcome["success"]:
                raise RuntimeError(f"nbgrader generate_assignment {name} failed:\n"
                                   f"{outcome.get('log', '')}{outcome.get('error', '')}")
            written.append(destination / name / f"{name}.ipynb")
    return written
