"""Mutants and alternates for assignment 04_dilated."""
import torch

from . import alternate, device_mutant, mutant

A = "04_dilated"


# conv2d with dilation -------------------------------------------------------------------------
@mutant(f"{A}.conv2d", "dilation ignored")
def conv2d_no_dilation(input, weight, bias=None, stride=1, padding=0, dilation=1):
    import torch.nn.functional as F
    sh, sw = (stride, stride) if isinstance(stride, int) else stride
    ph, pw = (padding, padding) if isinstance(padding, int) else padding
    win = F.pad(input, (pw, pw, ph, ph)).unfold(2, weight.shape[2], sh).unfold(3, weight.shape[3], sw)
    out = torch.einsum("nchwab,ocab->nohw", win, weight)
    return out if bias is None else out + bias.view(1, -1, 1, 1)


@mutant(f"{A}.conv2d", "output size uses k * d instead of d * (k - 1) + 1")
def conv2d_wide_span(input, weight, bias=None, stride=1, padding=0, dilation=1):
    import torch.nn.functional as F
    sh, sw = (stride, stride) if isinstance(stride, int) else stride
    ph, pw = (padding, padding) if isinstance(padding, int) else padding
    dh, dw = (dilation, dilation) if isinstance(dilation, int) else dilation
    kh, kw = weight.shape[2:]
    win = F.pad(input, (pw, pw, ph, ph)).unfold(2, kh * dh, sh).unfold(3, kw * dw, sw)
    out = torch.einsum("nchwab,ocab->nohw", win[..., ::dh, ::dw], weight)
    return out if bias is None else out + bias.view(1, -1, 1, 1)


@mutant(f"{A}.conv2d", "vertical dilation used for both directions")
def conv2d_one_dilation(input, weight, bias=None, stride=1, padding=0, dilation=1):
    import torch.nn.functional as F
    sh, sw = (stride, stride) if isinstance(stride, int) else stride
    ph, pw = (padding, padding) if isinstance(padding, int) else padding
    d = dilation if isinstance(dilation, int) else dilation[0]
    kh, kw = weight.shape[2:]
    x = F.pad(input, (pw, pw, ph, ph))
    win = x.unfold(2, d * (kh - 1) + 1, sh).unfold(3, d * (kw - 1) + 1, sw)[..., ::d, ::d]
    out = torch.einsum("nchwab,ocab->nohw", win, weight)
    return out if bias is None else out + bias.view(1, -1, 1, 1)


@alternate(f"{A}.conv2d", "F.unfold with dilation + matmul")
def conv2d_unfold(input, weight, bias=None, stride=1, padding=0, dilation=1):
    import torch.nn.functional as F
    n, _, h, w = input.shape
    c_out, _, kh, kw = weight.shape
    sh, sw = (stride, stride) if isinstance(stride, int) else stride
    ph, pw = (padding, padding) if isinstance(padding, int) else padding
    dh, dw = (dilation, dilation) if isinstance(dilation, int) else dilation
    cols = F.unfold(input, (kh, kw), dilation=(dh, dw), padding=(ph, pw), stride=(sh, sw))
    oh = (h + 2 * ph - dh * (kh - 1) - 1) // sh + 1
    ow = (w + 2 * pw - dw * (kw - 1) - 1) // sw + 1
    out = (weight.reshape(c_out, -1) @ cols).reshape(n, c_out, oh, ow)
    return out if bias is None else out + bias.view(1, -1, 1, 1)


@alternate(f"{A}.conv2d", "dilate the kernel with zeros, then an ordinary convolution")
def conv2d_zero_kernel(input, weight, bias=None, stride=1, padding=0, dilation=1):
    import torch.nn.functional as F
    sh, sw = (stride, stride) if isinstance(stride, int) else stride
    ph, pw = (padding, padding) if isinstance(padding, int) else padding
    dh, dw = (dilation, dilation) if isinstance(dilation, int) else dilation
    c_out, c_in, kh, kw = weight.shape
    big = weight.new_zeros(c_out, c_in, (kh - 1) * dh + 1, (kw - 1) * dw + 1)
    big[..., ::dh, ::dw] = weight
    win = F.pad(input, (pw, pw, ph, ph)).unfold(2, big.shape[2], sh).unfold(3, big.shape[3], sw)
    out = torch.einsum("nchwab,ocab->nohw", win, big)
    return out if bias is None else out + bias.view(1, -1, 1, 1)


# dilate_kernel --------------------------------------------------------------------------------
@mutant(f"{A}.dilate_kernel", "d zeros between taps instead of d - 1")
def dilate_kernel_one_too_many(k, d):
    dh, dw = (d, d) if isinstance(d, int) else d
    kh, kw = k.shape[-2:]
    out = k.new_zeros(*k.shape[:-2], (kh - 1) * (dh + 1) + 1, (kw - 1) * (dw + 1) + 1)
    out[..., ::dh + 1, ::dw + 1] = k
    return out


@mutant(f"{A}.dilate_kernel", "trailing zeros after the last tap")
def dilate_kernel_trailing(k, d):
    dh, dw = (d, d) if isinstance(d, int) else d
    kh, kw = k.shape[-2:]
    out = k.new_zeros(*k.shape[:-2], kh * dh, kw * dw)
    out[..., ::dh, ::dw] = k
    return out


@mutant(f"{A}.dilate_kernel", "pair read as (columns, rows)")
def dilate_kernel_swapped(k, d):
    dw, dh = (d, d) if isinstance(d, int) else d
    kh, kw = k.shape[-2:]
    out = k.new_zeros(*k.shape[:-2], (kh - 1) * dh + 1, (kw - 1) * dw + 1)
    out[..., ::dh, ::dw] = k
    return out


@alternate(f"{A}.dilate_kernel", "index_put with explicit tap positions")
def dilate_kernel_index(k, d):
    dh, dw = (d, d) if isinstance(d, int) else d
    kh, kw = k.shape[-2:]
    out = torch.zeros(*k.shape[:-2], (kh - 1) * dh + 1, (kw - 1) * dw + 1,
                      dtype=k.dtype, device=k.device)
    rows = torch.arange(kh, device=k.device) * dh
    cols = torch.arange(kw, device=k.device) * dw
    out[..., rows[:, None], cols[None, :]] = k
    return out


@alternate(f"{A}.dilate_kernel", "interleave zeros with stack and reshape, then trim")
def dilate_kernel_stack(k, d):
    dh, dw = (d, d) if isinstance(d, int) else d
    kh, kw = k.shape[-2:]
    rows = torch.cat([k.unsqueeze(-2), k.new_zeros(*k.shape[:-2], kh, dh - 1, kw)], dim=-2)
    rows = rows.reshape(*k.shape[:-2], kh * dh, kw)[..., :(kh - 1) * dh + 1, :]
    cols = torch.cat([rows.unsqueeze(-1), rows.new_zeros(*rows.shape, dw - 1)], dim=-1)
    return cols.reshape(*rows.shape[:-1], kw * dw)[..., :(kw - 1) * dw + 1]


# receptive_field ------------------------------------------------------------------------------
@mutant(f"{A}.receptive_field", "the book's version: the side only, an int")
def receptive_field_book(layers):
    r, jump = 1, 1
    for k, s, d in layers:
        r += (k - 1) * d * jump
        jump *= s
    return r


@mutant(f"{A}.receptive_field", "the right side, but no holes: pixels = side ** 2")
def receptive_field_no_holes(layers):
    side, jump = 1, 1
    for k, s, d in layers:
        side += (k - 1) * d * jump
        jump *= s
    return side, side * side


@mutant(f"{A}.receptive_field", "strides ignored (the book's stride-1 picture)")
def receptive_field_no_stride(layers):
    offsets = {0}
    for k, s, d in layers:
        offsets = {o + a * d for o in offsets for a in range(k)}
    return max(offsets) + 1, len(offsets) ** 2


@mutant(f"{A}.receptive_field", "pixels counted along one axis only")
def receptive_field_one_axis(layers):
    offsets, jump = {0}, 1
    for k, s, d in layers:
        offsets = {o + a * d * jump for o in offsets for a in range(k)}
        jump *= s
    return max(offsets) + 1, len(offsets)


@mutant(f"{A}.receptive_field", "each layer's own stride counted too")
def receptive_field_own_stride(layers):
    offsets, jump = {0}, 1
    for k, s, d in layers:
        jump *= s
        offsets = {o + a * d * jump for o in offsets for a in range(k)}
    return max(offsets) + 1, len(offsets) ** 2


@alternate(f"{A}.receptive_field", "backwards from the output: positions read at each layer")
def receptive_field_backwards(layers):
    positions = {0}                       # units of the current layer that the output reads
    for k, s, d in reversed(layers):
        positions = {p * s + a * d for p in positions for a in range(k)}
    return max(positions) - min(positions) + 1, len(positions) ** 2


@alternate(f"{A}.receptive_field", "a 2-D boolean footprint, grown layer by layer with slices")
def receptive_field_footprint(layers):
    side, jump = 1, 1
    for k, s, d in layers:
        side += (k - 1) * d * jump
        jump *= s
    reached = torch.zeros(side, side, dtype=torch.bool)
    reached[0, 0] = True
    width, jump = 1, 1                    # the extent reached so far
    for k, s, d in layers:
        grown = torch.zeros_like(reached)
        for a in range(k):
            for b in range(k):
                top, left = a * d * jump, b * d * jump
                grown[top:top + width, left:left + width] |= reached[:width, :width]
        reached, width, jump = grown, width + (k - 1) * d * jump, jump * s
    return side, int(reached.sum())


# causal_conv1d --------------------------------------------------------------------------------
@mutant(f"{A}.causal_conv1d", "symmetric padding (looks ahead)")
def causal_conv1d_symmetric(x, w, dilation=1):
    import torch.nn.functional as F
    total = (w.shape[-1] - 1) * dilation
    padded = F.pad(x, (total // 2, total - total // 2))
    win = padded.unfold(2, total + 1, 1)[..., ::dilation]
    return torch.einsum("nctk,ock->not", win, w)


@mutant(f"{A}.causal_conv1d", "padding on the right (anti-causal)")
def causal_conv1d_right(x, w, dilation=1):
    import torch.nn.functional as F
    total = (w.shape[-1] - 1) * dilation
    win = F.pad(x, (0, total)).unfold(2, total + 1, 1)[..., ::dilation]
    return torch.einsum("nctk,ock->not", win, w)


@mutant(f"{A}.causal_conv1d", "dilation ignored")
def causal_conv1d_no_dilation(x, w, dilation=1):
    import torch.nn.functional as F
    k = w.shape[-1]
    win = F.pad(x, (k - 1, 0)).unfold(2, k, 1)
    return torch.einsum("nctk,ock->not", win, w)


@alternate(f"{A}.causal_conv1d", "F.pad + strided views + einsum")
def causal_conv1d_views(x, w, dilation=1):
    import torch.nn.functional as F
    span = (w.shape[-1] - 1) * dilation + 1
    win = F.pad(x, (span - 1, 0)).unfold(2, span, 1)[..., ::dilation]
    return torch.einsum("nctk,ock->not", win, w)


@alternate(f"{A}.causal_conv1d", "shift-and-add with torch.roll and a mask, no padding")
def causal_conv1d_roll(x, w, dilation=1):
    n, c_in, t = x.shape
    k = w.shape[-1]
    out = x.new_zeros(n, w.shape[0], t)
    times = torch.arange(t, device=x.device)
    for a in range(k):
        lag = (k - 1 - a) * dilation
        shifted = torch.roll(x, lag, dims=2) * (times >= lag).to(x.dtype)
        out += torch.einsum("nct,oc->not", shifted, w[:, :, a])
    return out


# device bugs: right on the CPU, a tensor created without device= ------------------------------
@device_mutant(f"{A}.conv2d", "output created on the CPU (torch.zeros without device=)")
def conv2d_cpu_output(input, weight, bias=None, stride=1, padding=0, dilation=1):
    sh, sw = (stride, stride) if isinstance(stride, int) else stride
    ph, pw = (padding, padding) if isinstance(padding, int) else padding
    dh, dw = (dilation, dilation) if isinstance(dilation, int) else dilation
    n, c_in, h, w = input.shape
    c_out, _, kh, kw = weight.shape
    padded = input.new_zeros(n, c_in, h + 2 * ph, w + 2 * pw)
    padded[:, :, ph:ph + h, pw:pw + w] = input
    out_h = (h + 2 * ph - dh * (kh - 1) - 1) // sh + 1
    out_w = (w + 2 * pw - dw * (kw - 1) - 1) // sw + 1
    out = torch.zeros(n, c_out, out_h, out_w, dtype=input.dtype)  # <- CPU tensor
    for a in range(kh):
        for b in range(kw):
            top, left = a * dh, b * dw
            window = padded[:, :, top:top + sh * (out_h - 1) + 1:sh,
                            left:left + sw * (out_w - 1) + 1:sw]
            out += torch.einsum("nchw,oc->nohw", window, weight[:, :, a, b])
    if bias is not None:
        out += bias.view(1, c_out, 1, 1)
    return out


@device_mutant(f"{A}.dilate_kernel", "dilated kernel created on the CPU")
def dilate_kernel_cpu_output(k, d):
    dh, dw = (d, d) if isinstance(d, int) else d
    kh, kw = k.shape[-2:]
    size = (*k.shape[:-2], (kh - 1) * dh + 1, (kw - 1) * dw + 1)
    out = torch.zeros(size, dtype=k.dtype)  # <- CPU tensor
    out[..., ::dh, ::dw] = k
    return out


@device_mutant(f"{A}.causal_conv1d", "left-padded input created on the CPU")
def causal_conv1d_cpu_padding(x, w, dilation=1):
    n, c_in, t = x.shape
    c_out, _, k = w.shape
    left = (k - 1) * dilation
    padded = torch.zeros(n, c_in, t + left, dtype=x.dtype)  # <- CPU tensor
    padded[:, :, left:] = x
    out = x.new_zeros(n, c_out, t)
    for a in range(k):
        out += torch.einsum("nct,oc->not", padded[:, :, a * dilation:a * dilation + t],
                            w[:, :, a])
    return out
