"""Assignment 05_grouped_separable: the full conv2d, depthwise separable, shuffle, separability.

`separate_kernel` has many right answers (any rescaling of the two factors), so it is checked by
a property: the outer product of the returned vectors must reproduce the kernel.
"""
import torch
import torch.nn.functional as F

from ..compare import Raises, Satisfies, assert_layout, assert_matches
from ..errors import CheckFailure
from ..exercise_info import ExerciseInfo, arrange
from ..op_families import CONVOLUTION
from ..samples import SampleInput, pair

ASSIGNMENT = "05_grouped_separable"

_conv2d, _channel_shuffle, _svdvals, _outer = (F.conv2d, F.channel_shuffle,
                                              torch.linalg.svdvals, torch.outer)
SHUFFLE = r"channel_shuffle"
RANK_TOLERANCE = 1e-6


def conv2d_reference(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    return _conv2d(input, weight, bias, stride=stride, padding=padding, dilation=dilation,
                   groups=groups)


def depthwise_separable_reference(input, depthwise_weight, pointwise_weight):
    depthwise = _conv2d(input, depthwise_weight, groups=input.shape[1])
    return _conv2d(depthwise, pointwise_weight)


def channel_shuffle_reference(x, groups):
    return _channel_shuffle(x, groups)


def separate_kernel_reference(k):
    singular = _svdvals(k.double())
    if singular.numel() > 1 and singular[1] > RANK_TOLERANCE * max(singular[0].item(), 1e-30):
        return Raises(ValueError, f"the kernel has rank > 1 (singular values "
                                  f"{[round(v, 4) for v in singular.tolist()[:3]]})")

    def verify(actual):
        if not isinstance(actual, tuple) or len(actual) != 2:
            raise CheckFailure("the result should be a tuple (column, row) of two 1-D tensors")
        column, row = actual
        assert_layout(column, k.shape[:1], k.dtype, k.device, what="column")
        assert_layout(row, k.shape[1:], k.dtype, k.device, what="row")
        assert_matches(_outer(column, row), k, what="torch.outer(column, row)")

    return Satisfies(verify, "torch.outer(column, row) equals k")


def _grouped_case(draw):
    dtype = draw.dtype()
    groups = draw.int(1, 4)
    c_in, c_out = groups * draw.int(1, 3), groups * draw.int(1, 3)
    dilation, padding = draw.int_or_pair(1, 2), draw.int_or_pair(0, 2)
    (dh, dw), (ph, pw) = pair(dilation), pair(padding)
    kh, kw = draw.int(1, 3), draw.int(1, 3)
    h = draw.int(max(1, dh * (kh - 1) + 1 - 2 * ph), 9)
    w = draw.int(max(1, dw * (kw - 1) + 1 - 2 * pw), 9)
    kwargs = {"padding": padding, "dilation": dilation, "groups": groups}
    if draw.coin():
        kwargs["stride"] = draw.int_or_pair(1, 3)
    if draw.coin():
        kwargs["bias"] = draw.tensor(c_out, dtype=dtype)
    return SampleInput((draw.tensor(draw.int(1, 2), c_in, h, w, dtype=dtype),
                        draw.tensor(c_out, c_in // groups, kh, kw, dtype=dtype)), kwargs)


def conv2d_samples(draw, hidden):
    samples = [
        SampleInput((draw.tensor(1, 4, 5, 5), draw.tensor(6, 2, 3, 3)), {"groups": 2},
                    note="2 groups: 4 -> 6 channels, C_out/groups = 3 != C_in/groups = 2"),
        SampleInput((draw.tensor(2, 3, 6, 6), draw.tensor(3, 1, 3, 3), draw.tensor(3)),
                    {"groups": 3, "padding": 1}, note="depthwise: groups = C_in"),
        SampleInput((draw.tensor(1, 6, 9, 8), draw.tensor(4, 3, 2, 3)),
                    {"groups": 2, "stride": (2, 1), "padding": (1, 0), "dilation": (2, 1)},
                    note="everything at once"),
        SampleInput((draw.tensor(1, 2, 7, 7, dtype=torch.float64),
                     draw.tensor(4, 2, 3, 3, dtype=torch.float64)), {"dilation": 2},
                    note="groups=1, dilation 2"),
    ]
    samples += [_grouped_case(draw) for _ in range(20 if hidden else 5)]
    return samples


def depthwise_separable_samples(draw, hidden):
    samples = [
        SampleInput((draw.tensor(1, 3, 6, 6), draw.tensor(3, 1, 3, 3), draw.tensor(5, 3, 1, 1)),
                    note="3 channels, 3x3 depthwise, 5 outputs"),
        SampleInput((draw.tensor(2, 2, 5, 7), draw.tensor(4, 1, 2, 3), draw.tensor(3, 4, 1, 1)),
                    note="depth multiplier 2: 2 filters per input channel"),
    ]
    for _ in range(15 if hidden else 4):
        dtype = draw.dtype()
        c_in, multiplier, c_out = draw.int(1, 4), draw.int(1, 2), draw.int(1, 4)
        h, w = draw.int(1, 8), draw.int(1, 8)
        samples.append(SampleInput((
            draw.tensor(draw.int(1, 2), c_in, h, w, dtype=dtype),
            draw.tensor(c_in * multiplier, 1, draw.int(1, h), draw.int(1, w), dtype=dtype),
            draw.tensor(c_out, c_in * multiplier, 1, 1, dtype=dtype))))
    return samples


def channel_shuffle_samples(draw, hidden):
    samples = [
        SampleInput((torch.arange(6.0).reshape(1, 6, 1, 1), 2), note="channels 0..5, 2 groups"),
        SampleInput((draw.tensor(2, 12, 3, 4), 3), note="12 channels, 3 groups"),
        SampleInput((draw.tensor(1, 4, 2, 2), 4), note="groups = channels"),
        SampleInput((draw.tensor(1, 5, 2, 3, dtype=torch.float64), 1), note="one group"),
    ]
    for _ in range(15 if hidden else 3):
        groups = draw.int(1, 4)
        samples.append(SampleInput((draw.tensor(draw.int(1, 2), groups * draw.int(1, 4),
                                                draw.int(1, 4), draw.int(1, 4),
                                                dtype=draw.dtype()), groups)))
    return samples


def _rank_one(draw, h, w, dtype):
    return _outer(draw.tensor(h, dtype=dtype), draw.tensor(w, dtype=dtype))


def separate_kernel_samples(draw, hidden):
    sobel = torch.tensor([[1.0, 0.0, -1.0], [2.0, 0.0, -2.0], [1.0, 0.0, -1.0]])
    samples = [
        SampleInput((sobel,), note="the Sobel kernel: [1, 2, 1] and [1, 0, -1]"),
        SampleInput((torch.ones(3, 3) / 9,), note="a box blur"),
        SampleInput((torch.tensor([[1.0, 2.0], [3.0, 4.0]]),), note="rank 2: must raise ValueError"),
        SampleInput((_rank_one(draw, 3, 5, torch.float64),), note="non-square, float64"),
        SampleInput((draw.tensor(1, 4),), note="a single row is always separable"),
        SampleInput((torch.tensor([[0.0, 0.0], [0.0, 3.0]]),), note="first row and column zero"),
    ]
    for i in range(20 if hidden else 4):
        dtype = draw.dtype()
        h, w = draw.int(2, 5), draw.int(2, 5)
        samples.append(SampleInput((_rank_one(draw, h, w, dtype) if i % 3
                                    else _clearly_not_separable(draw, h, w, dtype),)))
    return samples


def _clearly_not_separable(draw, h, w, dtype):
    """A random kernel whose second singular value is at least a tenth of the first."""
    while True:
        kernel = draw.tensor(h, w, dtype=dtype)
        singular = _svdvals(kernel.double())
        if singular[1] >= 0.1 * singular[0]:
            return kernel


EXERCISES = [
    ExerciseInfo(ASSIGNMENT, "conv2d",
                 ("input", "weight", "bias", "stride", "padding", "dilation", "groups"),
                 conv2d_reference, "F.conv2d", conv2d_samples, forbidden=CONVOLUTION),
    ExerciseInfo(ASSIGNMENT, "depthwise_separable",
                 ("input", "depthwise_weight", "pointwise_weight"),
                 depthwise_separable_reference,
                 "F.conv2d(F.conv2d(input, depthwise_weight, groups=C_in), pointwise_weight)",
                 depthwise_separable_samples, forbidden=CONVOLUTION),
    ExerciseInfo(ASSIGNMENT, "channel_shuffle", ("x", "groups"), channel_shuffle_reference,
                 "F.channel_shuffle", channel_shuffle_samples, forbidden=SHUFFLE),
    ExerciseInfo(ASSIGNMENT, "separate_kernel", ("k",), separate_kernel_reference,
                 "torch.outer(column, row) == k, or ValueError when k has rank > 1",
                 separate_kernel_samples),
]

# The notebook's parts, easy first: (function, points, book section[, provided helpers]).
EXERCISES = arrange(EXERCISES, [
    ("channel_shuffle", 2, "ch05-channel-shuffle"),
    ("separate_kernel", 3, "ch05-spatially-separable"),
    ("depthwise_separable", 3, "ch05-depthwise-separable", ("conv2d",)),
    ("conv2d", 4, "ch05-grouped"),
])
