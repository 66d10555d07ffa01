"""The one writer: gradebook, grading state, autograded notebooks, feedback, CSV.

Only the instructor's process records; workers (local or Dask) return `NotebookResult`s and
never touch these files. Each result is committed as it arrives (state first, then nbgrader's
gradebook), so an interrupted run keeps every grade already made, and a later run skips what is
unchanged. Re-recording a result replaces the earlier one: nothing an earlier run left behind
can make a later one fail.
"""
from __future__ import annotations

import contextlib
import csv
import hashlib
import json
import sqlite3
import warnings
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path

from .. import notebook as nb
from ..result import FLAGS, Comment, NotebookResult, Override

__all__ = ["Recorder", "RecordError", "CSV_COLUMNS"]

CSV_COLUMNS = ("assignment", "student_id", "status", "score", "max_score", "late_penalty",
               "submitted_at", "hours_late", "overrides", "comments", "reason", "flags", "seed")

# Flags that call for a person in formgrader ("unchecked" is the grader's own limit: the
# learner loses nothing by it).
REVIEW_FLAGS = frozenset(FLAGS) - {"unchecked"}


class RecordError(ValueError):
    """An instructor's request the record cannot take (an unknown test to override, a roster
    without ids): said before anything is graded."""


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
        self.state.execute("CREATE TABLE IF NOT EXISTS overrides (student TEXT, assignment TEXT, "
                           "grade_id TEXT, why TEXT, made_at TEXT, "
                           "PRIMARY KEY (student, assignment, grade_id))")
        self.state.execute("CREATE TABLE IF NOT EXISTS feedback (student TEXT, assignment TEXT, "
                           "digest TEXT, PRIMARY KEY (student, assignment))")
        self.state.commit()
        self._gradebook = None
        self._late_plugin = None
        self._totals = {}

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
            from sqlalchemy.exc import SAWarning
            warnings.filterwarnings("ignore", category=SAWarning)   # nbgrader's, every run
            with _quiet():
                import nbgrader.api

                from ..nbgrader_config import alembic_in_process
                alembic_in_process()                  # not a subprocess per run
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
        self._totals[assignment] = sum(points for _, points in wanted)

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
        """The automatic scores into nbgrader's gradebook, as ``nbgrader autograde`` records them:
        a person's manual score stays (and still counts); only flagged tests and notebooks need
        a person (``needs_manual_grade``, ``flagged``); the submission time (``timestamp.txt``)
        and the late penalty as nbgrader computes them."""
        gb = self.gradebook()
        gb.update_or_create_student(result.student)
        when = _parse_time(result.submitted_at)
        gb.update_or_create_submission(result.assignment, result.student,
                                       **({"timestamp": when} if when else {}))
        decided = self.decided(result)
        notebook_wide = bool(set(result.flags) & REVIEW_FLAGS
                             - {f for t in result.tests for f in t.flags})
        for test in result.tests:
            grade = gb.find_grade(test.grade_id, result.assignment, result.assignment,
                                  result.student)
            grade.auto_score = float(test.points)
            grade.needs_manual_grade = notebook_wide or bool(set(test.flags) & REVIEW_FLAGS)
        notebook = gb.find_submission_notebook(result.assignment, result.assignment,
                                               result.student)
        notebook.flagged = bool(set(result.flags) & REVIEW_FLAGS)
        notebook.late_submission_penalty = decided.late_penalty or None
        gb.db.commit()
        folder = self.course.root / "autograded" / result.student / result.assignment
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{result.assignment}.ipynb").write_text(
            _autograded_notebook(submitted_text, result))

    # --- what a person decided: overrides, due dates, extensions, the roster -----------------
    def overrides(self):
        """{(student, assignment): [Override]} for every test a person scored in the gradebook
        (``grade --override`` or formgrader's manual score and extra credit)."""
        from nbgrader.api import Grade
        from sqlalchemy import or_

        why = {(s, a, g): text for s, a, g, text in self.state.execute(
            "SELECT student, assignment, grade_id, why FROM overrides")}
        found = {}
        gb = self.gradebook()
        for grade in gb.db.query(Grade).filter(or_(Grade.manual_score.isnot(None),
                                                   Grade.extra_credit.isnot(None))):
            key = (grade.student.id, grade.assignment.name)
            found.setdefault(key, []).append(Override(
                grade.name, float(grade.score), float(grade.auto_score or 0.0),
                why.get((*key, grade.name), "set in formgrader")))
        return found

    def comments(self):
        """{(student, assignment): [Comment]} for every cell a person commented on in the
        gradebook (formgrader's comment box under a solution or task cell), by cell name."""
        from nbgrader.api import Comment as GradebookComment

        found = {}
        gb = self.gradebook()
        query = gb.db.query(GradebookComment).filter(GradebookComment.manual_comment.isnot(None))
        for comment in query:
            text = (comment.manual_comment or "").strip()
            if text:
                key = (comment.student.id, comment.assignment.name)
                found.setdefault(key, []).append(Comment(comment.name, text))
        return {key: sorted(found[key], key=lambda c: c.cell) for key in found}

    def override(self, student, assignment, grade_id, points, why):
        """Set a person's score for one test of a graded submission; it survives every regrade.

        Raises RecordError (with what exists) for an unknown submission or test, or points outside
        0..the test's points."""
        _, result = self.stored(student, assignment)
        if result is None or result.status != "graded":
            raise RecordError(f"{student} has no graded submission of {assignment} to override")
        tests = {t.grade_id: t for t in result.tests}
        if grade_id not in tests:
            raise RecordError(f"{assignment} has no test {grade_id!r}; its tests are "
                             + ", ".join(tests))
        if not 0 <= points <= tests[grade_id].max_points:
            raise RecordError(f"{grade_id} is worth 0 to {tests[grade_id].max_points:g} points, "
                             f"not {points:g}")
        grade = self.gradebook().find_grade(grade_id, assignment, assignment, student)
        grade.manual_score = float(points)
        grade.needs_manual_grade = False
        self.gradebook().db.commit()
        self.state.execute("INSERT OR REPLACE INTO overrides VALUES (?, ?, ?, ?, ?)",
                           (student, assignment, grade_id, why,
                            datetime.now(timezone.utc).isoformat(timespec="seconds")))
        self.state.commit()

    def import_roster(self, path):
        """Add the students of ``path`` (nbgrader's ``db student import`` CSV: a column ``id``,
        optional ``first_name``, ``last_name``, ``email``) to the gradebook; returns their ids."""
        with open(path, newline="", encoding="utf-8-sig") as handle:
            rows = list(csv.DictReader(handle))
        if rows and "id" not in rows[0]:
            raise RecordError(f"{path} has no 'id' column (nbgrader's roster format: id, "
                             "first_name, last_name, email)")
        gb = self.gradebook()
        ids = []
        for row in rows:
            student = (row.get("id") or "").strip()
            if student:
                gb.update_or_create_student(student, **{
                    k: row[k] for k in ("first_name", "last_name", "email") if row.get(k)})
                ids.append(student)
        return ids

    def _lateness(self, result):
        """``result`` with its seconds late (from the gradebook's due date and the student's
        extension) and nbgrader's late penalty (``LateSubmissionPlugin``, as configured)."""
        submitted = _parse_time(result.submitted_at)
        if submitted is None or result.status != "graded":
            return result
        from nbgrader.api import MissingEntry
        gb = self.gradebook()
        try:
            assignment = gb.find_assignment(result.assignment)
            try:
                extension = gb.find_submission(result.assignment, result.student).extension
            except MissingEntry:
                extension = None
        except MissingEntry:
            return result
        if assignment.duedate is None:
            return result
        due = assignment.duedate + (extension or timedelta(0))
        late = max(0.0, (submitted.replace(tzinfo=None) - due).total_seconds())
        result = replace(result, seconds_late=late, late_penalty=0.0)
        if late > 0:
            penalty = self.late_plugin().late_submission_penalty(result.student, result.score,
                                                                 late)
            if penalty is not None:
                result = replace(result, late_penalty=min(max(0.0, float(penalty)),
                                                          result.score))
        return result

    def late_plugin(self):
        """nbgrader's late-submission plugin, configured as the course's nbgrader_config.py
        says (``AssignLatePenalties.plugin_class``, ``LateSubmissionPlugin.penalty_method``)."""
        if self._late_plugin is None:
            from nbgrader.preprocessors import AssignLatePenalties
            with _quiet():
                preprocessor = AssignLatePenalties(config=self.course.nbgrader_config())
                preprocessor.init_plugin()
            self._late_plugin = preprocessor.plugin_inst
        return self._late_plugin

    def decided(self, result, overrides=None, comments=None):
        """``result`` as it counts: a person's overrides applied, then lateness and penalty;
        a person's comments attached."""
        if result.status != "graded":
            return result
        key = (result.student, result.assignment)
        if overrides is None:
            overrides = self.overrides().get(key, [])
        if comments is None:
            comments = self.comments().get(key, [])
        result = self._lateness(result.with_overrides(overrides) if overrides else result)
        return replace(result, comments=list(comments))

    # --- one result -----------------------------------------------------------------------------
    def record(self, result, submitted_text=""):
        """Commit ``result`` everywhere (state, gradebook, autograded notebook, feedback).

        The state keeps the grader's own verdict; the gradebook, the autograded notebook and the
        feedback show it as it counts (overrides and late penalty applied)."""
        now = datetime.now(timezone.utc).isoformat(timespec="seconds")
        self.state.execute("INSERT OR REPLACE INTO results VALUES (?, ?, ?, ?, ?, ?)",
                           (result.student, result.assignment, result.content_hash,
                            result.status, json.dumps(result.to_dict()), now))
        self.state.commit()
        if result.status == "graded":
            self._to_gradebook(result, submitted_text)
            result = self.decided(result)
        self.write_feedback(result, submitted_text)

    def write_feedback(self, result, submitted_text):
        """Write ``result``'s feedback page (under the course and ``feedback_dir``) and remember
        what it shows, for `feedback_is_stale`."""
        from .feedback import write_feedback

        notebook = _renderable(submitted_text)
        relative = Path(result.student) / result.assignment / f"{result.assignment}.html"
        targets = [self.course.root / "feedback" / relative]
        if self.feedback_dir is not None:
            targets.append(self.feedback_dir / relative)
        for target in targets:
            target.parent.mkdir(parents=True, exist_ok=True)
            write_feedback(result, notebook, target)
        # remembered once the pages are written: a page that failed is rewritten next run
        self.state.execute("INSERT OR REPLACE INTO feedback VALUES (?, ?, ?)",
                           (result.student, result.assignment, self._shown(result)))
        self.state.commit()

    def feedback_is_stale(self, result):
        """Whether ``result`` (as it counts) differs from what its feedback page shows: a person
        overrode, commented or changed a due date since, or the feedback goes to a new folder."""
        row = self.state.execute("SELECT digest FROM feedback WHERE student=? AND assignment=?",
                                 (result.student, result.assignment)).fetchone()
        return row is None or row[0] != self._shown(result)

    def _shown(self, result):
        text = json.dumps([result.to_dict(), str(self.feedback_dir)], sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()

    # --- the class ------------------------------------------------------------------------------
    def students(self):
        """Every student the course knows: the gradebook's (a roster imported there included)
        and every one recorded by an earlier run."""
        known = {s for (s,) in self.state.execute("SELECT DISTINCT student FROM results")}
        return known | {s.id for s in self.gradebook().students}

    def assignments(self):
        """Every assignment recorded: the gradebook's and every earlier run's."""
        known = {a for (a,) in self.state.execute("SELECT DISTINCT assignment FROM results")}
        return known | {a.name for a in self.gradebook().assignments}

    def total(self, assignment):
        """The assignment's points (the gradebook's grade cells), or 0 if it has none yet."""
        if assignment not in self._totals:
            from nbgrader.api import MissingEntry
            try:
                notebook = self.gradebook().find_notebook(assignment, assignment)
                self._totals[assignment] = float(sum(c.max_score for c in notebook.grade_cells))
            except MissingEntry:
                self._totals[assignment] = 0.0
        return self._totals[assignment]

    def table(self, *, students=(), assignments=(), pending=()):
        """One `NotebookResult` per (student, assignment) of the class, as it counts.

        The class is every student and assignment the course knows (`students`, `assignments`)
        plus the ones given. ``pending`` holds the submissions this run found but did not grade
        (interrupted): they are "not graded yet", never "not submitted". A student with no
        submission of an assignment is "not submitted", 0 of the assignment's points.
        """
        pending = set(pending)
        overrides, comments = self.overrides(), self.comments()
        rows = []
        for assignment in sorted(self.assignments() | set(assignments)):
            for student in sorted(self.students() | set(students)):
                _, result = self.stored(student, assignment)
                if (student, assignment) in pending:
                    earlier = (f" (an earlier submission has {result.score:g} / "
                               f"{result.max_score:g})" if result and result.status == "graded"
                               else "")
                    result = NotebookResult(
                        student, assignment, status="not graded yet",
                        total=self.total(assignment),
                        reason="submitted; the run stopped before grading it: run the command "
                               "again" + earlier)
                elif result is None:
                    result = NotebookResult(student, assignment, status="not submitted",
                                            total=self.total(assignment))
                else:
                    result = self.decided(result, overrides.get((student, assignment), []),
                                          comments.get((student, assignment), []))
                rows.append(result)
        return rows

    def write_csv(self, path, rows):
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(CSV_COLUMNS)
            for r in rows:
                scored = r.status in ("graded", "not submitted")
                writer.writerow([_cell(v) for v in (
                    r.assignment, r.student, r.status, f"{r.score:g}" if scored else "",
                    f"{r.max_score:g}" if r.max_score else "",
                    f"{r.late_penalty:g}" if r.late_penalty else "", r.submitted_at,
                    f"{r.seconds_late / 3600:.1f}" if r.seconds_late else "",
                    "; ".join(f"{o.grade_id}: {o.auto_points:g} -> {o.points:g} ({o.why})"
                              for o in r.overrides),
                    "; ".join(f"{c.cell}: {c.text}" for c in r.comments),
                    r.reason, " ".join(r.flags), "" if r.seed is None else r.seed)])
        return path

    def write_wide_csv(self, path, rows):
        """A row per student, a column per assignment (its score), then the total, the points
        possible and the percentage: the layout LMS gradebook imports take (see README).

        The first columns name the student as the gradebook knows them (``student_id``,
        ``first_name``, ``last_name``, ``email``: nbgrader's roster fields). A score is blank
        where the notebook is "not graded yet" or "could not be graded" (look before you upload);
        "not submitted" is 0."""
        path = Path(path)
        assignments = sorted({r.assignment for r in rows})
        by_student = {}
        for r in rows:
            by_student.setdefault(r.student, {})[r.assignment] = r
        names = {s.id: s for s in self.gradebook().students}
        with open(path, "w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["student_id", "first_name", "last_name", "email", *assignments,
                             "total", "points_possible", "percentage"])
            for student in sorted(by_student):
                record = names.get(student)
                scores, total, possible = [], 0.0, 0.0
                for a in assignments:
                    r = by_student[student].get(a)
                    possible += r.max_score if r else 0.0
                    if r is None or r.status not in ("graded", "not submitted"):
                        scores.append("")
                        continue
                    scores.append(f"{r.score:g}")
                    total += r.score
                writer.writerow([_cell(v) for v in (
                    student, *(getattr(record, k, None) or "" for k in
                               ("first_name", "last_name", "email")),
                    *scores, f"{total:g}", f"{possible:g}",
                    f"{100 * total / possible:.2f}" if possible else "")])
        return path

    def close(self):
        self.close_gradebook()
        self.state.close()


def _parse_time(text):
    """A timestamp as nbgrader parses ``timestamp.txt`` (naive UTC), or None."""
    if not text:
        return None
    from nbgrader.utils import parse_utc
    try:
        return parse_utc(text)
    except (ValueError, OverflowError):
        return None


@contextlib.contextmanager
def _quiet():
    """nbgrader's and SQLAlchemy's warnings (SAWarning, deprecations) stay off the terminal."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


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
    from ..sanitize import sanitize_notebook  # no learner markup is live when formgrader renders it
    return nbformat.writes(sanitize_notebook(notebook))


def read_csv(path):
    """The rows of a grades CSV written by `Recorder.write_csv`, scores as floats."""
    with open(path, newline="") as handle:
        rows = list(csv.DictReader(handle))
    for row in rows:
        for key in ("score", "max_score"):
            row[key] = float(row[key]) if row.get(key) not in (None, "") else None
    return rows

