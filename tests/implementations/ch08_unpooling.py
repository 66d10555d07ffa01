"""Mutants and alternates for assignment 08_unpooling."""
import torch

from . import alternate, device_mutant, mutant

A = "08_unpooling"


# max_pool2d_with_indices ----------------------------------------------------------------------
@mutant(f"{A}.max_pool2d_with_indices", "indices per batch element: flat over C*H*W, not per plane")
def max_pool2d_with_indices_per_batch(input, kernel_size, stride=None, padding=0):
    import torch.nn.functional as F
    kh, kw = (kernel_size, kernel_size) if isinstance(kernel_size, int) else kernel_size
    sh, sw = (kh, kw) if stride is None else ((stride, stride) if isinstance(stride, int) else stride)
    ph, pw = (padding, padding) if isinstance(padding, int) else padding
    n, c, h, w = input.shape
    padded = F.pad(input, (pw, pw, ph, ph), value=float("-inf"))
    win = padded.unfold(2, kh, sh).unfold(3, kw, sw).flatten(-2)
    arg = win.argmax(dim=-1)
    values = win.gather(-1, arg[..., None])[..., 0]
    oh, ow = arg.shape[-2:]
    rows = torch.arange(oh, device=input.device)[:, None] * sh + arg // kw - ph
    cols = torch.arange(ow, device=input.device) * sw + arg % kw - pw
    plane = torch.arange(c, device=input.device).view(1, c, 1, 1) * h * w
    return values, plane + rows * w + cols


@mutant(f"{A}.max_pool2d_with_indices", "indices into the padded input (row width W + 2p)")
def max_pool2d_with_indices_padded_frame(input, kernel_size, stride=None, padding=0):
    import torch.nn.functional as F
    kh, kw = (kernel_size, kernel_size) if isinstance(kernel_size, int) else kernel_size
    sh, sw = (kh, kw) if stride is None else ((stride, stride) if isinstance(stride, int) else stride)
    ph, pw = (padding, padding) if isinstance(padding, int) else padding
    padded = F.pad(input, (pw, pw, ph, ph), value=float("-inf"))
    win = padded.unfold(2, kh, sh).unfold(3, kw, sw).flatten(-2)
    arg = win.argmax(dim=-1)
    values = win.gather(-1, arg[..., None])[..., 0]
    oh, ow = arg.shape[-2:]
    rows = torch.arange(oh, device=input.device)[:, None] * sh + arg // kw
    cols = torch.arange(ow, device=input.device) * sw + arg % kw
    return values, rows * padded.shape[-1] + cols


@mutant(f"{A}.max_pool2d_with_indices", "zero padding instead of -inf: padding can win")
def max_pool2d_with_indices_zero_padding(input, kernel_size, stride=None, padding=0):
    kh, kw = (kernel_size, kernel_size) if isinstance(kernel_size, int) else kernel_size
    sh, sw = (kh, kw) if stride is None else ((stride, stride) if isinstance(stride, int) else stride)
    ph, pw = (padding, padding) if isinstance(padding, int) else padding
    n, c, h, w = input.shape
    padded = input.new_zeros(n, c, h + 2 * ph, w + 2 * pw)
    padded[..., ph:ph + h, pw:pw + w] = input
    flat = (torch.arange(-ph, h + ph, device=input.device)[:, None] * w
            + torch.arange(-pw, w + pw, device=input.device))
    oh, ow = (h + 2 * ph - kh) // sh + 1, (w + 2 * pw - kw) // sw + 1
    best = torch.full((n, c, oh, ow), float("-inf"), dtype=input.dtype, device=input.device)
    index = torch.zeros(n, c, oh, ow, dtype=torch.int64, device=input.device)
    for a in range(kh):
        for b in range(kw):
            win = padded[..., a:a + sh * (oh - 1) + 1:sh, b:b + sw * (ow - 1) + 1:sw]
            pos = flat[a:a + sh * (oh - 1) + 1:sh, b:b + sw * (ow - 1) + 1:sw]
            better = win > best
            best = torch.where(better, win, best)
            index = torch.where(better, pos, index)
    return best, index


@mutant(f"{A}.max_pool2d_with_indices", "stride defaults to 1 instead of kernel_size")
def max_pool2d_with_indices_stride_one(input, kernel_size, stride=None, padding=0):
    import torch.nn.functional as F
    kh, kw = (kernel_size, kernel_size) if isinstance(kernel_size, int) else kernel_size
    sh, sw = (1, 1) if stride is None else ((stride, stride) if isinstance(stride, int) else stride)
    ph, pw = (padding, padding) if isinstance(padding, int) else padding
    w = input.shape[-1]
    padded = F.pad(input, (pw, pw, ph, ph), value=float("-inf"))
    win = padded.unfold(2, kh, sh).unfold(3, kw, sw).flatten(-2)
    arg = win.argmax(dim=-1)
    values = win.gather(-1, arg[..., None])[..., 0]
    oh, ow = arg.shape[-2:]
    rows = torch.arange(oh, device=input.device)[:, None] * sh + arg // kw - ph
    cols = torch.arange(ow, device=input.device) * sw + arg % kw - pw
    return values, rows * w + cols


@mutant(f"{A}.max_pool2d_with_indices", "ties: the last maximum wins (>= instead of >)")
def max_pool2d_with_indices_last_tie(input, kernel_size, stride=None, padding=0):
    kh, kw = (kernel_size, kernel_size) if isinstance(kernel_size, int) else kernel_size
    sh, sw = (kh, kw) if stride is None else ((stride, stride) if isinstance(stride, int) else stride)
    ph, pw = (padding, padding) if isinstance(padding, int) else padding
    n, c, h, w = input.shape
    padded = input.new_full((n, c, h + 2 * ph, w + 2 * pw), float("-inf"))
    padded[..., ph:ph + h, pw:pw + w] = input
    flat = (torch.arange(-ph, h + ph, device=input.device)[:, None] * w
            + torch.arange(-pw, w + pw, device=input.device))
    oh, ow = (h + 2 * ph - kh) // sh + 1, (w + 2 * pw - kw) // sw + 1
    best = torch.full((n, c, oh, ow), float("-inf"), dtype=input.dtype, device=input.device)
    index = torch.zeros(n, c, oh, ow, dtype=torch.int64, device=input.device)
    for a in range(kh):
        for b in range(kw):
            win = padded[..., a:a + sh * (oh - 1) + 1:sh, b:b + sw * (ow - 1) + 1:sw]
            pos = flat[a:a + sh * (oh - 1) + 1:sh, b:b + sw * (ow - 1) + 1:sw]
            better = win >= best
            best = torch.where(better, win, best)
            index = torch.where(better, pos, index)
    return best, index


@alternate(f"{A}.max_pool2d_with_indices", "tensor-unfold: unfold the -inf-padded input into windows, argmax")
def max_pool2d_with_indices_unfold(input, kernel_size, stride=None, padding=0):
    import torch.nn.functional as F
    kh, kw = (kernel_size, kernel_size) if isinstance(kernel_size, int) else kernel_size
    sh, sw = (kh, kw) if stride is None else ((stride, stride) if isinstance(stride, int) else stride)
    ph, pw = (padding, padding) if isinstance(padding, int) else padding
    w = input.shape[-1]
    padded = F.pad(input, (pw, pw, ph, ph), value=float("-inf"))
    win = padded.unfold(2, kh, sh).unfold(3, kw, sw).flatten(-2)   # (N, C, H_out, W_out, kh*kw)
    arg = win.argmax(dim=-1)                                        # the first maximum
    values = win.gather(-1, arg[..., None])[..., 0]
    oh, ow = arg.shape[-2:]
    rows = torch.arange(oh, device=input.device)[:, None] * sh + arg // kw - ph
    cols = torch.arange(ow, device=input.device) * sw + arg % kw - pw
    return values, rows * w + cols


@alternate(f"{A}.max_pool2d_with_indices", "loops: a loop over output positions, gathering real cells")
def max_pool2d_with_indices_positions(input, kernel_size, stride=None, padding=0):
    kh, kw = (kernel_size, kernel_size) if isinstance(kernel_size, int) else kernel_size
    sh, sw = (kh, kw) if stride is None else ((stride, stride) if isinstance(stride, int) else stride)
    ph, pw = (padding, padding) if isinstance(padding, int) else padding
    n, c, h, w = input.shape
    oh, ow = (h + 2 * ph - kh) // sh + 1, (w + 2 * pw - kw) // sw + 1
    plane = input.reshape(n, c, h * w)
    values = input.new_empty(n, c, oh, ow)
    indices = torch.empty(n, c, oh, ow, dtype=torch.int64, device=input.device)
    for i in range(oh):
        for j in range(ow):
            top, left = i * sh - ph, j * sw - pw
            rows = range(max(top, 0), min(top + kh, h))
            cols = range(max(left, 0), min(left + kw, w))
            cells = torch.tensor([r * w + q for r in rows for q in cols], device=input.device)
            window = plane[:, :, cells]
            arg = window.argmax(dim=-1)
            values[:, :, i, j] = window.gather(-1, arg[..., None])[..., 0]
            indices[:, :, i, j] = cells[arg]
    return values, indices


@alternate(f"{A}.max_pool2d_with_indices", "gather: max over windows by torch.max, index from a plane map")
def max_pool2d_with_indices_index_map(input, kernel_size, stride=None, padding=0):
    import torch.nn.functional as F
    kh, kw = (kernel_size, kernel_size) if isinstance(kernel_size, int) else kernel_size
    sh, sw = (kh, kw) if stride is None else ((stride, stride) if isinstance(stride, int) else stride)
    ph, pw = (padding, padding) if isinstance(padding, int) else padding
    n, c, h, w = input.shape
    index_map = torch.arange(h * w, device=input.device).reshape(1, 1, h, w)
    index_map = F.pad(index_map, (pw, pw, ph, ph), value=-1)
    padded = F.pad(input, (pw, pw, ph, ph), value=float("-inf"))
    win = padded.unfold(2, kh, sh).unfold(3, kw, sw).flatten(-2)
    idx_win = index_map.unfold(2, kh, sh).unfold(3, kw, sw).flatten(-2)
    best = win.max(dim=-1, keepdim=True).values
    first = (win == best).int().argmax(dim=-1, keepdim=True)      # first position equal to max
    indices = idx_win.expand(n, c, *idx_win.shape[2:]).gather(-1, first)[..., 0]
    return best[..., 0], indices


# max_unpool2d ---------------------------------------------------------------------------------
@mutant(f"{A}.max_unpool2d", "output_size ignored: always the default size")
def max_unpool2d_ignores_output_size(input, indices, kernel_size, stride=None, padding=0,
                                     output_size=None):
    kh, kw = (kernel_size, kernel_size) if isinstance(kernel_size, int) else kernel_size
    sh, sw = (kh, kw) if stride is None else ((stride, stride) if isinstance(stride, int) else stride)
    ph, pw = (padding, padding) if isinstance(padding, int) else padding
    n, c, h_in, w_in = input.shape
    h, w = (h_in - 1) * sh - 2 * ph + kh, (w_in - 1) * sw - 2 * pw + kw
    out = input.new_zeros(n, c, h * w)
    out.scatter_(-1, indices.reshape(n, c, -1).clamp(max=h * w - 1), input.reshape(n, c, -1))
    return out.reshape(n, c, h, w)


@mutant(f"{A}.max_unpool2d", "indices treated per batch element (flat over C*H*W)")
def max_unpool2d_per_batch(input, indices, kernel_size, stride=None, padding=0,
                           output_size=None):
    kh, kw = (kernel_size, kernel_size) if isinstance(kernel_size, int) else kernel_size
    sh, sw = (kh, kw) if stride is None else ((stride, stride) if isinstance(stride, int) else stride)
    ph, pw = (padding, padding) if isinstance(padding, int) else padding
    n, c, h_in, w_in = input.shape
    if output_size is None:
        h, w = (h_in - 1) * sh - 2 * ph + kh, (w_in - 1) * sw - 2 * pw + kw
    else:
        h, w = output_size[-2:]
    out = input.new_zeros(n, c * h * w)
    out.scatter_(-1, indices.reshape(n, -1), input.reshape(n, -1))
    return out.reshape(n, c, h, w)


@mutant(f"{A}.max_unpool2d", "default size (H_in - 1)*s + k, without the padding term")
def max_unpool2d_no_padding_term(input, indices, kernel_size, stride=None, padding=0,
                                 output_size=None):
    kh, kw = (kernel_size, kernel_size) if isinstance(kernel_size, int) else kernel_size
    sh, sw = (kh, kw) if stride is None else ((stride, stride) if isinstance(stride, int) else stride)
    n, c, h_in, w_in = input.shape
    if output_size is None:
        h, w = (h_in - 1) * sh + kh, (w_in - 1) * sw + kw
    else:
        h, w = output_size[-2:]
    out = input.new_zeros(n, c, h * w)
    out.scatter_(-1, indices.reshape(n, c, -1), input.reshape(n, c, -1))
    return out.reshape(n, c, h, w)


@mutant(f"{A}.max_unpool2d", "scatters into the padded frame, then crops the padding")
def max_unpool2d_padded_frame(input, indices, kernel_size, stride=None, padding=0,
                              output_size=None):
    kh, kw = (kernel_size, kernel_size) if isinstance(kernel_size, int) else kernel_size
    sh, sw = (kh, kw) if stride is None else ((stride, stride) if isinstance(stride, int) else stride)
    ph, pw = (padding, padding) if isinstance(padding, int) else padding
    n, c, h_in, w_in = input.shape
    if output_size is None:
        h, w = (h_in - 1) * sh - 2 * ph + kh, (w_in - 1) * sw - 2 * pw + kw
    else:
        h, w = output_size[-2:]
    frame = input.new_zeros(n, c, (h + 2 * ph) * (w + 2 * pw))
    frame.scatter_(-1, indices.reshape(n, c, -1), input.reshape(n, c, -1))
    return frame.reshape(n, c, h + 2 * ph, w + 2 * pw)[..., ph:ph + h, pw:pw + w]


@mutant(f"{A}.max_unpool2d", "stride defaults to 1 instead of kernel_size")
def max_unpool2d_stride_one(input, indices, kernel_size, stride=None, padding=0,
                            output_size=None):
    kh, kw = (kernel_size, kernel_size) if isinstance(kernel_size, int) else kernel_size
    sh, sw = (1, 1) if stride is None else ((stride, stride) if isinstance(stride, int) else stride)
    ph, pw = (padding, padding) if isinstance(padding, int) else padding
    n, c, h_in, w_in = input.shape
    if output_size is None:
        h, w = (h_in - 1) * sh - 2 * ph + kh, (w_in - 1) * sw - 2 * pw + kw
    else:
        h, w = output_size[-2:]
    out = input.new_zeros(n, c, h * w)
    out.scatter_(-1, indices.reshape(n, c, -1).clamp(max=h * w - 1), input.reshape(n, c, -1))
    return out.reshape(n, c, h, w)


@alternate(f"{A}.max_unpool2d", "scatter: index_put_ at computed (n, c, h, w) coordinates")
def max_unpool2d_index_put(input, indices, kernel_size, stride=None, padding=0,
                           output_size=None):
    kh, kw = (kernel_size, kernel_size) if isinstance(kernel_size, int) else kernel_size
    sh, sw = (kh, kw) if stride is None else ((stride, stride) if isinstance(stride, int) else stride)
    ph, pw = (padding, padding) if isinstance(padding, int) else padding
    n, c, h_in, w_in = input.shape
    if output_size is None:
        h, w = (h_in - 1) * sh - 2 * ph + kh, (w_in - 1) * sw - 2 * pw + kw
    else:
        h, w = output_size[-2:]
    batch = torch.arange(n, device=input.device).view(n, 1, 1, 1).expand_as(indices)
    channel = torch.arange(c, device=input.device).view(1, c, 1, 1).expand_as(indices)
    out = input.new_zeros(n, c, h, w)
    out.index_put_((batch, channel, indices // w, indices % w), input)
    return out


@alternate(f"{A}.max_unpool2d", "where: one-hot comparison with every output position, then amax")
def max_unpool2d_one_hot(input, indices, kernel_size, stride=None, padding=0, output_size=None):
    kh, kw = (kernel_size, kernel_size) if isinstance(kernel_size, int) else kernel_size
    sh, sw = (kh, kw) if stride is None else ((stride, stride) if isinstance(stride, int) else stride)
    ph, pw = (padding, padding) if isinstance(padding, int) else padding
    n, c, h_in, w_in = input.shape
    if output_size is None:
        h, w = (h_in - 1) * sh - 2 * ph + kh, (w_in - 1) * sw - 2 * pw + kw
    else:
        h, w = output_size[-2:]
    hits = indices.reshape(n, c, -1, 1) == torch.arange(h * w, device=input.device)
    candidates = torch.where(hits, input.reshape(n, c, -1, 1), float("-inf"))
    out = torch.where(hits.any(dim=2), candidates.amax(dim=2), 0.0).to(input.dtype)
    return out.reshape(n, c, h, w)


@alternate(f"{A}.max_unpool2d", "loops: a loop over the (n, c) planes with flat indexing")
def max_unpool2d_planes(input, indices, kernel_size, stride=None, padding=0, output_size=None):
    kh, kw = (kernel_size, kernel_size) if isinstance(kernel_size, int) else kernel_size
    sh, sw = (kh, kw) if stride is None else ((stride, stride) if isinstance(stride, int) else stride)
    ph, pw = (padding, padding) if isinstance(padding, int) else padding
    n, c, h_in, w_in = input.shape
    if output_size is None:
        size = ((h_in - 1) * sh - 2 * ph + kh, (w_in - 1) * sw - 2 * pw + kw)
    else:
        size = tuple(output_size)[-2:]
    out = input.new_zeros(n, c, size[0] * size[1])
    for i in range(n):
        for j in range(c):
            out[i, j, indices[i, j].flatten()] = input[i, j].flatten()
    return out.reshape(n, c, *size)


# device bugs: right on the CPU, a tensor created without device= ------------------------------
@device_mutant(f"{A}.max_pool2d_with_indices", "row positions made with torch.arange on the CPU")
def max_pool2d_with_indices_cpu_positions(input, kernel_size, stride=None, padding=0):
    kh, kw = (kernel_size, kernel_size) if isinstance(kernel_size, int) else kernel_size
    stride = kernel_size if stride is None else stride
    sh, sw = (stride, stride) if isinstance(stride, int) else stride
    ph, pw = (padding, padding) if isinstance(padding, int) else padding
    *lead, h, w = input.shape
    lowest = float("-inf") if input.is_floating_point() else torch.iinfo(input.dtype).min
    padded = input.new_full((*lead, h + 2 * ph, w + 2 * pw), lowest)
    padded[..., ph:ph + h, pw:pw + w] = input
    rows = torch.arange(-ph, h + ph)  # <- CPU tensor
    cols = torch.arange(-pw, w + pw, device=input.device)
    flat = rows[:, None] * w + cols[None, :]
    out_h = (h + 2 * ph - kh) // sh + 1
    out_w = (w + 2 * pw - kw) // sw + 1
    values = indices = None
    for a in range(kh):
        for b in range(kw):
            rows_ab = slice(a, a + sh * (out_h - 1) + 1, sh)
            cols_ab = slice(b, b + sw * (out_w - 1) + 1, sw)
            window, where = padded[..., rows_ab, cols_ab], flat[rows_ab, cols_ab]
            if values is None:
                values, indices = window, where.expand_as(window)
            else:
                better = window > values
                values = torch.where(better, window, values)
                indices = torch.where(better, where, indices)
    return values.clone(), indices.clone()


@device_mutant(f"{A}.max_unpool2d", "output created on the CPU (torch.zeros without device=)")
def max_unpool2d_cpu_output(input, indices, kernel_size, stride=None, padding=0,
                            output_size=None):
    kh, kw = (kernel_size, kernel_size) if isinstance(kernel_size, int) else kernel_size
    stride = kernel_size if stride is None else stride
    sh, sw = (stride, stride) if isinstance(stride, int) else stride
    ph, pw = (padding, padding) if isinstance(padding, int) else padding
    *lead, h_in, w_in = input.shape
    if output_size is None:
        h, w = (h_in - 1) * sh - 2 * ph + kh, (w_in - 1) * sw - 2 * pw + kw
    else:
        h, w = output_size[-2:]
    out = torch.zeros(*lead, h * w, dtype=input.dtype)  # <- CPU tensor
    out.scatter_(-1, indices.reshape(*lead, -1), input.reshape(*lead, -1))
    return out.reshape(*lead, h, w)


# The corpus of correct but unusual implementations, in more styles ----------------------------
# Each description starts with its style (see tests/test_corpus.py).

# max_pool2d_with_indices
@alternate(f"{A}.max_pool2d_with_indices", "python-list: taps read by index lists, stacked, argmax")
def max_pool2d_with_indices_lists(input, kernel_size, stride=None, padding=0):
    kh, kw = (kernel_size, kernel_size) if isinstance(kernel_size, int) else kernel_size
    sh, sw = (kh, kw) if stride is None else ((stride, stride) if isinstance(stride, int) else stride)
    ph, pw = (padding, padding) if isinstance(padding, int) else padding
    n, c, h, w = input.shape
    out_h, out_w = (h + 2 * ph - kh) // sh + 1, (w + 2 * pw - kw) // sw + 1
    padded = input.new_full((n, c, h + 2 * ph, w + 2 * pw), float("-inf"))
    padded[:, :, ph:ph + h, pw:pw + w] = input
    taps, positions = [], []
    for a in range(kh):                                # row-major: argmax keeps the first
        for b in range(kw):
            rows = [i * sh + a for i in range(out_h)]
            cols = [j * sw + b for j in range(out_w)]
            taps.append(padded[:, :, rows][:, :, :, cols])
            positions.append([[(r - ph) * w + q - pw for q in cols] for r in rows])
    stacked = torch.stack(taps, dim=-1)                # (N, C, H_out, W_out, kh*kw)
    best = stacked.argmax(dim=-1, keepdim=True)
    where = torch.tensor(positions, device=input.device).permute(1, 2, 0)   # (H_out, W_out, K)
    indices = where.expand(n, c, -1, -1, -1).gather(-1, best)[..., 0]
    return stacked.gather(-1, best)[..., 0], indices


@alternate(f"{A}.max_pool2d_with_indices", "as_strided: windows of a -inf copy, argmax, position")
def max_pool2d_with_indices_as_strided(input, kernel_size, stride=None, padding=0):
    kh, kw = (kernel_size, kernel_size) if isinstance(kernel_size, int) else kernel_size
    sh, sw = (kh, kw) if stride is None else ((stride, stride) if isinstance(stride, int) else stride)
    ph, pw = (padding, padding) if isinstance(padding, int) else padding
    n, c, h, w = input.shape
    out_h, out_w = (h + 2 * ph - kh) // sh + 1, (w + 2 * pw - kw) // sw + 1
    padded = input.new_full((n, c, h + 2 * ph, w + 2 * pw), float("-inf"))
    padded[:, :, ph:ph + h, pw:pw + w] = input
    s = padded.stride()
    windows = padded.as_strided((n, c, out_h, out_w, kh, kw),
                                (s[0], s[1], sh * s[2], sw * s[3], s[2], s[3])).reshape(
        n, c, out_h, out_w, kh * kw)
    values, tap = windows.max(dim=-1)
    rows = torch.arange(out_h, device=input.device).view(-1, 1) * sh - ph + tap // kw
    cols = torch.arange(out_w, device=input.device) * sw - pw + tap % kw
    return values, rows * w + cols


# max_unpool2d
@alternate(f"{A}.max_unpool2d", "python-list: per plane, the switches as a Python list index")
def max_unpool2d_lists(input, indices, kernel_size, stride=None, padding=0, output_size=None):
    kh, kw = (kernel_size, kernel_size) if isinstance(kernel_size, int) else kernel_size
    sh, sw = (kh, kw) if stride is None else ((stride, stride) if isinstance(stride, int) else stride)
    ph, pw = (padding, padding) if isinstance(padding, int) else padding
    n, c, h_in, w_in = input.shape
    if output_size is None:
        h, w = (h_in - 1) * sh - 2 * ph + kh, (w_in - 1) * sw - 2 * pw + kw
    else:
        h, w = output_size[-2:]
    out = input.new_zeros(n, c, h * w)
    for i in range(n):
        for j in range(c):
            out[i, j, indices[i, j].flatten().tolist()] = input[i, j].flatten()
    return out.reshape(n, c, h, w)


@alternate(f"{A}.max_unpool2d", "matmul: values @ one-hot switches, / times a cell was chosen")
def max_unpool2d_one_hot_matmul(input, indices, kernel_size, stride=None, padding=0,
                                output_size=None):
    kh, kw = (kernel_size, kernel_size) if isinstance(kernel_size, int) else kernel_size
    sh, sw = (kh, kw) if stride is None else ((stride, stride) if isinstance(stride, int) else stride)
    ph, pw = (padding, padding) if isinstance(padding, int) else padding
    n, c, h_in, w_in = input.shape
    if output_size is None:
        h, w = (h_in - 1) * sh - 2 * ph + kh, (w_in - 1) * sw - 2 * pw + kw
    else:
        h, w = output_size[-2:]
    cells = torch.arange(h * w, device=input.device)
    one_hot = (indices.reshape(n, c, -1, 1) == cells).to(input.dtype)    # (N, C, L, H*W)
    summed = (input.reshape(n, c, 1, -1) @ one_hot)[:, :, 0]             # (N, C, H*W)
    times = one_hot.sum(dim=2).clamp(min=1)      # overlapping windows may pick a cell twice
    return (summed / times).reshape(n, c, h, w)
