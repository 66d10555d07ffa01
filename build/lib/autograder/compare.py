"""Compare a learner's result with the reference, in the spirit of ``torch.testing.assert_close``.

`assert_matches` checks, in this order, the Python type, the device, the dtype, the shape, stray
NaN/inf values and finally the values with tolerances chosen per dtype. The first difference
raises `CheckFailure` with a message a learner can act on ("expected shape (4, 3), got (3, 3)").

The torch functions used here are bound when the module is imported, which happens before any
learner code runs, so a notebook that later replaces ``torch.isclose`` cannot change a verdict.
"""
from __future__ import annotations

import math

import torch

from .errors import CheckFailure

__all__ = ["TOLERANCES", "Raises", "Satisfies", "assert_matches", "assert_layout",
           "describe_value"]

# (rtol, atol) per dtype. Looser than assert_close's defaults for float32 because a learner's
# loops add the same products in another order than the reference kernel; every mutant we keep
# as a test is off by far more than this.
TOLERANCES = {
    torch.float16: (1e-3, 1e-3),
    torch.bfloat16: (1.6e-2, 1e-2),
    torch.float32: (1e-5, 1e-4),
    torch.float64: (1e-7, 1e-7),
}

_isclose = torch.isclose
_isfinite = torch.isfinite
_nonzero = torch.nonzero
_abs = torch.abs
_Tensor = torch.Tensor


class Raises:
    """Expected outcome of a call that must raise ``exception`` (e.g. invalid arguments)."""

    def __init__(self, exception, reason):
        self.exception, self.reason = exception, reason

    def __repr__(self):
        return f"Raises({self.exception.__name__}: {self.reason})"


class Satisfies:
    """Expected outcome when many results are correct (e.g. a factorisation up to scale).

    ``verify(actual)`` raises `CheckFailure` when ``actual`` is not acceptable.
    """

    def __init__(self, verify, description):
        self.verify, self.description = verify, description

    def __repr__(self):
        return f"Satisfies({self.description})"


def describe_value(value):
    """A short description of an argument or result: dtype and shape for tensors."""
    if isinstance(value, _Tensor):
        device = "" if value.device.type == "cpu" else f" on {value.device}"
        return f"{str(value.dtype).replace('torch.', '')} tensor of shape {tuple(value.shape)}{device}"
    if isinstance(value, (tuple, list)) and any(isinstance(v, _Tensor) for v in value):
        return "(" + ", ".join(describe_value(v) for v in value) + ")"
    return repr(value)


def assert_matches(actual, expected, what="the result", names=(), from_the_end=False):
    """Raise `CheckFailure` unless ``actual`` matches ``expected``.

    ``expected`` is a tensor, a Python int, or a tuple of those (compared element by element;
    every wrong element is named, each with what is wrong, in tuple order or, with
    ``from_the_end``, last first: for gradients listed input-first, from the loss backwards).
    A tensor result must be a plain ``torch.Tensor`` (subclasses could redefine comparisons) on the
    expected device, with the expected dtype and shape, and close to the expected values. A
    `Satisfies` expectation delegates to its own verification. ``names`` names the elements of a
    tuple result in messages (``grad_input`` rather than "element 0 of the result").
    """
    if isinstance(expected, Satisfies):
        expected.verify(actual)
        return
    if isinstance(expected, tuple):
        if not isinstance(actual, tuple) or len(actual) != len(expected):
            raise CheckFailure(f"{what} should be a tuple of {len(expected)} values, "
                               f"got {describe_value(actual)}")
        order = range(len(expected) - 1, -1, -1) if from_the_end else range(len(expected))
        wrong = []
        for i in order:
            label = (f"{names[i]} (element {i} of {what})" if i < len(names)
                     else f"element {i} of {what}")
            try:
                assert_matches(actual[i], expected[i], what=label)
            except CheckFailure as failure:
                wrong.append((names[i] if i < len(names) else f"element {i}", failure))
        if len(wrong) == 1:
            raise wrong[0][1]
        if wrong:
            raise CheckFailure(
                f"{len(wrong)} of the {len(expected)} values of {what} are wrong"
                + (" (from the loss backwards)" if from_the_end else "") + ": "
                + ", ".join(name for name, _ in wrong) + "\n"
                + "\n".join(f"  - {failure}" for _, failure in wrong))
        return
    if isinstance(expected, bool) or not isinstance(expected, (int, _Tensor)):
        raise TypeError(f"cannot compare with expected value of type {type(expected).__name__}")
    if isinstance(expected, int):
        _assert_int(actual, expected, what)
    else:
        _assert_tensor(actual, expected, what)


def _assert_int(actual, expected, what):
    if type(actual) is not int:
        hint = " (use int(...) to convert it)" if isinstance(actual, (float, _Tensor)) else ""
        raise CheckFailure(f"{what} should be a Python int, got {type(actual).__name__} "
                           f"{actual!r}{hint}")
    if actual != expected:
        raise CheckFailure(f"{what} is {actual}, expected {expected}")


def assert_layout(actual, shape, dtype, device, what="the result"):
    """Raise `CheckFailure` unless ``actual`` is a plain tensor with this shape, dtype and device."""
    if type(actual) is not _Tensor:
        raise CheckFailure(f"{what} should be a torch.Tensor, got {type(actual).__name__}")
    if actual.device != device:
        raise CheckFailure(
            f"{what} is on device {actual.device}, but the inputs were on {device}. "
            "Create new tensors with device=x.device (or torch.zeros_like / x.new_zeros) so the "
            "function works on any device.")
    if actual.dtype != dtype:
        advice = ("(the inputs' dtype). Create new tensors with dtype=x.dtype."
                  if dtype.is_floating_point or dtype.is_complex else
                  f"(counts, indices and masks keep an exact integer or bool dtype). Create it "
                  f"with dtype={dtype}.")
        raise CheckFailure(f"{what} has dtype {actual.dtype}, expected {dtype} {advice}")
    if tuple(actual.shape) != tuple(shape):
        raise CheckFailure(f"{what} has shape {tuple(actual.shape)}, expected {tuple(shape)}")


def _assert_tensor(actual, expected, what):
    assert_layout(actual, expected.shape, expected.dtype, expected.device, what)
    if actual.numel() == 0:
        return
    if actual.is_floating_point():
        bad = ~_isfinite(actual) & _isfinite(expected)
        if bool(bad.any()):
            index = tuple(_nonzero(bad)[0].tolist())
            raise CheckFailure(
                f"{what} contains {int(bad.sum())} NaN or infinite value(s) where the reference "
                f"is finite, first at index {index}: got {actual[index].item()}, expected "
                f"{expected[index].item()}")
        rtol, atol = TOLERANCES.get(actual.dtype, (0.0, 0.0))
        close = _isclose(actual, expected, rtol=rtol, atol=atol, equal_nan=True)
    else:
        close = actual == expected
    if bool(close.all()):
        return
    mismatched = ~close
    count, total = int(mismatched.sum()), actual.numel()
    index = tuple(_nonzero(mismatched)[0].tolist())
    message = (f"{what} differs from the reference in {count} of {total} elements; first at "
               f"index {index}: got {actual[index].item():.6g}, expected "
               f"{expected[index].item():.6g}")
    if actual.is_floating_point():
        diff = _abs(actual.double() - expected.double()).nan_to_num(math.inf)
        message += f" (greatest absolute difference {diff.max().item():.3g}"
        message += f", tolerance rtol={TOLERANCES[actual.dtype][0]:g}, "
        message += f"atol={TOLERANCES[actual.dtype][1]:g})"
    raise CheckFailure(message)
