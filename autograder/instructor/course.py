"""Where a course's grading data lives, and the course secret.

The default course keeps everything in the instructor's data folder
(``~/.local/share/convolutions-hands-on/``): the nbgrader gradebook, the course secret, the grading
state and an nbgrader course folder (``course/``: submitted/, autograded/, feedback/). With
``--course-dir DIR`` the same things live in an instructor's own nbgrader course folder
(``DIR/source/<assignment>/``, ``DIR/gradebook.db``), so formgrader shows the results.
None of it is ever visible inside the sandbox that runs learner code.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..nbgrader_config import DEFAULT_GRADEBOOK, REPO_ROOT
from ..secret import read_or_create_secret

__all__ = ["Course"]

@dataclass
class Course:
    """The folders and files of one course (see the module docstring)."""

    root: Path               # nbgrader course folder: source/ (or the repo's solutions/) etc.
    source: Path             # folder of <assignment>/<assignment>.ipynb source notebooks
    gradebook: Path          # nbgrader's SQLite gradebook
    external: bool = False   # an instructor's own nbgrader course (--course-dir)

    @classmethod
    def default(cls, gradebook=DEFAULT_GRADEBOOK):
        gradebook = Path(gradebook).resolve()
        return cls(gradebook.parent / "course", REPO_ROOT / "solutions", gradebook)

    @classmethod
    def at(cls, course_dir, gradebook=None):
        root = Path(course_dir).resolve()
        return cls(root, root / "source", Path(gradebook or root / "gradebook.db").resolve(),
                   external=True)

    @property
    def state(self):
        """The grading state (content hashes, statuses, results) next to the gradebook."""
        return self.gradebook.with_name("grading-state.db")

    def secret(self):
        return read_or_create_secret(self.gradebook.parent)

    def assignments(self):
        """Assignment names: folders of the source holding a notebook of the same name."""
        if not self.source.is_dir():
            return []
        return sorted(p.name for p in self.source.iterdir()
                      if (p / f"{p.name}.ipynb").is_file())

    def source_notebook(self, assignment):
        return self.source / assignment / f"{assignment}.ipynb"

    def nbgrader_config(self):
        """The traitlets config of the course's own ``nbgrader_config.py`` (late-penalty plugin,
        …); empty for the default course or when there is none."""
        from traitlets.config import Config
        from traitlets.config.loader import PyFileConfigLoader

        path = self.root / "nbgrader_config.py"
        if not self.external or not path.is_file():
            return Config()
        return PyFileConfigLoader(path.name, str(path.parent)).load_config()

    def prepare(self):
        self.root.mkdir(parents=True, exist_ok=True)
        self.gradebook.parent.mkdir(parents=True, exist_ok=True)
