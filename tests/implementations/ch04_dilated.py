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


@alternate(f"{A}.conv2d", "im2col: F.unfold with dilation + matmul")
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


@alternate(f"{A}.conv2d", "tensor-unfold: dilate the kernel with zeros, then an ordinary convolution")
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


@alternate(f"{A}.dilate_kernel", "index: index_put with explicit tap positions")
def dilate_kernel_index(k, d):
    dh, dw = (d, d) if isinstance(d, int) else d
    kh, kw = k.shape[-2:]
    out = torch.zeros(*k.shape[:-2], (kh - 1) * dh + 1, (kw - 1) * dw + 1,
                      dtype=k.dtype, device=k.device)
    rows = torch.arange(kh, device=k.device) * dh
    cols = torch.arange(kw, device=k.device) * dw
    out[..., rows[:, None], cols[None, :]] = k
    return out


@alternate(f"{A}.dilate_kernel", "stack-cat: interleave zeros with stack and reshape, then trim")
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


@alternate(f"{A}.receptive_field", "sets: backwards from the output: positions read at each layer")
def receptive_field_backwards(layers):
    positions = {0}                       # units of the current layer that the output reads
    for k, s, d in reversed(layers):
        positions = {p * s + a * d for p in positions for a in range(k)}
    return max(positions) - min(positions) + 1, len(positions) ** 2


@alternate(f"{A}.receptive_field", "slices: a 2-D boolean footprint, grown layer by layer with slices")
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


@alternate(f"{A}.causal_conv1d", "tensor-unfold: F.pad + strided views + einsum")
def causal_conv1d_views(x, w, dilation=1):
    import torch.nn.functional as F
    span = (w.shape[-1] - 1) * dilation + 1
    win = F.pad(x, (span - 1, 0)).unfold(2, span, 1)[..., ::dilation]
    return torch.einsum("nctk,ock->not", win, w)


@alternate(f"{A}.causal_conv1d", "roll: shift-and-add with torch.roll and a mask, no padding")
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


# The corpus of correct but unusual implementations, in more styles ----------------------------
# Each description starts with its style (see tests/test_corpus.py).

# conv2d with dilation
@alternate(f"{A}.conv2d", "as_strided: windows whose taps are dilation * stride apart, tensordot")
def conv2d_as_strided(input, weight, bias=None, stride=1, padding=0, dilation=1):
    sh, sw = (stride, stride) if isinstance(stride, int) else stride
    ph, pw = (padding, padding) if isinstance(padding, int) else padding
    dh, dw = (dilation, dilation) if isinstance(dilation, int) else dilation
    n, c_in, h, w = input.shape
    kh, kw = weight.shape[-2:]
    padded = input.new_zeros(n, c_in, h + 2 * ph, w + 2 * pw)
    padded[:, :, ph:ph + h, pw:pw + w] = input
    out_h = (h + 2 * ph - dh * (kh - 1) - 1) // sh + 1
    out_w = (w + 2 * pw - dw * (kw - 1) - 1) // sw + 1
    s = padded.stride()
    windows = padded.as_strided((n, c_in, out_h, out_w, kh, kw),
                                (s[0], s[1], sh * s[2], sw * s[3], dh * s[2], dw * s[3]))
    out = torch.tensordot(windows, weight, dims=([1, 4, 5], [1, 2, 3])).permute(0, 3, 1, 2)
    return out if bias is None else out + bias.view(1, -1, 1, 1)


@alternate(f"{A}.conv2d", "fft: the zero-dilated kernel's conjugate spectrum, float64, subsampled")
def conv2d_fft(input, weight, bias=None, stride=1, padding=0, dilation=1):
    sh, sw = (stride, stride) if isinstance(stride, int) else stride
    ph, pw = (padding, padding) if isinstance(padding, int) else padding
    dh, dw = (dilation, dilation) if isinstance(dilation, int) else dilation
    n, c_in, h, w = input.shape
    c_out, _, kh, kw = weight.shape
    size = (h + 2 * ph, w + 2 * pw)
    span_h, span_w = dh * (kh - 1) + 1, dw * (kw - 1) + 1
    padded = torch.zeros(n, c_in, *size, dtype=torch.float64, device=input.device)
    padded[:, :, ph:ph + h, pw:pw + w] = input
    dilated = torch.zeros(c_out, c_in, span_h, span_w, dtype=torch.float64, device=input.device)
    dilated[:, :, ::dh, ::dw] = weight
    spectrum = torch.einsum("nchw,ochw->nohw", torch.fft.rfft2(padded),
                            torch.fft.rfft2(dilated, s=size).conj())
    full = torch.fft.irfft2(spectrum, s=size)
    out = full[:, :, :size[0] - span_h + 1:sh, :size[1] - span_w + 1:sw].to(input.dtype)
    return out if bias is None else out + bias.view(1, -1, 1, 1)


@alternate(f"{A}.conv2d", "index: window pixels read by broadcast row/column index tensors, matmul")
def conv2d_index(input, weight, bias=None, stride=1, padding=0, dilation=1):
    import torch.nn.functional as F
    sh, sw = (stride, stride) if isinstance(stride, int) else stride
    ph, pw = (padding, padding) if isinstance(padding, int) else padding
    dh, dw = (dilation, dilation) if isinstance(dilation, int) else dilation
    n, c_in, h, w = input.shape
    c_out, _, kh, kw = weight.shape
    x = F.pad(input, (pw, pw, ph, ph))
    out_h = (x.shape[2] - dh * (kh - 1) - 1) // sh + 1
    out_w = (x.shape[3] - dw * (kw - 1) - 1) // sw + 1
    dev = input.device
    rows = (torch.arange(kh, device=dev) * dh).view(kh, 1, 1, 1) \
        + (torch.arange(out_h, device=dev) * sh).view(1, 1, out_h, 1)
    cols = (torch.arange(kw, device=dev) * dw).view(1, kw, 1, 1) \
        + (torch.arange(out_w, device=dev) * sw).view(1, 1, 1, out_w)
    columns = x[:, :, rows, cols].reshape(n, c_in * kh * kw, out_h * out_w)
    out = (weight.reshape(c_out, -1) @ columns).reshape(n, c_out, out_h, out_w)
    return out if bias is None else out + bias.view(1, -1, 1, 1)


# dilate_kernel
@alternate(f"{A}.dilate_kernel", "python-list: k grown by a zero row and column, read by lists")
def dilate_kernel_lists(k, d):
    dh, dw = (d, d) if isinstance(d, int) else d
    *lead, kh, kw = k.shape
    grown = torch.cat([k, k.new_zeros(*lead, 1, kw)], dim=-2)          # row kh: zeros
    grown = torch.cat([grown, k.new_zeros(*lead, kh + 1, 1)], dim=-1)  # column kw: zeros
    rows = [r // dh if r % dh == 0 else kh for r in range((kh - 1) * dh + 1)]
    cols = [q // dw if q % dw == 0 else kw for q in range((kw - 1) * dw + 1)]
    return grown[..., rows, :][..., cols]


@alternate(f"{A}.dilate_kernel", "kron: torch.kron with a (dh, dw) one-hot block, then trimmed")
def dilate_kernel_kron(k, d):
    dh, dw = (d, d) if isinstance(d, int) else d
    kh, kw = k.shape[-2:]
    corner = k.new_zeros(dh, dw)
    corner[0, 0] = 1
    return torch.kron(k, corner)[..., :(kh - 1) * dh + 1, :(kw - 1) * dw + 1]


@alternate(f"{A}.dilate_kernel", "matmul: 0/1 spreading matrices on both sides, S_h @ k @ S_w^T")
def dilate_kernel_matrices(k, d):
    dh, dw = (d, d) if isinstance(d, int) else d
    kh, kw = k.shape[-2:]

    def spread(taps, step):
        positions = torch.arange((taps - 1) * step + 1, device=k.device)[:, None]
        return (positions == torch.arange(taps, device=k.device)[None, :] * step).to(k.dtype)

    return spread(kh, dh) @ k @ spread(kw, dw).T


# receptive_field
@alternate(f"{A}.receptive_field", "recursion: the first layer's taps around what the rest reads")
def receptive_field_recursive(layers):
    def offsets(stack):
        """Input positions (one axis) that output unit 0 of the stack reads."""
        if not stack:
            return {0}
        k, s, d = stack[0]
        return {unit * s + a * d for unit in offsets(stack[1:]) for a in range(k)}

    reached = offsets(list(layers))
    return max(reached) - min(reached) + 1, len(reached) ** 2


@alternate(f"{A}.receptive_field", "functools: functools.reduce over the layers (offsets, jump)")
def receptive_field_reduce(layers):
    import functools

    def grow(state, layer):
        offsets, jump = state
        k, s, d = layer
        return {o + a * d * jump for o in offsets for a in range(k)}, jump * s

    offsets, _ = functools.reduce(grow, layers, ({0}, 1))
    return max(offsets) + 1, len(offsets) ** 2


@alternate(f"{A}.receptive_field", "scatter: a 1-D boolean footprint, index_put_ layer by layer")
def receptive_field_scatter(layers):
    reached = torch.ones(1, dtype=torch.bool)          # the top layer's output unit 0
    for k, s, d in reversed(list(layers)):
        units = torch.nonzero(reached)[:, 0]           # units of this layer's output read
        positions = (units[:, None] * s + torch.arange(k)[None, :] * d).reshape(-1)
        reached = torch.zeros(int(positions.max()) + 1, dtype=torch.bool)
        reached.index_put_((positions,), torch.ones_like(positions, dtype=torch.bool))
    where = torch.nonzero(reached)[:, 0]
    return int(where.max() - where.min()) + 1, int(reached.sum()) ** 2


# causal_conv1d
@alternate(f"{A}.causal_conv1d", "fft: a zero-padded linear convolution by rfft, first T outputs")
def causal_conv1d_fft(x, w, dilation=1):
    t = x.shape[-1]
    c_out, c_in, k = w.shape
    span = (k - 1) * dilation + 1
    size = t + span - 1                                # long enough that nothing wraps
    taps = torch.zeros(c_out, c_in, span, dtype=torch.float64, device=x.device)
    taps[:, :, ::dilation] = w.flip(-1)                # tap a acts with lag (k - 1 - a) * d
    spectrum = torch.einsum("nct,oct->not", torch.fft.rfft(x.double(), n=size),
                            torch.fft.rfft(taps, n=size))
    return torch.fft.irfft(spectrum, n=size)[..., :t].to(x.dtype)


@alternate(f"{A}.causal_conv1d", "toeplitz: a lower-triangular (T, T) matrix per channel pair")
def causal_conv1d_toeplitz(x, w, dilation=1):
    t = x.shape[-1]
    k = w.shape[-1]
    times = torch.arange(t, device=x.device)
    lag = times[:, None] - times[None, :]              # output time - input time
    matrix = x.new_zeros(w.shape[0], w.shape[1], t, t)
    for a in range(k):
        matrix += w[:, :, a, None, None] * (lag == (k - 1 - a) * dilation).to(x.dtype)
    return torch.einsum("ocij,ncj->noi", matrix, x)


@alternate(f"{A}.causal_conv1d", "python-list: each tap's lagged signal read by an index list")
def causal_conv1d_lists(x, w, dilation=1):
    n, c_in, t = x.shape
    k = w.shape[-1]
    grown = torch.cat([x, x.new_zeros(n, c_in, 1)], dim=2)      # index t reads a zero
    out = x.new_zeros(n, w.shape[0], t)
    for a in range(k):
        lag = (k - 1 - a) * dilation
        lagged = grown[:, :, [i - lag if i >= lag else t for i in range(t)]]
        out += torch.einsum("nct,oc->not", lagged, w[:, :, a])
    return out
