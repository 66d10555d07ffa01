"""`check`: run a learner's function on sample inputs and compare it with the PyTorch reference.

The same call serves the notebook's visible tests (a fixed seed, a few cases, instant feedback)
and nbgrader's hidden tests (``hidden=True``: more cases, drawn at grading time from a seed that
the grader derives per student and prints in the feedback, so any failing case can be replayed).
"""
from __future__ import annotations

import os
import secrets
import traceback
import types
from contextlib import nullcontext

import torch

from .compare import Raises, assert_matches
from .errors import CheckFailure, ForbiddenOpError, LearnerTimeout, LeftTorchError, TamperingError
from .exercise_db import get_exercise
from .protocol import UNAVAILABLE, CallOutcome
from .tamper import Integrity
from .op_watch import forbid_ops, is_library_file
from .precision import full_float32
from .time_limit import time_limit as time_limit_guard
from .provided import checking as _checking
from .samples import Draw
from .simulated import SIMULATED, has_tensors, result_on_device, simulated_device

__all__ = ["check", "run_check", "SimulatedSkip", "sample_input", "available_devices", "call_locally",
           "judge_call", "simulated_device", "VISIBLE_SEED"]

VISIBLE_SEED = 0
DEVICES_VARIABLE = "AUTOGRADER_DEVICES"

_equal = torch.equal


def available_devices():
    """``["cpu"]`` plus every CUDA device, unless ``AUTOGRADER_DEVICES`` (comma-separated) says."""
    chosen = os.environ.get(DEVICES_VARIABLE)
    if chosen:
        return [d.strip() for d in chosen.split(",") if d.strip()]
    return ["cpu"] + [f"cuda:{i}" for i in range(torch.cuda.device_count())]


def _resolve_seed(hidden, seed):
    if seed is not None:
        return int(seed)
    if not hidden:
        return VISIBLE_SEED
    return secrets.randbelow(2**31)


def sample_input(exercise, index, seed=VISIBLE_SEED, hidden=False, device="cpu"):
    """Case number ``index`` (counting from 1, as the feedback does) of an exercise, to replay it.

    Example: ``case = sample_input("01_cross_correlation.corr2d", 3)`` then
    ``corr2d(*case.args, **case.kwargs)``. With ``device="simulated"`` the tensors are on the
    checks' simulated second device: call the function inside ``with simulated_device():``.
    """
    info = get_exercise(exercise)
    return info.sample_inputs(Draw(seed), hidden)[index - 1].to(device)


def learner_line(error, is_learner_file):
    """'line 7 in corr2d: out[i, j] = ...' for the deepest frame of the learner's code, if any.

    The deepest: an error raised in a helper that the checked function calls (defined in another
    cell, say) points at the helper's line, not at the call.
    """
    frames = [f for f in traceback.extract_tb(error.__traceback__) if is_learner_file(f.filename)]
    if not frames:
        return ""
    frame = frames[-1]
    text = (frame.line or "").strip()
    return f"line {frame.lineno} in {frame.name}" + (f": {text}" if text else "")


def is_stub_error(error, is_learner_file=None):
    """True for the stub's own ``raise NotImplementedError()``: no message, raised by the
    learner's code (PyTorch's NotImplementedError for an unsupported dtype or device is not)."""
    if not isinstance(error, NotImplementedError) or error.args:
        return False
    frames = traceback.extract_tb(error.__traceback__)
    return is_learner_file is None or bool(frames) and is_learner_file(frames[-1].filename)


def call_locally(info, function, sample, is_learner_file=None, simulated=False, time_limit=None,
                 keep_simulated=False):
    """Call ``function`` on a copy of ``sample`` in this process, under the guards.

    With ``simulated``, the copy's tensors are on the simulated device (`autograder.simulated`)
    and ``wrong_device`` says which part of the result is not on that device, if any; the
    outcome holds the result's and the inputs' CPU data, or, with ``keep_simulated``, the
    values as they are (the sandboxed learner process sends them so, and the grader decides
    from the frame which tensors were on the device). ``time_limit`` is the seconds the call
    may take (default: the exercise's; 0: no limit here, the caller enforces one from outside,
    as the sandboxed grader does).
    """
    code_file = getattr(getattr(function, "__code__", None), "co_filename", None)
    is_learner_file = is_learner_file or (
        lambda name: name == code_file or not is_library_file(name))
    args = sample.clone()
    if simulated:
        args = args.to(SIMULATED)
    limit = float(info.time_limit if time_limit is None else time_limit)
    outcome = CallOutcome("returned", time_limit=limit)
    record = None
    checking = _checking.set(info)
    device = simulated_device(is_learner_file) if simulated else nullcontext()
    try:
        with time_limit_guard(limit, info.name), device, forbid_ops(
                info.forbidden, info.name, info.forbid_autograd) as record:
            outcome.value = function(*args.args, **args.kwargs)
    except LearnerTimeout:
        outcome.kind = "timeout"
    except KeyboardInterrupt:
        raise
    except CheckFailure as failure:
        outcome.kind, outcome.violation = "raised", str(failure)
        outcome.violation_type = type(failure).__name__
    except BaseException as error:  # noqa: B036 - any learner error is a failed case, not a crash
        outcome.kind, outcome.error_type, outcome.error_message = (
            "raised", type(error).__name__, str(error))
        outcome.error_bases = tuple(c.__name__ for c in type(error).__mro__)
        outcome.line = learner_line(error, is_learner_file)
        outcome.stub = is_stub_error(error, is_learner_file)
    finally:
        _checking.reset(checking)
    if record is not None:
        try:
            record.raise_if_violated()
        except CheckFailure as failure:
            outcome.violation, outcome.violation_type = str(failure), type(failure).__name__
        outcome.op_count = record.op_count
    if simulated:
        plain, outcome.wrong_device = result_on_device(outcome.value)
        if not keep_simulated:
            outcome.value, args = plain, args.to("cpu")
    elif outcome.kind == "returned":
        outcome.aliases = _shared_input(outcome.value, args, info.parameters)
    outcome.inputs_after = args
    return outcome


def _shared_input(value, sample, parameters):
    """The name of the input tensor whose memory a tensor of ``value`` (or of a tuple or list
    of them) shares, or "". Compares storages, so a view of an input counts too."""
    results = value if isinstance(value, (tuple, list)) else (value,)
    storages = {}
    for name, tensor in sample.tensors(parameters):
        if tensor.layout == torch.strided and tensor.device.type != "meta":
            storages.setdefault(tensor.untyped_storage().data_ptr(), name)
    for result in results:
        if (isinstance(result, torch.Tensor) and result.layout == torch.strided
                and result.device.type != "meta" and result.untyped_storage().nbytes()):
            name = storages.get(result.untyped_storage().data_ptr())
            if name:
                return name
    return ""


_FAILURE_TYPES = {cls.__name__: cls for cls in (CheckFailure, ForbiddenOpError, LeftTorchError,
                                                TamperingError)}


class SimulatedSkip(Exception):
    """The case cannot run on the simulated device (`SimulatedDeviceUnsupported`): a limit of
    the grader, so the case counts as checked on the CPU only."""


def judge_call(info, sample, expected, outcome, op_counts=None):
    """The learner's result for ``sample`` from ``outcome``, or CheckFailure saying what went wrong.

    When ``expected`` is `Raises`, returns ``outcome`` if the call raised, else None. ``op_counts``, a list, receives the call's number of dispatched ATen operations.
    """
    name = info.name
    if outcome.violation:
        raise _FAILURE_TYPES.get(outcome.violation_type, CheckFailure)(outcome.violation)
    if outcome.kind == "timeout":
        raise CheckFailure(f"{name} did not return within {outcome.time_limit:g} s and was "
                           "stopped. Look for a loop that never ends.")
    if outcome.kind == "raised":
        if "SimulatedDeviceUnsupported" in (outcome.error_bases or ()):
            raise SimulatedSkip(outcome.error_message.split("\n")[0])
        if isinstance(expected, Raises):
            return outcome
        if outcome.stub:
            raise CheckFailure(f"{name} is not implemented yet: it raised NotImplementedError. "
                               "Replace `raise NotImplementedError()` with your code.")
        where = f"\n    at {outcome.line}" if outcome.line else ""
        if {"NotImplementedError", "RuntimeError"} <= set(outcome.error_bases or ()):
            raise CheckFailure(f"{name} raised PyTorch's NotImplementedError: "
                               f"{outcome.error_message}{where}\n  PyTorch does not implement "
                               "this operation for these inputs (their dtype or device): use "
                               "another operation.")
        raise CheckFailure(f"{name} raised {outcome.error_type}: {outcome.error_message}{where}")
    if op_counts is not None and outcome.op_count is not None:
        op_counts.append(outcome.op_count)
    after = outcome.inputs_after
    if after is not None:
        for (arg_name, before), (_, now) in zip(sample.tensors(info.parameters),
                                                after.tensors(info.parameters)):
            if (not isinstance(now, torch.Tensor) or before.shape != now.shape
                    or not _equal(before, now.to(before.device))):
                raise CheckFailure(f"{name} modified its input {arg_name} in place; work on a "
                                   "copy or build a new tensor instead.")
    if isinstance(expected, Raises):
        return None
    if outcome.wrong_device:
        raise CheckFailure(outcome.wrong_device)
    if info.new_tensor and outcome.aliases:
        raise CheckFailure(
            f"{name} returned its input {outcome.aliases} itself (or a view of it): the result "
            "must be a new tensor, as PyTorch's is, so that writing to one never changes the "
            f"other. Return a copy where nothing else makes one "
            f"({outcome.aliases.strip('`')}.clone()).")
    return outcome.value


def _call_learner(info, function, sample, expected, op_counts=None, simulated=False):
    """Call the learner's function in this process and judge the outcome (see `judge_call`)."""
    return judge_call(info, sample, expected,
                      call_locally(info, function, sample, simulated=simulated), op_counts)


# Correct vectorised code may dispatch a copy or two more on a larger input (PyTorch skips some
# copies for size-1 dimensions or for slices that cover a whole axis); a loop over the extra
# images or positions of the large sample adds far more (see the op_count_inputs contract).
OP_COUNT_SLACK = 2


def _check_op_count(info, call, seed):
    """Fail if the function dispatches more operations on a larger input: it is not vectorised.

    ``call(sample, expected, op_counts)`` calls the learner's function (see `run_check`).
    """
    small, large = info.op_count_inputs(Draw(seed))
    counts = []
    for sample in (small, large):
        call(sample, None, counts)
    if counts[1] > counts[0] + OP_COUNT_SLACK:
        raise CheckFailure(
            f"{info.name} is not vectorised: it dispatched {counts[0]} tensor operations for "
            f"{small.describe(info.name, info.parameters)} but {counts[1]} for the larger input "
            f"{large.describe(info.name, info.parameters)}. The number of operations must not "
            "grow with the input: replace loops over output positions or batch elements by "
            "operations on whole tensors (one matrix product, einsum, strided views).")


# A vectorised function may be a few times slower than the course's solution (another way of
# building the windows, float64 inside, an FFT); a loop over images or output positions of a
# timing input costs 50 to 1000 times as much (`ExerciseInfo.timing_inputs`).
CPU_TIME_FACTOR = 10.0
CPU_TIME_FLOOR = 0.02            # seconds: below this, CPU time says nothing


def _check_cpu_time(info, call, seed, cpu_reference):
    """Fail if the function takes far more CPU time than the course's solution on large inputs.

    The CPU time is measured outside the learner's process (`autograder.sandbox`), so nothing
    the learner's code does to counters or watches inside it changes what is measured; the
    result of each timed call is checked like any other case. A call over the limit is timed
    once more and the faster of the two counts, so a noisy neighbour cannot fail a solution.
    """
    samples = info.timing_inputs(Draw(seed))
    reference = cpu_reference(info, samples)
    if not reference:
        return
    for sample, solution in zip(samples, reference):
        with full_float32():
            expected = info.reference(*sample.args, **sample.kwargs)
        allowed = max(CPU_TIME_FACTOR * solution, solution + CPU_TIME_FLOOR)
        spent = []
        for _ in range(2):
            value = call(sample, expected, cpu=spent)
            assert_matches(value, expected, what="the result", names=info.returns,
                           from_the_end=info.from_the_loss)
            if not spent or min(spent) <= allowed:
                break
        if spent and min(spent) > allowed:
            raise CheckFailure(
                f"{info.name} is not vectorised: on {sample.describe(info.name, info.parameters)} "
                f"it used {min(spent):.2f} s of CPU time, {min(spent) / max(solution, 1e-6):.0f} "
                f"times the course's solution ({solution * 1e3:.0f} ms, measured the same way); "
                f"at most {CPU_TIME_FACTOR:g} times is allowed. Replace loops over images or "
                "output positions by operations on whole tensors.")


def _check_raises(info, raised, expected):
    """``raised`` is the `CallOutcome` of a call that raised, or None if it returned."""
    if raised is None:
        raise CheckFailure(f"{info.name} returned a value, but these arguments are invalid "
                           f"({expected.reason}): it should raise {expected.exception.__name__}.")
    if expected.exception.__name__ not in raised.error_bases:
        raise CheckFailure(f"{info.name} raised {raised.error_type}: {raised.error_message}, but "
                           f"it should raise {expected.exception.__name__} ({expected.reason}).")


def _report(failure):
    """Raise ``failure`` from a one-line frame: IPython then hides `check`'s own frame."""
    raise failure from None


def _ensure_integrity():
    undone = Integrity.restore_exception_reporting()
    replaced = Integrity.verify()
    if undone or replaced:
        listed = ", ".join((undone + replaced)[:6])
        more = len(undone) + len(replaced) - 6
        raise TamperingError(
            f"This notebook replaced what the tests rely on: {listed}"
            f"{f' and {more} more' if more > 0 else ''}. Remove the code that does this; "
            "no test can pass while it is in effect.")


# Libraries a graded function may not use: the grader does not provide them, so the notebook's
# checks refuse them too.
_OTHER_LIBRARIES = UNAVAILABLE


def _home(value):
    """The top-level package a global name's value comes from, or None."""
    if isinstance(value, types.ModuleType):
        name = value.__name__
    else:
        name = getattr(value, "__module__", None) if callable(value) else None
        name = name or getattr(type(value), "__module__", "")
    return str(name or "").partition(".")[0] or None


def other_libraries(function, depth=3):
    """``["np.array", ...]``: NumPy/SciPy names that ``function``'s code (and the code of the
    notebook functions it calls) uses. Read from the code objects, without running anything."""
    found, seen = [], set()

    def visit(code, space, depth):
        if id(code) in seen:
            return
        seen.add(id(code))
        for name in code.co_names:
            if name.partition(".")[0] in _OTHER_LIBRARIES:   # ``import numpy`` inside it
                found.append(name)
                continue
            value = space.get(name)
            home = _home(value) if value is not None else None
            if home in _OTHER_LIBRARIES:
                found.append(name)
            elif depth and isinstance(value, types.FunctionType) and value.__globals__ is space:
                visit(value.__code__, space, depth - 1)
        for constant in code.co_consts:
            if isinstance(constant, types.CodeType):
                visit(constant, space, depth)

    code = getattr(function, "__code__", None)
    if code is not None:
        visit(code, getattr(function, "__globals__", {}), depth)
    return list(dict.fromkeys(found))


def check(exercise, function, *, hidden=False, seed=None, devices=None, verbose=True):
    """Check ``function`` against the reference of ``exercise`` on every sample and device.

    Args:
        exercise: a key of the exercise table, e.g. ``"01_cross_correlation.corr2d"``.
        function: the learner's implementation.
        hidden: draw the larger, hidden set of cases. Its seed comes from ``seed``, else a fresh
            one (the grader passes each student's own).
        seed: force a seed (e.g. the one printed by a failing hidden test, to replay it).
        devices: devices to run on; default CPU plus every CUDA device present. Functions with
            tensor arguments also run on the simulated device (`autograder.simulated`).
        verbose: print a one-line summary when every case passes.

    Returns None. This is the learner's instant feedback; grades are decided by the trusted
    grader (`autograder.grade_notebook`), which runs the same `run_check` outside the notebook.

    Raises:
        CheckFailure: on the first failing case, with the call, what differs, and how to replay.
    """
    __tracebackhide__ = True  # IPython and pytest show the message, not this frame
    _ensure_integrity()
    info = get_exercise(exercise)
    if not callable(function):
        raise CheckFailure(f"{info.name} should be a function, got {type(function).__name__}")
    used = other_libraries(function)
    if used:
        _report(LeftTorchError(
            f"{info.name} uses {', '.join(used[:3])} from NumPy or SciPy. Graded functions use "
            "PyTorch only (and plain Python): these libraries are not available when your "
            "notebook is graded, and their results would not stay on the GPU."))

    def call(sample, expected, op_counts=None, simulated=False):
        return _call_learner(info, function, sample, expected, op_counts, simulated)

    failure = run_check(info, call, hidden=hidden, seed=_resolve_seed(hidden, seed),
                        devices=devices, verbose=verbose)
    if failure is not None:
        _report(failure)


def _passes(devices):
    """The devices to check on, with the simulated device right after the CPU (or last)."""
    passes = [d for d in devices if d != SIMULATED]
    passes.insert(passes.index("cpu") + 1 if "cpu" in passes else len(passes), SIMULATED)
    return passes


def run_check(info, call, *, hidden, seed, devices=None, verbose=False, cpu_reference=None,
              notes=None):
    """Run every case of ``info`` through ``call``; return the first failure, or None.

    ``call(sample, expected, op_counts=None, simulated=False)`` runs the learner's function on
    ``sample`` (on its device; with ``simulated``, on the simulated device, see
    `autograder.simulated`) and returns what `judge_call` returns, raising CheckFailure when the
    call itself went wrong. It may call the function in this process (`check`) or in a sandboxed
    learner process (`autograder.grade_notebook`); the references and comparisons always run here.
    Every case with tensor arguments also runs on the simulated device, which catches tensors
    created without ``device=`` on a machine without a GPU. The failure's message names the
    case, what differs, and how to replay it.

    A case that cannot run on the simulated device (`SimulatedDeviceUnsupported`, a limit of the
    grader) is checked on the CPU only; ``notes``, a list, receives a line saying so.

    ``cpu_reference(info, samples)``, where the caller can measure the learner's CPU time from
    outside its process (the sandboxed grader), returns the CPU seconds the course's solution
    takes on each of ``samples``; ``call(..., cpu=list)`` then appends the learner's. Exercises
    with `ExerciseInfo.timing_inputs` must stay within `CPU_TIME_FACTOR` of it.
    """
    kind = "hidden" if hidden else "visible"
    samples = info.sample_inputs(Draw(seed), hidden)
    devices = ["cpu"] if info.tensor_free else list(devices or available_devices())
    probed, on_cpu = 0, {}                       # on_cpu: the CPU pass's references, reused
    unchecked = []                               # cases the simulated device could not run
    for device in devices if info.tensor_free else _passes(devices):
        simulated = device == SIMULATED
        for index, sample in enumerate(samples, start=1):
            if simulated and not has_tensors((sample.args, sample.kwargs)):
                continue                        # nothing to put on a device
            sample = sample if simulated else sample.to(device)
            try:
                if simulated and index in on_cpu:
                    expected = on_cpu[index]
                else:
                    with full_float32():
                        expected = info.reference(*sample.args, **sample.kwargs)
                    if device == "cpu":
                        on_cpu[index] = expected
                if simulated:
                    try:
                        outcome = call(sample, expected, simulated=True)
                    except SimulatedSkip as skip:
                        unchecked.append(f"case {index}: {skip}")
                        continue
                    probed += 1
                else:
                    outcome = call(sample, expected)
                if isinstance(expected, Raises):
                    _check_raises(info, outcome, expected)
                else:
                    assert_matches(outcome, expected, what="the result", names=info.returns,
                                   from_the_end=info.from_the_loss)
            except CheckFailure as failure:
                return type(failure)(_failure_message(info, failure, index, len(samples), kind,
                                                      seed, hidden, sample, device))
    if info.op_count_inputs is not None:
        try:
            _check_op_count(info, call, seed)
        except CheckFailure as failure:
            return type(failure)(f"{info.name} failed the vectorisation check ({kind}, seed "
                                 f"{seed}): {failure}")
    if info.timing_inputs is not None and cpu_reference is not None:
        try:
            _check_cpu_time(info, call, seed, cpu_reference)
        except CheckFailure as failure:
            return type(failure)(f"{info.name} failed the vectorisation check ({kind}, seed "
                                 f"{seed}): {failure}")
    if unchecked:
        note = (f"{len(unchecked)} {kind} case(s) could not run on the simulated device, a limit "
                f"of the grader: checked on {', '.join(devices)} only ({unchecked[0]})")
        if notes is not None:
            notes.append(note)
        if verbose:
            print(f"{info.name}: note: {note}")
    if verbose:
        if probed:
            on = f"{', '.join(devices)} and the simulated device"
        else:
            on = "no tensor inputs, so no device checks"
        print(f"{info.name}: all {len(samples)} {kind} cases match {info.reference_name} "
              f"({on}; seed {seed}).")
    return None


def _failure_message(info, failure, index, count, kind, seed, hidden, sample, device):
    simulated = device == SIMULATED
    where = ("" if info.tensor_free else
             ", on the simulated device" if simulated else f", device {device}")
    replay = (f"sample_input({info.key!r}, {index}, seed={seed}"
              f"{', hidden=True' if hidden else ''}"
              f"{'' if info.tensor_free else f', device={device!r}'})")
    call = f"{info.name}(*case.args, **case.kwargs)"
    replay = (f"with autograder.simulated_device(): case = autograder.{replay}; {call}"
              if simulated else f"case = autograder.{replay}; {call}")
    return (f"{info.name} failed case {index} of {count} ({kind}, seed {seed}{where}): {failure}"
            f"\n  The call: {sample.describe(info.name, info.parameters)}"
            f"\n  Compared with: {info.reference_name}."
            f"\n  Replay it: {replay}")
