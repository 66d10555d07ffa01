"""A simulated second device: device bugs show on a CPU-only machine, as they would on a GPU.

``torch.zeros(n, dtype=x.dtype)`` (no ``device=``) is right on every laptop and wrong on a GPU,
where mixing it with ``x`` raises. The checks therefore run every tensor exercise once more
with its inputs on a *simulated* device: a `SimulatedTensor` reports ``device='meta'`` (a device
that is neither the CPU nor CUDA, so code that follows ``x.device`` lands on it) but carries
real CPU data, and `simulated_device` runs every operation on that data, like a GPU would:

* a result is on the simulated device when an input was, or when the operation was asked for
  it (``torch.zeros(n, device=x.device)``, ``x.new_zeros``, ``torch.zeros_like(x)``,
  ``torch.tensor([...], device=x.device)``, ``t.to(x.device)``);
* an operation that mixes a simulated tensor with a CPU tensor raises `DeviceMismatchError`,
  naming the operation, the CPU tensor's shape and the line that created it, except where CUDA
  allows the mix: CPU tensors with no dimension (scalars), CPU index tensors for indexing
  (``x[idx]``, ``x[idx] = v``) and copies between devices (``t.copy_(cpu)``, ``t.to(...)``);
* in-place operations and writes through views act on the data, as on any device;
* ``.item()``, ``.tolist()``, ``bool(...)`` and printing work.

Every operation gives the CPU's result bit for bit (tests/test_simulated_opinfo.py runs PyTorch's
OpInfo samples through it), or raises `SimulatedDeviceUnsupported`, which says the grader, not
the learner's code, is at fault. Where PyTorch would go wrong on a device without data:

* Python lists used as indices (``x[[0, 2]]``, ``x[:, order]``, ``x[[True, False]]``) become
  index tensors on the indexed tensor's device, in C++ and with no data on this one: they are
  made on the CPU first, as PyTorch makes them (`_cpu_indices`);
* a conjugate or negative view (``z.conj()``, ``z.conj().imag``) keeps its bit on the simulated
  tensor too, so that PyTorch resolves it before an operation reaches `_Dispatch`; operations on
  complex numbers that make such views inside run with the keys that resolve them
  (`_with_math_bits`);
* a few operations take another path for a tensor subclass (``linalg.svdvals`` computes the
  singular vectors too, batched ``matmul`` folds into one ``mm``: the last bits change), look at
  the device (``scaled_dot_product_attention``) or make tensors the modes do not see
  (``unravel_index``): they run whole on the CPU data (`_ON_CPU`);
* any other tensor C++ makes on the simulated device has no data: an operation that gets one
  raises `SimulatedDeviceUnsupported` rather than compute with uninitialised memory; so does a
  sparse tensor.

To replay a failing case of the checks (the feedback's "Replay it" line)::

    with autograder.simulated_device():
        case = autograder.sample_input("01_cross_correlation.pad2d", 1, device="simulated")
        out = pad2d(*case.args, **case.kwargs)

Needs only torch and the standard library.
"""
from __future__ import annotations

import linecache
import os
import sys
from contextlib import contextmanager

import torch
from torch.overrides import TorchFunctionMode
from torch.utils._python_dispatch import (TorchDispatchMode, get_alias_info,
                                          return_and_correct_aliasing)

__all__ = ["SIMULATED", "SimulatedTensor", "DeviceMismatchError", "SimulatedDeviceUnsupported",
           "simulated_device", "to_simulated", "from_simulated", "result_on_device",
           "has_tensors", "leaves", "map_tensors"]

SIMULATED = "simulated"                 # the pass's name in messages and in sample_input
SHOWN_AS = torch.device("meta")         # what ``x.device`` says on the simulated device
_CPU = torch.device("cpu")
_aten = torch.ops.aten

# Operations that CUDA lets take tensors from two devices: copies between devices. (Sets of ids:
# operator overloads are singletons, and hashing them in Python costs more.)
_CROSS_DEVICE = frozenset(map(id, {
    _aten.copy_.default, _aten.copy.default, _aten._to_copy.default, _aten._copy_from.default,
    _aten._copy_from_and_resize.default, _aten.lift_fresh.default,
    _aten.lift_fresh_copy.default,
}))
# Indexing with CPU index tensors into a tensor on a GPU is allowed (the indices are moved).
_INDEXING = frozenset(map(id, {
    _aten.index.Tensor, _aten._unsafe_index.Tensor, _aten.index_put.default,
    _aten.index_put_.default, _aten._index_put_impl_.default, _aten._unsafe_index_put.default,
}))
# What `_Functions` handles: makers of tensors from Python data (some also from a tensor's
# device), indexing (Python lists as indices) and the operations run whole on the CPU data.
_MAKER, _MAKER_FROM, _INDEXED, _WHOLE = "maker", "maker from a tensor", "indexed", "whole"
# Operations run whole on the CPU data, outside `_Dispatch` (`_whole_on_cpu`), because PyTorch
# computes them otherwise on a simulated tensor: in C++, their implementation takes another path
# for a tensor subclass, which changes the last bits of the values (``linalg_svdvals`` computes
# the singular vectors too, ``matmul`` folds batches into one ``mm``), or looks at the device
# (``scaled_dot_product_attention`` picks its kernel by device type), or it makes tensors on its
# inputs' device inside a Python function, where `_Functions` does not see them
# (``unravel_index``). PyTorch takes the subclass paths on the CPU too while any dispatch mode is
# on (the checks' own watch of the operations is one): outside `_Dispatch`, but under the other
# modes, these run exactly as they run on the CPU in the same place.
_ON_CPU = (
    torch.linalg.svdvals, torch.linalg.eigvals, torch.linalg.eigvalsh, torch.linalg.cond,
    torch.linalg.matrix_norm, torch.linalg.norm, torch.linalg.matrix_rank, torch.norm,
    torch.Tensor.norm, torch.nuclear_norm, torch.svd, torch.Tensor.svd, torch.matmul,
    torch.Tensor.matmul, torch.Tensor.__matmul__, torch.Tensor.__rmatmul__,
    torch.nn.functional.scaled_dot_product_attention, torch.unravel_index,
)
_SPECIAL = {
    **{id(f): _MAKER for f in (torch.tensor, torch.as_tensor, torch.asarray)},
    **{id(f): _MAKER_FROM for f in (torch.Tensor.new_tensor, torch.Tensor.new)},
    **{id(f): _INDEXED for f in (torch.Tensor.__getitem__, torch.Tensor.__setitem__)},
    **{id(f): _WHOLE for f in _ON_CPU},
}
_HERE = os.path.dirname(os.path.abspath(__file__))
_TORCH = os.path.dirname(os.path.abspath(torch.__file__))


class DeviceMismatchError(RuntimeError):
    """An operation mixed the simulated device with the CPU (it would fail on a GPU too)."""


class SimulatedDeviceUnsupported(RuntimeError):
    """An operation the simulated device cannot run exactly as the CPU would (a limit of the
    checks, not a mistake in the learner's code)."""


def unsupported_message(op_name, why=""):
    """What `SimulatedDeviceUnsupported` says about ``op_name``."""
    return (f"{op_name} is not supported on the checks' simulated device (a limitation of the "
            f"grader, not a\n    mistake in your code){': ' + why if why else ''}.")


class SimulatedTensor(torch.Tensor):
    """A tensor on the simulated device: ``device`` says ``meta``; the values live on the CPU.

    Create one with `to_simulated` and use it inside `simulated_device`; `from_simulated` gives
    back the CPU tensor.
    """

    @staticmethod
    def __new__(cls, data):
        if data.layout is not torch.strided:
            raise SimulatedDeviceUnsupported(unsupported_message(
                f"a {str(data.layout).removeprefix('torch.')} tensor",
                "it takes dense (strided) tensors only"))
        made = torch.Tensor._make_wrapper_subclass(
            cls, data.shape, strides=data.stride(), storage_offset=data.storage_offset(),
            dtype=data.dtype, layout=data.layout, device=SHOWN_AS,
            requires_grad=data.requires_grad)
        made._data = data
        # The conjugate and negative bits of a view (x.conj(), x.conj().imag) go on the wrapper
        # too: PyTorch resolves them before an operation reaches `_Dispatch`, where they would
        # otherwise be ignored (wrong values).
        if data.is_conj():
            torch._C._set_conj(made, True)
        if data.is_neg():
            torch._C._set_neg(made, True)
        return made

    def __getitem__(self, index):
        return torch.Tensor.__getitem__(self, _cpu_indices(index))

    def __setitem__(self, index, value):
        torch.Tensor.__setitem__(self, _cpu_indices(index), value)

    __torch_function__ = torch._C._disabled_torch_function_impl

    @classmethod
    def __torch_dispatch__(cls, func, types, args=(), kwargs=None):
        with simulated_device():          # also outside the context, e.g. after a replay
            return func(*args, **(kwargs or {}))

    def __tensor_flatten__(self):
        return ["_data"], None

    @staticmethod
    def __tensor_unflatten__(inner, meta, outer_size, outer_stride):
        return SimulatedTensor(inner["_data"])

    def __repr__(self, *, tensor_contents=None):
        inner = repr(self._data)
        return f"{inner[:-1]}, device='{SIMULATED}')" if inner.endswith(")") else inner

    def tolist(self):
        return self._data.tolist()

    def __format__(self, spec):
        return format(self._data, spec) if self.dim() == 0 and spec else repr(self)


def to_simulated(tensor):
    """``tensor`` (a plain CPU tensor) on the simulated device, sharing its data."""
    return tensor if isinstance(tensor, SimulatedTensor) else SimulatedTensor(tensor)


def from_simulated(tensor):
    """The CPU tensor holding a simulated tensor's values; other values unchanged."""
    return tensor._data if isinstance(tensor, SimulatedTensor) else tensor


def _is_sequence(value):
    """Whether C++ indexing would turn ``value`` into an index tensor (``PySequence_Check``)."""
    kind = type(value)
    return (hasattr(kind, "__getitem__") and hasattr(kind, "__len__")
            and not isinstance(value, (dict, torch.Tensor)))


def _index_tensor(sequence):
    """The CPU index tensor PyTorch makes from a Python sequence used as an index: bool or
    uint8 when its values are, int64 otherwise (``indexing_tensor_from_data``)."""
    with torch._C.DisableTorchFunction():
        made = torch.tensor(sequence)
        if made.dtype not in (torch.int64, torch.bool, torch.uint8):
            made = torch.tensor(sequence, dtype=torch.int64)
    return made


_PLAIN_INDICES = frozenset((int, slice, bool))


def _cpu_indices(index):
    """``index`` with the Python sequences in it replaced by the CPU index tensors PyTorch makes.

    C++ makes them on the indexed tensor's device, which on the simulated device holds no data.
    Follows ``THPVariable_getitem``: a tuple is a tuple of indices; so is a short (< 32) list
    holding a sequence, tensor, slice, None or Ellipsis; any other sequence is one index. Strings
    are left to PyTorch (which refuses them).
    """
    kind = type(index)
    if kind is int or kind is slice or index is None or index is Ellipsis or kind is bool \
            or isinstance(index, torch.Tensor):
        return index
    if kind is tuple:                                # x[i, j], x[:, 1:3]: nothing to make
        for item in index:
            if not (type(item) in _PLAIN_INDICES or item is None or item is Ellipsis
                    or isinstance(item, torch.Tensor)):
                break
        else:
            return index
    if not isinstance(index, tuple):
        if not _is_sequence(index) or isinstance(index, (str, bytes)):
            return index
        if type(index).__module__ == "numpy" or len(index) >= 32 or not any(
                isinstance(item, (torch.Tensor, slice)) or item is None or item is Ellipsis
                or _is_sequence(item) for item in index):
            return _index_tensor(index)
        index = tuple(index)
    if not any(_is_sequence(item) and not isinstance(item, (str, bytes)) for item in index):
        return index
    return tuple(_index_tensor(item) if _is_sequence(item) and not isinstance(item, (str, bytes))
                 else item for item in index)


def leaves(value):
    """The values in ``value``, looking inside tuples, lists and dicts (an operation's arguments).

    Hand-written rather than torch's pytree: it runs for every operation on the device.
    """
    if isinstance(value, (tuple, list)):
        for item in value:
            yield from leaves(item)
    elif isinstance(value, dict):
        for item in value.values():
            yield from leaves(item)
    else:
        yield value


def map_tensors(function, value):
    """``value`` with ``function`` applied to every tensor in it (tuples and lists rebuilt)."""
    if isinstance(value, torch.Tensor):
        return function(value)
    if isinstance(value, (tuple, list)):
        if type(value) in (tuple, list):
            return type(value)(map_tensors(function, item) for item in value)
        if not isinstance(value, tuple) or not any(isinstance(v, torch.Tensor) for v in value):
            return value
        items = [map_tensors(function, item) for item in value]     # torch.return_types, namedtuples
        return value._make(items) if hasattr(value, "_make") else type(value)(items)
    if isinstance(value, dict):
        return {key: map_tensors(function, item) for key, item in value.items()}
    return value


def has_tensors(value):
    """True when ``value`` (arguments, tuples, lists, dicts) holds a tensor anywhere."""
    return any(isinstance(leaf, torch.Tensor) for leaf in leaves(value))


def _is_simulated_device(device):
    if isinstance(device, str):
        return device == SIMULATED or torch.device(device).type == "meta"
    return isinstance(device, torch.device) and device.type == "meta"


def _plain(value):
    return isinstance(value, torch.Tensor) and not isinstance(value, SimulatedTensor)


def _wrap(tree):
    if type(tree) is torch.Tensor:
        return SimulatedTensor(tree)
    return map_tensors(lambda v: SimulatedTensor(v) if _plain(v) else v, tree)


def _where(is_learner_file):
    """'line 7 in f: text' for the innermost frame of the learner's code on the stack, or ''."""
    frame = sys._getframe(2)
    while frame is not None:
        name = frame.f_code.co_filename
        if is_learner_file(name) if is_learner_file else not name.startswith((_HERE, _TORCH)):
            line = linecache.getline(name, frame.f_lineno).strip()
            return f"line {frame.f_lineno} in {frame.f_code.co_name}: {line}"
        frame = frame.f_back
    return ""


def _origin(tensor):
    return getattr(tensor, "_simulated_origin", "") if _plain(tensor) else ""


def _note_origin(tree, where):
    """Remember where each plain tensor in ``tree`` came from (for the messages)."""
    if where:
        for leaf in leaves(tree):
            if _plain(leaf) and not getattr(leaf, "_simulated_origin", ""):
                try:
                    leaf._simulated_origin = where
                except (AttributeError, RuntimeError):
                    pass


_ADVICE = ("Create it on the inputs' device: torch.zeros(..., device=x.device), "
           "x.new_zeros(...)\n    or torch.zeros_like(x). (The checks ran the function on a "
           "simulated second device,\n    shown as 'meta'; on a GPU this fails the same way.)")


def _place(tensor):
    return "the CPU" if tensor.device.type == "cpu" else str(tensor.device)


def _created(tensor, before):
    """``before`` + where ``tensor`` was created, on a line of its own; '' when unknown."""
    where = _origin(tensor)
    return f"{before}\n    {where}" if where else ""


def mismatch_message(op_name, tensor):
    """What `DeviceMismatchError` says about the plain ``tensor`` met in ``op_name``."""
    return (f"{op_name} got tensors on two devices: the inputs' device and {_place(tensor)}, "
            f"for a\n    {describe_tensor(tensor)}{_created(tensor, ' created at')}\n    {_ADVICE}")


def describe_tensor(tensor):
    return f"{str(tensor.dtype).removeprefix('torch.')} tensor of shape {tuple(tensor.shape)}"


def _unwrap(values, plain):
    """``values`` with simulated tensors (also in lists and tuples) replaced by their data.

    Appends the plain tensors met to ``plain``; returns (list of values, saw a simulated one).
    Written out by hand (not torch's pytree): it runs for every operation on the device.
    """
    out, simulated = [], False
    for value in values:
        if isinstance(value, torch.Tensor):
            if isinstance(value, SimulatedTensor):
                value, simulated = value._data, True
            else:
                plain.append(value)
        elif isinstance(value, (list, tuple)) and value and any(
                isinstance(item, torch.Tensor) for item in value):
            items = []
            for item in value:
                if isinstance(item, SimulatedTensor):
                    item, simulated = item._data, True
                elif isinstance(item, torch.Tensor):
                    plain.append(item)
                items.append(item)
            value = type(value)(items)
        out.append(value)
    return out, simulated


def _stray(plain):
    """The first of ``plain`` that CUDA would refuse to mix with a tensor on the device, or None.

    CPU tensors with no dimension (scalars) mix, and so do empty ones here (to be lenient).
    """
    for value in plain:
        if value.dim() > 0 and value.numel() > 0:
            return value
    return None


_ALIASES = {}
_VIEWS = "views"


def _aliases(func):
    """How ``func``'s results alias its inputs: None (fresh tensors), `_VIEWS` (views, and
    in-place changes of a tensor's shape) or, for in-place and out= operations, the
    [(position, name)] of the arguments they return."""
    try:
        return _ALIASES[id(func)]
    except KeyError:
        pass
    if not any(r.alias_info is not None for r in func._schema.returns):
        kind = None
    else:
        info = get_alias_info(func)
        writes = info.outs_write_aliases
        kind = [next(((i, a.name) for i, a in enumerate(info.args)
                      if alias in a.alias_set and a.is_write), None) for alias in writes or ()]
        if not kind or None in kind or info.is_inplace_view_op:
            kind = _VIEWS                 # let torch's helper alias them (and fix shapes)
    _ALIASES[id(func)] = kind
    return kind


_MATH_BITS = (torch._C.DispatchKeySet(torch._C.DispatchKey.Conjugate)
              | torch._C.DispatchKeySet(torch._C.DispatchKey.Negative))


_POINTWISE = {}


def _makes_views(func):
    """Whether ``func`` may make conjugate or negative views inside: any but pointwise ones."""
    try:
        return _POINTWISE[id(func)]
    except KeyError:
        made = _POINTWISE[id(func)] = torch.Tag.pointwise not in func.tags
        return made


def _with_math_bits(func, args, kwargs):
    """``func(*args, **kwargs)`` with PyTorch's conjugate and negative views resolved as usual.

    In ``__torch_dispatch__`` PyTorch leaves out the dispatch keys that resolve them, so an
    operation that makes such views inside (``linalg_pinv`` takes ``A.mH``) would compute
    with the bits ignored. Operations on complex numbers (but pointwise ones, which make no
    views) are computed with them back.
    """
    excluded = torch._C._dispatch_tls_local_exclude_set()
    with torch._C._ForceDispatchKeyGuard(torch._C._dispatch_tls_local_include_set(),
                                         excluded - _MATH_BITS):
        return func(*args, **kwargs)


class _Dispatch(TorchDispatchMode):
    """Runs every operation on the simulated tensors' CPU data (see the module docstring)."""

    def __init__(self, is_learner_file=None):
        super().__init__()
        self.is_learner_file = is_learner_file

    @classmethod
    def _should_skip_dynamo(cls):
        return False           # no torch._dynamo.disable wrapper: it cost ~10 us per operation

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        plain, indices, cpu_result = [], [], False
        if id(func) in _INDEXING and len(args) > 1:          # indices may stay on the CPU
            data, simulated = _unwrap(args[:1], plain)
            rest, also = _unwrap(args[2:], plain)
            index, by_index = _unwrap(args[1:2], indices)
            data, simulated = data + index + rest, simulated or also or by_index
            if not isinstance(args[0], SimulatedTensor):
                # CUDA writes a device scalar into a CPU tensor at CPU indices
                cpu_result = not by_index and not any(
                    isinstance(v, SimulatedTensor) and v.dim() > 0 for v in args[2:])
                if not cpu_result:
                    plain += indices
        else:
            data, simulated = _unwrap(args, plain)
        given = kwargs or {}
        if given:
            values, also = _unwrap(given.values(), plain)
            kwargs, simulated = dict(zip(given, values)), simulated or also
            device = kwargs.get("device")
        else:
            kwargs, device = {}, None
        if device is not None:
            onto = _is_simulated_device(device)
            if onto:
                kwargs["device"] = _CPU
        else:
            onto = simulated and not cpu_result
        for value in plain:
            if value.is_meta:                    # made by C++ on the device, with no data
                raise SimulatedDeviceUnsupported(unsupported_message(
                    str(func), "PyTorch made one of its inputs on the simulated device without "
                    "its values"))
        for value in indices:
            if value.is_meta:
                raise SimulatedDeviceUnsupported(unsupported_message(
                    str(func), "PyTorch made an index on the simulated device without its "
                    "values"))
        if simulated and not cpu_result and id(func) not in _CROSS_DEVICE:
            stray = _stray(plain)
            if stray is not None:
                raise DeviceMismatchError(mismatch_message(str(func), stray))
        for value in data:
            if type(value) is torch.Tensor and value.is_complex() and _makes_views(func):
                out = _with_math_bits(func, data, kwargs)
                break
        else:
            out = func(*data, **kwargs)
        if onto:
            aliases = _aliases(func) if simulated else None
            if aliases is None:
                return _wrap(out)
            if aliases is _VIEWS:
                return return_and_correct_aliasing(func, args, given, _wrap(out))
            written = [args[i] if i < len(args) else given[name] for i, name in aliases]
            return written[0] if len(written) == 1 else type(out)(written)
        origin = next((o for o in map(_origin, plain + indices) if o), "")
        if origin:
            _note_origin(out, origin)
        elif simulated or not (plain or indices):
            _note_origin(out, _where(self.is_learner_file))     # made on the CPU here
        return out


class _Functions(TorchFunctionMode):
    """What `_Dispatch` cannot see or cannot get right, one level up (Python functions):

    * ``torch.tensor(data, device=...)``, ``t.new_tensor(data)`` and ``t.new(data)`` copy Python
      data to the device below the dispatcher: they are made on the CPU and wrapped;
    * Python lists used as indices (``x[[0, 2]]``, ``x[:, order]``) become index tensors on the
      indexed tensor's device, below the dispatcher too: they are made on the CPU first;
    * the operations in `_ON_CPU` run whole on the CPU data (see there).
    """

    def __init__(self, is_learner_file=None):
        super().__init__()
        self.is_learner_file = is_learner_file

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        special = _SPECIAL.get(id(func))
        if special is None:
            return func(*args, **kwargs)
        if special is _INDEXED:
            if args and type(args[0]) is SimulatedTensor and len(args) > 1:
                args = (args[0], _cpu_indices(args[1])) + tuple(args[2:])
            return func(*args, **kwargs)
        if special is _WHOLE:
            return _whole_on_cpu(func, args, kwargs)
        owner = args[0] if special is _MAKER_FROM else None
        device = kwargs.get("device")
        if device is not None:
            onto = _is_simulated_device(device)
        else:
            onto = isinstance(owner, SimulatedTensor)
        if onto:                                   # made on the CPU, from the CPU data
            made = func(*map_tensors(from_simulated, args), **{**kwargs, "device": _CPU})
            return SimulatedTensor(made) if _plain(made) else made
        made = func(*args, **kwargs)
        _note_origin(made, _where(self.is_learner_file))
        return made


def _whole_on_cpu(func, args, kwargs):
    """``func`` run on the CPU data of its simulated arguments, its tensors put on the device.

    For the operations in `_ON_CPU`. Any mix of devices, ``out=`` and autograd take the usual
    path (which raises on a mix, or computes with PyTorch's subclass path).
    """
    plain, simulated = [], False
    for value in leaves((args, kwargs)) if kwargs or any(
            type(a) in (list, tuple, dict) for a in args) else args:
        if isinstance(value, SimulatedTensor):
            if value.requires_grad and torch.is_grad_enabled():
                return func(*args, **kwargs)
            simulated = True
        elif isinstance(value, torch.Tensor):
            plain.append(value)
    if not simulated or kwargs.get("out") is not None or _stray(plain) is not None:
        return func(*args, **kwargs)
    args = [a._data if type(a) is SimulatedTensor else map_tensors(from_simulated, a) for a in args]
    if kwargs:
        kwargs = map_tensors(from_simulated, kwargs)
    with _outside_dispatch():
        return _wrap(func(*args, **kwargs))


@contextmanager
def _outside_dispatch():
    """The body run without `_Dispatch`, but with any other dispatch mode (the checks' watch of
    the operations): PyTorch takes its subclass path exactly when the CPU would, under a mode."""
    stack = [torch._C._pop_torch_dispatch_stack(None) for _ in
             range(torch._C._len_torch_dispatch_stack())]            # the top first
    kept = [mode for mode in reversed(stack) if not isinstance(mode, _Dispatch)]
    for mode in kept:
        torch._C._push_on_torch_dispatch_stack(mode)
    try:
        yield
    finally:
        for _ in range(torch._C._len_torch_dispatch_stack()):
            torch._C._pop_torch_dispatch_stack(None)
        for mode in reversed(stack):
            torch._C._push_on_torch_dispatch_stack(mode)


@contextmanager
def simulated_device(is_learner_file=None):
    """Run the body with `SimulatedTensor` operations computed on their CPU data.

    ``is_learner_file(filename)`` picks the frames of the learner's code, to say in messages
    where a CPU tensor was created; by default any frame outside torch and this library.
    """
    with _Functions(is_learner_file), _Dispatch(is_learner_file):
        yield


def result_on_device(value, what="the result"):
    """(``value`` with simulated tensors replaced by their CPU data, problem or "").

    The problem says which part of ``value`` is a tensor that is not on the simulated device,
    and where the learner's code created it, when known.
    """
    problems = []

    def visit(item, label):
        if isinstance(item, SimulatedTensor):
            return item._data
        if isinstance(item, torch.Tensor):
            if not problems:
                problems.append(_off_device_message(item, label))
            return item
        if isinstance(item, (tuple, list)):
            items = [visit(v, f"element {i} of {label}") for i, v in enumerate(item)]
            return items if isinstance(item, list) else tuple(items)
        return item

    plain = visit(value, what)
    return plain, (problems[0] if problems else "")


def _off_device_message(tensor, what):
    return (f"{what} is a {describe_tensor(tensor)} on {_place(tensor)}, but the inputs were on "
            f"another\n    device.{_created(tensor, ' It was created at')}\n    Create new tensors "
            "with device=x.device (or x.new_zeros(...), torch.zeros_like(x)) and do\n    not move "
            "results to the CPU (.cpu(), .to('cpu')), so that the function works on a GPU.\n    "
            "(The checks ran it on a simulated second device, shown as 'meta'.)")
