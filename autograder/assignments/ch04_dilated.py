"""Assignment 04_dilated: dilated convolution, dilated kernels, receptive fields, causal 1-D.

`receptive_field` is graded against a measurement, not a formula: a real stack of ``nn.Conv2d``
layers is built, one output unit is backpropagated, and the input pixels with a non-zero gradient
are counted: the side of the square that holds them (the book's receptive field) and their number
(fewer than side ** 2 when the stack leaves holes, the book's gridding artifacts). The book gives
the side and measures the rest; the learner computes both, without any convolution.
"""
import torch
import torch.nn.functional as F

from ..exercise_info import ExerciseInfo, arrange
from ..op_families import CONVOLUTION
from ..samples import SampleInput, pair

ASSIGNMENT = "04_dilated"

_conv1d, _conv2d, _pad, _Conv2d, _Sequential = (F.conv1d, F.conv2d, F.pad, torch.nn.Conv2d,
                                                torch.nn.Sequential)


def conv2d_reference(input, weight, bias=None, stride=1, padding=0, dilation=1):
    return _conv2d(input, weight, bias, stride=stride, padding=padding, dilation=dilation)


def dilate_kernel_reference(k, d):
    dh, dw = pair(d)
    kh, kw = k.shape[-2:]
    out = k.new_zeros(*k.shape[:-2], (kh - 1) * dh + 1, (kw - 1) * dw + 1)
    out[..., ::dh, ::dw] = k
    return out


def measure_receptive_field(layers):
    """The input pixels that one output unit of a real nn.Conv2d stack depends on.

    Builds the stack with all-ones weights, grows the input until the output is non-empty,
    backpropagates from output unit (0, 0), and returns (side, pixels): the extent of the input
    pixels whose gradient is non-zero (along one axis; the region is square) and their number.
    All-ones weights cannot cancel, so every pixel with a path to the unit has a non-zero
    gradient.
    """
    stack = _Sequential(*[_Conv2d(1, 1, k, stride=s, dilation=d, bias=False)
                          for k, s, d in layers]).double()
    with torch.no_grad():
        for layer in stack:
            layer.weight.fill_(1.0)
    size = 1
    while True:
        x = torch.zeros(1, 1, size, size, dtype=torch.float64, requires_grad=True)
        try:
            y = stack(x)
        except RuntimeError:
            size *= 2
            continue
        if y.shape[-1] >= 1:
            break
        size *= 2
    y[0, 0, 0, 0].backward()
    reached = x.grad[0, 0] != 0
    rows = torch.nonzero(reached.any(dim=1))
    return int(rows.max() - rows.min() + 1), int(reached.sum())


def receptive_field_reference(layers):
    return measure_receptive_field([tuple(layer) for layer in layers])


def causal_conv1d_reference(x, w, dilation=1):
    k = w.shape[-1]
    return _conv1d(_pad(x, ((k - 1) * dilation, 0)), w, dilation=dilation)


def _dilated_case(draw):
    dtype = draw.dtype()
    n, c_in, c_out = draw.int(1, 2), draw.int(1, 3), draw.int(1, 3)
    dilation = draw.int_or_pair(1, 3)
    padding = draw.int_or_pair(0, 2)
    (dh, dw), (ph, pw) = pair(dilation), pair(padding)
    kh, kw = draw.int(1, 3), draw.int(1, 3)
    h = draw.int(max(1, dh * (kh - 1) + 1 - 2 * ph), 10)
    w = draw.int(max(1, dw * (kw - 1) + 1 - 2 * pw), 10)
    kwargs = {"dilation": dilation, "padding": padding}
    if draw.coin():
        kwargs["stride"] = draw.int_or_pair(1, 3)
    if draw.coin():
        kwargs["bias"] = draw.tensor(c_out, dtype=dtype)
    return SampleInput((draw.tensor(n, c_in, h, w, dtype=dtype),
                        draw.tensor(c_out, c_in, kh, kw, dtype=dtype)), kwargs)


def conv2d_samples(draw, hidden):
    samples = [
        SampleInput((draw.integer_tensor(1, 1, 9, 9), draw.integer_tensor(1, 1, 3, 3)),
                    {"dilation": 4}, note="the book's 9x9 input, 3x3 kernel, dilation 4"),
        SampleInput((draw.tensor(2, 3, 8, 7), draw.tensor(2, 3, 3, 2), draw.tensor(2)),
                    note="defaults: no dilation"),
        SampleInput((draw.tensor(1, 2, 10, 9), draw.tensor(3, 2, 3, 3)),
                    {"dilation": (2, 3), "padding": (2, 1), "stride": (1, 2)},
                    note="pairs for everything"),
        SampleInput((draw.tensor(1, 1, 8, 8, dtype=torch.float64),
                     draw.tensor(1, 1, 2, 2, dtype=torch.float64)),
                    {"dilation": 3, "stride": 2}, note="even kernel, dilation 3, stride 2"),
    ]
    samples += [_dilated_case(draw) for _ in range(20 if hidden else 5)]
    return samples


def dilate_kernel_samples(draw, hidden):
    samples = [
        SampleInput((draw.integer_tensor(3, 3), 2), note="3x3 kernel, dilation 2"),
        SampleInput((draw.tensor(2, 3), (1, 3)), note="non-square kernel, dilation (1, 3)"),
        SampleInput((draw.tensor(4, 2, 3, 3), 4), note="a conv2d weight (C_out, C_in, kh, kw)"),
        SampleInput((draw.tensor(3, 3), 1), note="dilation 1 leaves the kernel unchanged"),
        SampleInput((draw.tensor(1, 1, dtype=torch.float64), 5), note="1x1 kernel"),
    ]
    for _ in range(20 if hidden else 4):
        lead = [draw.int(1, 3) for _ in range(draw.int(0, 2))]
        samples.append(SampleInput((draw.tensor(*lead, draw.int(1, 4), draw.int(1, 4),
                                                dtype=draw.dtype()), draw.int_or_pair(1, 4))))
    return samples


def receptive_field_samples(draw, hidden):
    samples = [
        SampleInput(([(3, 1, 1)],), note="one 3x3 layer"),
        SampleInput(([(3, 1, 4)],), note="one 3x3 layer, dilation 4: 9 pixels in a 9x9 square"),
        SampleInput(([(3, 1, 1)] * 3,), note="three 3x3 layers: linear growth, no holes"),
        SampleInput(([(3, 1, 1), (3, 1, 2), (3, 1, 4), (3, 1, 8)],),
                    note="dilations 1, 2, 4, 8: exponential growth, no holes"),
        SampleInput(([(3, 1, 2)] * 3,), note="dilations 2, 2, 2: the book's gridding artifact"),
        SampleInput(([(3, 1, 1), (3, 1, 2), (3, 1, 3)],), note="dilations 1, 2, 3: no holes"),
        SampleInput(([(3, 2, 1), (3, 2, 1), (3, 1, 1)],), note="strides multiply"),
        SampleInput(([(2, 3, 1), (2, 1, 1)],), note="stride 3 after a 2-wide kernel: holes"),
        SampleInput(([(2, 1, 1), (2, 1, 2), (2, 1, 4)],), note="WaveNet-style, kernel 2"),
        SampleInput(([(5, 1, 1), (1, 1, 1)],), note="a 1x1 layer adds nothing"),
        SampleInput(([],), note="no layers: the unit is one input pixel"),
    ]
    for _ in range(15 if hidden else 4):
        layers = [(draw.int(1, 5), draw.int(1, 3), draw.int(1, 4)) for _ in range(draw.int(1, 3))]
        samples.append(SampleInput((layers,)))
    for _ in range(5 if hidden else 2):
        samples.append(SampleInput(([(draw.int(2, 3), 1, draw.int(1, 4))
                                     for _ in range(draw.int(2, 4))],), note="stride 1, dilated"))
    return samples


def causal_conv1d_samples(draw, hidden):
    samples = [
        SampleInput((draw.integer_tensor(1, 1, 8), draw.integer_tensor(1, 1, 2)),
                    note="kernel 2, no dilation"),
        SampleInput((draw.tensor(2, 3, 16), draw.tensor(4, 3, 2)), {"dilation": 4},
                    note="dilation 4"),
        SampleInput((draw.tensor(1, 2, 10), draw.tensor(2, 2, 3)), {"dilation": 2},
                    note="odd kernel: symmetric padding would look ahead"),
        SampleInput((draw.tensor(1, 1, 3), draw.tensor(1, 1, 4)), {"dilation": 3},
                    note="receptive field longer than the signal"),
    ]
    for _ in range(15 if hidden else 4):
        dtype = draw.dtype()
        n, c_in, c_out = draw.int(1, 2), draw.int(1, 3), draw.int(1, 3)
        x = draw.tensor(n, c_in, draw.int(1, 20), dtype=dtype)
        w = draw.tensor(c_out, c_in, draw.int(1, 4), dtype=dtype)
        kwargs = {"dilation": draw.int(1, 4)} if draw.coin(0.8) else {}
        samples.append(SampleInput((x, w), kwargs))
    return samples


EXERCISES = [
    ExerciseInfo(ASSIGNMENT, "conv2d",
                 ("input", "weight", "bias", "stride", "padding", "dilation"),
                 conv2d_reference, "F.conv2d with dilation", conv2d_samples,
                 forbidden=CONVOLUTION),
    ExerciseInfo(ASSIGNMENT, "dilate_kernel", ("k", "d"), dilate_kernel_reference,
                 "k with d - 1 zeros between taps", dilate_kernel_samples),
    ExerciseInfo(ASSIGNMENT, "receptive_field", ("layers",), receptive_field_reference,
                 "the extent and number of non-zero input gradients of a real nn.Conv2d stack",
                 receptive_field_samples, forbidden=CONVOLUTION, tensor_free=True),
    ExerciseInfo(ASSIGNMENT, "causal_conv1d", ("x", "w", "dilation"), causal_conv1d_reference,
                 "F.conv1d after padding (k-1)*dilation zeros on the left",
                 causal_conv1d_samples, forbidden=CONVOLUTION),
]

# The notebook's parts, easy first: (function, points, book section[, provided helpers]).
EXERCISES = arrange(EXERCISES, [
    ("dilate_kernel", 2, "ch04-effective-kernel"),
    ("receptive_field", 3, "ch04-receptive-field"),
    ("causal_conv1d", 3, "ch04-causal"),
    ("conv2d", 4, "ch04-dilation"),
])
