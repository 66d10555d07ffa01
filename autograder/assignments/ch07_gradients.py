"""Assignment 07_gradients: backpropagation through a convolution.

The learner writes the gradient of a convolution with respect to its input, as
``torch.nn.grad.conv2d_input`` (a transposed convolution whose ``output_padding`` restores the
forward's input size), and the whole backward pass of a strided, padded, multi-channel
convolution, without any convolution operator and without autograd. Both may call
`autograder.provided.conv_transpose2d` (chapter 6 asked for the transposed convolution itself).
The backward pass is graded against torch.autograd run on a float64 copy, which is what
``torch.nn.grad.conv2d_input`` / ``conv2d_weight`` compute too (the book asserts that).
"""
import torch
import torch.nn.functional as F

from ..exercise_info import ExerciseInfo, arrange
from ..op_families import CONVOLUTION
from ..samples import SampleInput, pair

ASSIGNMENT = "07_gradients"

_conv2d, _grad, _zeros, _enable_grad = (
    F.conv2d, torch.autograd.grad, torch.zeros, torch.enable_grad)
_conv2d_input = torch.nn.grad.conv2d_input


def conv2d_input_reference(input_size, weight, grad_output, stride=1, padding=0):
    return _conv2d_input(input_size, weight, grad_output, stride=stride, padding=padding)


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


def conv2d_input_samples(draw, hidden):
    """The backward pass's cases, as (input_size, weight, grad_output)."""
    return [SampleInput((tuple(s.args[1].shape), s.args[2], s.args[0]), s.kwargs, s.note)
            for s in conv2d_backward_samples(draw, hidden)]


EXERCISES = [
    ExerciseInfo(ASSIGNMENT, "conv2d_input", ("input_size", "weight", "grad_output", "stride",
                                              "padding"),
                 conv2d_input_reference, "torch.nn.grad.conv2d_input", conv2d_input_samples,
                 forbidden=CONVOLUTION, forbid_autograd=True),
    ExerciseInfo(ASSIGNMENT, "conv2d_backward",
                 ("grad_output", "input", "weight", "stride", "padding"),
                 conv2d_backward_reference,
                 "torch.autograd through F.conv2d (= torch.nn.grad.conv2d_input / conv2d_weight)",
                 conv2d_backward_samples, forbidden=CONVOLUTION, forbid_autograd=True,
                 returns=("grad_input", "grad_weight", "grad_bias")),
]

# The notebook's parts, easy first: (function, points, book section[, provided helpers]).
EXERCISES = arrange(EXERCISES, [
    ("conv2d_input", 2, "ch07-input-grad", ("conv_transpose2d",)),
    ("conv2d_backward", 5, "ch07-backward", ("conv_transpose2d",)),
])
