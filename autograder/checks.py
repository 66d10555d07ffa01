"""`check`: run a learner's function on sample inputs and compare it with the PyTorch reference.

The same call serves the notebook's visible tests (a fixed seed, a few cases, instant feedback)
and nbgrader's hidden tests (``hidden=True``: more cases, drawn at grading time from a seed that
the grader derives per student and prints in the feedback, so any failing case can be replayed).
"""
from __future__ import annotations

import os
import secrets
import traceback
from contextlib import contextmanager, nullcontext

import torch

from .compare import Raises, assert_matches
from .errors import CheckFailure, LearnerTimeout, TamperingError
from .exercise_db import get_exercise
from .guard import Integrity, forbid_ops, time_limit
from .samples import Draw

__all__ = ["check", "sample_input", "available_devices", "VISIBLE_SEED", "SEED_VARIABLE"]

VISIBLE_SEED = 0
SEED_VARIABLE = "AUTOGRADER_SEED"
DEVICES_VARIABLE = "AUTOGRADER_DEVICES"
TIME_LIMIT_VARIABLE = "AUTOGRADER_TIME_LIMIT"

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
    from_grader = os.environ.get(SEED_VARIABLE)
    return int(from_grader) if from_grader else secrets.randbelow(2**31)


def sample_input(exercise, index, seed=VISIBLE_SEED, hidden=False, device="cpu"):
    """Case number ``index`` (counting from 1, as the feedback does) of an exercise, to replay it.

    Example: ``case = sample_input("01_cross_correlation.corr2d", 3)`` then
    ``corr2d(*case.args, **case.kwargs)``.
    """
    info = get_exercise(exercise)
    return info.sample_inputs(Draw(seed), hidden)[index - 1].to(device)


# PyTorch's own test utilities freeze the backend flags on import (disable_global_flags); the
# checks must still switch TF32 off, as torch.backends.cudnn.flags() itself does.
_unfrozen_flags = getattr(torch.backends, "__allow_nonbracketed_mutation", nullcontext)


@contextmanager
def _no_tf32():
    """Full float32 precision in cuDNN and cuBLAS (TF32 is on by default on recent GPUs)."""
    saved = (torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32)
    with _unfrozen_flags():
        torch.backends.cudnn.allow_tf32 = False
        torch.backends.cuda.matmul.allow_tf32 = False
    try:
        yield
    finally:
        with _unfrozen_flags():
            torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32 = saved


def _learner_line(error, function):
    """'line 7: out[i, j] = ...' for the deepest frame of the learner's code, if any."""
    code_file = getattr(getattr(function, "__code__", None), "co_filename", None)
    frames = [f for f in traceback.extract_tb(error.__traceback__) if f.filename == code_file]
    if not frames:
        return ""
    frame = frames[-1]
    return f"\n    at line {frame.lineno} in {frame.name}: {(frame.line or '').strip()}"


def _call_learner(info, function, sample, expected, op_counts=None):
    """Call the learner's function on a copy of the sample under the guards; return its result.

    Raises CheckFailure for a forbidden call, a time-out, an unexpected exception, or a
    modified input. When ``expected`` is `Raises`, returns the exception raised (or None).
    ``op_counts``, a list, receives the number of ATen operations the call dispatched.
    """
    name = info.name
    args = sample.clone()
    limit = float(os.environ.get(TIME_LIMIT_VARIABLE) or info.time_limit)
    try:
        with time_limit(limit, name), forbid_ops(info.forbidden, name,
                                                 info.forbid_autograd) as record:
            result = function(*args.args, **args.kwargs)
    except CheckFailure:
        raise
    except LearnerTimeout:
        raise CheckFailure(f"{name} did not return within {limit:g} s and was "
                           "stopped. Look for a loop that never ends.") from None
    except NotImplementedError as error:
        if isinstance(expected, Raises):
            record.raise_if_violated()
            return error
        raise CheckFailure(f"{name} is not implemented yet: it raised NotImplementedError. "
                           "Replace `raise NotImplementedError()` with your code.") from None
    except KeyboardInterrupt:
        raise
    except BaseException as error:  # noqa: B036 - any learner error is a failed case, not a crash
        record.raise_if_violated()
        if isinstance(expected, Raises):
            return error
        raise CheckFailure(f"{name} raised {type(error).__name__}: {error}"
                           f"{_learner_line(error, function)}") from None
    record.raise_if_violated()
    if op_counts is not None:
        op_counts.append(record.op_count)
    for (arg_name, before), (_, after) in zip(sample.tensors(), args.tensors()):
        if before.shape != after.shape or not _equal(before, after.to(before.device)):
            raise CheckFailure(f"{name} modified its input {arg_name} in place; work on a copy "
                               "or build a new tensor instead.")
    if isinstance(expected, Raises):
        return None
    return result


# Correct vectorised code may dispatch a copy or two more on a larger input (PyTorch skips some
# copies for size-1 dimensions or for slices that cover a whole axis); a loop over the extra
# images or positions of the large sample adds far more (see the op_count_inputs contract).
OP_COUNT_SLACK = 2


def _check_op_count(info, function, seed):
    """Fail if ``function`` dispatches more operations on a larger input: it is not vectorised."""
    small, large = info.op_count_inputs(Draw(seed))
    counts = []
    for sample in (small, large):
        _call_learner(info, function, sample, None, counts)
    if counts[1] > counts[0] + OP_COUNT_SLACK:
        raise CheckFailure(
            f"{info.name} is not vectorised: it dispatched {counts[0]} tensor operations for "
            f"{small.describe(info.name, info.parameters)} but {counts[1]} for the larger input "
            f"{large.describe(info.name, info.parameters)}. The number of operations must not "
            "grow with the input: replace loops over output positions or batch elements by "
            "operations on whole tensors (one matrix product, einsum, strided views).")


def _check_raises(info, outcome, expected):
    if outcome is None:
        raise CheckFailure(f"{info.name} returned a value, but these arguments are invalid "
                           f"({expected.reason}): it should raise {expected.exception.__name__}.")
    if not isinstance(outcome, expected.exception):
        raise CheckFailure(f"{info.name} raised {type(outcome).__name__}: {outcome}, but it should "
                           f"raise {expected.exception.__name__} ({expected.reason}).")


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


def check(exercise, function, *, hidden=False, seed=None, devices=None, verbose=True):
    """Check ``function`` against the reference of ``exercise`` on every sample and device.

    Args:
        exercise: a key of the exercise table, e.g. ``"01_cross_correlation.corr2d"``.
        function: the learner's implementation.
        hidden: draw the larger, hidden set of cases. Its seed comes from ``seed``, else from the
            ``AUTOGRADER_SEED`` variable that the grader sets per student, else a fresh one.
        seed: force a seed (e.g. the one printed by a failing hidden test, to replay it).
        devices: devices to run on; default CPU plus every CUDA device present.
        verbose: print a one-line summary when every case passes.

    Returns None (a number would be read by nbgrader as partial credit).

    Raises:
        CheckFailure: on the first failing case, with the call, what differs, and how to replay.
    """
    __tracebackhide__ = True  # IPython and pytest show the message, not this frame
    _ensure_integrity()
    info = get_exercise(exercise)
    seed = _resolve_seed(hidden, seed)
    kind = "hidden" if hidden else "visible"
    samples = info.sample_inputs(Draw(seed), hidden)
    devices = ["cpu"] if info.tensor_free else list(devices or available_devices())
    if not callable(function):
        raise CheckFailure(f"{info.name} should be a function, got {type(function).__name__}")
    for device in devices:
        for index, sample in enumerate(samples, start=1):
            sample = sample.to(device)
            try:
                with _no_tf32():
                    expected = info.reference(*sample.args, **sample.kwargs)
                    outcome = _call_learner(info, function, sample, expected)
                if isinstance(expected, Raises):
                    _check_raises(info, outcome, expected)
                else:
                    assert_matches(outcome, expected, what="the result")
            except CheckFailure as failure:
                where = "" if info.tensor_free else f", device {device}"
                replay = (f"sample_input({exercise!r}, {index}, seed={seed}"
                          f"{', hidden=True' if hidden else ''}"
                          f"{'' if info.tensor_free else f', device={device!r}'})")
                message = (f"{info.name} failed case {index} of {len(samples)} ({kind}, seed "
                           f"{seed}{where}): {failure}"
                           f"\n  The call: {sample.describe(info.name, info.parameters)}"
                           f"\n  Compared with: {info.reference_name}."
                           f"\n  Replay it: case = autograder.{replay}; "
                           f"{info.name}(*case.args, **case.kwargs)")
                _report(type(failure)(message))
    if info.op_count_inputs is not None:
        try:
            _check_op_count(info, function, seed)
        except CheckFailure as failure:
            _report(type(failure)(f"{info.name} failed the vectorisation check ({kind}, seed "
                                  f"{seed}): {failure}"))
    if verbose:
        on = "no tensors" if info.tensor_free else ", ".join(devices)
        print(f"{info.name}: all {len(samples)} {kind} cases match {info.reference_name} "
              f"({on}; seed {seed}).")
