"""The course's solutions agree with PyTorch on PyTorch's own OpInfo sample inputs.

`torch.testing._internal.common_methods_invocations.op_db` holds the sample inputs that PyTorch's
test suite runs every operator on (the `expecttest` package is needed to import it). Here the
solutions in solutions/ run on the samples of the operators they reimplement and are compared
with the operator itself, in float32 and float64:

* ``nn.functional.conv_transpose2d`` against 06_transposed.conv_transpose2d (every sample);
* ``nn.functional.max_pool2d`` against 08_unpooling.max_pool2d_with_indices, on the samples
  within its contract (dilation 1, ceil_mode False; the others are counted, not silently lost);
* ``nn.functional.max_unpool2d`` against 08_unpooling.max_unpool2d (every sample, both variants);
* ``nn.functional.unfold`` against 09_fast_convolution.im2col (the 4-D samples; F.unfold also
  takes unbatched (C, H, W) input, handled as above).

Unbatched samples (C, H, W), which PyTorch also accepts, run with a batch dimension of one added,
since the course's functions take (N, C, H, W).
"""
import pytest
import torch

from autograder import assert_matches
from tests.conftest import solution_functions

DTYPES = (torch.float32, torch.float64)


def _samples(op_name, dtype):
    # imported here, not at collection: every test worker collects this file, one runs it
    from torch.testing._internal.common_methods_invocations import op_db
    ops = [op for op in op_db if op.name == op_name]
    assert ops, f"{op_name} is not in this PyTorch's op_db"
    return [(op, sample) for op in ops for sample in op.sample_inputs("cpu", dtype)]


def _compare(samples, solution, call, expected_call=None):
    """Call ``solution`` on each sample and compare with the operator's own result.

    ``call(solution, sample, batch)`` makes the call, passing each tensor that has a batch
    dimension through ``batch`` (which adds one to unbatched samples);
    ``expected_call(op, sample)`` computes the expected value (default: the op on the sample).
    """
    for index, (op, sample) in enumerate(samples):
        unbatched = sample.input.dim() == 3
        expected = (expected_call or _op_on)(op, sample)
        actual = call(solution, sample, (lambda t: t.unsqueeze(0)) if unbatched else (lambda t: t))
        if unbatched:
            actual = (tuple(a.squeeze(0) for a in actual) if isinstance(actual, tuple)
                      else actual.squeeze(0))
        assert_matches(actual, expected, what=f"sample {index} ({sample.kwargs})")


def _op_on(op, sample):
    return op(sample.input, *sample.args, **sample.kwargs)


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
def test_conv_transpose2d_on_pytorch_samples(dtype):
    samples = _samples("nn.functional.conv_transpose2d", dtype)
    assert len(samples) >= 10
    _compare(samples, solution_functions("06_transposed")["conv_transpose2d"],
             lambda f, sample, batch: f(batch(sample.input), *sample.args, **sample.kwargs))


def _max_pool_arguments(sample):
    kwargs = sample.kwargs
    return kwargs["kernel_size"], kwargs.get("stride"), kwargs.get("padding", 0)


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
def test_max_pool2d_with_indices_on_pytorch_samples(dtype):
    samples = _samples("nn.functional.max_pool2d", dtype)
    used = [(op, s) for op, s in samples
            if s.kwargs.get("dilation", 1) in (1, (1, 1)) and not s.kwargs.get("ceil_mode")]
    # A quarter of PyTorch's samples have dilation 1 and ceil_mode False (360 of 1440 today).
    assert len(used) >= 100 and len(used) >= len(samples) // 5, (len(used), len(samples))
    _compare(used, solution_functions("08_unpooling")["max_pool2d_with_indices"],
             lambda f, sample, batch: f(batch(sample.input), *_max_pool_arguments(sample)),
             lambda op, sample: torch.nn.functional.max_pool2d(
                 sample.input, *_max_pool_arguments(sample), return_indices=True))


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
def test_max_unpool2d_on_pytorch_samples(dtype):
    samples = _samples("nn.functional.max_unpool2d", dtype)
    assert len(samples) >= 100
    _compare(samples, solution_functions("08_unpooling")["max_unpool2d"],
             lambda f, sample, batch: f(batch(sample.input), batch(sample.args[0]),
                                        **sample.kwargs))


def _unfold_keywords(sample):
    """F.unfold(input, kernel_size, dilation=1, padding=0, stride=1): another order than im2col."""
    names = ("kernel_size", "dilation", "padding", "stride")
    return {**dict(zip(names, sample.args)), **sample.kwargs}


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
def test_im2col_on_pytorch_samples(dtype):
    samples = _samples("nn.functional.unfold", dtype)
    assert len(samples) >= 100
    _compare(samples, solution_functions("09_fast_convolution")["im2col"],
             lambda f, sample, batch: f(batch(sample.input), **_unfold_keywords(sample)))
