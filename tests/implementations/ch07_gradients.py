"""Mutants and alternates for assignment 07_gradients."""
import torch

from autograder import provided

from . import alternate, device_mutant, mutant

A = "07_gradients"


# conv2d_input ---------------------------------------------------------------------------------
@mutant(f"{A}.conv2d_input", "no output_padding: too short when (H + 2p - k) % s != 0")
def conv2d_input_no_output_padding(input_size, weight, grad_output, stride=1, padding=0):
    return provided.conv_transpose2d(grad_output, weight, stride=stride, padding=padding)


@mutant(f"{A}.conv2d_input", "the missing rows added at the top and left")
def conv2d_input_rows_on_top(input_size, weight, grad_output, stride=1, padding=0):
    import torch.nn.functional as F
    short = provided.conv_transpose2d(grad_output, weight, stride=stride, padding=padding)
    missing_h, missing_w = input_size[-2] - short.shape[-2], input_size[-1] - short.shape[-1]
    return F.pad(short, (missing_w, 0, missing_h, 0))


@mutant(f"{A}.conv2d_input", "padding forgotten in the output_padding arithmetic")
def conv2d_input_padding_ignored(input_size, weight, grad_output, stride=1, padding=0):
    sh, sw = (stride, stride) if isinstance(stride, int) else stride
    h, w = input_size[-2:]
    kh, kw = weight.shape[-2:]
    return provided.conv_transpose2d(grad_output, weight, stride=stride, padding=padding,
                                     output_padding=((h - kh) % sh, (w - kw) % sw))


@mutant(f"{A}.conv2d_input", "the kernel flipped once more: a correlation, not the transpose")
def conv2d_input_kernel_flipped(input_size, weight, grad_output, stride=1, padding=0):
    sh, sw = (stride, stride) if isinstance(stride, int) else stride
    ph, pw = (padding, padding) if isinstance(padding, int) else padding
    h, w = input_size[-2:]
    kh, kw = weight.shape[-2:]
    flipped = weight.flip(-2, -1)          # a flip too many: correlation, not convolution
    return provided.conv_transpose2d(grad_output, flipped, stride=(sh, sw), padding=(ph, pw),
                                     output_padding=((h + 2 * ph - kh) % sh,
                                                     (w + 2 * pw - kw) % sw))


@alternate(f"{A}.conv2d_input", "slices: stamp a scaled kernel copy per tap into a zero gradient")
def conv2d_input_stamp(input_size, weight, grad_output, stride=1, padding=0):
    sh, sw = (stride, stride) if isinstance(stride, int) else stride
    ph, pw = (padding, padding) if isinstance(padding, int) else padding
    n, c_in, h, w = input_size
    _, _, out_h, out_w = grad_output.shape
    kh, kw = weight.shape[-2:]
    grad = grad_output.new_zeros(n, c_in, h + 2 * ph + sh + kh, w + 2 * pw + sw + kw)
    for a in range(kh):            # input pixel (s i + a, s j + b) was read by tap (a, b)
        for b in range(kw):
            grad[:, :, a:a + (out_h - 1) * sh + 1:sh, b:b + (out_w - 1) * sw + 1:sw] += (
                torch.einsum("nohw,oc->nchw", grad_output, weight[:, :, a, b]))
    return grad[:, :, ph:ph + h, pw:pw + w]


@alternate(f"{A}.conv2d_input", "im2col: F.fold adds the columns W^T @ grad_output into the image")
def conv2d_input_fold(input_size, weight, grad_output, stride=1, padding=0):
    import torch.nn.functional as F
    n, c_in, h, w = input_size
    c_out, _, kh, kw = weight.shape
    cols = weight.reshape(c_out, -1).T @ grad_output.reshape(n, c_out, -1)
    return F.fold(cols, (h, w), (kh, kw), stride=stride, padding=padding)


# conv2d_backward ------------------------------------------------------------------------------
@mutant(f"{A}.conv2d_backward", "grad_input: kernel not flipped")
def conv2d_backward_no_flip(grad_output, input, weight, stride=1, padding=0):
    import torch.nn.functional as F
    sh, sw = (stride, stride) if isinstance(stride, int) else stride
    ph, pw = (padding, padding) if isinstance(padding, int) else padding
    n, c_in, h, w = input.shape
    c_out, _, kh, kw = weight.shape
    oh, ow = grad_output.shape[2:]
    spread = grad_output.new_zeros(n, c_out, h + 2 * ph + kh - 1, w + 2 * pw + kw - 1)
    spread[:, :, kh - 1:kh - 1 + (oh - 1) * sh + 1:sh, kw - 1:kw - 1 + (ow - 1) * sw + 1:sw] = \
        grad_output
    windows = spread.unfold(2, kh, 1).unfold(3, kw, 1)
    grad_input = torch.einsum("nohwab,ocab->nchw", windows, weight)[:, :, ph:ph + h, pw:pw + w]
    x = F.pad(input, (pw, pw, ph, ph)).unfold(2, kh, sh).unfold(3, kw, sw)
    grad_weight = torch.einsum("nohw,nchwab->ocab", grad_output, x)
    return grad_input, grad_weight, grad_output.sum(dim=(0, 2, 3))


@mutant(f"{A}.conv2d_backward", "grad_weight averaged over the batch instead of summed")
def conv2d_backward_weight_mean(grad_output, input, weight, stride=1, padding=0):
    import torch.nn.functional as F
    sh, sw = (stride, stride) if isinstance(stride, int) else stride
    ph, pw = (padding, padding) if isinstance(padding, int) else padding
    n, c_in, h, w = input.shape
    _, _, kh, kw = weight.shape
    oh, ow = grad_output.shape[2:]
    grad_padded = input.new_zeros(n, c_in, h + 2 * ph, w + 2 * pw)
    for a in range(kh):
        for b in range(kw):
            grad_padded[:, :, a:a + (oh - 1) * sh + 1:sh, b:b + (ow - 1) * sw + 1:sw] += \
                torch.einsum("nohw,oc->nchw", grad_output, weight[:, :, a, b])
    x = F.pad(input, (pw, pw, ph, ph)).unfold(2, kh, sh).unfold(3, kw, sw)
    grad_weight = torch.einsum("nohw,nchwab->ocab", grad_output, x) / n
    return (grad_padded[:, :, ph:ph + h, pw:pw + w], grad_weight,
            grad_output.sum(dim=(0, 2, 3)))


@mutant(f"{A}.conv2d_backward", "grad_bias summed over the positions of the first sample only")
def conv2d_backward_bias_no_batch(grad_output, input, weight, stride=1, padding=0):
    import torch.nn.functional as F
    sh, sw = (stride, stride) if isinstance(stride, int) else stride
    ph, pw = (padding, padding) if isinstance(padding, int) else padding
    n, c_in, h, w = input.shape
    _, _, kh, kw = weight.shape
    oh, ow = grad_output.shape[2:]
    grad_padded = input.new_zeros(n, c_in, h + 2 * ph, w + 2 * pw)
    for a in range(kh):
        for b in range(kw):
            grad_padded[:, :, a:a + (oh - 1) * sh + 1:sh, b:b + (ow - 1) * sw + 1:sw] += \
                torch.einsum("nohw,oc->nchw", grad_output, weight[:, :, a, b])
    x = F.pad(input, (pw, pw, ph, ph)).unfold(2, kh, sh).unfold(3, kw, sw)
    grad_weight = torch.einsum("nohw,nchwab->ocab", grad_output, x)
    return grad_padded[:, :, ph:ph + h, pw:pw + w], grad_weight, grad_output[0].sum(dim=(1, 2))


@mutant(f"{A}.conv2d_backward", "output_padding missing: wrong shape when sizes do not divide")
def conv2d_backward_no_output_padding(grad_output, input, weight, stride=1, padding=0):
    import torch.nn.functional as F
    sh, sw = (stride, stride) if isinstance(stride, int) else stride
    ph, pw = (padding, padding) if isinstance(padding, int) else padding
    n, c_in, h, w = input.shape
    _, _, kh, kw = weight.shape
    oh, ow = grad_output.shape[2:]
    full = input.new_zeros(n, c_in, (oh - 1) * sh + kh, (ow - 1) * sw + kw)
    for a in range(kh):
        for b in range(kw):
            full[:, :, a:a + (oh - 1) * sh + 1:sh, b:b + (ow - 1) * sw + 1:sw] += \
                torch.einsum("nohw,oc->nchw", grad_output, weight[:, :, a, b])
    x = F.pad(input, (pw, pw, ph, ph)).unfold(2, kh, sh).unfold(3, kw, sw)
    grad_weight = torch.einsum("nohw,nchwab->ocab", grad_output, x)
    return (full[:, :, ph:full.shape[2] - ph, pw:full.shape[3] - pw], grad_weight,
            grad_output.sum(dim=(0, 2, 3)))


@mutant(f"{A}.conv2d_backward", "padding not cropped: the gradient of the padded input")
def conv2d_backward_padding_kept(grad_output, input, weight, stride=1, padding=0):
    import torch.nn.functional as F
    sh, sw = (stride, stride) if isinstance(stride, int) else stride
    ph, pw = (padding, padding) if isinstance(padding, int) else padding
    n, c_in, h, w = input.shape
    _, _, kh, kw = weight.shape
    oh, ow = grad_output.shape[2:]
    grad_padded = input.new_zeros(n, c_in, h + 2 * ph, w + 2 * pw)
    for a in range(kh):
        for b in range(kw):
            grad_padded[:, :, a:a + (oh - 1) * sh + 1:sh, b:b + (ow - 1) * sw + 1:sw] += \
                torch.einsum("nohw,oc->nchw", grad_output, weight[:, :, a, b])
    x = F.pad(input, (pw, pw, ph, ph)).unfold(2, kh, sh).unfold(3, kw, sw)
    grad_weight = torch.einsum("nohw,nchwab->ocab", grad_output, x)
    return grad_padded, grad_weight, grad_output.sum(dim=(0, 2, 3))


@mutant(f"{A}.conv2d_backward", "grad_weight: the upstream gradient not spread out by the stride")
def conv2d_backward_weight_ignores_stride(grad_output, input, weight, stride=1, padding=0):
    import torch.nn.functional as F
    sh, sw = (stride, stride) if isinstance(stride, int) else stride
    ph, pw = (padding, padding) if isinstance(padding, int) else padding
    n, c_in, h, w = input.shape
    _, _, kh, kw = weight.shape
    oh, ow = grad_output.shape[2:]
    grad_padded = input.new_zeros(n, c_in, h + 2 * ph, w + 2 * pw)
    for a in range(kh):
        for b in range(kw):
            grad_padded[:, :, a:a + (oh - 1) * sh + 1:sh, b:b + (ow - 1) * sw + 1:sw] += \
                torch.einsum("nohw,oc->nchw", grad_output, weight[:, :, a, b])
    x = F.pad(input, (pw, pw, ph, ph)).unfold(2, kh, 1).unfold(3, kw, 1)[:, :, :oh, :ow]
    grad_weight = torch.einsum("nohw,nchwab->ocab", grad_output, x)
    return (grad_padded[:, :, ph:ph + h, pw:pw + w], grad_weight,
            grad_output.sum(dim=(0, 2, 3)))


@alternate(f"{A}.conv2d_backward", "slices: stamp into the padded input's gradient; grad_weight per tap")
def conv2d_backward_stamp(grad_output, input, weight, stride=1, padding=0):
    sh, sw = (stride, stride) if isinstance(stride, int) else stride
    ph, pw = (padding, padding) if isinstance(padding, int) else padding
    n, c_in, h, w = input.shape
    c_out, _, kh, kw = weight.shape
    oh, ow = grad_output.shape[2:]
    padded = input.new_zeros(n, c_in, h + 2 * ph, w + 2 * pw)
    padded[:, :, ph:ph + h, pw:pw + w] = input
    grad_padded = torch.zeros_like(padded)
    grad_weight = torch.zeros_like(weight)
    for a in range(kh):
        for b in range(kw):
            rows, cols = slice(a, a + (oh - 1) * sh + 1, sh), slice(b, b + (ow - 1) * sw + 1, sw)
            grad_padded[:, :, rows, cols] += torch.einsum("nohw,oc->nchw", grad_output,
                                                          weight[:, :, a, b])
            grad_weight[:, :, a, b] = torch.einsum("nohw,nchw->oc", grad_output,
                                                   padded[:, :, rows, cols])
    return (grad_padded[:, :, ph:ph + h, pw:pw + w], grad_weight,
            grad_output.sum(dim=(0, 2, 3)))


@alternate(f"{A}.conv2d_backward", "im2col: F.unfold, two matmuls, F.fold")
def conv2d_backward_im2col(grad_output, input, weight, stride=1, padding=0):
    import torch.nn.functional as F
    n, c_in, h, w = input.shape
    c_out, _, kh, kw = weight.shape
    options = {"kernel_size": (kh, kw), "stride": stride, "padding": padding}
    cols = F.unfold(input, **options)                            # (N, C_in kh kw, L)
    g = grad_output.reshape(n, c_out, -1)                        # (N, C_out, L)
    grad_weight = (g @ cols.transpose(1, 2)).sum(0).reshape(weight.shape)
    grad_cols = weight.reshape(c_out, -1).T @ g                  # (N, C_in kh kw, L)
    grad_input = F.fold(grad_cols, (h, w), **options)
    return grad_input, grad_weight, g.sum(dim=(0, 2))


@alternate(f"{A}.conv2d_backward", "tensor-unfold: zero insertion, then direct correlations (the book's form)")
def conv2d_backward_zero_insertion(grad_output, input, weight, stride=1, padding=0):
    import torch.nn.functional as F
    sh, sw = (stride, stride) if isinstance(stride, int) else stride
    ph, pw = (padding, padding) if isinstance(padding, int) else padding
    n, c_in, h, w = input.shape
    c_out, _, kh, kw = weight.shape
    oh, ow = grad_output.shape[2:]
    dilated = grad_output.new_zeros(n, c_out, (oh - 1) * sh + 1, (ow - 1) * sw + 1)
    dilated[:, :, ::sh, ::sw] = grad_output
    # dL/dw: the padded input correlated with the dilated gradient, a kernel of its own
    x = F.pad(input, (pw, pw, ph, ph))
    windows = x.unfold(2, dilated.shape[2], 1).unfold(3, dilated.shape[3], 1)[:, :, :kh, :kw]
    grad_weight = torch.einsum("ncabuv,nouv->ocab", windows, dilated)
    # dL/dx: the dilated gradient, fully padded, correlated with the flipped kernel
    full = F.pad(dilated, (kw - 1, kw - 1 + (w + 2 * pw - kw) % sw,
                           kh - 1, kh - 1 + (h + 2 * ph - kh) % sh))
    patches = full.unfold(2, kh, 1).unfold(3, kw, 1)
    grad_padded = torch.einsum("nohwab,ocab->nchw", patches, weight.flip(-2, -1))
    return (grad_padded[:, :, ph:ph + h, pw:pw + w], grad_weight,
            grad_output.sum(dim=(0, 2, 3)))


# device bugs: right on the CPU, a tensor created without device= ------------------------------
@device_mutant(f"{A}.conv2d_input", "the gradient buffer created on the CPU")
def conv2d_input_cpu_buffer(input_size, weight, grad_output, stride=1, padding=0):
    sh, sw = (stride, stride) if isinstance(stride, int) else stride
    ph, pw = (padding, padding) if isinstance(padding, int) else padding
    n, c_in, h, w = input_size
    _, _, out_h, out_w = grad_output.shape
    kh, kw = weight.shape[-2:]
    size = (n, c_in, h + 2 * ph + sh + kh, w + 2 * pw + sw + kw)
    grad = torch.zeros(size, dtype=grad_output.dtype)  # <- CPU tensor
    for a in range(kh):
        for b in range(kw):
            grad[:, :, a:a + (out_h - 1) * sh + 1:sh, b:b + (out_w - 1) * sw + 1:sw] += (
                torch.einsum("nohw,oc->nchw", grad_output, weight[:, :, a, b]))
    return grad[:, :, ph:ph + h, pw:pw + w]


@device_mutant(f"{A}.conv2d_backward", "padded input created on the CPU (no device=)")
def conv2d_backward_cpu_padding(grad_output, input, weight, stride=1, padding=0):
    sh, sw = (stride, stride) if isinstance(stride, int) else stride
    ph, pw = (padding, padding) if isinstance(padding, int) else padding
    n, c_in, h, w = input.shape
    _, _, kh, kw = weight.shape
    _, _, out_h, out_w = grad_output.shape
    grad_bias = grad_output.sum(dim=(0, 2, 3))
    oph, opw = (h + 2 * ph - kh) % sh, (w + 2 * pw - kw) % sw
    spread = grad_output.new_zeros(n, grad_output.shape[1], (out_h - 1) * sh + 2 * kh - 1 + oph,
                                   (out_w - 1) * sw + 2 * kw - 1 + opw)
    spread[:, :, kh - 1:kh - 1 + (out_h - 1) * sh + 1:sh,
           kw - 1:kw - 1 + (out_w - 1) * sw + 1:sw] = grad_output
    spread = spread[:, :, ph:spread.shape[2] - ph, pw:spread.shape[3] - pw]
    grad_input = torch.einsum("nchwab,ocab->nohw", spread.unfold(2, kh, 1).unfold(3, kw, 1),
                              weight.flip(-2, -1).transpose(0, 1))
    padded = torch.zeros(n, c_in, h + 2 * ph, w + 2 * pw, dtype=input.dtype)  # <- CPU tensor
    padded[:, :, ph:ph + h, pw:pw + w] = input
    windows = padded.unfold(2, kh, sh).unfold(3, kw, sw)
    grad_weight = torch.einsum("nohw,nchwab->ocab", grad_output, windows)
    return grad_input, grad_weight, grad_bias


# The corpus of correct but unusual implementations, in more styles ----------------------------
# Each description starts with its style (see tests/test_corpus.py).

# conv2d_input
@alternate(f"{A}.conv2d_input", "scatter: index_add_ of W^T @ grad_output into the padded input")
def conv2d_input_index_add(input_size, weight, grad_output, stride=1, padding=0):
    sh, sw = (stride, stride) if isinstance(stride, int) else stride
    ph, pw = (padding, padding) if isinstance(padding, int) else padding
    n, c_in, h, w = input_size
    kh, kw = weight.shape[-2:]
    out_h, out_w = grad_output.shape[-2:]
    hp, wp = h + 2 * ph, w + 2 * pw
    columns = torch.einsum("ocab,nohw->ncabhw", weight, grad_output)
    dev = grad_output.device
    rows = torch.arange(kh, device=dev).view(kh, 1, 1, 1) \
        + (torch.arange(out_h, device=dev) * sh).view(1, 1, out_h, 1)
    cols = torch.arange(kw, device=dev).view(1, kw, 1, 1) \
        + (torch.arange(out_w, device=dev) * sw).view(1, 1, 1, out_w)
    grad = grad_output.new_zeros(n, c_in, hp * wp)
    grad.index_add_(2, (rows * wp + cols).reshape(-1), columns.flatten(2))
    return grad.reshape(n, c_in, hp, wp)[:, :, ph:ph + h, pw:pw + w]


@alternate(f"{A}.conv2d_input", "fft: spread gradient times the kernel spectra, in float64")
def conv2d_input_fft(input_size, weight, grad_output, stride=1, padding=0):
    sh, sw = (stride, stride) if isinstance(stride, int) else stride
    ph, pw = (padding, padding) if isinstance(padding, int) else padding
    n, c_in, h, w = input_size
    out_h, out_w = grad_output.shape[-2:]
    size = (h + 2 * ph, w + 2 * pw)                   # the forward's windows all lie inside
    spread = torch.zeros(n, grad_output.shape[1], *size, dtype=torch.float64,
                         device=grad_output.device)
    spread[:, :, :(out_h - 1) * sh + 1:sh, :(out_w - 1) * sw + 1:sw] = grad_output
    spectrum = torch.einsum("nohw,ochw->nchw", torch.fft.rfft2(spread),
                            torch.fft.rfft2(weight.double(), s=size))
    grad = torch.fft.irfft2(spectrum, s=size)
    return grad[:, :, ph:ph + h, pw:pw + w].to(grad_output.dtype)


@alternate(f"{A}.conv2d_input", "tensor-unfold: spread, pad, correlate with the flipped kernel")
def conv2d_input_zero_insertion(input_size, weight, grad_output, stride=1, padding=0):
    sh, sw = (stride, stride) if isinstance(stride, int) else stride
    ph, pw = (padding, padding) if isinstance(padding, int) else padding
    n, c_in, h, w = input_size
    kh, kw = weight.shape[-2:]
    out_h, out_w = grad_output.shape[-2:]
    hp, wp = h + 2 * ph, w + 2 * pw
    # gradient of the padded input = full correlation of the spread gradient with the
    # rotated kernel: spread it into a canvas with a (k - 1) border on every side
    canvas = grad_output.new_zeros(n, grad_output.shape[1], hp + kh - 1, wp + kw - 1)
    canvas[:, :, kh - 1:kh - 1 + (out_h - 1) * sh + 1:sh,
           kw - 1:kw - 1 + (out_w - 1) * sw + 1:sw] = grad_output
    windows = canvas.unfold(2, kh, 1).unfold(3, kw, 1)           # (N, C_out, Hp, Wp, kh, kw)
    grad = torch.einsum("nohwab,ocab->nchw", windows, weight.flip(-2, -1))
    return grad[:, :, ph:ph + h, pw:pw + w]


# conv2d_backward
@alternate(f"{A}.conv2d_backward", "fft: both gradients from spectra of the padded input, float64")
def conv2d_backward_fft(grad_output, input, weight, stride=1, padding=0):
    sh, sw = (stride, stride) if isinstance(stride, int) else stride
    ph, pw = (padding, padding) if isinstance(padding, int) else padding
    n, c_in, h, w = input.shape
    kh, kw = weight.shape[-2:]
    out_h, out_w = grad_output.shape[-2:]
    size = (h + 2 * ph, w + 2 * pw)
    padded = torch.zeros(n, c_in, *size, dtype=torch.float64, device=input.device)
    padded[:, :, ph:ph + h, pw:pw + w] = input
    spread = torch.zeros(n, grad_output.shape[1], *size, dtype=torch.float64,
                         device=input.device)
    spread[:, :, :(out_h - 1) * sh + 1:sh, :(out_w - 1) * sw + 1:sw] = grad_output
    g, x, k = (torch.fft.rfft2(spread), torch.fft.rfft2(padded),
               torch.fft.rfft2(weight.double(), s=size))
    # dL/dx: the spread gradient convolved with the kernel; dL/dw: the padded input
    # correlated with the spread gradient (conjugate), its first kh x kw lags
    grad_padded = torch.fft.irfft2(torch.einsum("nohw,ochw->nchw", g, k), s=size)
    grad_weight = torch.fft.irfft2(torch.einsum("nchw,nohw->ochw", x, g.conj()), s=size)
    dtype = input.dtype
    return (grad_padded[:, :, ph:ph + h, pw:pw + w].to(dtype),
            grad_weight[:, :, :kh, :kw].to(dtype), grad_output.sum(dim=(0, 2, 3)))


@alternate(f"{A}.conv2d_backward", "scatter: grad_input by index_add_, grad_weight by as_strided")
def conv2d_backward_index_add(grad_output, input, weight, stride=1, padding=0):
    sh, sw = (stride, stride) if isinstance(stride, int) else stride
    ph, pw = (padding, padding) if isinstance(padding, int) else padding
    n, c_in, h, w = input.shape
    kh, kw = weight.shape[-2:]
    out_h, out_w = grad_output.shape[-2:]
    hp, wp = h + 2 * ph, w + 2 * pw
    dev = input.device
    rows = torch.arange(kh, device=dev).view(kh, 1, 1, 1) \
        + (torch.arange(out_h, device=dev) * sh).view(1, 1, out_h, 1)
    cols = torch.arange(kw, device=dev).view(1, kw, 1, 1) \
        + (torch.arange(out_w, device=dev) * sw).view(1, 1, 1, out_w)
    grad_padded = input.new_zeros(n, c_in, hp * wp)
    grad_padded.index_add_(2, (rows * wp + cols).reshape(-1),
                           torch.einsum("ocab,nohw->ncabhw", weight, grad_output).flatten(2))
    grad_input = grad_padded.reshape(n, c_in, hp, wp)[:, :, ph:ph + h, pw:pw + w]
    padded = input.new_zeros(n, c_in, hp, wp)
    padded[:, :, ph:ph + h, pw:pw + w] = input
    s = padded.stride()
    windows = padded.as_strided((n, c_in, out_h, out_w, kh, kw),
                                (s[0], s[1], sh * s[2], sw * s[3], s[2], s[3]))
    grad_weight = torch.tensordot(grad_output, windows, dims=([0, 2, 3], [0, 2, 3]))
    return grad_input, grad_weight, grad_output.sum(dim=(0, 2, 3))
