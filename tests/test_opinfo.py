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

from torch.testing._internal.common_methods_invocations import op_db

DTYPES = (torch.float32, torch.float64)


def _samples(op_name, dtype):
    ops = [op for op in op_db if op.name == op_name]
    assert ops, f"{op_name} is not in this PyTorch's op_db"
    return [(op, sample) for op in ops for sample in op.sample_inputs("cpu", dtype)]


def _batched(tensor, unbatched):
    return tensor.unsqueeze(0) if unbatched else tensor


def _unbatch(value, unbatched):
    if isinstance(value, tuple):
        return tuple(_unbatch(v, unbatched) for v in value)
    return value.squeeze(0) if unbatched else value


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
def test_conv_transpose2d_on_pytorch_samples(dtype):
    conv_transpose2d = solution_functions("06_transposed")["conv_transpose2d"]
    samples = _samples("nn.functional.conv_transpose2d", dtype)
    assert len(samples) >= 10
    for index, (op, sample) in enumerate(samples):
        unbatched = sample.input.dim() == 3
        expected = op(sample.input, *sample.args, **sample.kwargs)
        actual = _unbatch(conv_transpose2d(_batched(sample.input, unbatched), *sample.args,
                                           **sample.kwargs), unbatched)
        assert_matches(actual, expected, what=f"sample {index} ({sample.kwargs})")


def _in_max_pool_contract(kwargs):
    return kwargs.get("dilation", 1) in (1, (1, 1)) and not kwargs.get("ceil_mode", False)


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
def test_max_pool2d_with_indices_on_pytorch_samples(dtype):
    max_pool2d_with_indices = solution_functions("08_unpooling")["max_pool2d_with_indices"]
    samples = _samples("nn.functional.max_pool2d", dtype)
    used = [(op, s) for op, s in samples if _in_max_pool_contract(s.kwargs)]
    # A quarter of PyTorch's samples have dilation 1 and ceil_mode False (360 of 1440 today).
    assert len(used) >= 100 and len(used) >= len(samples) // 5, (len(used), len(samples))
    for index, (op, sample) in enumerate(used):
        kwargs = dict(sample.kwargs)
        unbatched = sample.input.dim() == 3
        expected = torch.nn.functional.max_pool2d(
            sample.input, kwargs["kernel_size"], kwargs.get("stride"), kwargs.get("padding", 0),
            return_indices=True)
        actual = _unbatch(max_pool2d_with_indices(
            _batched(sample.input, unbatched), kwargs["kernel_size"], kwargs.get("stride"),
            kwargs.get("padding", 0)), unbatched)
        assert_matches(actual, expected, what=f"sample {index} ({kwargs})")


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
def test_max_unpool2d_on_pytorch_samples(dtype):
    max_unpool2d = solution_functions("08_unpooling")["max_unpool2d"]
    samples = _samples("nn.functional.max_unpool2d", dtype)
    assert len(samples) >= 100
    for index, (op, sample) in enumerate(samples):
        unbatched = sample.input.dim() == 3
        indices, = sample.args
        expected = op(sample.input, indices, **sample.kwargs)
        actual = _unbatch(max_unpool2d(_batched(sample.input, unbatched),
                                       _batched(indices, unbatched), **sample.kwargs), unbatched)
        assert_matches(actual, expected, what=f"sample {index} ({sample.kwargs})")


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
def test_im2col_on_pytorch_samples(dtype):
    im2col = solution_functions("09_fast_convolution")["im2col"]
    samples = _samples("nn.functional.unfold", dtype)
    assert len(samples) >= 100
    for index, (op, sample) in enumerate(samples):
        # F.unfold(input, kernel_size, dilation=1, padding=0, stride=1): another order than im2col.
        names = ("kernel_size", "dilation", "padding", "stride")
        kwargs = {**dict(zip(names, sample.args)), **sample.kwargs}
        unbatched = sample.input.dim() == 3
        expected = op(sample.input, *sample.args, **sample.kwargs)
        actual = _unbatch(im2col(_batched(sample.input, unbatched), **kwargs), unbatched)
        assert_matches(actual, expected, what=f"sample {index} ({kwargs})")
