"""``python -m autograder grade``: plan, execute, record (see `autograder.instructor`).

    plan     submissions -> `GradingJob`s (new or changed notebooks only, unless ``force``)
    execute  `executors.run_jobs`: serial, local worker processes, or a Dask cluster
    record   `record.Recorder`: gradebook, state, feedback as each result arrives; then the
             CSV and the HTML report for the whole class
"""
from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

from .executors import Executor
from ..job import (GradingJob, content_hash, learner_code_digest, reference_cells, source_tests,
                   student_seed)
from .record import Recorder
from ..result import FLAGS, STATUSES, NotebookResult

__all__ = ["grade", "GradingRun", "MAX_NOTEBOOK_BYTES", "wide_csv_path"]

MAX_NOTEBOOK_BYTES = 32 * 2**20


@dataclass
class GradingRun:
    """What one ``grade`` call did: the class table, and where it wrote things."""

    rows: list                      # NotebookResult per (student, assignment) of this class
    graded: list = field(default_factory=list)     # (student, assignment) graded in this run
    skipped: list = field(default_factory=list)    # unchanged since an earlier run
    csv_path: Path | None = None
    wide_csv_path: Path | None = None
    report_path: Path | None = None
    feedback_dir: Path | None = None
    seconds: float = 0.0
    interrupted: bool = False

    def means(self):
        """(assignment, mean score of the graded notebooks, the assignment's points) each."""
        found = []
        for assignment in sorted({r.assignment for r in self.rows}):
            graded = [r for r in self.rows if r.assignment == assignment and r.status == "graded"]
            if graded:
                found.append((assignment, sum(r.score for r in graded) / len(graded),
                              max(r.max_score for r in graded)))
        return found

    def _lines(self, r, verbose):
        """One notebook: its score or status; with ``verbose`` also each flag, cell problem,
        override and failing test's first line (otherwise only the flags)."""
        if r.status == "graded":
            head = f"  {r.assignment}  {r.student}: {r.score:g} / {r.max_score:g}"
            if (r.student, r.assignment) in self.skipped:
                head += "  (unchanged, not regraded)"
            if r.seconds_late:
                head += (f"  ({r.seconds_late / 3600:.1f} h late"
                         + (f", {r.late_penalty:g} points off)" if r.late_penalty else ")"))
        else:
            head = f"  {r.assignment}  {r.student}: {r.status}" + (
                f" ({r.reason})" if r.reason else "")
        lines = [head] + [f"      ! {FLAGS.get(flag, flag)}" for flag in r.flags]
        if not verbose:
            return lines
        if r.tampered_cells:
            lines.append("      ! test cells changed (the original tests were used): "
                         + ", ".join(r.tampered_cells))
        for problem in r.cell_problems:
            lines.append(f"      - {problem.cell}: {problem.message.splitlines()[0]}")
        by_hand = {o.grade_id: o for o in r.overrides}
        for test in r.tests:
            if test.grade_id in by_hand:
                o = by_hand[test.grade_id]
                lines.append(f"      - {test.grade_id}: set to {o.points:g} by hand (the "
                             f"grader gave {o.auto_points:g}): {o.why}")
            elif not test.passed and r.status == "graded":
                lines.append(f"      - {test.grade_id}: "
                             + (test.message.splitlines() or ["failed"])[0])
        lines += [f"      - comment on {c.cell}: {c.text}" for c in r.comments]
        return lines

    def summary(self, verbose=False):
        """What the terminal shows at the end: the notebooks that need a look (could not be
        graded, not graded yet, flagged) or, ``verbose``, every notebook with its score and each
        failing test's first line; then totals, and where the outputs are."""
        lines = []
        shown = [r for r in self.rows if verbose or r.status in ("could not be graded",
                                                                  "not graded yet") or r.flags]
        if shown and not verbose:
            lines.append(f"Needs a look ({len(shown)}; every failure is in the report):")
        for r in sorted(shown, key=lambda r: (r.assignment, r.student)):
            lines += self._lines(r, verbose)
        counts = {s: sum(r.status == s for r in self.rows) for s in STATUSES}
        lines.append(
            f"{len(self.graded)} notebook(s) graded in {self.seconds:.1f} s, "
            f"{len(self.skipped)} unchanged; class table: "
            + ", ".join(f"{n} {s}" for s, n in counts.items() if n or s != "not graded yet")
            + "".join(f"; {a}: mean {m:.2f} of {t:g} points" for a, m, t in self.means()))
        if self.interrupted:
            lines.append("Interrupted: every grade made so far is recorded; run the same command "
                         "again to grade the rest.")
        for label, path in (("Grades", self.csv_path), ("Grades, a row per student",
                                                        self.wide_csv_path),
                            ("Report", self.report_path),
                            ("Feedback", self.feedback_dir)):
            if path:
                lines.append(f"{label}: {path}")
        return "\n".join(lines)


def wide_csv_path(out):
    """Where the wide CSV goes: ``grades.csv`` -> ``grades-wide.csv`` beside it."""
    out = Path(out)
    return out.with_name(f"{out.stem}-wide{out.suffix or '.csv'}")


def _readable(name):
    """``name`` as text every output can hold: a folder name that is not valid UTF-8 keeps its
    bytes as escapes (the student is still listed, as "could not be graded")."""
    try:
        name.encode("utf-8")
        return name, ""
    except UnicodeEncodeError:
        shown = os.fsencode(name).decode("utf-8", "backslashreplace")
        return shown, f"the folder name {shown!r} is not valid UTF-8: rename it and grade again"


def _submissions(submitted_dir, known):
    """{(student, assignment): (notebook path, or why it cannot be read; submission time)}, and
    warnings for what is skipped. A student folder with an unreadable name is listed with the
    reason. The time is nbgrader's ``timestamp.txt`` beside the notebook ("" if none)."""
    found, warnings = {}, []
    for student_dir in sorted(p for p in Path(submitted_dir).iterdir() if p.is_dir()):
        student, problem = _readable(student_dir.name)
        for assignment_dir in sorted(p for p in student_dir.iterdir() if p.is_dir()):
            name, bad_name = _readable(assignment_dir.name)
            if bad_name or name not in known:
                warnings.append(f"{student}/{name} is not an assignment of this course; skipped")
                continue
            notebook = assignment_dir / f"{name}.ipynb"
            found[(student, name)] = (problem or (notebook if notebook.is_file() else
                                                  _misnamed(assignment_dir, name)),
                                      _timestamp(assignment_dir / "timestamp.txt"))
    return found, warnings


def _misnamed(folder, assignment):
    """Why a submission folder without ``<assignment>.ipynb`` cannot be graded, naming what it
    holds instead (at most 10 names)."""
    names = sorted(_readable(p.name)[0] for p in folder.iterdir()
                   if p.name not in ("timestamp.txt", ".ipynb_checkpoints"))
    if not names:
        return f"the submission folder is empty: no notebook {assignment}.ipynb"
    shown = ", ".join(names[:10]) + (f" and {len(names) - 10} more" if len(names) > 10 else "")
    hint = (f": submit it as {assignment}.ipynb" if any(n.endswith(".ipynb") for n in names)
            else "")
    return f"no notebook {assignment}.ipynb in the submission folder, which holds {shown}{hint}"


def _timestamp(path):
    """The first line of nbgrader's ``timestamp.txt`` (at most 100 characters), or ""."""
    try:
        with open(path, "rb") as handle:
            return handle.read(100).decode("utf-8", "replace").strip().splitlines()[0]
    except (OSError, IndexError):
        return ""


def grade(submitted_dir, *, out, course, feedback_dir=None, report=None, workers=None,
          scheduler=None, force=False, sandboxed=True, cell_timeout=60.0, call_time_limit=None,
          budget=120.0, memory_limit=4 << 30, secret=None, progress=True, log=None,
          students=None, assignments=None, roster=None, overrides=()):
    """Grade ``submitted_dir/<student>/<assignment>/<assignment>.ipynb`` (see the module docstring).

    ``students``/``assignments`` restrict which submissions are graded; the CSV and report still
    cover the whole class (every student and assignment the gradebook and earlier runs know,
    ``roster``'s students too). ``overrides`` are (student, assignment, test, points, why) set
    before the class table is made. Returns a `GradingRun`. The submitted files are only read.
    Ctrl-C stops the run after recording every result that has arrived; what it did not reach is
    "not graded yet" in the CSV and report, which are still written.
    """
    log = log or (lambda text: print(text, file=sys.stderr, flush=True))
    started = time.monotonic()
    secret = course.secret() if secret is None else secret
    known = course.assignments()
    submissions, warnings = _submissions(submitted_dir, known)
    for warning in warnings:
        log(f"warning: {warning}")
    submissions = {key: value for key, value in submissions.items()
                   if (not students or key[0] in students)
                   and (not assignments or key[1] in assignments)}
    recorder = Recorder(course, feedback_dir)
    run = GradingRun(rows=[], csv_path=Path(out), feedback_dir=feedback_dir,
                     report_path=Path(report) if report else None)
    executor = None
    pending = set(submissions)          # until planned: all of them; then the jobs not done
    try:
        class_students = set(recorder.import_roster(roster)) if roster else set()
        for student, assignment, test, points, why in overrides:
            recorder.override(student, assignment, test, points, why)
        class_students |= {s for s, _ in submissions}
        class_assignments = {a for _, a in submissions}
        try:
            jobs, texts = _plan(submissions, recorder, course, secret, force, run, dict(
                cell_timeout=cell_timeout, call_time_limit=call_time_limit, budget=budget,
                memory_limit=memory_limit, sandboxed=sandboxed))
            pending = {(job.student, job.assignment) for job in jobs}
            if jobs:
                executor = Executor(workers=workers, scheduler=scheduler, sandboxed=sandboxed,
                                    jobs=len(jobs))
                log(f"Grading {len(jobs)} notebook(s) ({len(run.skipped)} unchanged, skipped) "
                    "with " + (f"the Dask cluster at {scheduler}" if scheduler else
                               f"{executor.workers} worker(s)")
                    + ("" if sandboxed else " WITHOUT the sandbox") + ".")
                _grade_jobs(executor, jobs, texts, submissions, recorder, course, run, pending,
                            progress, budget, log)
        except KeyboardInterrupt:
            run.interrupted = True
            pending -= set(run.skipped) | set(run.graded)
        with _held_back():                  # the outputs are written whole, Ctrl-C or not
            run.rows = recorder.table(students=class_students, assignments=class_assignments,
                                      pending=pending)
            _refresh_feedback(recorder, run.rows, submissions, log)
            run.seconds = time.monotonic() - started
            recorder.write_csv(out, run.rows)
            run.wide_csv_path = recorder.write_wide_csv(wide_csv_path(out), run.rows)
            if report:
                from .report import write_report
                write_report(run.rows, report, extra={
                    "notebooks graded in this run": len(run.graded),
                    "unchanged (not regraded)": len(run.skipped),
                    "executor": (f"Dask at {scheduler}" if scheduler
                                 else f"{executor.workers if executor else 0} local "
                                      "worker(s)"),
                    "sandbox": "bubblewrap" if sandboxed else "NONE (--no-sandbox)",
                    "wall time": f"{run.seconds:.1f} s"}, feedback_dir=feedback_dir)
    finally:
        if executor is not None:
            executor.close()
        recorder.close()
    return run


def _grade_jobs(executor, jobs, texts, submissions, recorder, course, run, pending, progress,
                budget, log):
    """Grade ``jobs`` with ``executor``, recording each result as it arrives (and taking it out
    of ``pending``). Ctrl-C stops it between two records, never in the middle of one (a grade is
    written to the state, the gradebook and the feedback whole), and is raised again."""
    bar = _progress(len(jobs), progress)
    eta = Eta(len(jobs), executor.slots(), budget)
    order = {(job.student, job.assignment): i for i, job in enumerate(jobs)}
    try:
        results = executor.run(jobs)          # the workers start grading now, while ...
        for assignment in sorted({job.assignment for job in jobs}):
            recorder.ensure_assignment(       # ... the gradebook learns the assignments
                assignment, source_tests(course.source_notebook(assignment)))
        for job, result in results:
            key = (job.student, job.assignment)
            result = replace(result, submitted_at=submissions[key][1])
            with _held_back(then_raise=True):
                _record_safely(recorder, result, texts[key], log)
                pending.discard(key)
                run.graded.append(key)
            eta.finished(order[key])
            bar.set_postfix_str(eta.text(), refresh=False)
            bar.update()
    finally:
        bar.close()
        executor.close(wait=False)


@contextlib.contextmanager
def _held_back(then_raise=False):
    """Ctrl-C (SIGINT) held back while the body runs; then ignored, or, with ``then_raise``,
    raised as KeyboardInterrupt once the body is done. Main thread only (elsewhere Python
    delivers no SIGINT)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    pressed = []
    previous = signal.signal(signal.SIGINT, lambda *_: pressed.append(True))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
    if pressed and then_raise:
        raise KeyboardInterrupt


def _refresh_feedback(recorder, rows, submissions, log):
    """Rewrite the feedback of each graded submission in this run's folder whose page no longer
    shows what counts: a person's override or comment (``--override``, formgrader), a due date
    or extension changed since, or a new feedback folder. Nothing is regraded."""
    for r in rows:
        path = submissions.get((r.student, r.assignment), (None,))[0]
        if r.status == "graded" and isinstance(path, Path) and recorder.feedback_is_stale(r):
            try:
                recorder.write_feedback(r, path.read_bytes().decode("utf-8", errors="replace"))
            except Exception as error:  # one page must never stop the class
                log(f"warning: could not rewrite the feedback of {r.student}/{r.assignment}: "
                    f"{error}")


def _plan(submissions, recorder, course, secret, force, run, limits):
    """The `GradingJob`s for new or changed notebooks, and their texts; what cannot be read is
    recorded "could not be graded" at once, what is unchanged is listed in ``run.skipped`` (a
    new submission time alone is recorded without grading again)."""
    tests, solutions = {}, {}
    texts, jobs = {}, []
    for (student, assignment), (path, submitted_at) in sorted(submissions.items()):
        if isinstance(path, str):
            recorder.record(NotebookResult(student, assignment, status="could not be graded",
                                           submitted_at=submitted_at, reason=path))
            continue
        if assignment not in tests:
            tests[assignment] = source_tests(course.source_notebook(assignment))
            solutions[assignment] = reference_cells(course.source_notebook(assignment))
        data = path.read_bytes()
        digest = content_hash(data, tests[assignment], secret)
        stored_hash, stored = recorder.stored(student, assignment)
        if not force and stored_hash == digest:
            run.skipped.append((student, assignment))
            if stored.submitted_at != submitted_at:
                recorder.record(replace(stored, submitted_at=submitted_at),
                                data.decode("utf-8", errors="replace"))
            continue
        if len(data) > MAX_NOTEBOOK_BYTES:
            recorder.record(NotebookResult(
                student, assignment, status="could not be graded", content_hash=digest,
                submitted_at=submitted_at,
                reason=f"the notebook is larger than {MAX_NOTEBOOK_BYTES >> 20} MiB"))
            continue
        text = data.decode("utf-8", errors="replace")
        texts[(student, assignment)] = text
        jobs.append(GradingJob(
            student, assignment, text, tests[assignment],
            student_seed(student, assignment, assignment, secret, learner_code_digest(text)),
            digest, reference_cells=solutions[assignment], **limits))
    return jobs, texts


def _record_safely(recorder, result, text, log):
    """Record ``result``; if that fails (a notebook no tool can render, say), record the student
    as "could not be graded" with the reason, and carry on with the class."""
    try:
        recorder.record(result, text)
    except Exception as error:  # one notebook must never stop the class
        log(f"warning: could not record {result.student}/{result.assignment}: {error!r}")
        failed = NotebookResult(result.student, result.assignment, status="could not be graded",
                                reason=f"the grader could not record it ({type(error).__name__}:"
                                       f" {error})", seed=result.seed)
        recorder.record(failed, "")


def _progress(total, enabled):
    from tqdm import tqdm
    # tqdm's own estimate divides what is left by the rate of finished notebooks; `Eta`'s, in
    # the postfix, also counts the notebooks still running and how long they have run.
    return tqdm(total=total, unit="notebook", disable=not enabled or total == 0,
                dynamic_ncols=True, file=sys.stderr,
                bar_format="{l_bar}{bar}| {n_fmt}/{total_fmt} [{elapsed}{postfix}]")


class Eta:
    """Time left for ``total`` notebooks graded ``slots`` at a time, first in first out.

    The k-th notebook starts when the (k - slots)-th finishes (at once for the first ``slots``),
    so each running notebook's age is known. What is left: a running notebook younger than the
    mean time of those finished needs the difference; one older than the mean is taken to run
    as much longer as it is over the mean (a slow notebook is likely slower still), never past
    the notebook budget; each queued one needs the mean; ``slots`` share the work, and no
    estimate is below what the slowest running notebook needs. Before any notebook has
    finished it says so rather than guess.
    """

    def __init__(self, total, slots, budget, now=time.monotonic):
        self.total, self.slots, self.budget, self.now = total, max(1, slots), budget, now
        self.begun = now()
        self.durations = []
        self.started = {k: self.begun for k in range(min(self.slots, total))}

    def finished(self, index):
        """Notebook ``index`` (0-based, in submission order) has finished."""
        at = self.now()
        self.durations.append(at - self.started.pop(index, self.begun))
        queued = len(self.durations) + len(self.started)
        if queued < self.total:
            self.started[queued] = at

    def seconds_left(self):
        """Estimated seconds until every notebook is graded, or None before the first ends."""
        if not self.durations:
            return None
        mean = sum(self.durations) / len(self.durations)
        at = self.now()
        work = 0.0
        longest = 0.0
        for start in self.started.values():
            age = at - start
            need = min(abs(mean - age), max(self.budget - age, 0.0))
            work += need
            longest = max(longest, need)
        queued = self.total - len(self.durations) - len(self.started)
        work += queued * mean
        return max(work / self.slots, longest)

    def text(self):
        left = self.seconds_left()
        running = len(self.started)
        if left is None:
            return f"{running} running, time left: measuring"
        return f"{running} running, ~{_duration(left)} left"


def _duration(seconds):
    seconds = int(round(seconds))
    return f"{seconds // 60} min {seconds % 60:02d} s" if seconds >= 60 else f"{seconds} s"
