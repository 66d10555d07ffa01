"""Mutants and alternates for assignment 10_network.

Each mutant changes one thing in a shared helper (`_forward_with`, `_backward_with`), named in
its ``helpers`` so that its source brings the helper along; each alternate nests its layers.
"""
import torch

from autograder import provided

from . import alternate, device_mutant, mutant

A = "10_network"


# digits_cnn_forward ---------------------------------------------------------------------------
def _forward_with(x, weights, conv_padding=True, pool="max", flatten="chw", flip=False,
                  relu2=True, ceil=False):
    """The network with one thing changed; shared by the forward mutants below."""
    conv1_weight, conv1_bias, conv2_weight, conv2_bias, fc_weight, fc_bias = weights

    def conv(h, weight, bias):
        kh, kw = weight.shape[-2:]
        ph, pw = (kh // 2, kw // 2) if conv_padding else (0, 0)
        padded = torch.nn.functional.pad(h, (pw, pw, ph, ph))
        windows = padded.unfold(2, kh, 1).unfold(3, kw, 1)      # (N, C, H', W', kh, kw)
        kernel = weight.flip(-2, -1) if flip else weight
        return torch.einsum("nchwab,ocab->nohw", windows, kernel) + bias[:, None, None]

    def pool2(h):
        if ceil:
            h = torch.nn.functional.pad(h, (0, h.shape[-1] % 2, 0, h.shape[-2] % 2),
                                        value=float("-inf"))
        windows = h.unfold(2, 2, 2).unfold(3, 2, 2)
        return windows.amax(dim=(-2, -1)) if pool == "max" else windows.mean(dim=(-2, -1))

    h = pool2(torch.relu(conv(x, conv1_weight, conv1_bias)))
    h = conv(h, conv2_weight, conv2_bias)
    h = pool2(torch.relu(h) if relu2 else h)
    flat = h.flatten(1) if flatten == "chw" else h.permute(0, 2, 3, 1).flatten(1)
    return flat @ fc_weight.T + fc_bias


FORWARD = (_forward_with,)


@mutant(f"{A}.digits_cnn_forward", "valid convolutions: no padding, the maps shrink", FORWARD)
def digits_cnn_forward_no_padding(x, conv1_weight, conv1_bias, conv2_weight, conv2_bias,
                                  fc_weight, fc_bias):
    weights = (conv1_weight, conv1_bias, conv2_weight, conv2_bias, fc_weight, fc_bias)
    return _forward_with(x, weights, conv_padding=False)


@mutant(f"{A}.digits_cnn_forward", "average pooling instead of max pooling", FORWARD)
def digits_cnn_forward_average_pooling(x, conv1_weight, conv1_bias, conv2_weight, conv2_bias,
                                       fc_weight, fc_bias):
    weights = (conv1_weight, conv1_bias, conv2_weight, conv2_bias, fc_weight, fc_bias)
    return _forward_with(x, weights, pool="mean")


@mutant(f"{A}.digits_cnn_forward", "flattened channels last (H, W, C), not as nn.Flatten", FORWARD)
def digits_cnn_forward_channels_last(x, conv1_weight, conv1_bias, conv2_weight, conv2_bias,
                                     fc_weight, fc_bias):
    weights = (conv1_weight, conv1_bias, conv2_weight, conv2_bias, fc_weight, fc_bias)
    return _forward_with(x, weights, flatten="hwc")


@mutant(f"{A}.digits_cnn_forward", "kernels flipped: a convolution, not a correlation", FORWARD)
def digits_cnn_forward_flipped(x, conv1_weight, conv1_bias, conv2_weight, conv2_bias,
                               fc_weight, fc_bias):
    weights = (conv1_weight, conv1_bias, conv2_weight, conv2_bias, fc_weight, fc_bias)
    return _forward_with(x, weights, flip=True)


@mutant(f"{A}.digits_cnn_forward", "no ReLU after the second convolution", FORWARD)
def digits_cnn_forward_one_relu(x, conv1_weight, conv1_bias, conv2_weight, conv2_bias,
                                fc_weight, fc_bias):
    weights = (conv1_weight, conv1_bias, conv2_weight, conv2_bias, fc_weight, fc_bias)
    return _forward_with(x, weights, relu2=False)


@mutant(f"{A}.digits_cnn_forward", "pooling rounds odd sizes up (ceil mode), not down", FORWARD)
def digits_cnn_forward_ceil_pooling(x, conv1_weight, conv1_bias, conv2_weight, conv2_bias,
                                    fc_weight, fc_bias):
    weights = (conv1_weight, conv1_bias, conv2_weight, conv2_bias, fc_weight, fc_bias)
    return _forward_with(x, weights, ceil=True)


@alternate(f"{A}.digits_cnn_forward", "slices: pool before the ReLU (they commute); per-tap einsums")
def digits_cnn_forward_pool_then_relu(x, conv1_weight, conv1_bias, conv2_weight, conv2_bias,
                                      fc_weight, fc_bias):
    def conv(h, weight, bias):
        n, c, height, width = h.shape
        kh, kw = weight.shape[-2:]
        ph, pw = kh // 2, kw // 2
        padded = h.new_zeros(n, c, height + 2 * ph, width + 2 * pw)
        padded[:, :, ph:ph + height, pw:pw + width] = h
        out = bias[None, :, None, None].expand(n, -1, height, width).clone()
        for a in range(kh):
            for b in range(kw):
                out += torch.einsum("nchw,oc->nohw", padded[:, :, a:a + height, b:b + width],
                                    weight[:, :, a, b])
        return out

    def pool(h):
        rows, cols = h.shape[-2] // 2 * 2, h.shape[-1] // 2 * 2
        even = h[..., :rows, :cols]
        return torch.maximum(torch.maximum(even[..., 0::2, 0::2], even[..., 0::2, 1::2]),
                             torch.maximum(even[..., 1::2, 0::2], even[..., 1::2, 1::2]))

    h = torch.relu(pool(conv(x, conv1_weight, conv1_bias)))
    h = torch.relu(pool(conv(h, conv2_weight, conv2_bias)))
    return torch.nn.functional.linear(h.reshape(h.shape[0], -1), fc_weight, fc_bias)


@alternate(f"{A}.digits_cnn_forward", "stack-cat: im2col from stacked slices and one matmul per layer")
def digits_cnn_forward_im2col(x, conv1_weight, conv1_bias, conv2_weight, conv2_bias,
                              fc_weight, fc_bias):
    def conv(h, weight, bias):
        n, c, height, width = h.shape
        c_out, _, kh, kw = weight.shape
        padded = torch.nn.functional.pad(h, (kw // 2, kw // 2, kh // 2, kh // 2))
        taps = [padded[:, :, a:a + height, b:b + width] for a in range(kh) for b in range(kw)]
        columns = torch.stack(taps, dim=2).reshape(n, c * kh * kw, height * width)
        out = weight.reshape(c_out, -1) @ columns + bias[:, None]
        return out.reshape(n, c_out, height, width)

    def pool(h):
        n, c, height, width = h.shape
        h = h[..., :height // 2 * 2, :width // 2 * 2]
        return h.reshape(n, c, height // 2, 2, width // 2, 2).amax(dim=(3, 5))

    h = pool(torch.relu(conv(x, conv1_weight, conv1_bias)))
    h = pool(torch.relu(conv(h, conv2_weight, conv2_bias)))
    return torch.einsum("nd,kd->nk", h.flatten(1), fc_weight) + fc_bias


# digits_cnn_backward --------------------------------------------------------------------------
def _backward_with(x, target, weights, mean=True, relu_mask=True, pool_grad="switch",
                   onehot=True, flip=True, output_size=True):
    """The solution's backward pass with one thing changed; shared by the mutants below."""
    conv1_weight, conv1_bias, conv2_weight, conv2_bias, fc_weight, fc_bias = weights
    n = x.shape[0]

    def same(weight):
        return (weight.shape[-2] // 2, weight.shape[-1] // 2)

    def conv_backward(g, inp, weight):
        ph, pw = same(weight)
        kh, kw = weight.shape[-2:]
        kernel = weight if flip else weight.flip(-2, -1)
        grad_input = provided.conv_transpose2d(g, kernel, padding=(ph, pw))
        padded = torch.nn.functional.pad(inp, (pw, pw, ph, ph))
        windows = padded.unfold(2, kh, 1).unfold(3, kw, 1)
        return (grad_input, torch.einsum("nohw,nchwab->ocab", g, windows),
                g.sum(dim=(0, 2, 3)))

    def unpool(g, switches, z):
        if pool_grad == "spread":
            spread = g.repeat_interleave(2, dim=2).repeat_interleave(2, dim=3) / 4
            return torch.nn.functional.pad(spread, (0, z.shape[-1] % 2, 0, z.shape[-2] % 2))
        size = z.shape[-2:] if output_size else None
        return provided.max_unpool2d(g, switches, 2, output_size=size)

    z1 = provided.conv2d(x, conv1_weight, conv1_bias, padding=same(conv1_weight))
    h1, switches1 = provided.max_pool2d_with_indices(torch.relu(z1), 2)
    z2 = provided.conv2d(h1, conv2_weight, conv2_bias, padding=same(conv2_weight))
    h2, switches2 = provided.max_pool2d_with_indices(torch.relu(z2), 2)
    flat = h2.flatten(1)
    logits = flat @ fc_weight.T + fc_bias
    g = logits.softmax(dim=1)
    if onehot:
        g = g - torch.nn.functional.one_hot(target, logits.shape[1]).to(g.dtype)
    if mean:
        g = g / n
    grad_fc_weight, grad_fc_bias = g.T @ flat, g.sum(dim=0)
    g = unpool((g @ fc_weight).reshape(h2.shape), switches2, z2)
    g = g * (z2 > 0) if relu_mask else g
    g, grad_conv2_weight, grad_conv2_bias = conv_backward(g, h1, conv2_weight)
    g = unpool(g, switches1, z1)
    g = g * (z1 > 0) if relu_mask else g
    _, grad_conv1_weight, grad_conv1_bias = conv_backward(g, x, conv1_weight)
    return (grad_conv1_weight, grad_conv1_bias, grad_conv2_weight, grad_conv2_bias,
            grad_fc_weight, grad_fc_bias)


BACKWARD = (_backward_with,)


@mutant(f"{A}.digits_cnn_backward", "loss gradient summed over the batch, not averaged", BACKWARD)
def digits_cnn_backward_sum(x, target, conv1_weight, conv1_bias, conv2_weight, conv2_bias,
                            fc_weight, fc_bias):
    weights = (conv1_weight, conv1_bias, conv2_weight, conv2_bias, fc_weight, fc_bias)
    return _backward_with(x, target, weights, mean=False)


@mutant(f"{A}.digits_cnn_backward", "softmax without subtracting the one-hot label", BACKWARD)
def digits_cnn_backward_no_onehot(x, target, conv1_weight, conv1_bias, conv2_weight,
                                  conv2_bias, fc_weight, fc_bias):
    weights = (conv1_weight, conv1_bias, conv2_weight, conv2_bias, fc_weight, fc_bias)
    return _backward_with(x, target, weights, onehot=False)


@mutant(f"{A}.digits_cnn_backward", "ReLU forgotten: gradient through negative inputs", BACKWARD)
def digits_cnn_backward_no_relu_mask(x, target, conv1_weight, conv1_bias, conv2_weight,
                                     conv2_bias, fc_weight, fc_bias):
    weights = (conv1_weight, conv1_bias, conv2_weight, conv2_bias, fc_weight, fc_bias)
    return _backward_with(x, target, weights, relu_mask=False)


@mutant(f"{A}.digits_cnn_backward", "pooling gradient spread over each window", BACKWARD)
def digits_cnn_backward_spread(x, target, conv1_weight, conv1_bias, conv2_weight, conv2_bias,
                               fc_weight, fc_bias):
    weights = (conv1_weight, conv1_bias, conv2_weight, conv2_bias, fc_weight, fc_bias)
    return _backward_with(x, target, weights, pool_grad="spread")


@mutant(f"{A}.digits_cnn_backward", "conv2's input gradient with the kernel flipped", BACKWARD)
def digits_cnn_backward_flipped(x, target, conv1_weight, conv1_bias, conv2_weight, conv2_bias,
                                fc_weight, fc_bias):
    weights = (conv1_weight, conv1_bias, conv2_weight, conv2_bias, fc_weight, fc_bias)
    return _backward_with(x, target, weights, flip=False)


@mutant(f"{A}.digits_cnn_backward", "max_unpool2d without output_size: odd maps shrink", BACKWARD)
def digits_cnn_backward_no_output_size(x, target, conv1_weight, conv1_bias, conv2_weight,
                                       conv2_bias, fc_weight, fc_bias):
    weights = (conv1_weight, conv1_bias, conv2_weight, conv2_bias, fc_weight, fc_bias)
    return _backward_with(x, target, weights, output_size=False)


@alternate(f"{A}.digits_cnn_backward", "tensor-unfold: everything by hand: no provided helper at all")
def digits_cnn_backward_by_hand(x, target, conv1_weight, conv1_bias, conv2_weight, conv2_bias,
                                fc_weight, fc_bias):
    def windows(h, kh, kw):
        padded = torch.nn.functional.pad(h, (kw // 2, kw // 2, kh // 2, kh // 2))
        return padded.unfold(2, kh, 1).unfold(3, kw, 1)          # (N, C, H, W, kh, kw)

    def conv(h, weight, bias):
        return (torch.einsum("nchwab,ocab->nohw", windows(h, *weight.shape[-2:]), weight)
                + bias[:, None, None])

    def pool(h):
        n, c, height, width = h.shape
        even = h[..., :height // 2 * 2, :width // 2 * 2]
        blocks = even.reshape(n, c, height // 2, 2, width // 2, 2).permute(0, 1, 2, 4, 3, 5)
        values, where = blocks.reshape(n, c, height // 2, width // 2, 4).max(dim=-1)
        return values, where

    def unpool(g, where, shape):
        n, c, height, width = shape
        spread = torch.nn.functional.one_hot(where, 4).to(g.dtype) * g[..., None]
        spread = spread.reshape(n, c, height // 2, width // 2, 2, 2).permute(0, 1, 2, 4, 3, 5)
        out = g.new_zeros(shape)
        out[..., :height // 2 * 2, :width // 2 * 2] = spread.reshape(
            n, c, height // 2 * 2, width // 2 * 2)
        return out

    def conv_backward(g, inp, weight):
        kh, kw = weight.shape[-2:]
        grad_weight = torch.einsum("nohw,nchwab->ocab", g, windows(inp, kh, kw))
        # "same" padding, stride 1: the input gradient is a "same" correlation with the
        # kernel rotated by 180 degrees and its channel axes swapped
        grad_input = torch.einsum("nohwab,ocab->nchw", windows(g, kh, kw),
                                  weight.flip(-2, -1))
        return grad_input, grad_weight, g.sum(dim=(0, 2, 3))

    z1 = conv(x, conv1_weight, conv1_bias)
    h1, where1 = pool(torch.relu(z1))
    z2 = conv(h1, conv2_weight, conv2_bias)
    h2, where2 = pool(torch.relu(z2))
    logits = h2.flatten(1) @ fc_weight.T + fc_bias
    probabilities = torch.exp(logits - logits.logsumexp(dim=1, keepdim=True))
    g = probabilities.clone()
    g[torch.arange(len(target), device=g.device), target] -= 1
    g = g / len(target)
    grad_fc = (g.T @ h2.flatten(1), g.sum(dim=0))
    g = unpool((g @ fc_weight).reshape(h2.shape), where2, z2.shape) * (z2 > 0)
    g, grad_w2, grad_b2 = conv_backward(g, h1, conv2_weight)
    g = unpool(g, where1, z1.shape) * (z1 > 0)
    _, grad_w1, grad_b1 = conv_backward(g, x, conv1_weight)
    return grad_w1, grad_b1, grad_w2, grad_b2, *grad_fc


@alternate(f"{A}.digits_cnn_backward", "provided: weight gradients as convolutions, batch as channels")
def digits_cnn_backward_as_convolutions(x, target, conv1_weight, conv1_bias, conv2_weight,
                                        conv2_bias, fc_weight, fc_bias):
    def same(weight):
        return (weight.shape[-2] // 2, weight.shape[-1] // 2)

    def pool_backward(g, switches, z):
        flat = g.new_zeros(*z.shape[:2], z.shape[-2] * z.shape[-1])
        flat.scatter_add_(2, switches.flatten(2), g.flatten(2))
        return flat.reshape(z.shape) * (z > 0)

    def conv_backward(g, inp, weight):
        # dL/dw[o, c] = sum over the batch of inp[n, c] correlated with g[n, o]: a convolution
        # with the batch as the channel axis
        grad_weight = provided.conv2d(inp.transpose(0, 1), g.transpose(0, 1),
                                      padding=same(weight)).transpose(0, 1)
        grad_input = provided.conv2d(g, weight.flip(-2, -1).transpose(0, 1),
                                     padding=same(weight))
        return grad_input, grad_weight, g.sum(dim=(0, 2, 3))

    z1 = provided.conv2d(x, conv1_weight, conv1_bias, padding=same(conv1_weight))
    h1, switches1 = provided.max_pool2d_with_indices(torch.relu(z1), 2)
    z2 = provided.conv2d(h1, conv2_weight, conv2_bias, padding=same(conv2_weight))
    h2, switches2 = provided.max_pool2d_with_indices(torch.relu(z2), 2)
    logits = h2.flatten(1) @ fc_weight.T + fc_bias
    onehot = torch.nn.functional.one_hot(target, logits.shape[1]).to(logits.dtype)
    g = (torch.softmax(logits, dim=1) - onehot) / x.shape[0]
    grad_fc_weight, grad_fc_bias = torch.einsum("nk,nd->kd", g, h2.flatten(1)), g.sum(dim=0)
    g = pool_backward((g @ fc_weight).reshape(h2.shape), switches2, z2)
    g, grad_w2, grad_b2 = conv_backward(g, h1, conv2_weight)
    g = pool_backward(g, switches1, z1)
    _, grad_w1, grad_b1 = conv_backward(g, x, conv1_weight)
    return grad_w1, grad_b1, grad_w2, grad_b2, grad_fc_weight, grad_fc_bias


# device bugs: right on the CPU, a tensor created without device= ------------------------------
@device_mutant(f"{A}.digits_cnn_forward", "logits accumulated in a buffer made on the CPU",
               FORWARD)
def digits_cnn_forward_cpu_logits(x, conv1_weight, conv1_bias, conv2_weight, conv2_bias,
                                  fc_weight, fc_bias):
    weights = (conv1_weight, conv1_bias, conv2_weight, conv2_bias, fc_weight, fc_bias)
    logits = torch.zeros(x.shape[0], fc_bias.shape[0], dtype=x.dtype)  # <- CPU tensor
    logits += _forward_with(x, weights)
    return logits


@device_mutant(f"{A}.digits_cnn_backward", "gradients scaled by a factor made on the CPU",
               BACKWARD)
def digits_cnn_backward_cpu_scale(x, target, conv1_weight, conv1_bias, conv2_weight,
                                  conv2_bias, fc_weight, fc_bias):
    weights = (conv1_weight, conv1_bias, conv2_weight, conv2_bias, fc_weight, fc_bias)
    scale = torch.ones(1, dtype=x.dtype)  # <- CPU tensor
    return tuple(g * scale for g in _backward_with(x, target, weights))


# The corpus of correct but unusual implementations, in more styles ----------------------------
# Each description starts with its style (see tests/test_corpus.py).

# digits_cnn_forward
@alternate(f"{A}.digits_cnn_forward", "fft: 'same' correlations by rfft2, the network in float64")
def digits_cnn_forward_fft(x, conv1_weight, conv1_bias, conv2_weight, conv2_bias, fc_weight,
                           fc_bias):
    def conv(h, weight, bias):
        n, c, height, width = h.shape
        kh, kw = weight.shape[-2:]
        size = (height + kh - 1, width + kw - 1)
        padded = h.new_zeros(n, c, *size)
        padded[:, :, kh // 2:kh // 2 + height, kw // 2:kw // 2 + width] = h
        spectrum = torch.einsum("nchw,ochw->nohw", torch.fft.rfft2(padded),
                                torch.fft.rfft2(weight.double(), s=size).conj())
        full = torch.fft.irfft2(spectrum, s=size)
        return full[:, :, :height, :width] + bias.double().view(1, -1, 1, 1)

    def pool(h):
        n, c, height, width = h.shape
        even = h[..., :height // 2 * 2, :width // 2 * 2]
        return even.reshape(n, c, height // 2, 2, width // 2, 2).amax(dim=(3, 5))

    h = pool(torch.relu(conv(x.double(), conv1_weight, conv1_bias)))
    h = pool(torch.relu(conv(h, conv2_weight, conv2_bias)))
    logits = h.flatten(1) @ fc_weight.double().T + fc_bias.double()
    return logits.to(x.dtype)


@alternate(f"{A}.digits_cnn_forward", "as_strided: conv and pool windows by as_strided")
def digits_cnn_forward_as_strided(x, conv1_weight, conv1_bias, conv2_weight, conv2_bias,
                                  fc_weight, fc_bias):
    def conv(h, weight, bias):
        n, c, height, width = h.shape
        kh, kw = weight.shape[-2:]
        padded = h.new_zeros(n, c, height + kh - 1, width + kw - 1)
        padded[:, :, kh // 2:kh // 2 + height, kw // 2:kw // 2 + width] = h
        s = padded.stride()
        windows = padded.as_strided((n, c, height, width, kh, kw),
                                    (s[0], s[1], s[2], s[3], s[2], s[3]))
        out = torch.tensordot(windows, weight, dims=([1, 4, 5], [1, 2, 3]))  # (N, H, W, O)
        return (out + bias).permute(0, 3, 1, 2)

    def pool(h):
        h = h.contiguous()
        n, c, height, width = h.shape
        s = h.stride()
        blocks = h.as_strided((n, c, height // 2, width // 2, 2, 2),
                              (s[0], s[1], 2 * s[2], 2 * s[3], s[2], s[3]))
        return blocks.amax(dim=(-2, -1))

    h = pool(torch.relu(conv(x, conv1_weight, conv1_bias)))
    h = pool(torch.relu(conv(h, conv2_weight, conv2_bias)))
    return h.flatten(1) @ fc_weight.T + fc_bias


@alternate(f"{A}.digits_cnn_forward", "where: ReLU and the 2x2 maximum written with torch.where")
def digits_cnn_forward_where(x, conv1_weight, conv1_bias, conv2_weight, conv2_bias, fc_weight,
                             fc_bias):
    import torch.nn.functional as F

    def conv(h, weight, bias):
        kh, kw = weight.shape[-2:]
        padded = F.pad(h, (kw // 2, kw // 2, kh // 2, kh // 2))
        windows = padded.unfold(2, kh, 1).unfold(3, kw, 1)
        return torch.einsum("nchwab,ocab->nohw", windows, weight) + bias.view(1, -1, 1, 1)

    def relu(z):
        return torch.where(z > 0, z, torch.zeros_like(z))

    def larger(p, q):
        return torch.where(p >= q, p, q)

    def pool(h):
        height, width = h.shape[-2] // 2 * 2, h.shape[-1] // 2 * 2
        even = h[..., :height, :width]
        return larger(larger(even[..., 0::2, 0::2], even[..., 0::2, 1::2]),
                      larger(even[..., 1::2, 0::2], even[..., 1::2, 1::2]))

    h = pool(relu(conv(x, conv1_weight, conv1_bias)))
    h = pool(relu(conv(h, conv2_weight, conv2_bias)))
    return torch.einsum("nd,kd->nk", h.flatten(1), fc_weight) + fc_bias


# digits_cnn_backward
@alternate(f"{A}.digits_cnn_backward", "float64: by hand in float64, im2col from stacked slices")
def digits_cnn_backward_float64(x, target, conv1_weight, conv1_bias, conv2_weight, conv2_bias,
                                fc_weight, fc_bias):
    def columns(h, kh, kw):
        """(N, C*kh*kw, H*W): the windows of a 'same' correlation, from stacked slices."""
        n, c, height, width = h.shape
        padded = h.new_zeros(n, c, height + kh - 1, width + kw - 1)
        padded[:, :, kh // 2:kh // 2 + height, kw // 2:kw // 2 + width] = h
        taps = [padded[:, :, a:a + height, b:b + width] for a in range(kh) for b in range(kw)]
        return torch.stack(taps, dim=2).reshape(n, c * kh * kw, height * width)

    def uncolumns(cols, shape, kh, kw):
        """The transpose of `columns`: every entry added back to the pixel it was read from."""
        n, c, height, width = shape
        cols = cols.reshape(n, c, kh, kw, height, width)
        padded = cols.new_zeros(n, c, height + kh - 1, width + kw - 1)
        for a in range(kh):
            for b in range(kw):
                padded[:, :, a:a + height, b:b + width] += cols[:, :, a, b]
        return padded[:, :, kh // 2:kh // 2 + height, kw // 2:kw // 2 + width]

    def blocks(h):
        n, c, height, width = h.shape
        even = h[..., :height // 2 * 2, :width // 2 * 2]
        return even.reshape(n, c, height // 2, 2, width // 2, 2).permute(0, 1, 2, 4, 3, 5)

    def pool(h):
        return blocks(h).flatten(-2).max(dim=-1)             # values, which of the four won

    def unpool(g, which, shape):
        spread = torch.zeros(*which.shape, 4, dtype=g.dtype, device=g.device)
        spread.scatter_(-1, which[..., None], g[..., None])
        out = g.new_zeros(shape)
        blocks(out).copy_(spread.unflatten(-1, (2, 2)))      # blocks(out) is a view of out
        return out

    def layer(h, weight, bias):
        cols = columns(h, *weight.shape[-2:])
        z = weight.flatten(1) @ cols + bias[:, None]
        return cols, z.reshape(h.shape[0], -1, *h.shape[-2:])

    def layer_backward(g, cols, h, weight):
        g = g.flatten(2)                                     # (N, C_out, H*W)
        grad_weight = (g @ cols.transpose(1, 2)).sum(dim=0).reshape(weight.shape)
        grad_input = uncolumns(weight.flatten(1).T @ g, h.shape, *weight.shape[-2:])
        return grad_input, grad_weight, g.sum(dim=(0, 2))

    w1, b1, w2, b2, fw, fb = (t.double() for t in (conv1_weight, conv1_bias, conv2_weight,
                                                   conv2_bias, fc_weight, fc_bias))
    x64, n = x.double(), x.shape[0]
    cols1, z1 = layer(x64, w1, b1)
    h1, which1 = pool(torch.relu(z1))
    cols2, z2 = layer(h1, w2, b2)
    h2, which2 = pool(torch.relu(z2))
    flat = h2.flatten(1)
    g = torch.softmax(flat @ fw.T + fb, dim=1)
    g[torch.arange(n, device=g.device), target] -= 1
    g = g / n
    grad_fw, grad_fb = g.T @ flat, g.sum(dim=0)
    g = unpool((g @ fw).reshape(h2.shape), which2, z2.shape) * (z2 > 0)
    g, grad_w2, grad_b2 = layer_backward(g, cols2, h1, w2)
    g = unpool(g, which1, z1.shape) * (z1 > 0)
    _, grad_w1, grad_b1 = layer_backward(g, cols1, x64, w1)
    return tuple(t.to(x.dtype) for t in (grad_w1, grad_b1, grad_w2, grad_b2, grad_fw, grad_fb))


@alternate(f"{A}.digits_cnn_backward", "as_strided: windows, switches by as_strided, scatter_add_")
def digits_cnn_backward_as_strided(x, target, conv1_weight, conv1_bias, conv2_weight,
                                   conv2_bias, fc_weight, fc_bias):
    def padded(h, kh, kw):
        n, c, height, width = h.shape
        out = h.new_zeros(n, c, height + kh - 1, width + kw - 1)
        out[:, :, kh // 2:kh // 2 + height, kw // 2:kw // 2 + width] = h
        return out

    def windows(h, kh, kw):
        p = padded(h, kh, kw)
        s = p.stride()
        return p.as_strided((*h.shape, kh, kw), (s[0], s[1], s[2], s[3], s[2], s[3]))

    def conv(h, weight, bias):
        out = torch.einsum("nchwab,ocab->nohw", windows(h, *weight.shape[-2:]), weight)
        return out + bias.view(1, -1, 1, 1)

    def pool(h):
        h = h.contiguous()
        n, c, height, width = h.shape
        s = h.stride()
        cells = h.as_strided((n, c, height // 2, width // 2, 2, 2),
                             (s[0], s[1], 2 * s[2], 2 * s[3], s[2], s[3])).flatten(-2)
        values, which = cells.max(dim=-1)
        rows = torch.arange(height // 2, device=h.device)[:, None] * 2 + which // 2
        cols = torch.arange(width // 2, device=h.device) * 2 + which % 2
        return values, rows * width + cols                   # the switch, flat in its plane

    def unpool(g, switches, shape):
        flat = g.new_zeros(*shape[:2], shape[2] * shape[3])
        flat.scatter_add_(2, switches.flatten(2), g.flatten(2))
        return flat.reshape(shape)

    def conv_backward(g, h, weight):
        n, c, height, width = h.shape
        kh, kw = weight.shape[-2:]
        grad_weight = torch.einsum("nohw,nchwab->ocab", g, windows(h, kh, kw))
        # window (i, j), tap (a, b) read padded pixel (i + a, j + b): send g @ w back there
        wide = width + kw - 1
        dev = g.device
        rows = torch.arange(kh, device=dev).view(kh, 1, 1, 1) \
            + torch.arange(height, device=dev).view(1, 1, height, 1)
        cols = torch.arange(kw, device=dev).view(1, kw, 1, 1) \
            + torch.arange(width, device=dev).view(1, 1, 1, width)
        grad_padded = g.new_zeros(n, c, (height + kh - 1) * wide)
        grad_padded.index_add_(2, (rows * wide + cols).reshape(-1),
                               torch.einsum("nohw,ocab->ncabhw", g, weight).flatten(2))
        grad_padded = grad_padded.reshape(n, c, height + kh - 1, wide)
        grad_input = grad_padded[:, :, kh // 2:kh // 2 + height, kw // 2:kw // 2 + width]
        return grad_input, grad_weight, g.sum(dim=(0, 2, 3))

    n = x.shape[0]
    z1 = conv(x, conv1_weight, conv1_bias)
    h1, switches1 = pool(torch.relu(z1))
    z2 = conv(h1, conv2_weight, conv2_bias)
    h2, switches2 = pool(torch.relu(z2))
    flat = h2.flatten(1)
    logits = flat @ fc_weight.T + fc_bias
    g = torch.softmax(logits, dim=1)
    g = torch.where(torch.arange(g.shape[1], device=g.device) == target[:, None], g - 1, g) / n
    grad_fc_weight, grad_fc_bias = g.T @ flat, g.sum(dim=0)
    g = unpool((g @ fc_weight).reshape(h2.shape), switches2, z2.shape) * (z2 > 0)
    g, grad_w2, grad_b2 = conv_backward(g, h1, conv2_weight)
    g = unpool(g, switches1, z1.shape) * (z1 > 0)
    _, grad_w1, grad_b1 = conv_backward(g, x, conv1_weight)
    return grad_w1, grad_b1, grad_w2, grad_b2, grad_fc_weight, grad_fc_bias


@alternate(f"{A}.digits_cnn_backward", "fft: every correlation and its two gradients by rfft2")
def digits_cnn_backward_fft(x, target, conv1_weight, conv1_bias, conv2_weight, conv2_bias,
                            fc_weight, fc_bias):
    def padded_spectrum(h, kh, kw):
        n, c, height, width = h.shape
        size = (height + kh - 1, width + kw - 1)            # long enough: nothing wraps
        padded = h.new_zeros(n, c, *size)
        padded[:, :, kh // 2:kh // 2 + height, kw // 2:kw // 2 + width] = h
        return torch.fft.rfft2(padded), size

    def conv(h, weight, bias):
        spectrum, size = padded_spectrum(h, *weight.shape[-2:])
        products = torch.einsum("nchw,ochw->nohw", spectrum,
                                torch.fft.rfft2(weight, s=size).conj())
        full = torch.fft.irfft2(products, s=size)
        return full[:, :, :h.shape[2], :h.shape[3]] + bias.view(1, -1, 1, 1)

    def conv_backward(g, h, weight):
        kh, kw = weight.shape[-2:]
        height, width = h.shape[-2:]
        spectrum, size = padded_spectrum(h, kh, kw)
        g_spectrum = torch.fft.rfft2(g, s=size)
        # dL/dw: the padded input correlated with g (its first kh x kw lags)
        grad_weight = torch.fft.irfft2(torch.einsum("nchw,nohw->ochw", spectrum,
                                                    g_spectrum.conj()), s=size)[..., :kh, :kw]
        # dL/dx: g convolved with the kernel, shifted back by the 'same' padding
        grad_input = torch.fft.irfft2(torch.einsum("nohw,ochw->nchw", g_spectrum,
                                                   torch.fft.rfft2(weight, s=size)), s=size)
        grad_input = grad_input[:, :, kh // 2:kh // 2 + height, kw // 2:kw // 2 + width]
        return grad_input, grad_weight, g.sum(dim=(0, 2, 3))

    def pool(h):
        n, c, height, width = h.shape
        even = h[..., :height // 2 * 2, :width // 2 * 2]
        cells = even.reshape(n, c, height // 2, 2, width // 2, 2).permute(0, 1, 2, 4, 3, 5)
        return cells.reshape(n, c, height // 2, width // 2, 4).max(dim=-1)

    def unpool(g, which, shape):
        n, c, height, width = shape
        spread = torch.nn.functional.one_hot(which, 4).to(g.dtype) * g[..., None]
        spread = spread.reshape(n, c, height // 2, width // 2, 2, 2).permute(0, 1, 2, 4, 3, 5)
        out = g.new_zeros(shape)
        out[..., :height // 2 * 2, :width // 2 * 2] = spread.reshape(
            n, c, height // 2 * 2, width // 2 * 2)
        return out

    w1, b1, w2, b2, fw, fb = (t.double() for t in (conv1_weight, conv1_bias, conv2_weight,
                                                   conv2_bias, fc_weight, fc_bias))
    x64 = x.double()
    z1 = conv(x64, w1, b1)
    h1, which1 = pool(torch.relu(z1))
    z2 = conv(h1, w2, b2)
    h2, which2 = pool(torch.relu(z2))
    flat = h2.flatten(1)
    logits = flat @ fw.T + fb
    onehot = torch.nn.functional.one_hot(target, logits.shape[1]).to(logits.dtype)
    g = (torch.softmax(logits, dim=1) - onehot) / x.shape[0]
    grad_fw, grad_fb = g.T @ flat, g.sum(dim=0)
    g = unpool((g @ fw).reshape(h2.shape), which2, z2.shape) * (z2 > 0)
    g, grad_w2, grad_b2 = conv_backward(g, h1, w2)
    g = unpool(g, which1, z1.shape) * (z1 > 0)
    _, grad_w1, grad_b1 = conv_backward(g, x64, w1)
    return tuple(t.to(x.dtype) for t in (grad_w1, grad_b1, grad_w2, grad_b2, grad_fw, grad_fb))
