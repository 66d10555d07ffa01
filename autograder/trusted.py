"""The trusted grader: grade one notebook with the learner's code in a sandbox and the verdict here.

`grade_job` takes a picklable `GradingJob` and returns a picklable `NotebookResult`. For each
group of tests that forbid the same operations it forks a fresh learner process from the
worker's warm `Sandbox` (confined, with those operations disabled process-wide), runs the
notebook's cells there — every code cell except the test cells, whose text does not matter —
and then, for each test cell of the instructor's source notebook, generates the cases here
(visible seed, or the student's hidden seed), computes the PyTorch references here, sends only
the inputs to the learner process, receives what the learner's function returned (decoded by
`autograder.wire`, never unpickled) and compares here (`autograder.checks.run_check`). Nothing
the notebook does can change a score except the values its functions return.

Needs torch, NumPy and the learner library; not nbgrader (it runs on GPU machines without it).
"""
from __future__ import annotations

import json
import re
import time
from functools import partial

import torch

from . import provided
from .checks import CallOutcome, _no_tf32, available_devices, judge_call, run_check
from .errors import CheckFailure, ForbiddenOpError
from .exercise_db import get_exercise
from .instructor.jobs import GradingJob
from .instructor.results import CellProblem, NotebookResult, TestOutcome
from .sandbox import LearnerGone, Sandbox
from .samples import SampleInput
from .wire import ForeignTensor, Unsupported

__all__ = ["grade_job", "worker_sandbox", "close_worker_sandbox"]

_SANDBOXES = {}            # one warm sandbox per worker process and configuration


def worker_sandbox(sandboxed=True, cuda=None):
    """This process's warm sandbox (started on first use, restarted if it died)."""
    cuda = torch.cuda.is_available() if cuda is None else cuda
    key = (sandboxed, cuda)
    sandbox = _SANDBOXES.get(key)
    if sandbox is None or not sandbox.alive():
        if sandbox is not None:
            sandbox.close()
        sandbox = _SANDBOXES[key] = Sandbox(sandboxed=sandboxed, cuda=cuda)
    return sandbox


def close_worker_sandbox():
    for sandbox in _SANDBOXES.values():
        sandbox.close()
    _SANDBOXES.clear()


def _code_cells(notebook, test_ids):
    """[(label, source)] of the cells to run: every code cell except test cells."""
    cells, index = [], 0
    for cell in notebook.get("cells", []):
        if not isinstance(cell, dict) or cell.get("cell_type") != "code":
            continue
        index += 1
        meta = cell.get("metadata", {}).get("nbgrader", {}) or {}
        grade_id = meta.get("grade_id")
        if grade_id in test_ids or (meta.get("grade") and not meta.get("solution")):
            continue
        source = cell.get("source", "")
        source = "".join(source) if isinstance(source, list) else str(source)
        if source.strip():
            cells.append((grade_id or f"cell {index}", source))
    return cells


def _tampered(notebook, tests):
    """grade_ids of test cells that the submission edited or deleted."""
    found = {}
    for cell in notebook.get("cells", []):
        meta = (cell.get("metadata", {}) if isinstance(cell, dict) else {}).get("nbgrader", {}) or {}
        source = cell.get("source", "") if isinstance(cell, dict) else ""
        found[meta.get("grade_id")] = "".join(source) if isinstance(source, list) else str(source)
    changed = []
    for test in tests:
        text = found.get(test.grade_id)
        if text is None:
            changed.append(f"{test.grade_id} (deleted)")
        elif text.strip() != test.released.strip():
            changed.append(f"{test.grade_id} (edited)")
    return changed


# Code that can reach into the learner process's own memory or the dispatcher could, in
# principle, undo the disabled operators (see autograder.kernel): such notebooks are flagged for
# review. Correct solutions to this course need none of it.
_SUSPICIOUS = re.compile(
    r"\bctypes\b|_ctypes|__subclasses__|/proc/self/(mem|maps)|_DispatchModule|_dispatch_"
    r"|torch\.library|\bLibrary\(|__code__|f_back|_getframe|gc\.get_|_posixsubprocess"
    r"|__import__|importlib|\bexec\(|\beval\(|\bcompile\(|base64|codecs\.decode|marshal"
    r"|provided\.(checking|remote|_)|provided_running|__wrapped__")


def _review_reasons(cells):
    """Lines of the learner's cells that use something no solution needs (see `_SUSPICIOUS`)."""
    reasons = []
    for label, source in cells:
        for line in source.splitlines():
            match = _SUSPICIOUS.search(line)
            if match and len(reasons) < 10:
                reasons.append(f"{label}: {line.strip()[:120]}")
    return reasons


def _memory_error(kind, text):
    return kind == "MemoryError" or "allocate memory" in text or "out of memory" in text


def _parse(text):
    try:
        notebook = json.loads(text)
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        return None, f"not valid JSON ({getattr(error, 'msg', error)} at line " \
                     f"{getattr(error, 'lineno', '?')})"
    if not isinstance(notebook, dict) or not isinstance(notebook.get("cells"), list):
        return None, "not a notebook (no list of cells)"
    return notebook, ""


def _exit_reason(exit, memory_limit):
    """Why a learner process ended, in words, and the flag for it."""
    signal = exit.get("signal", 0)
    if exit.get("killed"):
        return "it ran past its time limit and was stopped", "timeout"
    if signal == 24:
        return "it used up its CPU-time limit", "timeout"
    if signal in (9, 6, 11, 7) and exit.get("maxrss_kib", 0) * 1024 > 0.8 * memory_limit:
        return "it ran out of memory", "memory"
    if signal:
        return f"the learner's process died (signal {signal})", "crash"
    return f"the learner's process exited (status {exit.get('status')})", "crash"


class _Group:
    """A learner process for the tests that forbid the same operations; restarted after a death."""

    def __init__(self, job, sandbox, forbidden, devices, problems):
        self.job, self.sandbox, self.devices = job, sandbox, devices
        self.options = {"forbidden": forbidden, "memory_limit": job.memory_limit,
                        "cuda": any(d.startswith("cuda") for d in devices),
                        "cpu_limit": int(job.options.get("cpu_limit", 600)),
                        "output_limit": int(job.options.get("output_limit", 1 << 20))}
        self.problems = problems
        self.cells = _code_cells(json.loads(job.notebook), {t.grade_id for t in job.tests})
        self.skip = set()           # cells that hung or killed the process: not replayed
        self.learner = None
        self.flags = set()          # flags raised while checking the current test

    def _problem(self, label, kind, message):
        if label not in self.problems:
            self.problems[label] = CellProblem(label, kind, message)

    def start(self):
        """A fresh learner process that has run every cell that does not hang or crash it."""
        while True:
            label, index = "(start)", -1
            self.learner = self.sandbox.spawn(self.options)
            self.learner.reader.devices = tuple(self.devices)
            try:
                for index, (label, source) in enumerate(self.cells):
                    if index in self.skip:
                        continue
                    header, _ = self.learner.request({"type": "cell", "source": source},
                                                     {"cell_done"}, self.job.cell_timeout)
                    for kind, message in self.learner.take_violations():
                        self._problem(label, kind, message)
                    if header.get("overflow"):
                        self._problem(label, "output", "this cell printed more than the output "
                                      "limit; the rest was dropped")
                    error = header.get("error")
                    if error:
                        where = f" (at {error['line']})" if error.get("line") else ""
                        kind = ("memory" if _memory_error(error["ename"], error["evalue"])
                                else "error")
                        self._problem(label, kind, f"{error['ename']}: "
                                      f"{error['evalue']}{where}")
                return self.learner
            except LearnerGone as gone:
                reason, flag = _exit_reason(gone.exit, self.job.memory_limit)
                if gone.timed_out:
                    reason = (f"this cell ran longer than {self.job.cell_timeout:g} s and was "
                              "stopped")
                self._problem(label, flag, f"{reason}; the grader started a new process, ran "
                              "the other cells again and went on")
                self.skip.add(index)
                self.learner = None

    def call(self, info, sample, expected, op_counts=None, simulated=False):
        """`run_check`'s caller: run the learner's function in the learner process.

        With ``simulated``, the learner process puts the arguments on the simulated device
        (`autograder.simulated`) and sends back the result's CPU data, saying if it was not there.
        """
        if self.learner is None:
            self.start()
        limit = float(self.job.call_time_limit or info.time_limit)
        try:
            header, values = self.learner.request(
                {"type": "call", "name": info.name, "exercise": info.key, "time_limit": limit,
                 "simulated": simulated},
                {"outcome", "missing"}, limit + 5.0,
                on_provided=partial(_run_provided, info, refused := []),
                args=sample.args, kwargs=sample.kwargs)
        except LearnerGone as gone:
            self.learner = None
            reason, flag = _exit_reason(gone.exit, self.job.memory_limit)
            if gone.timed_out or flag == "timeout":
                self.flags.add("timeout")
                raise CheckFailure(f"{info.name} did not return within {limit:g} s and was "
                                   "stopped. Look for a loop that never ends.") from None
            self.flags.add(flag)
            raise CheckFailure(f"{info.name} did not return: {reason}.") from None
        violations = self.learner.take_violations()
        for kind, _ in violations:
            self.flags.add(kind)
        if header["type"] == "missing":
            found = header.get("found")
            raise CheckFailure(f"{info.name} is not defined in the notebook" + (
                f" (the name holds a {found}, not a function)" if found else
                ": run the cell that defines it, and check its name") + ".")
        outcome = CallOutcome(**{k: header.get(k) for k in (
            "kind", "error_type", "error_message", "line", "stub", "violation",
            "violation_type", "op_count", "wrong_device") if k in header})
        outcome.error_bases = tuple(header.get("error_bases") or ())
        outcome.time_limit = limit
        outcome.value = _checked_value(values.get("value"))
        outcome.inputs_after = SampleInput(tuple(values.get("args", ())),
                                           dict(values.get("kwargs", {})))
        if outcome.kind == "timeout":
            self.flags.add("timeout")
        if _memory_error(outcome.error_type or "", outcome.error_message or ""):
            self.flags.add("memory")
        if violations and not outcome.violation:
            outcome.violation = violations[0][1]
        if refused and not outcome.violation:   # refused here, even if the learner caught it
            outcome.violation, outcome.violation_type = refused[0], "ForbiddenOpError"
        if outcome.violation and "forbidden" in outcome.violation:
            self.flags.add("forbidden")
        return judge_call(info, sample, expected, outcome, op_counts)

    def close(self):
        if self.learner is not None:
            self.learner.close()
            self.learner = None


def _run_provided(info, refused, name, args, kwargs):
    """The learner's `autograder.provided.<name>` call, computed here if the part may use it.

    A refusal is also appended to ``refused``: it fails the case even if the learner catches it.
    """
    if name not in info.may_use:
        refused.append(f"{info.name} called autograder.provided.{name}, which this part may not "
                       f"use: write {info.name} with your own code.")
        raise ForbiddenOpError(refused[-1])
    with _no_tf32():
        return provided.run(name, args, kwargs)


def _checked_value(value):
    """Turn what could not be sent as a plain tensor into a CheckFailure the learner can act on."""
    if isinstance(value, Unsupported):
        raise CheckFailure(f"the result should be a torch.Tensor (or what the contract says), "
                           f"got {value.what}")
    if isinstance(value, ForeignTensor):
        raise CheckFailure(f"the result should be a plain torch.Tensor, got {value.kind}")
    if isinstance(value, (tuple, list)):
        return type(value)(_checked_value(v) for v in value)
    return value


def grade_job(job: GradingJob, sandbox: Sandbox | None = None) -> NotebookResult:
    """Grade one notebook (see the module docstring). Never raises for anything the notebook does."""
    started = time.monotonic()
    result = NotebookResult(job.student, job.assignment, seed=job.seed,
                            content_hash=job.content_hash)
    notebook, reason = _parse(job.notebook)
    if notebook is None:
        result.status, result.reason = "could not be graded", f"the notebook is {reason}"
        result.tests = [TestOutcome(t.grade_id, t.exercise, t.hidden, t.points, 0.0,
                                    "not graded: " + result.reason) for t in job.tests]
        return result
    sandbox = sandbox or worker_sandbox(job.sandboxed)
    devices = list(job.devices or available_devices())
    result.devices = tuple(devices)
    result.tampered_cells = _tampered(notebook, job.tests)
    result.review = _review_reasons(_code_cells(notebook, {t.grade_id for t in job.tests}))
    problems = {}
    groups = {}
    for test in job.tests:
        info = get_exercise(test.exercise)
        key = (info.forbidden or "", info.forbid_autograd)
        groups.setdefault(key, []).append((test, info))
    outcomes = {}
    for (forbidden, _), members in groups.items():
        group = _Group(job, sandbox, forbidden or None, devices, problems)
        try:
            for test, info in members:
                group.flags = set()
                seed = job.seed if test.hidden else 0
                try:
                    failure = run_check(info, lambda s, e, c=None, simulated=False:
                                        group.call(info, s, e, c, simulated),
                                        hidden=test.hidden, seed=seed,
                                        devices=None if info.tensor_free else devices)
                except LearnerGone as gone:       # the learner died while starting or replaying
                    failure = CheckFailure(f"{info.name} could not be checked: {gone}")
                    group.learner = None
                outcomes[test.grade_id] = TestOutcome(
                    test.grade_id, test.exercise, test.hidden, test.points,
                    0.0 if failure else test.points, str(failure) if failure else "",
                    tuple(sorted(group.flags)) if failure else ())
        finally:
            group.close()
    result.tests = [outcomes[t.grade_id] for t in job.tests]
    result.cell_problems = list(problems.values())
    result.seconds = time.monotonic() - started
    return result
