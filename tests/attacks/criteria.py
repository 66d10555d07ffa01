"""Submissions that try to switch a grading criterion off (issue 14), as notebook cell sources.

One route per criterion that decides points: vectorisation, result device, forbidden operators
(and the watches in the learner's process), no autograd, and "PyTorch only". Each is wrong
code dressed up as right; `tests/attacks/test_criteria.py` requires that it loses the points of
the function it cheats on, and that what the grader can see is flagged.
"""

# --- vectorisation --------------------------------------------------------------------------------

# A loop over output positions whose number of operations is padded to what the op-count check's
# larger input needs: the count does not grow, the CPU time (measured outside) does.
PADDED_LOOP_CORR2D = '''
def corr2d(x, k):
    kh, kw = k.shape
    oh, ow = x.shape[-2] - kh + 1, x.shape[-1] - kw + 1
    out = x.new_zeros(*x.shape[:-2], oh, ow)
    positions = [(i, j) for i in range(oh) for j in range(ow)]
    for n in range(max(len(positions), 400)):        # never fewer than 400 iterations
        i, j = positions[n % len(positions)]
        out[..., i, j] = (x[..., i:i + kh, j:j + kw] * k).sum((-1, -2))
    return out
'''

# A loop over the images, hidden from the operation count by switching off the dispatcher's modes.
HIDDEN_LOOP_CORR2D = '''
from torch.utils._python_dispatch import _disable_current_modes

def corr2d(x, k):
    kh, kw = k.shape
    images = x.reshape(-1, *x.shape[-2:])
    with _disable_current_modes():
        outs = [torch.einsum("ijab,ab->ij", image.unfold(0, kh, 1).unfold(1, kw, 1), k)
                for image in images]
        return torch.stack(outs).reshape(*x.shape[:-2], *outs[0].shape)
'''

# The same loop, with the in-process watch's method replaced (a class attribute).
WATCH_METHOD_CORR2D = '''
import autograder.op_watch

autograder.op_watch._DispatchWatch.__torch_dispatch__ = (
    lambda self, func, types, args=(), kwargs=None: func(*args, **(kwargs or {})))

def corr2d(x, k):
    kh, kw = k.shape
    images = x.reshape(-1, *x.shape[-2:])
    outs = [torch.einsum("ijab,ab->ij", image.unfold(0, kh, 1).unfold(1, kw, 1), k)
            for image in images]
    return torch.stack(outs).reshape(*x.shape[:-2], *outs[0].shape)
'''

# The same watch switched off by swapping its method's code in place: the class's dictionary
# still holds the same function object, so only the assignment itself (an audit event the
# learner process reports to its integrity snapshot) shows it.
WATCH_CODE_CORR2D = '''
import autograder.op_watch

autograder.op_watch._DispatchWatch.__torch_dispatch__.__code__ = (
    lambda self, func, types, args=(), kwargs=None: func(*args, **(kwargs or {}))).__code__

def corr2d(x, k):
    kh, kw = k.shape
    images = x.reshape(-1, *x.shape[-2:])
    outs = [torch.einsum("ijab,ab->ij", image.unfold(0, kh, 1).unfold(1, kw, 1), k)
            for image in images]
    return torch.stack(outs).reshape(*x.shape[:-2], *outs[0].shape)
'''

# --- result device --------------------------------------------------------------------------------

# A device bug (a CPU accumulator mixed with the input), with the simulated device's mixing rule
# switched off through the module's dictionary.
DEVICE_MODULE_DICT_CORR2D = '''
import autograder.simulated

vars(autograder.simulated)["_stray"] = lambda plain: None

def corr2d(x, k):
    kh, kw = k.shape
    oh, ow = x.shape[-2] - kh + 1, x.shape[-1] - kw + 1
    out = torch.zeros(*x.shape[:-2], oh, ow, dtype=x.dtype)
    for a in range(kh):
        for b in range(kw):
            out = out + k[a, b] * x[..., a:a + oh, b:b + ow]
    return out
'''

# The result moved to the CPU, with the learner process's own explanation of it silenced: which
# tensors came back on the device is read from the frames, not from that explanation.
DEVICE_RESULT_ON_CPU_CORR2D = '''
import autograder.simulated

vars(autograder.simulated)["result_on_device"] = lambda value, what="the result": (value, "")

def corr2d(x, k):
    kh, kw = k.shape
    windows = x.cpu().unfold(-2, kh, 1).unfold(-2, kw, 1)
    return torch.einsum("...ijab,ab->...ij", windows, k.cpu())
'''

# --- forbidden operators -------------------------------------------------------------------------

# The in-process watch's record made to forget: in the sandbox the operators are disabled for the
# whole process, so F.conv2d still fails.
FORGETFUL_RECORD_CORR2D = '''
import torch.nn.functional as F
import autograder.op_watch

autograder.op_watch.OpRecord.raise_if_violated = lambda self: None

def corr2d(x, k):
    lead, (h, w) = x.shape[:-2], x.shape[-2:]
    out = F.conv2d(x.reshape(-1, 1, h, w), k[None, None])
    return out.reshape(*lead, *out.shape[-2:])
'''

# --- autograd -------------------------------------------------------------------------------------

# conv2d_backward by autograd, with __torch_function__ switched off around it.
AUTOGRAD_BACKWARD = '''
def conv2d_backward(grad_output, input, weight, stride=1, padding=0):
    with torch._C.DisableTorchFunction():
        x = input.detach().clone().requires_grad_()
        w = weight.detach().clone().requires_grad_()
        b = weight.new_zeros(weight.shape[0]).requires_grad_()
        sh, sw = (stride, stride) if isinstance(stride, int) else stride
        ph, pw = (padding, padding) if isinstance(padding, int) else padding
        padded = x.new_zeros(x.shape[0], x.shape[1], x.shape[2] + 2 * ph, x.shape[3] + 2 * pw)
        padded[:, :, ph:ph + x.shape[2], pw:pw + x.shape[3]] = x
        windows = padded.unfold(2, w.shape[2], sh).unfold(3, w.shape[3], sw)
        out = torch.einsum("nchwij,ocij->nohw", windows, w) + b[None, :, None, None]
        grad_input, grad_weight, grad_bias = torch.autograd.grad(out, [x, w, b], grad_output)
    return grad_input, grad_weight, grad_bias
'''

# --- PyTorch only ---------------------------------------------------------------------------------

NUMPY_DLPACK_CORR2D = '''
def corr2d(x, k):
    import numpy
    import scipy.signal
    images = numpy.from_dlpack(x.detach().cpu()).reshape(-1, *x.shape[-2:])
    outs = [scipy.signal.correlate2d(image, k.cpu().numpy(), mode="valid") for image in images]
    return torch.tensor(numpy.stack(outs), device=x.device).reshape(
        *x.shape[:-2], *outs[0].shape)
'''

NUMPY_TOLIST_CORR2D = '''
def corr2d(x, k):
    import numpy
    images = numpy.array(x.tolist()).reshape(-1, *x.shape[-2:])
    kernel = numpy.array(k.tolist())
    kh, kw = kernel.shape
    out = numpy.stack([[[(image[i:i + kh, j:j + kw] * kernel).sum()
                         for j in range(image.shape[1] - kw + 1)]
                        for i in range(image.shape[0] - kh + 1)] for image in images])
    return torch.tensor(out, dtype=x.dtype, device=x.device).reshape(
        *x.shape[:-2], *out.shape[-2:])
'''
