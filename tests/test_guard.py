"""The guards: forbidden operations at the dispatcher, time limits, tampering."""
import time

import pytest
import torch
import torch.nn.functional as F

import autograder
from autograder import CheckFailure, ForbiddenOpError, LeftTorchError, TamperingError, check
from autograder.guard import (CONVOLUTION, PADDING, POOLING, Integrity, forbid_ops, time_limit)
from autograder.errors import LearnerTimeout

x = torch.randn(1, 2, 6, 6)
w = torch.randn(3, 2, 3, 3)

CONV_ALIASES = {
    "F.conv2d": lambda: F.conv2d(x, w),
    "torch.conv2d": lambda: torch.conv2d(x, w),
    "nn.Conv2d": lambda: torch.nn.Conv2d(2, 3, 3)(x),
    "torch.ops.aten.convolution": lambda: torch.ops.aten.convolution(
        x, w, None, [1, 1], [0, 0], [1, 1], False, [0, 0], 1),
    "torch.ops.aten.conv2d": lambda: torch.ops.aten.conv2d(x, w),
    "F.conv_transpose2d": lambda: F.conv_transpose2d(x, w.transpose(0, 1)),
    "F.conv1d": lambda: F.conv1d(x[:, :, 0], w[:, :, 0]),
    "F.conv3d": lambda: F.conv3d(x[:, :, None], w[:, :, None]),
}


@pytest.mark.parametrize("alias", sorted(CONV_ALIASES))
def test_every_convolution_alias_is_forbidden(alias):
    with pytest.raises(ForbiddenOpError, match="forbidden operation aten"):
        with forbid_ops(CONVOLUTION, "corr2d"):
            CONV_ALIASES[alias]()


@pytest.mark.parametrize("call", [lambda: F.max_pool2d(x, 2), lambda: F.avg_pool2d(x, 2),
                                  lambda: torch.nn.MaxPool2d(2)(x), lambda: F.adaptive_avg_pool2d(x, 4)])
def test_pooling_is_forbidden(call):
    with pytest.raises(ForbiddenOpError):
        with forbid_ops(POOLING):
            call()


def test_padding_is_forbidden():
    with pytest.raises(ForbiddenOpError):
        with forbid_ops(PADDING):
            F.pad(x, (1, 1, 1, 1))


@pytest.mark.parametrize("call", [
    lambda: F.unfold(x, 3), lambda: x.unfold(2, 3, 1), lambda: torch.einsum("ocab,ncab->no", w, x[..., :3, :3]),
    lambda: F.pad(x, (1, 1)), lambda: x @ x, lambda: torch.flip(x, (2,)), lambda: x.amax((2, 3)),
])
def test_building_blocks_stay_allowed(call):
    with forbid_ops(CONVOLUTION):
        call()


def test_a_caught_forbidden_call_still_fails():
    with forbid_ops(CONVOLUTION) as record:
        try:
            F.conv2d(x, w)
        except Exception:
            pass
    with pytest.raises(ForbiddenOpError):
        record.raise_if_violated()


def test_operator_count_is_recorded():
    with forbid_ops(None) as record:
        (x + 1).sum()
    assert record.op_count == 2


def test_numpy_is_refused():
    with pytest.raises(LeftTorchError):
        with forbid_ops(None):
            x.numpy()


def test_time_limit_interrupts_a_loop():
    start = time.monotonic()
    with pytest.raises(LearnerTimeout):
        with time_limit(0.2):
            while True:
                pass
    assert time.monotonic() - start < 2


def test_time_limit_interrupts_a_loop_that_catches_exceptions():
    with pytest.raises(LearnerTimeout):
        with time_limit(0.2):
            while True:
                try:
                    time.sleep(0.01)
                except Exception:
                    pass


def test_check_reports_a_timeout(monkeypatch):
    monkeypatch.setenv("AUTOGRADER_TIME_LIMIT", "0.3")

    def forever(i, k, s=1, p=0, d=1):
        while True:
            pass

    with pytest.raises(CheckFailure, match="did not return within 0.3 s"):
        check("01_cross_correlation.conv_output_size", forever, verbose=False)


def test_check_reports_a_modified_input():
    def corr2d_in_place(x, k):
        x.zero_()
        return x[: x.shape[0] - k.shape[0] + 1, : x.shape[1] - k.shape[1] + 1].clone()

    with pytest.raises(CheckFailure, match="modified its input argument 1 in place"):
        check("01_cross_correlation.corr2d", corr2d_in_place, verbose=False)


def test_library_names_cannot_be_rebound():
    with pytest.raises(TamperingError, match="autograder.check is part of the course's check library"):
        autograder.check = lambda *args, **kwargs: None
    with pytest.raises(TamperingError):
        del autograder.checks.check
    assert autograder.check is check


def test_replaced_torch_function_fails_every_check(monkeypatch):
    def correct(i, k, s=1, p=0, d=1):
        if d * (k - 1) + 1 > i + 2 * p:
            raise ValueError("does not fit")
        return (i + 2 * p - d * (k - 1) - 1) // s + 1

    check("01_cross_correlation.conv_output_size", correct, verbose=False)
    monkeypatch.setattr(torch, "allclose", lambda *args, **kwargs: True)
    assert Integrity.verify() == ["torch.allclose"]
    with pytest.raises(TamperingError, match="torch.allclose"):
        check("01_cross_correlation.conv_output_size", correct, verbose=False)


def test_replaced_library_internals_are_detected(monkeypatch):
    monkeypatch.setitem(vars(autograder.compare), "assert_matches", lambda *args, **kwargs: None)
    assert "autograder.compare.assert_matches" in Integrity.verify()


def test_lookups_ignore_edits_to_the_module_dict(monkeypatch):
    genuine = autograder.check
    monkeypatch.setitem(vars(autograder), "check", lambda *args, **kwargs: None)
    from autograder import check as looked_up
    assert looked_up is genuine and autograder.check is genuine
