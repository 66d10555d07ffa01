"""Assignment 07_gradients: backpropagation through a convolution.

The learner writes a transposed convolution (Part A) and the whole backward pass of a strided,
padded, multi-channel convolution (Part B) without any convolution operator and without
autograd. Part B is graded against torch.autograd run on a float64 copy, which is what
``torch.nn.grad.conv2d_input`` / ``conv2d_weight`` compute too (the book asserts that).
"""
import torch
import torch.nn.functional as F

from ..exercise_info import ExerciseInfo, arrange
from ..guard import CONVOLUTION
from ..samples import SampleInput, pair

ASSIGNMENT = "07_gradients"

_conv2d, _conv_transpose2d, _grad, _zeros, _enable_grad = (
    F.conv2d, F.conv_transpose2d, torch.autograd.grad, torch.zeros, torch.enable_grad)


def conv_transpose2d_reference(input, weight, stride=1, padding=0, output_padding=0):
    return _conv_transpose2d(input, weight, stride=stride, padding=padding,
                             output_padding=output_padding)


def conv2d_backward_reference(grad_output, input, weight, stride=1, padding=0):
    """(grad_input, grad_weight, grad_bias) of F.conv2d by torch.autograd, in float64.

    The same numbers as torch.nn.grad.conv2d_input / conv2d_weight (the book checks it),
    returned in the dtype and on the device of the inputs.
    """
    dtype = input.dtype
    x = input.detach().double().requires_grad_()
    w = weight.detach().double().requires_grad_()
    b = _zeros(weight.shape[0], dtype=torch.float64, device=weight.device, requires_grad=True)
    with _enable_grad():
        out = _conv2d(x, w, b, stride=stride, padding=padding)
        grads = _grad(out, (x, w, b), grad_output.detach().double())
    return tuple(g.to(dtype) for g in grads)


def _size_with_output(draw, k, p, low=1, high=9):
    """An input size >= k - 2p (so the convolution has an output) along one axis."""
    return draw.int(max(low, k - 2 * p), max(high, k - 2 * p))


def _transposed_case(draw):
    dtype = draw.dtype()
    n, c_in, c_out = draw.int(1, 2), draw.int(1, 3), draw.int(1, 3)
    stride, padding = draw.int_or_pair(1, 3), draw.int_or_pair(0, 2)
    (sh, sw), (ph, pw) = pair(stride), pair(padding)
    kh, kw = draw.int(1, 4), draw.int(1, 4)
    kwargs = {"stride": stride, "padding": padding}
    op = (draw.int(0, sh - 1), draw.int(0, sw - 1))
    if op != (0, 0):
        kwargs["output_padding"] = op if op[0] != op[1] else op[0]
    sizes = []
    for k, s, p, o in ((kh, sh, ph, op[0]), (kw, sw, pw, op[1])):
        smallest = 1                # output size (H - 1) s - 2p + k + op must be >= 1
        while (smallest - 1) * s - 2 * p + k + o < 1:
            smallest += 1
        sizes.append(draw.int(smallest, smallest + 5))
    return SampleInput((draw.tensor(n, c_in, *sizes, dtype=dtype),
                        draw.tensor(c_in, c_out, kh, kw, dtype=dtype)), kwargs)


def conv_transpose2d_samples(draw, hidden):
    samples = [
        SampleInput((draw.integer_tensor(1, 1, 2, 2), draw.integer_tensor(1, 1, 3, 3)),
                    {"stride": 2}, note="2x2 input, 3x3 kernel, stride 2: the copies overlap"),
        SampleInput((draw.tensor(2, 3, 4, 5), draw.tensor(3, 2, 2, 3)),
                    note="defaults: stride 1, no padding; 3 -> 2 channels, weight (C_in, C_out, kh, kw)"),
        SampleInput((draw.tensor(1, 2, 3, 4), draw.tensor(2, 3, 3, 3)),
                    {"stride": 2, "padding": 1, "output_padding": 1},
                    note="output_padding adds one row and one column at the end only"),
        SampleInput((draw.tensor(1, 2, 4, 3, dtype=torch.float64),
                     draw.tensor(2, 1, 2, 3, dtype=torch.float64)),
                    {"stride": (3, 2), "padding": (0, 2), "output_padding": (2, 1)},
                    note="pairs for everything, padding > kernel - 1 along the width"),
        SampleInput((draw.tensor(1, 1, 3, 3), draw.tensor(1, 2, 2, 2)), {"stride": 3},
                    note="stride larger than the kernel: gaps of zeros between the copies"),
    ]
    samples += [_transposed_case(draw) for _ in range(20 if hidden else 5)]
    return samples


def _backward_sample(draw, n, c_in, c_out, size, kernel, dtype=torch.float32, note="",
                     integer=False, **kwargs):
    """grad_output, input and weight of one backward call; grad_output has the forward's shape."""
    stride, padding = pair(kwargs.get("stride", 1)), pair(kwargs.get("padding", 0))
    out = [(i + 2 * p - k) // s + 1 for i, k, s, p in zip(size, kernel, stride, padding)]
    make = draw.integer_tensor if integer else draw.tensor
    return SampleInput((make(n, c_out, *out, dtype=dtype), make(n, c_in, *size, dtype=dtype),
                        make(c_out, c_in, *kernel, dtype=dtype)), kwargs, note=note)


def _backward_case(draw):
    kwargs = {}
    if draw.coin(0.8):
        kwargs["stride"] = draw.int_or_pair(1, 3)
    if draw.coin(0.8):
        kwargs["padding"] = draw.int_or_pair(0, 2)
    kernel = (draw.int(1, 4), draw.int(1, 4))
    size = tuple(_size_with_output(draw, k, p)
                 for k, p in zip(kernel, pair(kwargs.get("padding", 0))))
    return _backward_sample(draw, draw.int(1, 2), draw.int(1, 3), draw.int(1, 3), size, kernel,
                            dtype=draw.dtype(), **kwargs)


def conv2d_backward_samples(draw, hidden):
    samples = [
        _backward_sample(draw, 1, 1, 1, (5, 5), (3, 3), stride=2, padding=1, integer=True,
                         note="the book's example: 5x5 input, 3x3 kernel, stride 2, padding 1"),
        _backward_sample(draw, 2, 3, 2, (6, 7), (2, 3),
                         note="defaults: stride 1, no padding; batch 2, 3 -> 2 channels"),
        _backward_sample(draw, 2, 2, 3, (8, 7), (3, 3), stride=2, padding=(0, 1),
                         note="(8 - 3) is odd: the last input row gets no gradient "
                              "(output_padding 1 along the height)"),
        _backward_sample(draw, 1, 2, 1, (8, 6), (2, 3), dtype=torch.float64, stride=(3, 1),
                         padding=(2, 0), note="pairs for everything, padding > kernel - 1 along "
                                              "the height, sizes that do not divide"),
        _backward_sample(draw, 2, 2, 3, (3, 4), (3, 4), stride=2,
                         note="kernel as large as the input: a 1x1 output"),
        _backward_sample(draw, 1, 1, 2, (7, 7), (2, 2), stride=3,
                         note="stride larger than the kernel: some pixels get no gradient"),
    ]
    samples += [_backward_case(draw) for _ in range(20 if hidden else 5)]
    return samples


EXERCISES = [
    ExerciseInfo(ASSIGNMENT, "conv_transpose2d",
                 ("input", "weight", "stride", "padding", "output_padding"),
                 conv_transpose2d_reference, "F.conv_transpose2d", conv_transpose2d_samples,
                 forbidden=CONVOLUTION),
    ExerciseInfo(ASSIGNMENT, "conv2d_backward",
                 ("grad_output", "input", "weight", "stride", "padding"),
                 conv2d_backward_reference,
                 "torch.autograd through F.conv2d (= torch.nn.grad.conv2d_input / conv2d_weight)",
                 conv2d_backward_samples, forbidden=CONVOLUTION, forbid_autograd=True,
                 returns=("grad_input", "grad_weight", "grad_bias")),
]

# The notebook's parts, easy first: (function, points, book section[, provided helpers]).
EXERCISES = arrange(EXERCISES, [
    ("conv_transpose2d", 3, "ch07-input-grad"),
    ("conv2d_backward", 5, "ch07-backward", ("conv_transpose2d",)),
])
