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

__all__ = ["SIMULATED", "SimulatedTensor", "DeviceMismatchError", "simulated_device",
           "to_simulated", "from_simulated", "result_on_device", "has_tensors"]

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
_TENSOR_MAKERS = frozenset(map(id, (torch.tensor, torch.as_tensor, torch.asarray,
                                    torch.Tensor.new_tensor)))
_HERE = os.path.dirname(os.path.abspath(__file__))
_TORCH = os.path.dirname(os.path.abspath(torch.__file__))


class DeviceMismatchError(RuntimeError):
    """An operation mixed the simulated device with the CPU (it would fail on a GPU too)."""


class SimulatedTensor(torch.Tensor):
    """A tensor on the simulated device: ``device`` says ``meta``; the values live on the CPU.

    Create one with `to_simulated` and use it inside `simulated_device`; `from_simulated` gives
    back the CPU tensor.
    """

    @staticmethod
    def __new__(cls, data):
        made = torch.Tensor._make_wrapper_subclass(
            cls, data.shape, strides=data.stride(), storage_offset=data.storage_offset(),
            dtype=data.dtype, layout=data.layout, device=SHOWN_AS,
            requires_grad=data.requires_grad)
        made._data = data
        return made

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


def _leaves(value):
    """The values in ``value``, looking inside tuples, lists and dicts (an operation's arguments).

    Hand-written rather than torch's pytree: it runs for every operation on the device.
    """
    if isinstance(value, (tuple, list)):
        for item in value:
            yield from _leaves(item)
    elif isinstance(value, dict):
        for item in value.values():
            yield from _leaves(item)
    else:
        yield value


def _map(function, value):
    """``value`` with ``function`` applied to every tensor in it (tuples and lists rebuilt)."""
    if isinstance(value, torch.Tensor):
        return function(value)
    if isinstance(value, (tuple, list)):
        return type(value)(_map(function, item) for item in value) \
            if type(value) in (tuple, list) else value
    if isinstance(value, dict):
        return {key: _map(function, item) for key, item in value.items()}
    return value


def has_tensors(value):
    """True when ``value`` (arguments, tuples, lists, dicts) holds a tensor anywhere."""
    return any(isinstance(leaf, torch.Tensor) for leaf in _leaves(value))


def _is_simulated_device(device):
    if isinstance(device, str):
        return device == SIMULATED or torch.device(device).type == "meta"
    return isinstance(device, torch.device) and device.type == "meta"


def _plain(value):
    return isinstance(value, torch.Tensor) and not isinstance(value, SimulatedTensor)


def _wrap(tree):
    if type(tree) is torch.Tensor:
        return SimulatedTensor(tree)
    return _map(lambda v: SimulatedTensor(v) if _plain(v) else v, tree)


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
        for leaf in _leaves(tree):
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
        if simulated and not cpu_result and id(func) not in _CROSS_DEVICE:
            stray = _stray(plain)
            if stray is not None:
                raise DeviceMismatchError(mismatch_message(str(func), stray))
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
    """``torch.tensor(data, device=...)`` and ``t.new_tensor(data)`` on the simulated device.

    These copy Python data to the device below the dispatcher, where `_Dispatch` cannot see it.
    """

    def __init__(self, is_learner_file=None):
        super().__init__()
        self.is_learner_file = is_learner_file

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if id(func) not in _TENSOR_MAKERS:
            return func(*args, **kwargs)
        owner = args[0] if func is torch.Tensor.new_tensor else None
        device = kwargs.get("device")
        if device is not None:
            onto = _is_simulated_device(device)
        else:
            onto = isinstance(owner, SimulatedTensor)
        if onto:                                   # made on the CPU, from the CPU data
            made = func(*_map(from_simulated, args), **{**kwargs, "device": _CPU})
            return SimulatedTensor(made) if _plain(made) else made
        made = func(*args, **kwargs)
        _note_origin(made, _where(self.is_learner_file))
        return made


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
