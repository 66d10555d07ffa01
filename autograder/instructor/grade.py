"""``python -m autograder grade``: plan, execute, record (see `autograder.instructor`).

    plan     submissions -> `GradingJob`s (new or changed notebooks only, unless ``force``)
    execute  `executors.run_jobs`: serial, local worker processes, or a Dask cluster
    record   `record.Recorder`: gradebook, state, feedback as each result arrives; then the
             CSV and the HTML report for the whole class
"""
from __future__ import annotations

import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from .executors import Executor
from ..job import (GradingJob, content_hash, learner_code_digest, reference_cells, source_tests,
                   student_seed)
from .record import Recorder
from ..result import FLAGS, NotebookResult

__all__ = ["grade", "GradingRun", "MAX_NOTEBOOK_BYTES"]

MAX_NOTEBOOK_BYTES = 32 * 2**20


@dataclass
class GradingRun:
    """What one ``grade`` call did: the class table, and where it wrote things."""

    rows: list                      # NotebookResult per (student, assignment) of this class
    graded: list = field(default_factory=list)     # (student, assignment) graded in this run
    skipped: list = field(default_factory=list)    # unchanged since an earlier run
    csv_path: Path | None = None
    report_path: Path | None = None
    feedback_dir: Path | None = None
    seconds: float = 0.0
    interrupted: bool = False

    def summary(self):
        """Per notebook: score and status, each failing test's first line, whole; then totals."""
        lines = []
        for r in sorted(self.rows, key=lambda r: (r.assignment, r.student)):
            if r.status == "graded":
                head = f"  {r.assignment}  {r.student}: {r.score:g} / {r.max_score:g}"
                if (r.student, r.assignment) in self.skipped:
                    head += "  (unchanged, not regraded)"
            else:
                head = f"  {r.assignment}  {r.student}: {r.status}" + (
                    f" ({r.reason})" if r.reason else "")
            lines.append(head)
            for flag in r.flags:
                lines.append(f"      ! {FLAGS.get(flag, flag)}")
            if r.tampered_cells:
                lines.append("      ! test cells changed (the original tests were used): "
                             + ", ".join(r.tampered_cells))
            for problem in r.cell_problems:
                lines.append(f"      - {problem.cell}: {problem.message.splitlines()[0]}")
            for test in r.tests:
                if not test.passed and r.status == "graded":
                    lines.append(f"      - {test.grade_id}: {test.message.splitlines()[0]}")
        graded = [r for r in self.rows if r.status == "graded"]
        counts = {s: sum(r.status == s for r in self.rows)
                  for s in ("graded", "not submitted", "could not be graded")}
        lines.append(
            f"{len(self.graded)} notebook(s) graded in {self.seconds:.1f} s, "
            f"{len(self.skipped)} unchanged; class table: {counts['graded']} graded, "
            f"{counts['not submitted']} not submitted, {counts['could not be graded']} could not "
            "be graded" + (f"; mean {sum(r.score for r in graded) / len(graded):.2f} points"
                           if graded else ""))
        if self.interrupted:
            lines.append("Interrupted: every grade made so far is recorded; run the same command "
                         "again to grade the rest.")
        for label, path in (("Grades", self.csv_path), ("Report", self.report_path),
                            ("Feedback", self.feedback_dir)):
            if path:
                lines.append(f"{label}: {path}")
        return "\n".join(lines)


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
    """{(student, assignment): notebook path, or why it cannot be read}, and warnings for what
    is skipped. A student folder with an unreadable name is listed with the reason."""
    found, warnings = {}, []
    for student_dir in sorted(p for p in Path(submitted_dir).iterdir() if p.is_dir()):
        student, problem = _readable(student_dir.name)
        for assignment_dir in sorted(p for p in student_dir.iterdir() if p.is_dir()):
            name, bad_name = _readable(assignment_dir.name)
            if bad_name or name not in known:
                warnings.append(f"{student}/{name} is not an assignment of this course; skipped")
                continue
            notebook = assignment_dir / f"{name}.ipynb"
            found[(student, name)] = problem or (notebook if notebook.is_file() else None)
    return found, warnings


def grade(submitted_dir, *, out, course, feedback_dir=None, report=None, workers=None,
          scheduler=None, force=False, sandboxed=True, cell_timeout=60.0, call_time_limit=None,
          budget=120.0, memory_limit=4 << 30, secret=None, progress=True, log=None):
    """Grade ``submitted_dir/<student>/<assignment>/<assignment>.ipynb`` (see the module docstring).

    Returns a `GradingRun`. The submitted files are only read. Ctrl-C stops the run after
    recording every result that has arrived; the CSV and report are still written.
    """
    log = log or (lambda text: print(text, file=sys.stderr, flush=True))
    started = time.monotonic()
    secret = course.secret() if secret is None else secret
    known = course.assignments()
    submissions, warnings = _submissions(submitted_dir, known)
    for warning in warnings:
        log(f"warning: {warning}")
    students = sorted({s for s, _ in submissions})
    assignments = sorted({a for _, a in submissions})
    tests = {a: source_tests(course.source_notebook(a)) for a in assignments}
    solutions = {a: reference_cells(course.source_notebook(a)) for a in assignments}
    executor = Executor(workers=workers, scheduler=scheduler, sandboxed=sandboxed)
    recorder = Recorder(course, feedback_dir)
    run = GradingRun(rows=[], csv_path=Path(out), feedback_dir=feedback_dir,
                     report_path=Path(report) if report else None)
    texts, jobs = {}, []
    try:
        for (student, assignment), path in sorted(submissions.items()):
            if path is None or isinstance(path, str):
                recorder.record(NotebookResult(
                    student, assignment, status="could not be graded",
                    reason=path or f"no notebook {assignment}.ipynb in the submission folder"))
                continue
            data = path.read_bytes()
            digest = content_hash(data, tests[assignment], secret)
            if not force and recorder.stored(student, assignment)[0] == digest:
                run.skipped.append((student, assignment))
                continue
            if len(data) > MAX_NOTEBOOK_BYTES:
                recorder.record(NotebookResult(
                    student, assignment, status="could not be graded", content_hash=digest,
                    reason=f"the notebook is larger than {MAX_NOTEBOOK_BYTES >> 20} MiB"))
                continue
            text = data.decode("utf-8", errors="replace")
            texts[(student, assignment)] = text
            jobs.append(GradingJob(
                student, assignment, text, tests[assignment],
                student_seed(student, assignment, assignment, secret,
                             learner_code_digest(text)), digest,
                cell_timeout=cell_timeout, call_time_limit=call_time_limit, budget=budget,
                memory_limit=memory_limit, sandboxed=sandboxed,
                reference_cells=solutions[assignment]))
        log(f"Grading {len(jobs)} notebook(s) ({len(run.skipped)} unchanged, skipped) with "
            + (f"the Dask cluster at {scheduler}" if scheduler else
               f"{workers} worker(s)") + ("" if sandboxed else " WITHOUT the sandbox") + ".")
        bar = _progress(len(jobs), progress)
        try:
            results = executor.run(jobs)          # the workers start grading now, while ...
            for assignment in assignments:       # ... the gradebook learns the assignments
                recorder.ensure_assignment(assignment, tests[assignment])
            for job, result in results:
                _record_safely(recorder, result, texts[(job.student, job.assignment)], log)
                run.graded.append((job.student, job.assignment))
                bar.set_postfix_str(f"{job.student}: {result.score:g}/{result.max_score:g}"
                                    if result.status == "graded" else f"{job.student}: "
                                    f"{result.status}", refresh=False)
                bar.update()
        except KeyboardInterrupt:
            run.interrupted = True
        finally:
            bar.close()
            executor.close(wait=False)
        run.rows = recorder.table(students, assignments, set(submissions))
        run.seconds = time.monotonic() - started
        recorder.write_csv(out, run.rows)
        if report:
            from .report import write_report
            write_report(run.rows, report, extra={
                "notebooks graded in this run": len(run.graded),
                "unchanged (not regraded)": len(run.skipped),
                "executor": f"Dask at {scheduler}" if scheduler else f"{workers} local worker(s)",
                "sandbox": "bubblewrap" if sandboxed else "NONE (--no-sandbox)",
                "wall time": f"{run.seconds:.1f} s"})
    finally:
        executor.close()
        recorder.close()
    return run


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
    return tqdm(total=total, unit="notebook", disable=not enabled or total == 0,
                dynamic_ncols=True, file=sys.stderr, smoothing=0.1)
