"""The one writer: gradebook, grading state, autograded notebooks, feedback, CSV.

Only the instructor's process records; workers (local or Dask) return `NotebookResult`s and
never touch these files. Each result is committed as it arrives (state first, then nbgrader's
gradebook), so an interrupted run keeps every grade already made, and a later run skips what is
unchanged. Re-recording a result replaces the earlier one: nothing an earlier run left behind
can make a later one fail.
"""
from __future__ import annotations

import csv
import json
import logging
import sqlite3
from datetime import datetime, timezone
from pathlib import Path

from .. import notebook as nb
from ..result import NotebookResult

__all__ = ["Recorder", "CSV_COLUMNS"]

CSV_COLUMNS = ("assignment", "student_id", "status", "score", "max_score", "reason", "flags",
               "seed")


class Recorder:
    """Records results for one course (`autograder.instructor.course.Course`)."""

    def __init__(self, course, feedback_dir=None):
        self.course = course
        self.feedback_dir = Path(feedback_dir) if feedback_dir else None
        course.prepare()
        self.state = sqlite3.connect(course.state)
        self.state.execute("CREATE TABLE IF NOT EXISTS results (student TEXT, assignment TEXT, "
                           "content_hash TEXT, status TEXT, result TEXT, graded_at TEXT, "
                           "PRIMARY KEY (student, assignment))")
        self.state.commit()
        self._gradebook = None
        self._notebook_names = {}

    # --- state ----------------------------------------------------------------------------------
    def stored(self, student, assignment):
        """(content_hash, NotebookResult) recorded earlier, or (None, None)."""
        row = self.state.execute("SELECT content_hash, result FROM results WHERE student=? AND "
                                 "assignment=?", (student, assignment)).fetchone()
        if row is None:
            return None, None
        return row[0], NotebookResult.from_dict(json.loads(row[1]))

    # --- gradebook ------------------------------------------------------------------------------
    def gradebook(self):
        if self._gradebook is None:
            import nbgrader.api
            nbgrader.api.get_alembic_version = _alembic_head      # not a subprocess per run
            logging.getLogger("alembic").setLevel(logging.WARNING)
            self._gradebook = nbgrader.api.Gradebook(f"sqlite:///{self.course.gradebook}")
        return self._gradebook

    def ensure_assignment(self, assignment, tests):
        """Record ``assignment`` (its notebook and grade cells) in the gradebook, once."""
        from nbgrader.api import MissingEntry

        gb = self.gradebook()
        wanted = {(t.grade_id, float(t.points)) for t in tests}
        try:
            notebook = gb.find_notebook(assignment, assignment)
            have = {(c.name, float(c.max_score)) for c in notebook.grade_cells}
        except MissingEntry:
            have = set()
        if have != wanted:
            self._generate(assignment)
        self._notebook_names[assignment] = assignment

    def _generate(self, assignment):
        """Record the source notebook's cells in the gradebook, as generate_assignment does."""
        import nbformat
        from nbgrader.preprocessors import ComputeChecksums, SaveCells

        gb = self.gradebook()
        gb.update_or_create_assignment(assignment)
        gb.db.commit()
        self.close_gradebook()
        notebook = nbformat.read(self.course.source_notebook(assignment), as_version=4)
        resources = {"nbgrader": {"notebook": assignment, "assignment": assignment,
                                  "db_url": f"sqlite:///{self.course.gradebook}"}}
        notebook, resources = ComputeChecksums().preprocess(notebook, resources)
        SaveCells().preprocess(notebook, resources)

    def close_gradebook(self):
        if self._gradebook is not None:
            self._gradebook.close()
            self._gradebook = None

    def _to_gradebook(self, result, submitted_text):
        gb = self.gradebook()
        gb.update_or_create_student(result.student)
        gb.update_or_create_submission(result.assignment, result.student,
                                       timestamp=datetime.now(timezone.utc))
        for test in result.tests:
            grade = gb.find_grade(test.grade_id, result.assignment, result.assignment,
                                  result.student)
            grade.auto_score = float(test.points)
            grade.manual_score = None
        gb.db.commit()
        folder = self.course.root / "autograded" / result.student / result.assignment
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{result.assignment}.ipynb").write_text(
            _autograded_notebook(submitted_text, result))

    # --- one result -----------------------------------------------------------------------------
    def record(self, result, submitted_text=""):
        """Commit ``result`` everywhere (state, gradebook, autograded notebook, feedback)."""
        now = datetime.now(timezone.utc).isoformat(timespec="seconds")
        self.state.execute("INSERT OR REPLACE INTO results VALUES (?, ?, ?, ?, ?, ?)",
                           (result.student, result.assignment, result.content_hash,
                            result.status, json.dumps(result.to_dict()), now))
        self.state.commit()
        if result.status == "graded":
            self._to_gradebook(result, submitted_text)
        self.write_feedback(result, submitted_text)

    def write_feedback(self, result, submitted_text):
        from .feedback import write_feedback

        notebook = _renderable(submitted_text)
        relative = Path(result.student) / result.assignment / f"{result.assignment}.html"
        targets = [self.course.root / "feedback" / relative]
        if self.feedback_dir is not None:
            targets.append(self.feedback_dir / relative)
        for target in targets:
            target.parent.mkdir(parents=True, exist_ok=True)
            write_feedback(result, notebook, target)

    # --- the class ------------------------------------------------------------------------------
    def table(self, students, assignments, submitted):
        """One `NotebookResult` per (student, assignment) of this class, "not submitted" included.

        ``submitted`` is the set of (student, assignment) pairs that have a submission.
        """
        rows = []
        for assignment in assignments:
            for student in students:
                _, result = self.stored(student, assignment)
                if (student, assignment) not in submitted or result is None:
                    result = NotebookResult(student, assignment, status="not submitted")
                rows.append(result)
        return rows

    def write_csv(self, path, rows):
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(CSV_COLUMNS)
            for r in rows:
                graded = r.status == "graded"
                writer.writerow([_cell(v) for v in (
                    r.assignment, r.student, r.status, f"{r.score:g}" if graded else "",
                    f"{r.max_score:g}" if r.max_score else "", r.reason, " ".join(r.flags),
                    "" if r.seed is None else r.seed)])
        return path

    def close(self):
        self.close_gradebook()
        self.state.close()


def _alembic_head():
    """The revision nbgrader stamps a new gradebook with, read in this process.

    nbgrader asks the ``alembic`` command (a subprocess that must be on PATH, seconds per
    call); the answer is the head of nbgrader's own migration scripts, which alembic's API
    reads directly."""
    import nbgrader
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", str(Path(nbgrader.__file__).parent / "alembic"))
    return ScriptDirectory.from_config(config).get_current_head()


def _cell(value):
    """A CSV cell that no spreadsheet runs as a formula (=, +, -, @ at the start)."""
    text = str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def _renderable(text):
    """The submitted notebook as a dict of well-formed cells only (for the feedback page)."""
    try:
        notebook = nb.parse(text)
    except nb.NotebookError:
        return {"cells": []}
    cells = []
    for cell in notebook.cells:
        metadata = {k: v for k, v in cell.metadata.items() if k != "nbgrader"}
        if cell.nbgrader:
            metadata["nbgrader"] = cell.nbgrader
        cells.append({"cell_type": cell.cell_type, "source": cell.source,
                      "metadata": metadata})
    return {"cells": cells, "metadata": {}}


def _autograded_notebook(submitted_text, result):
    """The submission with each test cell's output set to the trusted verdict (for formgrader)."""
    import nbformat

    from ..nbgrader_ext import test_cell_outputs

    try:
        notebook = nbformat.reads(submitted_text, as_version=4)
    except Exception:                      # graded from a salvaged parse; keep what we can
        notebook = nbformat.v4.new_notebook()
    outcomes = {t.grade_id: t for t in result.tests}
    for cell in notebook.cells:
        if cell.cell_type == "code":
            cell.outputs = []
            grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
            if grade_id in outcomes:
                cell.outputs = test_cell_outputs(outcomes[grade_id])
    from .sanitize import sanitize_notebook  # no learner markup is live when formgrader renders it
    return nbformat.writes(sanitize_notebook(notebook))


def read_csv(path):
    """The rows of a grades CSV written by `Recorder.write_csv`, scores as floats."""
    with open(path, newline="") as handle:
        rows = list(csv.DictReader(handle))
    for row in rows:
        for key in ("score", "max_score"):
            row[key] = float(row[key]) if row.get(key) not in (None, "") else None
    return rows

