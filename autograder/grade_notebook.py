"""The trusted grader: grade one notebook with the learner's code in a sandbox and the verdict here.

`grade_job` takes a picklable `GradingJob` and returns a picklable `NotebookResult`. For each
group of tests that forbid the same operations it forks a fresh learner process from the
worker's warm `Sandbox` (confined, with those operations disabled process-wide), runs the
notebook's cells there — every code cell except the test cells, whose text does not matter —
and then, for each test cell of the instructor's source notebook, generates the cases here
(visible seed, or the student's hidden seed), computes the PyTorch references here, sends only
the inputs to the learner process, receives what the learner's function returned (decoded by
`autograder.wire`, never unpickled) and compares here (`autograder.checks.run_check`). Nothing
the notebook does can change a score except the values its functions return, and how much CPU
time they take, which is read from outside the learner process (`Learner.cpu_seconds`).

A notebook gets a wall-clock budget for everything it runs (`GradingJob.budget`); a sandbox that
breaks (a late reply, files it could not remove) is replaced before the next learner process.

Needs torch and the learner library; not nbgrader (it runs on GPU machines without it).
"""
from __future__ import annotations

import threading
import time
from functools import partial

import torch

from . import notebook as nb
from . import provided
from .checks import available_devices, judge_call, run_check
from .errors import BudgetExhausted, CheckFailure, ForbiddenOpError
from .exercise_db import get_exercise
from .op_watch import SCRATCH
from .install import blank_install_lines
from .job import GradingJob
from .precision import full_float32
from .protocol import OUTCOME_FIELDS, CallOutcome
from .result import CellProblem, NotebookResult, TestOutcome
from .review import review_reasons
from .sandbox import LearnerGone, Sandbox
from .samples import Draw, SampleInput
from .simulated import describe_tensor
from .wire import ForeignTensor, OnSimulated, Unsupported

__all__ = ["grade_job", "worker_sandbox", "BudgetExhausted"]

# One warm sandbox per worker thread and configuration: the threads of one Dask worker each
# grade in their own sandbox (a sandbox serves one learner process at a time).
_SANDBOXES = {}
_SANDBOXES_LOCK = threading.Lock()


def worker_sandbox(sandboxed=True, cuda=None):
    """This thread's warm sandbox (started on first use; replaced if it died or is broken)."""
    cuda = torch.cuda.is_available() if cuda is None else cuda
    key = (threading.get_ident(), sandboxed, cuda)
    with _SANDBOXES_LOCK:
        sandbox = _SANDBOXES.get(key)
    if sandbox is None or not sandbox.usable():
        if sandbox is not None:
            sandbox.close()
        sandbox = Sandbox(sandboxed=sandboxed, cuda=cuda)
        with _SANDBOXES_LOCK:
            _SANDBOXES[key] = sandbox
    return sandbox


class _Sandboxes:
    """The sandbox a notebook is graded in: the given one, or this thread's; replaced by a fresh
    one of the same kind as soon as it is broken (`Sandbox.broken`), so that nothing a learner
    process left behind reaches the next one."""

    def __init__(self, job, given=None):
        self.job, self.given, self.made = job, given, []

    def get(self):
        if self.given is None:
            return worker_sandbox(self.job.sandboxed)
        if not self.given.usable():
            self.given.close()
            self.given = Sandbox(sandboxed=self.given.sandboxed, cuda=self.given.cuda)
            self.made.append(self.given)
        return self.given

    def close(self):
        for sandbox in self.made:
            sandbox.close()


def _code_cells(notebook, test_ids):
    """[(label, source)] of the cells to run: every non-empty code cell except test cells."""
    return [(cell.label, cell.source) for cell in notebook.learner_cells(test_ids)
            if cell.source.strip()]


def _tampered(notebook, tests):
    """grade_ids of test cells that the submission edited or deleted."""
    found = {cell.grade_id: cell.source for cell in notebook.cells}
    changed = []
    for test in tests:
        text = found.get(test.grade_id)
        if text is None:
            changed.append(f"{test.grade_id} (deleted)")
        elif text.strip() != test.released.strip():
            changed.append(f"{test.grade_id} (edited)")
    return changed


def _memory_error(kind, text):
    return kind == "MemoryError" or "allocate memory" in text or "out of memory" in text


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


class _Problems:
    """What went wrong in the learner's cells: the first `LIMIT` cells' problems, then a count
    (so that feedback and report stay small whatever the notebook holds)."""

    LIMIT = 50

    def __init__(self):
        self.found, self.more = {}, set()

    def add(self, label, kind, message):
        if label in self.found or label in self.more:
            return
        if len(self.found) < self.LIMIT:
            self.found[label] = CellProblem(label, kind, message)
        else:
            self.more.add(label)

    def values(self):
        found = list(self.found.values())
        if self.more:
            found.append(CellProblem("(more cells)", "error", f"{len(self.more)} more cell(s) "
                                     "had problems too; fix the ones above first"))
        return found


class _Budget:
    """The notebook's wall-clock budget: every cell, call and learner process together."""

    def __init__(self, seconds):
        self.seconds = float(seconds)
        self.deadline = time.monotonic() + self.seconds

    def left(self):
        return max(0.0, self.deadline - time.monotonic())

    def cap(self, seconds):
        """``seconds``, or what is left of the budget if that is less (BudgetExhausted at 0)."""
        left = self.left()
        if left <= 0:
            raise self.exhausted()
        return min(float(seconds), left)

    def exhausted(self):
        return BudgetExhausted(
            f"the notebook used up its grading time ({self.seconds:g} s for all its cells and "
            "calls together) before this test could run; look for cells or functions that take "
            "long (a sleep, a loop that runs for minutes) and make them faster.")


class _Group:
    """A learner process for the tests that forbid the same operations; restarted after a death."""

    def __init__(self, job, sandboxes, info, devices, problems, cells, budget, skip):
        self.job, self.sandboxes, self.devices = job, sandboxes, devices
        self.budget = budget
        self.options = {"forbidden": info.forbidden, "memory_limit": job.memory_limit,
                        "cuda": any(d.startswith("cuda") for d in devices),
                        "cpu_limit": int(job.options.get("cpu_limit", 600)),
                        "output_limit": int(job.options.get("output_limit", 1 << 20))}
        self.problems = problems
        self.cells = cells
        self.skip = skip            # cells that hung or killed a process: not replayed, in
                                    # this group or any later one of the notebook
        self.learner = None
        self.flags = set()          # flags raised while checking the current test

    def _problem(self, label, kind, message):
        self.problems.add(label, kind, message)

    def _spawn(self, options, timeout):
        return self.sandboxes.get().spawn(options, timeout)

    def start(self):
        """A fresh learner process that has run every cell that does not hang or crash it."""
        while True:
            label, index = "(start)", -1
            options = dict(self.options, cpu_limit=max(1, min(
                self.options["cpu_limit"], int(self.budget.left()) + 1)))
            self.learner = self._spawn(options, self.budget.cap(60.0))
            self.learner.reader.devices = tuple(self.devices) + ("simulated",)
            try:
                for index, (label, source) in enumerate(self.cells):
                    if index in self.skip:
                        continue
                    header, _ = self.learner.request(
                        {"type": "cell", "source": source}, {"cell_done"},
                        self.budget.cap(self.job.cell_timeout))
                    for kind, message in self.learner.take_violations():
                        self._problem(label, kind, message)
                    if header.get("overflow"):
                        self._problem(label, "output", "this cell printed more than the output "
                                      "limit; the rest was dropped")
                    error = header.get("error")
                    if isinstance(error, dict):
                        where = f" (at {error.get('line')})" if error.get("line") else ""
                        ename, evalue = str(error.get("ename")), str(error.get("evalue"))
                        kind = "memory" if _memory_error(ename, evalue) else "error"
                        if ename == "ForbiddenOpError" and evalue.startswith(SCRATCH):
                            self._problem(label, "note", evalue)   # a comparison cell
                        else:
                            self._problem(label, kind, f"{ename}: {evalue}{where}")
                return self.learner
            except LearnerGone as gone:
                self.learner = None
                if not self.budget.left():
                    self._problem(label, "timeout", "the notebook's grading time ran out while "
                                  "this cell ran")
                    raise self.budget.exhausted() from None
                reason, flag = _exit_reason(gone.exit, self.job.memory_limit)
                if gone.timed_out:
                    reason = (f"this cell ran longer than {self.job.cell_timeout:g} s and was "
                              "stopped")
                self._problem(label, flag, f"{reason}; the grader started a new process, ran "
                              "the other cells again and went on")
                self.skip.add(index)

    def call(self, info, sample, expected, op_counts=None, simulated=False, cpu=None):
        """`run_check`'s caller: run the learner's function in the learner process.

        With ``simulated``, the learner process puts the arguments on the simulated device
        (`autograder.simulated`) and sends the result back as it is; which of its tensors were
        on that device is read here, from the frame. ``cpu``, a list, receives the CPU seconds
        the learner process spent on the call, read from outside it.
        """
        if self.learner is None:
            self.start()
        limit = float(self.job.call_time_limit or info.time_limit)
        timeout = self.budget.cap(limit + 1.0)
        before = self.learner.cpu_seconds() if cpu is not None else None
        try:
            header, values = self.learner.request(
                {"type": "call", "name": info.name, "exercise": info.key, "time_limit": 0,
                 "simulated": simulated},
                {"outcome", "missing"}, timeout,
                on_provided=partial(_run_provided, info, refused := []),
                args=sample.args, kwargs=sample.kwargs)
        except LearnerGone as gone:
            self.learner = None
            if not self.budget.left():
                self.flags.add("timeout")
                raise self.budget.exhausted() from None
            reason, flag = _exit_reason(gone.exit, self.job.memory_limit)
            if (gone.exit or {}).get("maxrss_kib", 0) * 1024 > 0.8 * self.job.memory_limit:
                self.flags.add("memory")         # stopped while it was filling its memory
            if gone.timed_out or flag == "timeout":
                self.flags.add("timeout")
                raise CheckFailure(f"{info.name} did not return within {limit:g} s and was "
                                   "stopped. Look for a loop that never ends.") from None
            self.flags.add(flag)
            raise CheckFailure(f"{info.name} did not return: {reason}.") from None
        if cpu is not None:
            after = self.learner.cpu_seconds()
            if before is not None and after is not None:
                cpu.append(after - before)
        violations = self.learner.take_violations()
        for kind, _ in violations:
            self.flags.add(kind)
        if header["type"] == "missing":
            found = header.get("found")
            raise CheckFailure(f"{info.name} is not defined in the notebook" + (
                f" (the name holds a {found}, not a function)" if found else
                ": run the cell that defines it, and check its name") + ".")
        outcome = CallOutcome(**{k: header.get(k) for k in OUTCOME_FIELDS if k in header})
        outcome.error_bases = tuple(header.get("error_bases") or ())
        outcome.time_limit = limit
        value, outcome.wrong_device = _received(values.get("value"), simulated,
                                                str(outcome.wrong_device or ""))
        outcome.value = _checked_value(value)
        args, _ = _received(tuple(values.get("args", ())), simulated, "")
        kwargs, _ = _received(dict(values.get("kwargs", {})), simulated, "")
        outcome.inputs_after = SampleInput(tuple(args), dict(kwargs))
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


def _received(value, simulated, told):
    """(``value`` with simulated tensors' data in place, problem): decided here, from the frame.

    On the simulated pass every tensor of the result must have come back marked as on the
    simulated device; ``told`` is the learner process's own explanation (where the CPU tensor
    was created), used only when the frame shows the same problem. Elsewhere a tensor marked
    as simulated is not a plain tensor.
    """
    problems = []

    def visit(item, label):
        if isinstance(item, OnSimulated):
            return item.tensor if simulated else ForeignTensor("tensor on the simulated device",
                                                               item.tensor)
        if simulated and isinstance(item, torch.Tensor) and not problems:
            problems.append(told or (
                f"{label} is a {describe_tensor(item)} on the CPU, but the inputs were on "
                "another\n    device. Create new tensors with device=x.device (or "
                "x.new_zeros(...), torch.zeros_like(x)) and do\n    not move results to the CPU "
                "(.cpu(), .to('cpu')), so that the function works on a GPU.\n    (The checks "
                "ran it on a simulated second device, shown as 'meta'.)"))
        if isinstance(item, (tuple, list)):
            items = [visit(v, f"element {i} of {label}") for i, v in enumerate(item)]
            return items if isinstance(item, list) else tuple(items)
        if isinstance(item, dict):
            return {k: visit(v, label) for k, v in item.items()}
        return item

    plain = visit(value, "the result")
    return plain, (problems[0] if problems else "")


def _run_provided(info, refused, name, args, kwargs, deadline):
    """The learner's `autograder.provided.<name>` call, computed here if the part may use it.

    A refusal is also appended to ``refused``: it fails the case even if the learner catches it.
    The work is bounded before it starts (`provided.check_cost`) and must fit in what is left of
    the call's time: nothing a notebook asks for runs unbounded in this process.
    """
    if name not in info.may_use:
        refused.append(f"{info.name} called autograder.provided.{name}, which this part may not "
                       f"use: write {info.name} with your own code.")
        raise ForbiddenOpError(refused[-1])
    if time.monotonic() >= deadline:
        raise LearnerGone("the call's time ran out while it used autograder.provided",
                          timed_out=True)
    provided.check_cost(info, name, args, kwargs)
    with full_float32():
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


class _ReferenceTimes:
    """CPU seconds the course's own solution takes on an exercise's timing inputs, measured in
    a learner process of the same kind of sandbox (once per worker thread and input shape)."""

    _cache = {}
    _lock = threading.Lock()

    def __init__(self, job, sandboxes, devices):
        self.job, self.sandboxes, self.devices = job, sandboxes, devices

    def __call__(self, info, samples):
        if not self.job.reference_cells:
            return None
        key = (threading.get_ident(), info.key, tuple(s.describe(info.name) for s in samples))
        with self._lock:
            if key in self._cache:
                return self._cache[key]
        times = self._measure(info, samples)
        with self._lock:
            self._cache[key] = times
        return times

    def _measure(self, info, samples):
        options = {"forbidden": info.forbidden, "memory_limit": self.job.memory_limit,
                   "cpu_limit": 600,
                   "cuda": any(d.startswith("cuda") for d in self.devices),
                   "output_limit": 1 << 16}
        learner = self.sandboxes.get().spawn(options, 60.0)
        try:
            for label, source in self.job.reference_cells:
                learner.request({"type": "cell", "source": source}, {"cell_done"}, 120.0)
            times = []
            for sample in samples:
                best = None
                for _ in range(2):
                    before = learner.cpu_seconds()
                    header, _ = learner.request(
                        {"type": "call", "name": info.name, "exercise": info.key,
                         "time_limit": 0, "simulated": False}, {"outcome", "missing"}, 120.0,
                        on_provided=partial(_run_provided, info, []),
                        args=sample.args, kwargs=sample.kwargs)
                    after = learner.cpu_seconds()
                    if header.get("type") != "outcome" or header.get("kind") != "returned" \
                            or before is None or after is None:
                        return None           # the solution cannot be timed here: no check
                    best = after - before if best is None else min(best, after - before)
                times.append(best)
            return times
        except LearnerGone:
            return None
        finally:
            learner.close()


def _not_graded(test, reason, flags=()):
    return TestOutcome(test.grade_id, test.exercise, test.hidden, test.points, 0.0,
                       "not graded: " + reason, tuple(flags))


def grade_job(job: GradingJob, sandbox: Sandbox | None = None) -> NotebookResult:
    """Grade one notebook (see the module docstring). Never raises for anything the notebook does.

    ``sandbox`` defaults to this worker thread's; a sandbox that breaks while the notebook is
    graded is replaced before the next learner process starts.
    """
    started = time.monotonic()
    result = NotebookResult(job.student, job.assignment, seed=job.seed,
                            content_hash=job.content_hash)
    try:
        notebook = nb.parse(job.notebook)
    except nb.NotebookError as error:
        result.status, result.reason = "could not be graded", f"the notebook is {error}"
        result.tests = [_not_graded(t, result.reason) for t in job.tests]
        return result
    sandboxes = _Sandboxes(job, sandbox)
    devices = list(job.devices or available_devices())
    result.devices = tuple(devices)
    result.tampered_cells = _tampered(notebook, job.tests)
    cells = _code_cells(notebook, {t.grade_id for t in job.tests})
    result.review = review_reasons([(label, blank_install_lines(source))
                                    for label, source in cells])
    for info in {get_exercise(t.exercise).key: get_exercise(t.exercise) for t in job.tests}.values():
        if info.timing_inputs is not None:    # timed now, while no learner process is running
            _ReferenceTimes(job, sandboxes, devices)(info, info.timing_inputs(Draw(0)))
    budget = _Budget(job.budget)
    problems = _Problems()
    skip = set()
    groups = {}
    for test in job.tests:
        info = get_exercise(test.exercise)
        groups.setdefault((info.forbidden or "", info.forbid_autograd), []).append((test, info))
    outcomes = {}
    try:
        for members in groups.values():
            group = _Group(job, sandboxes, members[0][1], devices, problems, cells, budget,
                           skip)
            try:
                for test, info in members:
                    if not budget.left():
                        raise budget.exhausted()
                    group.flags = set()
                    seed = job.seed if test.hidden else 0
                    notes = []
                    try:
                        failure = run_check(
                            info, lambda s, e, c=None, simulated=False, cpu=None:
                            group.call(info, s, e, c, simulated, cpu),
                            hidden=test.hidden, seed=seed,
                            devices=None if info.tensor_free else devices,
                            cpu_reference=_ReferenceTimes(job, sandboxes, devices), notes=notes)
                    except LearnerGone as gone:   # the learner died while starting or replaying
                        failure = CheckFailure(f"{info.name} could not be checked: {gone}")
                        group.learner = None
                    except BudgetExhausted as exhausted:
                        failure = exhausted
                    if isinstance(failure, BudgetExhausted):
                        group.flags.add("timeout")
                    flags = set(group.flags) if failure else set()
                    if notes:                   # tamper-evident: a learner could raise it
                        flags.add("unchecked")
                    outcomes[test.grade_id] = TestOutcome(
                        test.grade_id, test.exercise, test.hidden, test.points,
                        0.0 if failure else test.points,
                        str(failure) if failure else "\n".join(notes), tuple(sorted(flags)))
                    if isinstance(failure, BudgetExhausted):
                        raise failure
            finally:
                group.close()
    except BudgetExhausted as exhausted:
        for test in job.tests:
            if test.grade_id not in outcomes:
                outcomes[test.grade_id] = _not_graded(test, str(exhausted), ("timeout",))
    finally:
        sandboxes.close()
    result.tests = [outcomes[t.grade_id] for t in job.tests]
    result.cell_problems = list(problems.values())
    result.seconds = time.monotonic() - started
    return result
