"""Assignment 10_network: the chapter's digit network, forward and backward, from your own code.

The network of book/10_network.md: a "same" convolution, ReLU and 2x2 max pooling, twice, then
flatten and a fully connected layer. Its channel counts, odd kernel sizes, image size and number
of classes are read from the tensors, so the samples vary all of them (sizes that 4 does not
divide included, where pooling floors).

* ``digits_cnn_forward`` returns the logits, compared with the same network built from
  ``nn.Conv2d``/``nn.ReLU``/``nn.MaxPool2d``/``nn.Flatten``/``nn.Linear`` modules loaded with the
  same weights. No convolution, pooling or ATen im2col/col2im (``F.unfold``/``F.fold``): the
  layers are the learner's own (the book builds its layers on ``F.unfold``).
* ``digits_cnn_backward`` returns the gradients of the mean cross-entropy with respect to the six
  parameter tensors, without autograd, compared with torch.autograd through the module network
  in float64. It may call `autograder.provided` for the forward pass and for the pooling's
  switches and unpooling, and for the transposed convolution inside its ``conv2d_backward``.

A pooling window whose two largest pre-activations (or whose largest one and zero) lie closer
than a float32 rounding error could send the gradient to another cell in float32 than in the
float64 reference; the sample generator redraws such cases, so every case has one clear switch
per window.
"""
import torch
import torch.nn.functional as F

from ..exercise_info import ExerciseInfo, arrange
from ..op_families import CONVOLUTION, POOLING, UNFOLD
from ..samples import SampleInput

ASSIGNMENT = "10_network"

_Conv2d, _ReLU, _MaxPool2d, _Flatten, _Linear, _Sequential = (
    torch.nn.Conv2d, torch.nn.ReLU, torch.nn.MaxPool2d, torch.nn.Flatten, torch.nn.Linear,
    torch.nn.Sequential)
_cross_entropy, _conv2d, _max_pool2d, _relu = F.cross_entropy, F.conv2d, F.max_pool2d, torch.relu
_grad, _no_grad, _enable_grad, _randint = (
    torch.autograd.grad, torch.no_grad, torch.enable_grad, torch.randint)

PARAMETERS = ("conv1_weight", "conv1_bias", "conv2_weight", "conv2_bias", "fc_weight", "fc_bias")
# The names of the six tensors in the state_dict of `digits_cnn`'s Sequential.
_STATE_KEYS = ("0.weight", "0.bias", "3.weight", "3.bias", "7.weight", "7.bias")


def digits_cnn(weights, device, dtype):
    """The chapter's network as nn modules, shaped for ``weights`` and loaded with them."""
    conv1_weight, _, conv2_weight, _, fc_weight, _ = weights
    c1, c_in, k1h, k1w = conv1_weight.shape
    c2, _, k2h, k2w = conv2_weight.shape
    classes, features = fc_weight.shape
    options = {"device": "meta", "dtype": dtype}
    net = _Sequential(
        _Conv2d(c_in, c1, (k1h, k1w), padding=(k1h // 2, k1w // 2), **options), _ReLU(),
        _MaxPool2d(2),
        _Conv2d(c1, c2, (k2h, k2w), padding=(k2h // 2, k2w // 2), **options), _ReLU(),
        _MaxPool2d(2),
        _Flatten(), _Linear(features, classes, **options))
    net = net.to_empty(device=device)
    net.load_state_dict(dict(zip(_STATE_KEYS, weights)))       # copies, in the net's dtype
    return net


def digits_cnn_forward_reference(x, conv1_weight, conv1_bias, conv2_weight, conv2_bias,
                                 fc_weight, fc_bias):
    weights = (conv1_weight, conv1_bias, conv2_weight, conv2_bias, fc_weight, fc_bias)
    with _no_grad():
        return digits_cnn(weights, x.device, x.dtype)(x)


def digits_cnn_backward_reference(x, target, conv1_weight, conv1_bias, conv2_weight, conv2_bias,
                                  fc_weight, fc_bias):
    """The six gradients of F.cross_entropy(net(x), target) by torch.autograd, in float64,
    returned in the dtype of x."""
    weights = (conv1_weight, conv1_bias, conv2_weight, conv2_bias, fc_weight, fc_bias)
    net = digits_cnn(weights, x.device, torch.float64)
    with _enable_grad():
        loss = _cross_entropy(net(x.detach().double()), target)
        grads = _grad(loss, tuple(net.parameters()))
    return tuple(g.to(x.dtype) for g in grads)


def _clear_switches(x, weights, margin=1e-4):
    """True when every pooling window has one clear winner, in float64.

    Unsafe windows: the largest pre-activation within ``margin`` (relative to the layer's
    largest magnitude) of zero, where the ReLU may switch, or, when it is positive, of the
    second largest, where the switch may move.
    """
    h = x.double()
    with _no_grad():
        for weight, bias in ((weights[0], weights[1]), (weights[2], weights[3])):
            kh, kw = weight.shape[-2:]
            z = _conv2d(h, weight.double(), bias.double(), padding=(kh // 2, kw // 2))
            tol = margin * float(z.abs().max())
            rows, cols = z.shape[-2] // 2 * 2, z.shape[-1] // 2 * 2
            windows = z[..., :rows, :cols].unfold(2, 2, 2).unfold(3, 2, 2).flatten(-2)
            top = windows.topk(2, dim=-1).values
            if bool((top[..., 0].abs() < tol).any()):
                return False
            if bool(((top[..., 0] > 0) & (top[..., 0] - top[..., 1] < tol)).any()):
                return False
            h = _max_pool2d(_relu(z), 2)
    return True


def _network_sample(draw, n, c_in, c1, c2, classes, size, k1, k2, dtype=torch.float32,
                    note="", with_target=False):
    """Input and weights of one network (scaled so that the logits stay of order one).

    Redrawn until every pooling window has a clear switch (see `_clear_switches`).
    """
    h, w = size
    features = c2 * (h // 4) * (w // 4)
    for _ in range(100):
        x = draw.tensor(n, c_in, h, w, dtype=dtype)
        weights = (draw.tensor(c1, c_in, *k1, dtype=dtype) / (c_in * k1[0] * k1[1]) ** 0.5,
                   draw.tensor(c1, dtype=dtype) / 4,
                   draw.tensor(c2, c1, *k2, dtype=dtype) / (c1 * k2[0] * k2[1]) ** 0.5,
                   draw.tensor(c2, dtype=dtype) / 4,
                   draw.tensor(classes, features, dtype=dtype) / features ** 0.5,
                   draw.tensor(classes, dtype=dtype) / 4)
        target = _randint(0, classes, (n,), generator=draw.generator)
        if _clear_switches(x, weights):
            args = (x, target, *weights) if with_target else (x, *weights)
            return SampleInput(args, note=note)
    raise RuntimeError("no case with clear pooling switches in 100 draws")


def _random_network(draw, with_target):
    k1 = (draw.choice((1, 3, 5)), draw.choice((1, 3, 5)))
    k2 = (draw.choice((1, 3, 5)), draw.choice((1, 3, 5)))
    size = (draw.int(4, 13), draw.int(4, 13))
    return _network_sample(draw, draw.int(1, 4), draw.int(1, 3), draw.int(1, 6), draw.int(1, 6),
                           draw.int(2, 10), size, k1, k2, dtype=draw.dtype(),
                           with_target=with_target)


def _samples(draw, hidden, with_target):
    def case(*args, **kwargs):
        return _network_sample(draw, *args, with_target=with_target, **kwargs)

    samples = [
        case(4, 1, 8, 16, 10, (8, 8), (3, 3), (3, 3),
             note="the book's network: 8x8 digits, 1 -> 8 -> 16 channels, 3x3 kernels, "
                  "10 classes, a batch of 4"),
        case(2, 3, 4, 6, 5, (12, 12), (5, 5), (3, 3),
             note="3 input channels, a 5x5 then a 3x3 kernel, 12x12 images"),
        case(3, 2, 3, 4, 7, (10, 7), (3, 3), (3, 3),
             note="10x7 images: pooling floors, to 5x3 and then 2x1"),
        case(2, 1, 5, 3, 4, (9, 8), (3, 5), (1, 3), dtype=torch.float64,
             note="non-square kernels (3, 5) and (1, 3), a 9x8 image, float64"),
        case(1, 2, 6, 2, 3, (4, 5), (3, 3), (5, 5),
             note="one image; a 4x5 input leaves a 1x1 map for the dense layer"),
    ]
    samples += [_random_network(draw, with_target) for _ in range(20 if hidden else 5)]
    return samples


def digits_cnn_forward_samples(draw, hidden):
    return _samples(draw, hidden, with_target=False)


def digits_cnn_backward_samples(draw, hidden):
    return _samples(draw, hidden, with_target=True)


EXERCISES = [
    ExerciseInfo(ASSIGNMENT, "digits_cnn_forward", ("x",) + PARAMETERS,
                 digits_cnn_forward_reference,
                 "the same network of nn.Conv2d, nn.ReLU, nn.MaxPool2d, nn.Flatten and nn.Linear "
                 "modules, loaded with the same weights",
                 digits_cnn_forward_samples, forbidden=f"{CONVOLUTION}|{POOLING}|{UNFOLD}"),
    ExerciseInfo(ASSIGNMENT, "digits_cnn_backward", ("x", "target") + PARAMETERS,
                 digits_cnn_backward_reference,
                 "torch.autograd through the same nn network, in float64",
                 digits_cnn_backward_samples, forbidden=f"{CONVOLUTION}|{POOLING}",
                 forbid_autograd=True, returns=tuple(f"grad_{name}" for name in PARAMETERS),
                 from_the_loss=True),
]

# The notebook's parts, easy first: (function, points, book section[, provided helpers]).
EXERCISES = arrange(EXERCISES, [
    ("digits_cnn_forward", 3, "ch10-network"),
    ("digits_cnn_backward", 5, "ch10-backward",
     ("conv2d", "conv_transpose2d", "max_pool2d_with_indices", "max_unpool2d")),
])
