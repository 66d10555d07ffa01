"""Adversarial submissions, and how the tests build and grade them (learner code that tries to
cheat, or to harm the rest of the class).

`attack_notebook` fills an exercise notebook with the course's solution, replaces some functions
and inserts extra cells; `grade_class` writes a class of such notebooks and grades it through
the real command, ``python -m autograder grade``, returning what an instructor gets back.
"""
from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from tests.conftest import (REPO, filled_exercise, nbgrader_meta, solution_sources,
                            write_submission)

CH1 = "01_cross_correlation"


def code_cell(source, index):
    return {"cell_type": "code", "execution_count": None, "id": f"adversarial-{index}",
            "metadata": {}, "outputs": [], "source": source}


def attack_notebook(replace=None, after=(), own_helpers=True, assignment=CH1, helpers=None):
    """The exercise filled with the solution, ``replace``d functions and extra cells.

    ``after`` is a list of (grade_id, source): a new code cell right after that cell.
    ``helpers`` ({function: source}) replaces functions before ``replace`` does (for chapter
    1, by default, convolve2d and corr2d_strided written without corr2d).
    """
    sources = solution_sources(assignment)
    if own_helpers and helpers:
        sources.update(helpers)
    sources.update(replace or {})
    notebook = filled_exercise(assignment, sources)
    for index, (grade_id, source) in enumerate(after):
        at = next(i for i, c in enumerate(notebook["cells"])
                  if nbgrader_meta(c).get("grade_id") == grade_id)
        notebook["cells"].insert(at + 1, code_cell(source, index))
    return notebook


@dataclass
class ClassRun:
    """What one ``grade`` run gave back: the process, the CSV rows, where things were written."""

    proc: subprocess.CompletedProcess
    rows: dict                  # {(student, assignment): CSV row}
    out: Path                   # the CSV's folder (feedback/, grading-report.html)
    private: Path                # the gradebook's folder (course/autograded/ ...)
    seconds: float
    max_rss_bytes: int          # peak resident memory of the command and everything it ran

    def row(self, student, assignment=CH1):
        assert (student, assignment) in self.rows, (
            f"no CSV row for {student}; the run said:\n{self.proc.stdout[-3000:]}\n"
            f"{self.proc.stderr[-3000:]}")
        return self.rows[(student, assignment)]

    def flags(self, student, assignment=CH1):
        return set(self.row(student, assignment)["flags"].split())

    def result(self, student, assignment=CH1):
        """The whole `NotebookResult` the grader recorded (every test's outcome and message)."""
        import json
        import sqlite3

        from autograder.result import NotebookResult
        with sqlite3.connect(self.private / "grading-state.db") as state:
            row = state.execute("SELECT result FROM results WHERE student=? AND assignment=?",
                                (student, assignment)).fetchone()
        assert row is not None, f"nothing recorded for {student}/{assignment}"
        return NotebookResult.from_dict(json.loads(row[0]))


class Grading:
    """A ``python -m autograder grade`` run started in the background (`start_class`);
    `result` waits for it (killing it at its deadline) and reads what it wrote."""

    def __init__(self, root, command, timeout):
        self.root, self.command = Path(root), command
        self.started = time.monotonic()
        self.deadline = self.started + timeout
        with open(self.root / "stdout.txt", "w") as stdout, \
                open(self.root / "stderr.txt", "w") as stderr:
            self.process = subprocess.Popen(command, cwd=REPO, stdout=stdout, stderr=stderr)
        self._run = None

    def result(self):
        if self._run is not None:
            return self._run
        from autograder.instructor.record import read_csv
        while True:
            pid, status, usage = os.wait4(self.process.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() > self.deadline:
                self.process.kill()
                pid, status, usage = os.wait4(self.process.pid, 0)
                break
            time.sleep(0.2)
        self.process.returncode = os.waitstatus_to_exitcode(status)
        seconds = time.monotonic() - self.started
        proc = subprocess.CompletedProcess(self.command, self.process.returncode,
                                           (self.root / "stdout.txt").read_text(),
                                           (self.root / "stderr.txt").read_text())
        csv_path = self.root / "out" / "grades.csv"
        rows = ({(r["student_id"], r["assignment"]): r for r in read_csv(csv_path)}
                if csv_path.exists() else {})
        self._run = ClassRun(proc, rows, self.root / "out", self.root / "private", seconds,
                             usage.ru_maxrss * 1024)
        return self._run

    def stop(self):
        """Kill the run if it is still going (a test session that ends early)."""
        if self._run is None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()


def start_class(root, students, *options, workers=1, timeout=900):
    """Write ``students`` ({name: notebook dict or text, or {assignment: ...}}) under
    root/submitted and start grading them with ``python -m autograder grade`` (gradebook in
    root/private, CSV, feedback and report in root/out). With one worker the notebooks are
    graded one after another, in the order of their student names, all in the same sandbox."""
    root = Path(root)
    for student, notebook in students.items():
        by_assignment = notebook if isinstance(notebook, dict) and "cells" not in notebook \
            else {CH1: notebook}
        for assignment, content in by_assignment.items():
            write_submission(root / "submitted", student, assignment, content)
    command = [sys.executable, "-m", "autograder", "grade", str(root / "submitted"),
               "--out", str(root / "out" / "grades.csv"),
               "--gradebook", str(root / "private" / "gradebook.db"),
               "--workers", str(workers), "--no-progress", *map(str, options)]
    return Grading(root, command, timeout)


def grade_class(root, students, *options, workers=1, timeout=900):
    """`start_class`, and wait for it: the `ClassRun`."""
    return start_class(root, students, *options, workers=workers, timeout=timeout).result()
