"""Assignment 03_conv3d: convolution over volumes, and 2-D convolution as a 3-D one.

Sample inputs use non-cubic volumes and kernels, int and triple strides and paddings, sizes that
do not divide, bias present and absent, and C_in != C_out.
"""
import torch.nn.functional as F

from ..exercise_info import ExerciseInfo, arrange
from ..op_families import CONVOLUTION
from ..samples import SampleInput, pair

ASSIGNMENT = "03_conv3d"

_conv2d, _conv3d = F.conv2d, F.conv3d


def conv3d_reference(input, weight, bias=None, stride=1, padding=0):
    return _conv3d(input, weight, bias, stride=stride, padding=padding)


def conv2d_via_conv3d_reference(input, weight, bias=None):
    return _conv2d(input, weight, bias)


def _conv3d_case(draw):
    dtype = draw.dtype()
    n, c_in, c_out = draw.int(1, 2), draw.int(1, 3), draw.int(1, 3)
    padding = draw.int_or_pair(0, 1, n=3)
    pads = pair(padding, 3)
    size = [draw.int(1, 6) for _ in range(3)]
    kernel = [draw.int(1, min(s + 2 * p, 3)) for s, p in zip(size, pads)]
    kwargs = {}
    if draw.coin():
        kwargs["bias"] = draw.tensor(c_out, dtype=dtype)
    if draw.coin(0.7):
        kwargs["stride"] = draw.int_or_pair(1, 3, n=3)
    kwargs["padding"] = padding
    return SampleInput((draw.tensor(n, c_in, *size, dtype=dtype),
                        draw.tensor(c_out, c_in, *kernel, dtype=dtype)), kwargs)


def conv3d_samples(draw, hidden):
    samples = [
        SampleInput((draw.integer_tensor(1, 1, 3, 3, 3), draw.integer_tensor(1, 1, 2, 2, 2)),
                    note="one channel, a 3x3x3 volume and a 2x2x2 kernel"),
        SampleInput((draw.tensor(2, 3, 4, 5, 6), draw.tensor(2, 3, 3, 2, 1), draw.tensor(2)),
                    note="non-cubic volume and kernel, C_in=3, C_out=2, bias"),
        SampleInput((draw.tensor(1, 2, 7, 6, 5), draw.tensor(4, 2, 3, 3, 3)),
                    {"stride": (2, 1, 3), "padding": (1, 0, 1)},
                    note="triples; sizes not divisible by the stride"),
        SampleInput((draw.tensor(1, 1, 5, 5, 5), draw.tensor(1, 1, 3, 3, 3)),
                    {"stride": 2, "padding": 1}, note="ints for stride and padding"),
    ]
    samples += [_conv3d_case(draw) for _ in range(20 if hidden else 5)]
    return samples


def conv2d_via_conv3d_samples(draw, hidden):
    samples = [
        SampleInput((draw.tensor(1, 3, 5, 5), draw.tensor(2, 3, 3, 3)), note="RGB-like input"),
        SampleInput((draw.tensor(2, 2, 4, 6), draw.tensor(3, 2, 2, 3), draw.tensor(3)),
                    note="with bias, non-square"),
    ]
    for _ in range(15 if hidden else 4):
        dtype = draw.dtype()
        n, c_in, c_out = draw.int(1, 3), draw.int(1, 4), draw.int(1, 4)
        h, w = draw.int(1, 7), draw.int(1, 7)
        args = [draw.tensor(n, c_in, h, w, dtype=dtype),
                draw.tensor(c_out, c_in, draw.int(1, h), draw.int(1, w), dtype=dtype)]
        if draw.coin():
            args.append(draw.tensor(c_out, dtype=dtype))
        samples.append(SampleInput(tuple(args)))
    return samples


EXERCISES = [
    ExerciseInfo(ASSIGNMENT, "conv3d", ("input", "weight", "bias", "stride", "padding"),
                 conv3d_reference, "F.conv3d", conv3d_samples, forbidden=CONVOLUTION),
    ExerciseInfo(ASSIGNMENT, "conv2d_via_conv3d", ("input", "weight", "bias"),
                 conv2d_via_conv3d_reference, "F.conv2d", conv2d_via_conv3d_samples,
                 forbidden=CONVOLUTION),
]

# The notebook's parts, easy first: (function, points, book section[, provided helpers]).
EXERCISES = arrange(EXERCISES, [
    ("conv2d_via_conv3d", 2, "ch03-2d-vs-3d", ("conv3d",)),
    ("conv3d", 4, "ch03-true-3d"),
])
