"""Assignment 08_unpooling: max pooling that records its switches, and max-unpooling.

The indices that `max_unpool2d` receives are built inside the sample generators from the
reference ``F.max_pool2d(..., return_indices=True)`` of a random input (generators run outside
the guards), so every case is a pair (pooled values, switches) that pooling really produces.
"""
import torch
import torch.nn.functional as F

from ..exercise_info import ExerciseInfo, arrange
from ..op_families import POOLING, UNPOOLING
from ..samples import SampleInput, pair

ASSIGNMENT = "08_unpooling"

_max_pool2d, _max_unpool2d = F.max_pool2d, F.max_unpool2d


def max_pool2d_with_indices_reference(input, kernel_size, stride=None, padding=0):
    return tuple(_max_pool2d(input, kernel_size, stride, padding, return_indices=True))


def max_unpool2d_reference(input, indices, kernel_size, stride=None, padding=0, output_size=None):
    return _max_unpool2d(input, indices, kernel_size, stride, padding, output_size)


def _pool_setting(draw):
    """kernel_size, stride (None half of the time) and padding <= kernel_size // 2."""
    kernel = draw.int_or_pair(1, 4)
    kh, kw = pair(kernel)
    stride = draw.int_or_pair(1, 3) if draw.coin(0.6) else None
    padding = (draw.int(0, kh // 2), draw.int(0, kw // 2))
    if padding[0] == padding[1] and draw.coin():
        padding = padding[0]
    return kernel, stride, padding


def _pool_kwargs(stride, padding):
    kwargs = {} if stride is None else {"stride": stride}
    if padding not in (0, (0, 0)) or stride is not None:
        kwargs["padding"] = padding
    return kwargs


def _pool_case(draw, values):
    kernel, stride, padding = _pool_setting(draw)
    (kh, kw), (ph, pw) = pair(kernel), pair(padding)
    h = draw.int(max(1, kh - 2 * ph), kh + 6)
    w = draw.int(max(1, kw - 2 * pw), kw + 6)
    x = values(draw.int(1, 2), draw.int(1, 3), h, w, dtype=draw.dtype())
    return SampleInput((x, kernel), _pool_kwargs(stride, padding))


def max_pool2d_with_indices_samples(draw, hidden):
    ties = torch.tensor([[1.0, 1.0, 2.0, 2.0], [1.0, 1.0, 0.0, 2.0],
                         [0.0, 3.0, 3.0, 0.0], [3.0, 3.0, 0.0, 0.0]]).reshape(1, 1, 4, 4)
    samples = [
        SampleInput((ties, 2), note="the book's 4x4 example: ties, the first maximum wins"),
        SampleInput((draw.integer_tensor(2, 2, 5, 6, low=0, high=3), 3),
                    {"stride": 1, "padding": 1},
                    note="small integers (many ties), overlapping windows, padding 1"),
        SampleInput((draw.tensor(2, 3, 5, 7), 2),
                    note="defaults: stride = kernel_size; indices per (n, c) plane"),
        SampleInput((draw.negative_tensor(1, 2, 5, 5), 3), {"stride": 2, "padding": 1},
                    note="all values negative, padding 1: padded cells never win"),
        SampleInput((draw.tensor(1, 2, 6, 9, dtype=torch.float64), (3, 2)),
                    {"stride": (2, 1), "padding": (1, 0)}, note="pairs, float64"),
    ]
    for i in range(20 if hidden else 5):
        values = (draw.negative_tensor, draw.tensor, draw.integer_tensor)[i % 3]
        samples.append(_pool_case(draw, values))
    return samples


def _default_size(size_in, k, s, p):
    return (size_in - 1) * s - 2 * p + k


def _unpool_sample(draw, x, kernel, stride=None, padding=0, output_size=None, note=""):
    """Pool x with the reference to get (values, switches); the sample unpools them."""
    values, indices = _max_pool2d(x, kernel, stride, padding, return_indices=True)
    kwargs = _pool_kwargs(stride, padding)
    if output_size is not None:
        kwargs["output_size"] = output_size
    return SampleInput((values, indices, kernel), kwargs, note=note)


def _unpool_case(draw):
    kernel, stride, padding = _pool_setting(draw)
    (kh, kw), (sh, sw), (ph, pw) = pair(kernel), pair(stride or kernel), pair(padding)
    x = draw.choice((draw.tensor, draw.integer_tensor, draw.negative_tensor))
    dtype, n, c = draw.dtype(), draw.int(1, 2), draw.int(1, 3)
    how = draw.choice(("default", "pair", "full"))
    if how == "default":
        # An input of exactly the default size, so that the switches fit the default output.
        h = _default_size(draw.int(2, 4), kh, sh, ph)
        w = _default_size(draw.int(2, 4), kw, sw, pw)
        return _unpool_sample(draw, x(n, c, h, w, dtype=dtype), kernel, stride, padding)
    h = draw.int(max(1, kh - 2 * ph), kh + 6)
    w = draw.int(max(1, kw - 2 * pw), kw + 6)
    size = (h, w) if how == "pair" else (n, c, h, w)
    return _unpool_sample(draw, x(n, c, h, w, dtype=dtype), kernel, stride, padding, size)


def max_unpool2d_samples(draw, hidden):
    book = torch.tensor([[1.0, 5.0, 2.0, 0.0], [3.0, 4.0, 6.0, 1.0],
                         [0.0, 2.0, 1.0, 1.0], [7.0, 1.0, 3.0, 8.0]]).reshape(1, 1, 4, 4)
    samples = [
        _unpool_sample(draw, book, 2, note="the book's 4x4 example, 2x2 windows"),
        _unpool_sample(draw, draw.tensor(2, 3, 5, 5), 2, output_size=(5, 5),
                       note="5x5 pooled to 2x2: the default would be 4x4, output_size=(5, 5)"),
        _unpool_sample(draw, draw.tensor(2, 2, 7, 6), 3, 2, 1, output_size=(2, 2, 7, 6),
                       note="output_size as the full (N, C, H, W), padding 1"),
        _unpool_sample(draw, draw.tensor(1, 3, 7, 5), 3, 2, 1,
                       note="padding 1, default size (H_in - 1)*s - 2p + k = the input's size"),
        _unpool_sample(draw, draw.tensor(1, 2, 5, 7, dtype=torch.float64), (2, 3),
                       stride=(1, 2), padding=(1, 0), output_size=(5, 7),
                       note="pairs, overlapping windows, float64"),
    ]
    samples += [_unpool_case(draw) for _ in range(20 if hidden else 5)]
    return samples


EXERCISES = [
    ExerciseInfo(ASSIGNMENT, "max_pool2d_with_indices",
                 ("input", "kernel_size", "stride", "padding"),
                 max_pool2d_with_indices_reference, "F.max_pool2d(..., return_indices=True)",
                 max_pool2d_with_indices_samples, forbidden=POOLING, returns=("output", "indices")),
    ExerciseInfo(ASSIGNMENT, "max_unpool2d",
                 ("input", "indices", "kernel_size", "stride", "padding", "output_size"),
                 max_unpool2d_reference, "F.max_unpool2d", max_unpool2d_samples,
                 forbidden=UNPOOLING),
]

# The notebook's parts, easy first: (function, points, book section[, provided helpers]).
EXERCISES = arrange(EXERCISES, [
    ("max_unpool2d", 3, "ch08-output-size"),
    ("max_pool2d_with_indices", 4, "ch08-switches"),
])
