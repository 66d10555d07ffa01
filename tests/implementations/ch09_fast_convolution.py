"""Mutants and alternates for assignment 09_fast_convolution.

Two conv2d_im2col mutants compute the right values with a loop over output positions or over
the batch: only the vectorisation check (operation count) catches them.
"""
import torch

from . import alternate, device_mutant, mutant

A = "09_fast_convolution"


# im2col ---------------------------------------------------------------------------------------
@mutant(f"{A}.im2col", "rows ordered (a, b, c) instead of (c, a, b)")
def im2col_taps_first(input, kernel_size, stride=1, padding=0, dilation=1):
    import torch.nn.functional as F
    two = lambda v: (v, v) if isinstance(v, int) else tuple(v)  # noqa: E731
    (kh, kw), (sh, sw), (ph, pw), (dh, dw) = map(two, (kernel_size, stride, padding, dilation))
    x = F.pad(input, (pw, pw, ph, ph))
    rows = x.unfold(2, dh * (kh - 1) + 1, sh)[..., ::dh]              # (N, C, H_out, W_p, kh)
    win = rows.unfold(3, dw * (kw - 1) + 1, sw)[..., ::dw]           # (N, C, H_out, W_out, kh, kw)
    n, c, oh, ow = win.shape[:4]
    return win.permute(0, 4, 5, 1, 2, 3).reshape(n, kh * kw * c, oh * ow)


@mutant(f"{A}.im2col", "padding ignored")
def im2col_no_padding(input, kernel_size, stride=1, padding=0, dilation=1):
    two = lambda v: (v, v) if isinstance(v, int) else tuple(v)  # noqa: E731
    (kh, kw), (sh, sw), (dh, dw) = map(two, (kernel_size, stride, dilation))
    rows = input.unfold(2, dh * (kh - 1) + 1, sh)[..., ::dh]
    win = rows.unfold(3, dw * (kw - 1) + 1, sw)[..., ::dw]
    n, c, oh, ow = win.shape[:4]
    return win.permute(0, 1, 4, 5, 2, 3).reshape(n, c * kh * kw, oh * ow)


@mutant(f"{A}.im2col", "dilation ignored: adjacent taps")
def im2col_no_dilation(input, kernel_size, stride=1, padding=0, dilation=1):
    import torch.nn.functional as F
    two = lambda v: (v, v) if isinstance(v, int) else tuple(v)  # noqa: E731
    (kh, kw), (sh, sw), (ph, pw) = map(two, (kernel_size, stride, padding))
    win = F.pad(input, (pw, pw, ph, ph)).unfold(2, kh, sh).unfold(3, kw, sw)
    n, c, oh, ow = win.shape[:4]
    return win.permute(0, 1, 4, 5, 2, 3).reshape(n, c * kh * kw, oh * ow)


@mutant(f"{A}.im2col", "output positions in column-major order (j, i)")
def im2col_column_major(input, kernel_size, stride=1, padding=0, dilation=1):
    import torch.nn.functional as F
    two = lambda v: (v, v) if isinstance(v, int) else tuple(v)  # noqa: E731
    (kh, kw), (sh, sw), (ph, pw), (dh, dw) = map(two, (kernel_size, stride, padding, dilation))
    x = F.pad(input, (pw, pw, ph, ph))
    rows = x.unfold(2, dh * (kh - 1) + 1, sh)[..., ::dh]              # (N, C, H_out, W_p, kh)
    win = rows.unfold(3, dw * (kw - 1) + 1, sw)[..., ::dw]           # (N, C, H_out, W_out, kh, kw)
    n, c, oh, ow = win.shape[:4]
    return win.permute(0, 1, 4, 5, 3, 2).reshape(n, c * kh * kw, oh * ow)


@mutant(f"{A}.im2col", "the book's im2col: stride 1, no padding, no dilation (the rest ignored)")
def im2col_book(input, kernel_size, stride=1, padding=0, dilation=1):
    kh, kw = (kernel_size, kernel_size) if isinstance(kernel_size, int) else tuple(kernel_size)
    windows = input.unfold(2, kh, 1).unfold(3, kw, 1)      # (N, C, H_out, W_out, kh, kw)
    n, c, h_out, w_out = windows.shape[:4]
    return windows.permute(0, 1, 4, 5, 2, 3).reshape(n, c * kh * kw, h_out * w_out)


@alternate(f"{A}.im2col", "tensor-unfold: Tensor.unfold windows (strided views), then one permute")
def im2col_views(input, kernel_size, stride=1, padding=0, dilation=1):
    import torch.nn.functional as F
    two = lambda v: (v, v) if isinstance(v, int) else tuple(v)  # noqa: E731
    (kh, kw), (sh, sw), (ph, pw), (dh, dw) = map(two, (kernel_size, stride, padding, dilation))
    x = F.pad(input, (pw, pw, ph, ph))
    rows = x.unfold(2, dh * (kh - 1) + 1, sh)[..., ::dh]              # (N, C, H_out, W_p, kh)
    win = rows.unfold(3, dw * (kw - 1) + 1, sw)[..., ::dw]           # (N, C, H_out, W_out, kh, kw)
    n, c, oh, ow = win.shape[:4]
    return win.permute(0, 1, 4, 5, 2, 3).reshape(n, c * kh * kw, oh * ow)


@alternate(f"{A}.im2col", "as_strided: as_strided with the strides written out")
def im2col_as_strided(input, kernel_size, stride=1, padding=0, dilation=1):
    two = lambda v: (v, v) if isinstance(v, int) else tuple(v)  # noqa: E731
    (kh, kw), (sh, sw), (ph, pw), (dh, dw) = map(two, (kernel_size, stride, padding, dilation))
    n, c, h, w = input.shape
    x = input.new_zeros(n, c, h + 2 * ph, w + 2 * pw)
    x[:, :, ph:ph + h, pw:pw + w] = input
    oh = (h + 2 * ph - dh * (kh - 1) - 1) // sh + 1
    ow = (w + 2 * pw - dw * (kw - 1) - 1) // sw + 1
    s = x.stride()
    cols = x.as_strided((n, c, kh, kw, oh, ow),
                        (s[0], s[1], dh * s[2], dw * s[3], sh * s[2], sw * s[3]))
    return cols.reshape(n, c * kh * kw, oh * ow)


@alternate(f"{A}.im2col", "index: advanced indexing with computed row and column indices")
def im2col_gather(input, kernel_size, stride=1, padding=0, dilation=1):
    import torch.nn.functional as F
    two = lambda v: (v, v) if isinstance(v, int) else tuple(v)  # noqa: E731
    (kh, kw), (sh, sw), (ph, pw), (dh, dw) = map(two, (kernel_size, stride, padding, dilation))
    n, c, h, w = input.shape
    x = F.pad(input, (pw, pw, ph, ph))
    oh = (h + 2 * ph - dh * (kh - 1) - 1) // sh + 1
    ow = (w + 2 * pw - dw * (kw - 1) - 1) // sw + 1
    dev = input.device
    rows = (torch.arange(kh, device=dev) * dh)[:, None, None, None] \
        + (torch.arange(oh, device=dev) * sh)[None, None, :, None]
    cols = (torch.arange(kw, device=dev) * dw)[None, :, None, None] \
        + (torch.arange(ow, device=dev) * sw)[None, None, None, :]
    return x[:, :, rows, cols].reshape(n, c * kh * kw, oh * ow)


# conv2d_im2col --------------------------------------------------------------------------------
@mutant(f"{A}.conv2d_im2col", "weight flattened in (a, b, c) order against (c, a, b) columns")
def conv2d_im2col_weight_order(input, weight, bias=None, stride=1, padding=0, dilation=1):
    import torch.nn.functional as F
    two = lambda v: (v, v) if isinstance(v, int) else tuple(v)  # noqa: E731
    (sh, sw), (ph, pw), (dh, dw) = map(two, (stride, padding, dilation))
    c_out, c_in, kh, kw = weight.shape
    x = F.pad(input, (pw, pw, ph, ph))
    rows = x.unfold(2, dh * (kh - 1) + 1, sh)[..., ::dh]              # (N, C, H_out, W_p, kh)
    win = rows.unfold(3, dw * (kw - 1) + 1, sw)[..., ::dw]           # (N, C, H_out, W_out, kh, kw)
    n, _, oh, ow = win.shape[:4]
    cols = win.permute(0, 1, 4, 5, 2, 3).reshape(n, c_in * kh * kw, oh * ow)
    out = weight.permute(0, 2, 3, 1).reshape(c_out, -1) @ cols
    if bias is not None:
        out = out + bias.view(1, c_out, 1)
    return out.reshape(n, c_out, oh, ow)


@mutant(f"{A}.conv2d_im2col", "bias broadcast along the batch axis, not the channel axis")
def conv2d_im2col_bias_axis(input, weight, bias=None, stride=1, padding=0, dilation=1):
    import torch.nn.functional as F
    two = lambda v: (v, v) if isinstance(v, int) else tuple(v)  # noqa: E731
    (sh, sw), (ph, pw), (dh, dw) = map(two, (stride, padding, dilation))
    c_out, c_in, kh, kw = weight.shape
    x = F.pad(input, (pw, pw, ph, ph))
    rows = x.unfold(2, dh * (kh - 1) + 1, sh)[..., ::dh]              # (N, C, H_out, W_p, kh)
    win = rows.unfold(3, dw * (kw - 1) + 1, sw)[..., ::dw]           # (N, C, H_out, W_out, kh, kw)
    n, _, oh, ow = win.shape[:4]
    cols = win.permute(0, 1, 4, 5, 2, 3).reshape(n, c_in * kh * kw, oh * ow)
    out = (weight.reshape(c_out, -1) @ cols).reshape(n, c_out, oh, ow)
    if bias is not None:
        out = out + bias.view(-1, 1, 1, 1)
    return out


@mutant(f"{A}.conv2d_im2col", "right values, but a loop over output positions (not vectorised)")
def conv2d_im2col_position_loop(input, weight, bias=None, stride=1, padding=0, dilation=1):
    import torch.nn.functional as F
    two = lambda v: (v, v) if isinstance(v, int) else tuple(v)  # noqa: E731
    (sh, sw), (ph, pw), (dh, dw) = map(two, (stride, padding, dilation))
    n, _, h, w = input.shape
    c_out, c_in, kh, kw = weight.shape
    x = F.pad(input, (pw, pw, ph, ph))
    oh = (h + 2 * ph - dh * (kh - 1) - 1) // sh + 1
    ow = (w + 2 * pw - dw * (kw - 1) - 1) // sw + 1
    flat = weight.reshape(c_out, -1)
    out = input.new_zeros(n, c_out, oh, ow)
    for i in range(oh):
        for j in range(ow):
            patch = x[:, :, i * sh:i * sh + dh * (kh - 1) + 1:dh,
                      j * sw:j * sw + dw * (kw - 1) + 1:dw]
            out[:, :, i, j] = patch.reshape(n, -1) @ flat.T
    if bias is not None:
        out = out + bias.view(1, c_out, 1, 1)
    return out


@mutant(f"{A}.conv2d_im2col", "right values, but one matrix product per image (loop over batch)")
def conv2d_im2col_batch_loop(input, weight, bias=None, stride=1, padding=0, dilation=1):
    import torch.nn.functional as F
    two = lambda v: (v, v) if isinstance(v, int) else tuple(v)  # noqa: E731
    (sh, sw), (ph, pw), (dh, dw) = map(two, (stride, padding, dilation))
    c_out, c_in, kh, kw = weight.shape
    flat = weight.reshape(c_out, -1)
    outputs = []
    for image in input:
        x = F.pad(image, (pw, pw, ph, ph))
        win = x.unfold(1, dh * (kh - 1) + 1, sh).unfold(2, dw * (kw - 1) + 1, sw)[..., ::dh, ::dw]
        oh, ow = win.shape[1:3]
        cols = win.permute(0, 3, 4, 1, 2).reshape(c_in * kh * kw, oh * ow)
        outputs.append((flat @ cols).reshape(c_out, oh, ow))
    out = torch.stack(outputs)
    if bias is not None:
        out = out + bias.view(1, c_out, 1, 1)
    return out


@alternate(f"{A}.conv2d_im2col", "tensor-unfold: Tensor.unfold windows and one einsum")
def conv2d_im2col_einsum(input, weight, bias=None, stride=1, padding=0, dilation=1):
    import torch.nn.functional as F
    two = lambda v: (v, v) if isinstance(v, int) else tuple(v)  # noqa: E731
    (sh, sw), (ph, pw), (dh, dw) = map(two, (stride, padding, dilation))
    kh, kw = weight.shape[2:]
    x = F.pad(input, (pw, pw, ph, ph))
    rows = x.unfold(2, dh * (kh - 1) + 1, sh)[..., ::dh]              # (N, C, H_out, W_p, kh)
    win = rows.unfold(3, dw * (kw - 1) + 1, sw)[..., ::dw]           # (N, C, H_out, W_out, kh, kw)
    out = torch.einsum("nchwab,ocab->nohw", win, weight)
    return out if bias is None else out + bias.view(1, -1, 1, 1)


@alternate(f"{A}.conv2d_im2col", "as_strided: as_strided (N, L, K) rows times the flattened weight, transposed")
def conv2d_im2col_rows(input, weight, bias=None, stride=1, padding=0, dilation=1):
    two = lambda v: (v, v) if isinstance(v, int) else tuple(v)  # noqa: E731
    (sh, sw), (ph, pw), (dh, dw) = map(two, (stride, padding, dilation))
    n, c, h, w = input.shape
    c_out, _, kh, kw = weight.shape
    x = input.new_zeros(n, c, h + 2 * ph, w + 2 * pw)
    x[:, :, ph:ph + h, pw:pw + w] = input
    oh = (h + 2 * ph - dh * (kh - 1) - 1) // sh + 1
    ow = (w + 2 * pw - dw * (kw - 1) - 1) // sw + 1
    s = x.stride()
    rows = x.as_strided((n, oh, ow, c, kh, kw),
                        (s[0], sh * s[2], sw * s[3], s[1], dh * s[2], dw * s[3]))
    out = rows.reshape(n, oh * ow, c * kh * kw) @ weight.reshape(c_out, -1).T
    if bias is not None:
        out = out + bias
    return out.transpose(1, 2).reshape(n, c_out, oh, ow)


@alternate(f"{A}.conv2d_im2col", "slices: loop over the kh*kw kernel taps (fixed length), one einsum each")
def conv2d_im2col_tap_loop(input, weight, bias=None, stride=1, padding=0, dilation=1):
    import torch.nn.functional as F
    two = lambda v: (v, v) if isinstance(v, int) else tuple(v)  # noqa: E731
    (sh, sw), (ph, pw), (dh, dw) = map(two, (stride, padding, dilation))
    n, _, h, w = input.shape
    c_out, _, kh, kw = weight.shape
    x = F.pad(input, (pw, pw, ph, ph))
    oh = (h + 2 * ph - dh * (kh - 1) - 1) // sh + 1
    ow = (w + 2 * pw - dw * (kw - 1) - 1) // sw + 1
    out = input.new_zeros(n, c_out, oh, ow)
    for a in range(kh):
        for b in range(kw):
            tap = x[:, :, a * dh::sh, b * dw::sw][:, :, :oh, :ow]
            out = out + torch.einsum("nchw,oc->nohw", tap, weight[:, :, a, b])
    return out if bias is None else out + bias.view(1, -1, 1, 1)


# col2im ---------------------------------------------------------------------------------------
@mutant(f"{A}.col2im", "overlapping contributions overwrite instead of adding up")
def col2im_overwrite(input, output_size, kernel_size, stride=1, padding=0, dilation=1):
    two = lambda v: (v, v) if isinstance(v, int) else tuple(v)  # noqa: E731
    (h, w), (kh, kw), (sh, sw), (ph, pw), (dh, dw) = map(
        two, (output_size, kernel_size, stride, padding, dilation))
    n, c = input.shape[0], input.shape[1] // (kh * kw)
    oh = (h + 2 * ph - dh * (kh - 1) - 1) // sh + 1
    ow = (w + 2 * pw - dw * (kw - 1) - 1) // sw + 1
    dev = input.device
    rows = (torch.arange(kh, device=dev) * dh)[:, None, None, None] \
        + (torch.arange(oh, device=dev) * sh)[None, None, :, None]
    cols = (torch.arange(kw, device=dev) * dw)[None, :, None, None] \
        + (torch.arange(ow, device=dev) * sw)[None, None, None, :]
    rows, cols = torch.broadcast_tensors(rows, cols)
    out = input.new_zeros(n, c, h + 2 * ph, w + 2 * pw)
    out[:, :, rows, cols] = input.reshape(n, c, kh, kw, oh, ow)
    return out[:, :, ph:ph + h, pw:pw + w]


@mutant(f"{A}.col2im", "padding not cropped: returns the padded image")
def col2im_no_crop(input, output_size, kernel_size, stride=1, padding=0, dilation=1):
    two = lambda v: (v, v) if isinstance(v, int) else tuple(v)  # noqa: E731
    (h, w), (kh, kw), (sh, sw), (ph, pw), (dh, dw) = map(
        two, (output_size, kernel_size, stride, padding, dilation))
    n, c = input.shape[0], input.shape[1] // (kh * kw)
    oh = (h + 2 * ph - dh * (kh - 1) - 1) // sh + 1
    ow = (w + 2 * pw - dw * (kw - 1) - 1) // sw + 1
    cols = input.reshape(n, c, kh, kw, oh, ow)
    out = input.new_zeros(n, c, h + 2 * ph, w + 2 * pw)
    for a in range(kh):
        for b in range(kw):
            out[:, :, a * dh:a * dh + sh * (oh - 1) + 1:sh,
                b * dw:b * dw + sw * (ow - 1) + 1:sw] += cols[:, :, a, b]
    return out


@mutant(f"{A}.col2im", "dilation ignored: taps added at adjacent pixels")
def col2im_no_dilation(input, output_size, kernel_size, stride=1, padding=0, dilation=1):
    two = lambda v: (v, v) if isinstance(v, int) else tuple(v)  # noqa: E731
    (h, w), (kh, kw), (sh, sw), (ph, pw), (dh, dw) = map(
        two, (output_size, kernel_size, stride, padding, dilation))
    n, c = input.shape[0], input.shape[1] // (kh * kw)
    oh = (h + 2 * ph - dh * (kh - 1) - 1) // sh + 1
    ow = (w + 2 * pw - dw * (kw - 1) - 1) // sw + 1
    cols = input.reshape(n, c, kh, kw, oh, ow)
    out = input.new_zeros(n, c, h + 2 * ph, w + 2 * pw)
    for a in range(kh):
        for b in range(kw):
            out[:, :, a:a + sh * (oh - 1) + 1:sh, b:b + sw * (ow - 1) + 1:sw] += cols[:, :, a, b]
    return out[:, :, ph:ph + h, pw:pw + w]


@mutant(f"{A}.col2im", "rows read as (a, b, c) instead of (c, a, b)")
def col2im_taps_first(input, output_size, kernel_size, stride=1, padding=0, dilation=1):
    two = lambda v: (v, v) if isinstance(v, int) else tuple(v)  # noqa: E731
    (h, w), (kh, kw), (sh, sw), (ph, pw), (dh, dw) = map(
        two, (output_size, kernel_size, stride, padding, dilation))
    n, c = input.shape[0], input.shape[1] // (kh * kw)
    oh = (h + 2 * ph - dh * (kh - 1) - 1) // sh + 1
    ow = (w + 2 * pw - dw * (kw - 1) - 1) // sw + 1
    cols = input.reshape(n, kh, kw, c, oh, ow)
    out = input.new_zeros(n, c, h + 2 * ph, w + 2 * pw)
    for a in range(kh):
        for b in range(kw):
            out[:, :, a * dh:a * dh + sh * (oh - 1) + 1:sh,
                b * dw:b * dw + sw * (ow - 1) + 1:sw] += cols[:, a, b]
    return out[:, :, ph:ph + h, pw:pw + w]


@mutant(f"{A}.col2im", "the book's col2im: stride 1, no padding, no dilation (the rest ignored)")
def col2im_book(input, output_size, kernel_size, stride=1, padding=0, dilation=1):
    two = lambda v: (v, v) if isinstance(v, int) else tuple(v)  # noqa: E731
    (h, w), (kh, kw) = two(output_size), two(kernel_size)
    h_out, w_out = h - kh + 1, w - kw + 1
    arange = lambda size: torch.arange(size, device=input.device)  # noqa: E731
    rows = arange(kh).view(kh, 1, 1, 1) + arange(h_out).view(1, 1, h_out, 1)
    columns = arange(kw).view(1, kw, 1, 1) + arange(w_out).view(1, 1, 1, w_out)
    pixel = (rows * w + columns).reshape(-1)
    n, c = input.shape[0], input.shape[1] // (kh * kw)
    image = input.new_zeros(n, c, h * w)
    image.index_add_(2, pixel, input.reshape(n, c, -1))
    return image.reshape(n, c, h, w)


@alternate(f"{A}.col2im", "scatter: index_add_ into the flattened padded image")
def col2im_index_add(input, output_size, kernel_size, stride=1, padding=0, dilation=1):
    two = lambda v: (v, v) if isinstance(v, int) else tuple(v)  # noqa: E731
    (h, w), (kh, kw), (sh, sw), (ph, pw), (dh, dw) = map(
        two, (output_size, kernel_size, stride, padding, dilation))
    n, c = input.shape[0], input.shape[1] // (kh * kw)
    hp, wp = h + 2 * ph, w + 2 * pw
    oh = (hp - dh * (kh - 1) - 1) // sh + 1
    ow = (wp - dw * (kw - 1) - 1) // sw + 1
    dev = input.device
    rows = (torch.arange(kh, device=dev) * dh)[:, None, None, None] \
        + (torch.arange(oh, device=dev) * sh)[None, None, :, None]
    cols = (torch.arange(kw, device=dev) * dw)[None, :, None, None] \
        + (torch.arange(ow, device=dev) * sw)[None, None, None, :]
    target = (rows * wp + cols).reshape(-1)
    out = input.new_zeros(n, c, hp * wp)
    out.index_add_(2, target, input.reshape(n, c, -1))
    return out.reshape(n, c, hp, wp)[:, :, ph:ph + h, pw:pw + w]


@alternate(f"{A}.col2im", "scatter: scatter_add_ with an index tensor per column entry")
def col2im_scatter_add(input, output_size, kernel_size, stride=1, padding=0, dilation=1):
    two = lambda v: (v, v) if isinstance(v, int) else tuple(v)  # noqa: E731
    (h, w), (kh, kw), (sh, sw), (ph, pw), (dh, dw) = map(
        two, (output_size, kernel_size, stride, padding, dilation))
    n, c = input.shape[0], input.shape[1] // (kh * kw)
    hp, wp = h + 2 * ph, w + 2 * pw
    oh = (hp - dh * (kh - 1) - 1) // sh + 1
    ow = (wp - dw * (kw - 1) - 1) // sw + 1
    a = torch.arange(kh, device=input.device).view(kh, 1, 1, 1)
    b = torch.arange(kw, device=input.device).view(1, kw, 1, 1)
    i = torch.arange(oh, device=input.device).view(1, 1, oh, 1)
    j = torch.arange(ow, device=input.device).view(1, 1, 1, ow)
    index = ((a * dh + i * sh) * wp + b * dw + j * sw).reshape(1, 1, -1).expand(n, c, -1)
    out = input.new_zeros(n, c, hp * wp)
    out = out.scatter_add(2, index, input.reshape(n, c, -1))
    return out.reshape(n, c, hp, wp)[:, :, ph:ph + h, pw:pw + w]


@alternate(f"{A}.col2im", "scatter: index_put_ with accumulate=True")
def col2im_index_put(input, output_size, kernel_size, stride=1, padding=0, dilation=1):
    two = lambda v: (v, v) if isinstance(v, int) else tuple(v)  # noqa: E731
    (h, w), (kh, kw), (sh, sw), (ph, pw), (dh, dw) = map(
        two, (output_size, kernel_size, stride, padding, dilation))
    n, c = input.shape[0], input.shape[1] // (kh * kw)
    oh = (h + 2 * ph - dh * (kh - 1) - 1) // sh + 1
    ow = (w + 2 * pw - dw * (kw - 1) - 1) // sw + 1
    dev = input.device
    rows = (torch.arange(kh, device=dev) * dh)[:, None, None, None] \
        + (torch.arange(oh, device=dev) * sh)[None, None, :, None]
    cols = (torch.arange(kw, device=dev) * dw)[None, :, None, None] \
        + (torch.arange(ow, device=dev) * sw)[None, None, None, :]
    rows, cols = torch.broadcast_tensors(rows, cols)
    out = input.new_zeros(n, c, h + 2 * ph, w + 2 * pw)
    values = input.reshape(n, c, kh, kw, oh, ow).permute(2, 3, 4, 5, 0, 1)
    out.permute(2, 3, 0, 1).index_put_((rows, cols), values, accumulate=True)
    return out[:, :, ph:ph + h, pw:pw + w]


# conv_transpose2d_col2im ----------------------------------------------------------------------
@mutant(f"{A}.conv_transpose2d_col2im", "output_padding added on both sides, like padding")
def conv_transpose2d_col2im_both_sides(input, weight, bias=None, stride=1, padding=0,
                                       output_padding=0, dilation=1):
    import torch.nn.functional as F
    two = lambda v: (v, v) if isinstance(v, int) else tuple(v)  # noqa: E731
    (sh, sw), (ph, pw), (oph, opw), (dh, dw) = map(two, (stride, padding, output_padding, dilation))
    n, c_in, h, w = input.shape
    _, c_out, kh, kw = weight.shape
    cols = (weight.reshape(c_in, -1).T @ input.reshape(n, c_in, h * w)).reshape(
        n, c_out, kh, kw, h, w)
    full = input.new_zeros(n, c_out, (h - 1) * sh + dh * (kh - 1) + 1,
                           (w - 1) * sw + dw * (kw - 1) + 1)
    for a in range(kh):
        for b in range(kw):
            full[:, :, a * dh:a * dh + sh * (h - 1) + 1:sh,
                 b * dw:b * dw + sw * (w - 1) + 1:sw] += cols[:, :, a, b]
    full = F.pad(full, (opw, opw, oph, oph))
    out = full[:, :, ph:full.shape[2] - ph, pw:full.shape[3] - pw]
    return out if bias is None else out + bias.view(1, -1, 1, 1)


@mutant(f"{A}.conv_transpose2d_col2im", "weight reshaped to (C_out*kh*kw, C_in), not transposed")
def conv_transpose2d_col2im_weight_reshaped(input, weight, bias=None, stride=1, padding=0,
                                            output_padding=0, dilation=1):
    two = lambda v: (v, v) if isinstance(v, int) else tuple(v)  # noqa: E731
    (sh, sw), (ph, pw), (oph, opw), (dh, dw) = map(two, (stride, padding, output_padding, dilation))
    n, c_in, h, w = input.shape
    _, c_out, kh, kw = weight.shape
    cols = (weight.reshape(c_out * kh * kw, c_in) @ input.reshape(n, c_in, h * w)).reshape(
        n, c_out, kh, kw, h, w)
    oh = (h - 1) * sh - 2 * ph + dh * (kh - 1) + oph + 1
    ow = (w - 1) * sw - 2 * pw + dw * (kw - 1) + opw + 1
    out = input.new_zeros(n, c_out, oh + 2 * ph, ow + 2 * pw)
    for a in range(kh):
        for b in range(kw):
            out[:, :, a * dh:a * dh + sh * (h - 1) + 1:sh,
                b * dw:b * dw + sw * (w - 1) + 1:sw] += cols[:, :, a, b]
    out = out[:, :, ph:ph + oh, pw:pw + ow]
    return out if bias is None else out + bias.view(1, -1, 1, 1)


@mutant(f"{A}.conv_transpose2d_col2im", "no crop: padding ignored")
def conv_transpose2d_col2im_no_crop(input, weight, bias=None, stride=1, padding=0,
                                    output_padding=0, dilation=1):
    two = lambda v: (v, v) if isinstance(v, int) else tuple(v)  # noqa: E731
    (sh, sw), (oph, opw), (dh, dw) = map(two, (stride, output_padding, dilation))
    n, c_in, h, w = input.shape
    _, c_out, kh, kw = weight.shape
    cols = (weight.reshape(c_in, -1).T @ input.reshape(n, c_in, h * w)).reshape(
        n, c_out, kh, kw, h, w)
    out = input.new_zeros(n, c_out, (h - 1) * sh + dh * (kh - 1) + 1 + oph,
                          (w - 1) * sw + dw * (kw - 1) + 1 + opw)
    for a in range(kh):
        for b in range(kw):
            out[:, :, a * dh:a * dh + sh * (h - 1) + 1:sh,
                b * dw:b * dw + sw * (w - 1) + 1:sw] += cols[:, :, a, b]
    return out if bias is None else out + bias.view(1, -1, 1, 1)


@mutant(f"{A}.conv_transpose2d_col2im", "output_padding as zero rows appended after the crop")
def conv_transpose2d_col2im_zero_rows(input, weight, bias=None, stride=1, padding=0,
                                      output_padding=0, dilation=1):
    import torch.nn.functional as F
    two = lambda v: (v, v) if isinstance(v, int) else tuple(v)  # noqa: E731
    (sh, sw), (ph, pw), (oph, opw), (dh, dw) = map(two, (stride, padding, output_padding, dilation))
    n, c_in, h, w = input.shape
    _, c_out, kh, kw = weight.shape
    cols = (weight.reshape(c_in, -1).T @ input.reshape(n, c_in, h * w)).reshape(
        n, c_out, kh, kw, h, w)
    fh, fw = (h - 1) * sh + dh * (kh - 1) + 1, (w - 1) * sw + dw * (kw - 1) + 1
    full = input.new_zeros(n, c_out, fh, fw)
    for a in range(kh):
        for b in range(kw):
            full[:, :, a * dh:a * dh + sh * (h - 1) + 1:sh,
                 b * dw:b * dw + sw * (w - 1) + 1:sw] += cols[:, :, a, b]
    out = F.pad(full[:, :, ph:fh - ph, pw:fw - pw], (0, opw, 0, oph))
    return out if bias is None else out + bias.view(1, -1, 1, 1)


@mutant(f"{A}.conv_transpose2d_col2im", "kernel flipped, as if it were a full convolution")
def conv_transpose2d_col2im_flipped(input, weight, bias=None, stride=1, padding=0,
                                    output_padding=0, dilation=1):
    two = lambda v: (v, v) if isinstance(v, int) else tuple(v)  # noqa: E731
    (sh, sw), (ph, pw), (oph, opw), (dh, dw) = map(two, (stride, padding, output_padding, dilation))
    n, c_in, h, w = input.shape
    _, c_out, kh, kw = weight.shape
    flipped = weight.flip(2, 3)
    cols = (flipped.reshape(c_in, -1).T @ input.reshape(n, c_in, h * w)).reshape(
        n, c_out, kh, kw, h, w)
    oh = (h - 1) * sh - 2 * ph + dh * (kh - 1) + oph + 1
    ow = (w - 1) * sw - 2 * pw + dw * (kw - 1) + opw + 1
    out = input.new_zeros(n, c_out, oh + 2 * ph, ow + 2 * pw)
    for a in range(kh):
        for b in range(kw):
            out[:, :, a * dh:a * dh + sh * (h - 1) + 1:sh,
                b * dw:b * dw + sw * (w - 1) + 1:sw] += cols[:, :, a, b]
    out = out[:, :, ph:ph + oh, pw:pw + ow]
    return out if bias is None else out + bias.view(1, -1, 1, 1)


@alternate(f"{A}.conv_transpose2d_col2im", "scatter: einsum for the columns, index_add_ to scatter them")
def conv_transpose2d_col2im_index_add(input, weight, bias=None, stride=1, padding=0,
                                      output_padding=0, dilation=1):
    two = lambda v: (v, v) if isinstance(v, int) else tuple(v)  # noqa: E731
    (sh, sw), (ph, pw), (oph, opw), (dh, dw) = map(two, (stride, padding, output_padding, dilation))
    n, c_in, h, w = input.shape
    _, c_out, kh, kw = weight.shape
    oh = (h - 1) * sh - 2 * ph + dh * (kh - 1) + oph + 1
    ow = (w - 1) * sw - 2 * pw + dw * (kw - 1) + opw + 1
    hp, wp = oh + 2 * ph, ow + 2 * pw
    cols = torch.einsum("nchw,coab->noabhw", input, weight)
    dev = input.device
    rows = (torch.arange(kh, device=dev) * dh)[:, None, None, None] \
        + (torch.arange(h, device=dev) * sh)[None, None, :, None]
    columns = (torch.arange(kw, device=dev) * dw)[None, :, None, None] \
        + (torch.arange(w, device=dev) * sw)[None, None, None, :]
    out = input.new_zeros(n, c_out, hp * wp)
    out.index_add_(2, (rows * wp + columns).reshape(-1), cols.reshape(n, c_out, -1))
    out = out.reshape(n, c_out, hp, wp)[:, :, ph:ph + oh, pw:pw + ow]
    return out if bias is None else out + bias.view(1, -1, 1, 1)


@alternate(f"{A}.conv_transpose2d_col2im", "slices: per tap: W[:, :, a, b]^T x added at strided positions")
def conv_transpose2d_col2im_taps(input, weight, bias=None, stride=1, padding=0,
                                 output_padding=0, dilation=1):
    two = lambda v: (v, v) if isinstance(v, int) else tuple(v)  # noqa: E731
    (sh, sw), (ph, pw), (oph, opw), (dh, dw) = map(two, (stride, padding, output_padding, dilation))
    n, c_in, h, w = input.shape
    _, c_out, kh, kw = weight.shape
    oh = (h - 1) * sh - 2 * ph + dh * (kh - 1) + oph + 1
    ow = (w - 1) * sw - 2 * pw + dw * (kw - 1) + opw + 1
    out = input.new_zeros(n, c_out, oh + 2 * ph, ow + 2 * pw)
    for a in range(kh):
        for b in range(kw):
            contribution = torch.einsum("nchw,co->nohw", input, weight[:, :, a, b])
            out[:, :, a * dh:a * dh + sh * (h - 1) + 1:sh,
                b * dw:b * dw + sw * (w - 1) + 1:sw] += contribution
    out = out[:, :, ph:ph + oh, pw:pw + ow]
    return out if bias is None else out + bias.view(1, -1, 1, 1)


# device bugs: right on the CPU, a tensor created without device= ------------------------------
@device_mutant(f"{A}.im2col", "padded input created on the CPU (torch.zeros without device=)")
def im2col_cpu_padding(input, kernel_size, stride=1, padding=0, dilation=1):
    kh, kw = (kernel_size, kernel_size) if isinstance(kernel_size, int) else kernel_size
    sh, sw = (stride, stride) if isinstance(stride, int) else stride
    ph, pw = (padding, padding) if isinstance(padding, int) else padding
    dh, dw = (dilation, dilation) if isinstance(dilation, int) else dilation
    n, c, h, w = input.shape
    padded = torch.zeros(n, c, h + 2 * ph, w + 2 * pw, dtype=input.dtype)  # <- CPU tensor
    padded[:, :, ph:ph + h, pw:pw + w] = input
    out_h = (h + 2 * ph - dh * (kh - 1) - 1) // sh + 1
    out_w = (w + 2 * pw - dw * (kw - 1) - 1) // sw + 1
    taps = [padded[:, :, a * dh::sh, b * dw::sw][:, :, :out_h, :out_w]
            for a in range(kh) for b in range(kw)]
    return torch.stack(taps, dim=2).reshape(n, c * kh * kw, out_h * out_w)


@device_mutant(f"{A}.conv2d_im2col", "padded input created on the CPU (no device=)")
def conv2d_im2col_cpu_padding(input, weight, bias=None, stride=1, padding=0, dilation=1):
    sh, sw = (stride, stride) if isinstance(stride, int) else stride
    ph, pw = (padding, padding) if isinstance(padding, int) else padding
    dh, dw = (dilation, dilation) if isinstance(dilation, int) else dilation
    n, c_in, h, w = input.shape
    c_out, _, kh, kw = weight.shape
    out_h = (h + 2 * ph - dh * (kh - 1) - 1) // sh + 1
    out_w = (w + 2 * pw - dw * (kw - 1) - 1) // sw + 1
    padded = torch.zeros(n, c_in, h + 2 * ph, w + 2 * pw, dtype=input.dtype)  # <- CPU tensor
    padded[:, :, ph:ph + h, pw:pw + w] = input
    taps = [padded[:, :, a * dh::sh, b * dw::sw][:, :, :out_h, :out_w]
            for a in range(kh) for b in range(kw)]
    columns = torch.stack(taps, dim=2).reshape(n, c_in * kh * kw, out_h * out_w)
    out = weight.reshape(c_out, -1) @ columns
    if bias is not None:
        out = out + bias.view(1, c_out, 1)
    return out.reshape(n, c_out, out_h, out_w)


@device_mutant(f"{A}.col2im", "padded output created on the CPU (torch.zeros without device=)")
def col2im_cpu_output(input, output_size, kernel_size, stride=1, padding=0, dilation=1):
    h, w = (output_size, output_size) if isinstance(output_size, int) else output_size
    kh, kw = (kernel_size, kernel_size) if isinstance(kernel_size, int) else kernel_size
    sh, sw = (stride, stride) if isinstance(stride, int) else stride
    ph, pw = (padding, padding) if isinstance(padding, int) else padding
    dh, dw = (dilation, dilation) if isinstance(dilation, int) else dilation
    n, c = input.shape[0], input.shape[1] // (kh * kw)
    out_h = (h + 2 * ph - dh * (kh - 1) - 1) // sh + 1
    out_w = (w + 2 * pw - dw * (kw - 1) - 1) // sw + 1
    columns = input.reshape(n, c, kh, kw, out_h, out_w)
    padded = torch.zeros(n, c, h + 2 * ph, w + 2 * pw, dtype=input.dtype)  # <- CPU tensor
    for a in range(kh):
        for b in range(kw):
            padded[:, :, a * dh::sh, b * dw::sw][:, :, :out_h, :out_w] += columns[:, :, a, b]
    return padded[:, :, ph:ph + h, pw:pw + w]


@device_mutant(f"{A}.conv_transpose2d_col2im", "col2im's output created on the CPU")
def conv_transpose2d_col2im_cpu_output(input, weight, bias=None, stride=1, padding=0,
                                       output_padding=0, dilation=1):
    sh, sw = (stride, stride) if isinstance(stride, int) else stride
    ph, pw = (padding, padding) if isinstance(padding, int) else padding
    oph, opw = (output_padding,) * 2 if isinstance(output_padding, int) else output_padding
    dh, dw = (dilation, dilation) if isinstance(dilation, int) else dilation
    n, c_in, h, w = input.shape
    _, c_out, kh, kw = weight.shape
    out_h = (h - 1) * sh - 2 * ph + dh * (kh - 1) + oph + 1
    out_w = (w - 1) * sw - 2 * pw + dw * (kw - 1) + opw + 1
    columns = (weight.reshape(c_in, c_out * kh * kw).T @ input.reshape(n, c_in, h * w))
    columns = columns.reshape(n, c_out, kh, kw, h, w)
    size = (n, c_out, out_h + 2 * ph, out_w + 2 * pw)
    padded = torch.zeros(size, dtype=input.dtype)  # <- CPU tensor
    for a in range(kh):
        for b in range(kw):
            padded[:, :, a * dh::sh, b * dw::sw][:, :, :h, :w] += columns[:, :, a, b]
    out = padded[:, :, ph:ph + out_h, pw:pw + out_w]
    if bias is not None:
        out = out + bias.view(1, c_out, 1, 1)
    return out


# The corpus of correct but unusual implementations, in more styles ----------------------------
# Each description starts with its style (see tests/test_corpus.py).

# im2col
@alternate(f"{A}.im2col", "python-list: each tap's rows and columns read by Python index lists")
def im2col_lists(input, kernel_size, stride=1, padding=0, dilation=1):
    two = lambda v: (v, v) if isinstance(v, int) else tuple(v)  # noqa: E731
    (kh, kw), (sh, sw), (ph, pw), (dh, dw) = map(two, (kernel_size, stride, padding, dilation))
    n, c, h, w = input.shape
    padded = input.new_zeros(n, c, h + 2 * ph, w + 2 * pw)
    padded[:, :, ph:ph + h, pw:pw + w] = input
    out_h = (h + 2 * ph - dh * (kh - 1) - 1) // sh + 1
    out_w = (w + 2 * pw - dw * (kw - 1) - 1) // sw + 1
    taps = []
    for a in range(kh):
        for b in range(kw):
            rows = [a * dh + i * sh for i in range(out_h)]
            cols = [b * dw + j * sw for j in range(out_w)]
            taps.append(padded[:, :, rows][:, :, :, cols].reshape(n, c, 1, -1))
    return torch.cat(taps, dim=2).reshape(n, c * kh * kw, out_h * out_w)


@alternate(f"{A}.im2col", "gather: torch.gather on the flattened padded planes")
def im2col_torch_gather(input, kernel_size, stride=1, padding=0, dilation=1):
    two = lambda v: (v, v) if isinstance(v, int) else tuple(v)  # noqa: E731
    (kh, kw), (sh, sw), (ph, pw), (dh, dw) = map(two, (kernel_size, stride, padding, dilation))
    n, c, h, w = input.shape
    wp = w + 2 * pw
    padded = input.new_zeros(n, c, h + 2 * ph, wp)
    padded[:, :, ph:ph + h, pw:pw + w] = input
    out_h = (h + 2 * ph - dh * (kh - 1) - 1) // sh + 1
    out_w = (w + 2 * pw - dw * (kw - 1) - 1) // sw + 1
    dev = input.device
    tap = (torch.arange(kh, device=dev)[:, None] * dh * wp
           + torch.arange(kw, device=dev)[None, :] * dw).reshape(-1, 1)
    start = (torch.arange(out_h, device=dev)[:, None] * sh * wp
             + torch.arange(out_w, device=dev)[None, :] * sw).reshape(1, -1)
    index = (tap + start).reshape(1, 1, -1).expand(n, c, -1)           # (N, C, kh*kw*L)
    return padded.flatten(2).gather(2, index).reshape(n, c * kh * kw, out_h * out_w)


@alternate(f"{A}.im2col", "einsum: one-hot row and column selectors, one einsum")
def im2col_selectors(input, kernel_size, stride=1, padding=0, dilation=1):
    two = lambda v: (v, v) if isinstance(v, int) else tuple(v)  # noqa: E731
    (kh, kw), (sh, sw), (ph, pw), (dh, dw) = map(two, (kernel_size, stride, padding, dilation))
    n, c, h, w = input.shape
    out_h = (h + 2 * ph - dh * (kh - 1) - 1) // sh + 1
    out_w = (w + 2 * pw - dw * (kw - 1) - 1) // sw + 1

    def selector(taps, step, outputs, s, p, size):
        """[tap, output, pixel] = 1 where that tap of that window reads that (real) pixel."""
        reads = (torch.arange(taps, device=input.device)[:, None] * step
                 + torch.arange(outputs, device=input.device)[None, :] * s - p)
        return (reads[:, :, None] == torch.arange(size, device=input.device)).to(input.dtype)

    rows = selector(kh, dh, out_h, sh, ph, h)               # padding reads no pixel: zeros
    cols = selector(kw, dw, out_w, sw, pw, w)
    columns = torch.einsum("aiy,bjx,ncyx->ncabij", rows, cols, input)
    return columns.reshape(n, c * kh * kw, out_h * out_w)


# conv2d_im2col (vectorised: no loop over images or positions)
@alternate(f"{A}.conv2d_im2col", "fft: padded images and dilated filters by rfft2, float64")
def conv2d_im2col_fft(input, weight, bias=None, stride=1, padding=0, dilation=1):
    two = lambda v: (v, v) if isinstance(v, int) else tuple(v)  # noqa: E731
    (sh, sw), (ph, pw), (dh, dw) = map(two, (stride, padding, dilation))
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


@alternate(f"{A}.conv2d_im2col", "index: columns by one flat index tensor, then one matmul")
def conv2d_im2col_flat_index(input, weight, bias=None, stride=1, padding=0, dilation=1):
    two = lambda v: (v, v) if isinstance(v, int) else tuple(v)  # noqa: E731
    (sh, sw), (ph, pw), (dh, dw) = map(two, (stride, padding, dilation))
    n, c_in, h, w = input.shape
    c_out, _, kh, kw = weight.shape
    wp = w + 2 * pw
    padded = input.new_zeros(n, c_in, h + 2 * ph, wp)
    padded[:, :, ph:ph + h, pw:pw + w] = input
    out_h = (h + 2 * ph - dh * (kh - 1) - 1) // sh + 1
    out_w = (w + 2 * pw - dw * (kw - 1) - 1) // sw + 1
    dev = input.device
    tap = (torch.arange(kh, device=dev)[:, None] * dh * wp
           + torch.arange(kw, device=dev)[None, :] * dw).reshape(-1, 1)
    start = (torch.arange(out_h, device=dev)[:, None] * sh * wp
             + torch.arange(out_w, device=dev)[None, :] * sw).reshape(1, -1)
    columns = padded.flatten(2)[:, :, tap + start]                  # (N, C, kh*kw, L)
    out = weight.reshape(c_out, -1) @ columns.reshape(n, c_in * kh * kw, -1)
    if bias is not None:
        out = out + bias.view(1, -1, 1)
    return out.reshape(n, c_out, out_h, out_w)


# col2im
@alternate(f"{A}.col2im", "einsum: one-hot selectors of im2col, contracted the other way")
def col2im_selectors(input, output_size, kernel_size, stride=1, padding=0, dilation=1):
    two = lambda v: (v, v) if isinstance(v, int) else tuple(v)  # noqa: E731
    (h, w), (kh, kw), (sh, sw), (ph, pw), (dh, dw) = map(
        two, (output_size, kernel_size, stride, padding, dilation))
    n, c = input.shape[0], input.shape[1] // (kh * kw)
    out_h = (h + 2 * ph - dh * (kh - 1) - 1) // sh + 1
    out_w = (w + 2 * pw - dw * (kw - 1) - 1) // sw + 1

    def selector(taps, step, outputs, s, p, size):
        reads = (torch.arange(taps, device=input.device)[:, None] * step
                 + torch.arange(outputs, device=input.device)[None, :] * s - p)
        return (reads[:, :, None] == torch.arange(size, device=input.device)).to(input.dtype)

    columns = input.reshape(n, c, kh, kw, out_h, out_w)
    return torch.einsum("aiy,bjx,ncabij->ncyx", selector(kh, dh, out_h, sh, ph, h),
                        selector(kw, dw, out_w, sw, pw, w), columns)


@alternate(f"{A}.col2im", "python-list: per tap, += at nested Python lists of rows, columns")
def col2im_lists(input, output_size, kernel_size, stride=1, padding=0, dilation=1):
    two = lambda v: (v, v) if isinstance(v, int) else tuple(v)  # noqa: E731
    (h, w), (kh, kw), (sh, sw), (ph, pw), (dh, dw) = map(
        two, (output_size, kernel_size, stride, padding, dilation))
    n, c = input.shape[0], input.shape[1] // (kh * kw)
    out_h = (h + 2 * ph - dh * (kh - 1) - 1) // sh + 1
    out_w = (w + 2 * pw - dw * (kw - 1) - 1) // sw + 1
    columns = input.reshape(n, c, kh, kw, out_h, out_w)
    padded = input.new_zeros(n, c, h + 2 * ph, w + 2 * pw)
    for a in range(kh):
        for b in range(kw):            # within one tap, no two windows read the same pixel
            rows = [[a * dh + i * sh] for i in range(out_h)]
            cols = [b * dw + j * sw for j in range(out_w)]
            padded[:, :, rows, cols] += columns[:, :, a, b]
    return padded[:, :, ph:ph + h, pw:pw + w]


@alternate(f"{A}.col2im", "loops: one window at a time, its column added to the image")
def col2im_window_loops(input, output_size, kernel_size, stride=1, padding=0, dilation=1):
    two = lambda v: (v, v) if isinstance(v, int) else tuple(v)  # noqa: E731
    (h, w), (kh, kw), (sh, sw), (ph, pw), (dh, dw) = map(
        two, (output_size, kernel_size, stride, padding, dilation))
    n, c = input.shape[0], input.shape[1] // (kh * kw)
    out_h = (h + 2 * ph - dh * (kh - 1) - 1) // sh + 1
    out_w = (w + 2 * pw - dw * (kw - 1) - 1) // sw + 1
    padded = input.new_zeros(n, c, h + 2 * ph, w + 2 * pw)
    for i in range(out_h):
        for j in range(out_w):
            window = input[:, :, i * out_w + j].reshape(n, c, kh, kw)
            padded[:, :, i * sh:i * sh + dh * (kh - 1) + 1:dh,
                   j * sw:j * sw + dw * (kw - 1) + 1:dw] += window
    return padded[:, :, ph:ph + h, pw:pw + w]


# conv_transpose2d_col2im
@alternate(f"{A}.conv_transpose2d_col2im", "fft: spread input times dilated-kernel spectra")
def conv_transpose2d_col2im_fft(input, weight, bias=None, stride=1, padding=0,
                                output_padding=0, dilation=1):
    two = lambda v: (v, v) if isinstance(v, int) else tuple(v)  # noqa: E731
    (sh, sw), (ph, pw), (oph, opw), (dh, dw) = map(two, (stride, padding, output_padding, dilation))
    n, c_in, h, w = input.shape
    _, c_out, kh, kw = weight.shape
    size = ((h - 1) * sh + dh * (kh - 1) + 1 + oph, (w - 1) * sw + dw * (kw - 1) + 1 + opw)
    spread = torch.zeros(n, c_in, *size, dtype=torch.float64, device=input.device)
    spread[:, :, :(h - 1) * sh + 1:sh, :(w - 1) * sw + 1:sw] = input
    dilated = torch.zeros(c_in, c_out, dh * (kh - 1) + 1, dw * (kw - 1) + 1,
                          dtype=torch.float64, device=input.device)
    dilated[:, :, ::dh, ::dw] = weight
    spectrum = torch.einsum("nchw,cohw->nohw", torch.fft.rfft2(spread),
                            torch.fft.rfft2(dilated, s=size))
    full = torch.fft.irfft2(spectrum, s=size)
    out = full[:, :, ph:size[0] - ph, pw:size[1] - pw].to(input.dtype)
    return out if bias is None else out + bias.view(1, -1, 1, 1)


@alternate(f"{A}.conv_transpose2d_col2im", "loops: stamp every input pixel's kernel, one by one")
def conv_transpose2d_col2im_pixel_loops(input, weight, bias=None, stride=1, padding=0,
                                        output_padding=0, dilation=1):
    two = lambda v: (v, v) if isinstance(v, int) else tuple(v)  # noqa: E731
    (sh, sw), (ph, pw), (oph, opw), (dh, dw) = map(two, (stride, padding, output_padding, dilation))
    n, c_in, h, w = input.shape
    _, c_out, kh, kw = weight.shape
    full_h = (h - 1) * sh + dh * (kh - 1) + 1 + oph
    full_w = (w - 1) * sw + dw * (kw - 1) + 1 + opw
    full = input.new_zeros(n, c_out, full_h, full_w)
    for i in range(h):
        for j in range(w):
            full[:, :, i * sh:i * sh + dh * (kh - 1) + 1:dh,
                 j * sw:j * sw + dw * (kw - 1) + 1:dw] += torch.einsum(
                     "nc,coab->noab", input[:, :, i, j], weight)
    out = full[:, :, ph:full_h - ph, pw:full_w - pw]
    return out if bias is None else out + bias.view(1, -1, 1, 1)


@alternate(f"{A}.conv_transpose2d_col2im", "einsum: columns W^T x, one-hot selectors to the image")
def conv_transpose2d_col2im_selectors(input, weight, bias=None, stride=1, padding=0,
                                      output_padding=0, dilation=1):
    two = lambda v: (v, v) if isinstance(v, int) else tuple(v)  # noqa: E731
    (sh, sw), (ph, pw), (oph, opw), (dh, dw) = map(two, (stride, padding, output_padding, dilation))
    n, c_in, h, w = input.shape
    _, c_out, kh, kw = weight.shape
    out_h = (h - 1) * sh - 2 * ph + dh * (kh - 1) + oph + 1
    out_w = (w - 1) * sw - 2 * pw + dw * (kw - 1) + opw + 1

    def selector(taps, step, inputs, s, p, size):
        """[tap, input pixel, output pixel] = 1 where that tap of that pixel lands."""
        lands = (torch.arange(taps, device=input.device)[:, None] * step
                 + torch.arange(inputs, device=input.device)[None, :] * s - p)
        return (lands[:, :, None] == torch.arange(size, device=input.device)).to(input.dtype)

    columns = torch.einsum("nchw,coab->noabhw", input, weight)
    out = torch.einsum("aiy,bjx,noabij->noyx", selector(kh, dh, h, sh, ph, out_h),
                       selector(kw, dw, w, sw, pw, out_w), columns)
    return out if bias is None else out + bias.view(1, -1, 1, 1)
