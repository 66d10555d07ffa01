"""Assignment 02_multichannel: multi-channel conv2d, 1x1 convolution, pooling, parameter counts.

Sample inputs use batch and channel counts above 1 with C_in != C_out (so swapped weight axes
show), bias present and absent, int and pair strides and paddings, sizes that do not divide, and
all-negative inputs for max pooling with padding (so zero padding instead of -inf shows).
"""
import torch
import torch.nn.functional as F

from ..exercise_info import ExerciseInfo, arrange
from ..op_families import CONVOLUTION, POOLING
from ..samples import SampleInput, pair

ASSIGNMENT = "02_multichannel"

_conv2d, _max_pool2d, _avg_pool2d, _Conv2d = F.conv2d, F.max_pool2d, F.avg_pool2d, torch.nn.Conv2d


def conv2d_reference(input, weight, bias=None, stride=1, padding=0):
    return _conv2d(input, weight, bias, stride=stride, padding=padding)


def conv1x1_reference(input, weight, bias=None):
    return _conv2d(input, weight, bias)


def max_pool2d_reference(input, kernel_size, stride=None, padding=0):
    return _max_pool2d(input, kernel_size, stride, padding)


def avg_pool2d_reference(input, kernel_size, stride=None, padding=0):
    return _avg_pool2d(input, kernel_size, stride, padding)


def conv2d_num_params_reference(c_in, c_out, kh, kw, bias=True):
    layer = _Conv2d(c_in, c_out, (kh, kw), bias=bias, device="meta")
    return int(sum(p.numel() for p in layer.parameters()))


def _count(hidden):
    return 25 if hidden else 6


def _conv_case(draw, kernel=None, allow_stride=True):
    dtype = draw.dtype()
    n, c_in, c_out = draw.int(1, 3), draw.int(1, 4), draw.int(1, 4)
    padding = draw.int_or_pair(0, 2) if allow_stride else 0
    ph, pw = pair(padding)
    h, w = draw.int(1, 9), draw.int(1, 9)
    kh, kw = kernel or (draw.int(1, min(h + 2 * ph, 4)), draw.int(1, min(w + 2 * pw, 4)))
    args = [draw.tensor(n, c_in, h, w, dtype=dtype), draw.tensor(c_out, c_in, kh, kw, dtype=dtype)]
    kwargs = {}
    if draw.coin():
        kwargs["bias"] = draw.tensor(c_out, dtype=dtype)
    if allow_stride:
        if draw.coin(0.7):
            kwargs["stride"] = draw.int_or_pair(1, 3)
        kwargs["padding"] = padding
    return SampleInput(tuple(args), kwargs)


def conv2d_samples(draw, hidden):
    x = torch.arange(18.0).reshape(1, 2, 3, 3)
    w = torch.tensor([[[[0.0, 1.0], [2.0, 3.0]], [[1.0, 2.0], [3.0, 4.0]]]])
    samples = [
        SampleInput((x, w), note="two input channels, one filter (the book's example)"),
        SampleInput((draw.tensor(2, 3, 6, 5), draw.tensor(4, 3, 3, 2), draw.tensor(4)),
                    note="C_in=3, C_out=4 with bias"),
        SampleInput((draw.tensor(1, 2, 7, 7), draw.tensor(3, 2, 3, 3)), {"stride": 2, "padding": 1},
                    note="stride 2, padding 1"),
        SampleInput((draw.tensor(2, 1, 8, 9, dtype=torch.float64),
                     draw.tensor(2, 1, 2, 4, dtype=torch.float64)),
                    {"bias": draw.tensor(2, dtype=torch.float64), "stride": (3, 2), "padding": (0, 1)},
                    note="pairs, sizes not divisible by the stride"),
    ]
    samples += [_conv_case(draw) for _ in range(_count(hidden))]
    return samples


def conv1x1_samples(draw, hidden):
    samples = [
        SampleInput((draw.tensor(1, 3, 2, 2), draw.tensor(2, 3, 1, 1)), note="3 channels to 2"),
        SampleInput((draw.tensor(2, 2, 3, 4), draw.tensor(5, 2, 1, 1), draw.tensor(5)),
                    note="2 channels to 5, with bias"),
    ]
    samples += [_conv_case(draw, kernel=(1, 1), allow_stride=False) for _ in range(_count(hidden))]
    return samples


def _pool_case(draw, negative=False):
    dtype = draw.dtype()
    kernel = draw.int_or_pair(1, 4)
    kh, kw = pair(kernel)
    kwargs = {}
    if draw.coin(0.6):
        kwargs["stride"] = draw.int_or_pair(1, 3)
    padding = (draw.int(0, kh // 2), draw.int(0, kw // 2))
    if any(padding):
        kwargs["padding"] = padding if draw.coin() or padding[0] != padding[1] else padding[0]
    h, w = draw.int(kh, kh + 6), draw.int(kw, kw + 6)
    make = draw.negative_tensor if negative else draw.tensor
    return SampleInput((make(draw.int(1, 2), draw.int(1, 3), h, w, dtype=dtype), kernel), kwargs)


def _pool_samples(draw, hidden):
    x = torch.arange(16.0).reshape(1, 1, 4, 4)
    samples = [
        SampleInput((x, 2), note="the book's 4x4 example, 2x2 windows"),
        SampleInput((draw.tensor(2, 3, 5, 7), 2), note="defaults: stride = kernel_size, floor"),
        SampleInput((draw.tensor(1, 2, 6, 6), 3), {"stride": 1}, note="overlapping windows"),
        SampleInput((draw.negative_tensor(1, 2, 5, 5), 3), {"stride": 2, "padding": 1},
                    note="all values negative, padding 1"),
        SampleInput((draw.tensor(1, 1, 6, 9, dtype=torch.float64), (2, 3)),
                    {"stride": (2, 1), "padding": (1, 0)}, note="pairs"),
    ]
    for i in range(_count(hidden) + 4):
        samples.append(_pool_case(draw, negative=(i % 3 == 0)))
    return samples


def conv2d_num_params_samples(draw, hidden):
    samples = [
        SampleInput((1, 8, 3, 3), note="k1 = 8 filters of 3x3 on a grayscale image"),
        SampleInput((8, 16, 5, 5), note="k2 = 16 filters of 5x5 on 8 feature maps"),
        SampleInput((3, 64, 7, 7, False), note="no bias"),
        SampleInput((4, 2, 1, 3), {"bias": True}, note="non-square kernel"),
    ]
    for _ in range(20 if hidden else 5):
        args = (draw.int(1, 64), draw.int(1, 64), draw.int(1, 7), draw.int(1, 7))
        samples.append(SampleInput(args, {"bias": draw.coin()} if draw.coin() else {}))
    return samples


EXERCISES = [
    ExerciseInfo(ASSIGNMENT, "conv2d", ("input", "weight", "bias", "stride", "padding"),
                 conv2d_reference, "F.conv2d", conv2d_samples, forbidden=CONVOLUTION),
    ExerciseInfo(ASSIGNMENT, "conv1x1", ("input", "weight", "bias"), conv1x1_reference,
                 "F.conv2d with a 1x1 kernel", conv1x1_samples, forbidden=CONVOLUTION),
    ExerciseInfo(ASSIGNMENT, "max_pool2d", ("input", "kernel_size", "stride", "padding"),
                 max_pool2d_reference, "F.max_pool2d", _pool_samples, forbidden=POOLING),
    ExerciseInfo(ASSIGNMENT, "avg_pool2d", ("input", "kernel_size", "stride", "padding"),
                 avg_pool2d_reference, "F.avg_pool2d", _pool_samples, forbidden=POOLING),
    ExerciseInfo(ASSIGNMENT, "conv2d_num_params", ("c_in", "c_out", "kh", "kw", "bias"),
                 conv2d_num_params_reference, "the parameter count of nn.Conv2d",
                 conv2d_num_params_samples, tensor_free=True),
]

# The notebook's parts, easy first: (function, points, book section[, provided helpers]).
EXERCISES = arrange(EXERCISES, [
    ("conv2d_num_params", 2, "ch02-stacking"),
    ("conv1x1", 2, "ch02-conv1x1"),
    ("max_pool2d", 3, "ch02-pooling"),
    ("avg_pool2d", 3, "ch02-pooling"),
    ("conv2d", 4, "ch02-multichannel"),
])
