"""The messages between the trusted grader and a learner's sandboxed process.

A frame is ``[u32 header length][u64 body length][JSON header][body bytes]``. Values are JSON
with tensors replaced by ``{"$tensor": i}`` references into a table of raw buffers in the body;
tuples are ``{"$tuple": [...]}``. Nothing is ever unpickled: the trusted side decodes only
JSON, whitelisted dtypes and byte buffers whose sizes it checks, so a malicious learner process
can send wrong values but never code. Frames larger than `MAX_FRAME` are refused.

Needs only torch and the standard library (it runs on both sides).
"""
from __future__ import annotations

import io
import json
import math
import os
import struct

import torch

from .simulated import SIMULATED, SimulatedTensor

__all__ = ["MAX_FRAME", "WireError", "encode", "decode", "send", "recv", "FrameReader",
           "OnSimulated", "ForeignTensor", "Unsupported"]

MAX_FRAME = 256 * 2**20          # bytes in one frame: results, inputs or a cell's output
_HEAD = struct.Struct("<IQ")
_MAX_HEADER = 16 * 2**20
_DTYPES = {str(d).removeprefix("torch."): d for d in (
    torch.float16, torch.bfloat16, torch.float32, torch.float64, torch.int8, torch.uint8,
    torch.int16, torch.int32, torch.int64, torch.bool, torch.complex64, torch.complex128)}


class WireError(Exception):
    """A frame that is malformed, too large, or ended early (the other side died)."""


def _raw_bytes(flat):
    """The bytes of a fresh, contiguous CPU tensor (no NumPy: learner processes have none)."""
    out = io.BytesIO()
    flat.untyped_storage()._write_file(out, False, False, 1)
    return out.getvalue()


def _encode_value(value, buffers):
    if isinstance(value, torch.Tensor):
        name = str(value.dtype).removeprefix("torch.")
        if name not in _DTYPES:
            return {"$unsupported": f"tensor of dtype {name}"}
        device = None
        if type(value) is SimulatedTensor:           # its CPU data, marked as on that device
            value, device = value._data, SIMULATED
        kind = "Tensor" if type(value) is torch.Tensor else type(value).__name__
        dense = value.detach()
        if dense.layout != torch.strided or dense.device.type == "meta":
            return {"$unsupported": f"{dense.layout} tensor on {dense.device}"}
        flat = torch.empty(dense.numel(), dtype=dense.dtype)   # fresh, dense, stride 1
        flat.copy_(dense.to("cpu").reshape(-1))
        raw = _raw_bytes(flat) if flat.numel() else b""
        buffers.append(raw)
        return {"$tensor": len(buffers) - 1, "dtype": name, "shape": list(value.shape),
                "device": device or str(value.device), "type": kind}
    if isinstance(value, tuple):
        return {"$tuple": [_encode_value(v, buffers) for v in value]}
    if isinstance(value, list):
        return [_encode_value(v, buffers) for v in value]
    if isinstance(value, dict):
        return {"$dict": [[str(k), _encode_value(v, buffers)] for k, v in value.items()]}
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return {"$float": repr(value)} if not math.isfinite(value) else value
    return {"$unsupported": type(value).__name__}


def encode(header, **values):
    """One frame: the JSON ``header`` plus ``values`` (tensors, ints, tuples …) as ``header['values']``."""
    buffers = []
    header = dict(header)
    if values:
        header["values"] = {k: _encode_value(v, buffers) for k, v in values.items()}
    offsets, position = [], 0
    for raw in buffers:
        offsets.append([position, len(raw)])
        position += len(raw)
    header["buffers"] = offsets
    head = json.dumps(header).encode()
    if len(head) > _MAX_HEADER or position > MAX_FRAME:
        raise WireError(f"message too large ({(len(head) + position) / 2**20:.0f} MiB)")
    return _HEAD.pack(len(head), position) + head + b"".join(buffers)


class Unsupported:
    """Stands for a value the sender could not encode (e.g. a NumPy array); `describe` says what."""

    def __init__(self, what):
        self.what = what

    def __repr__(self):
        return f"<{self.what}>"


class OnSimulated:
    """A tensor that the sender had on the simulated device (`autograder.simulated`): its CPU
    data is ``tensor``. Decoded only where the receiver expects that device."""

    def __init__(self, tensor):
        self.tensor = tensor

    def __repr__(self):
        return f"<tensor on the simulated device: {self.tensor!r}>"


class ForeignTensor:
    """A tensor-like result that was not a plain ``torch.Tensor`` (e.g. a subclass)."""

    def __init__(self, kind, tensor):
        self.kind, self.tensor = kind, tensor

    def __repr__(self):
        return f"<{self.kind}>"


def _decode_value(value, body, offsets, devices):
    if isinstance(value, list):
        return [_decode_value(v, body, offsets, devices) for v in value]
    if not isinstance(value, dict):
        if value is None or isinstance(value, (bool, int, float, str)):
            return value
        raise WireError(f"unexpected JSON value {type(value).__name__}")
    if "$tuple" in value:
        return tuple(_decode_value(v, body, offsets, devices) for v in value["$tuple"])
    if "$dict" in value:
        return {str(k): _decode_value(v, body, offsets, devices) for k, v in value["$dict"]}
    if "$float" in value:
        return float(value["$float"])
    if "$unsupported" in value:
        return Unsupported(str(value["$unsupported"]))
    if "$tensor" in value:
        dtype = _DTYPES.get(value.get("dtype"))
        shape = value.get("shape")
        if dtype is None or not isinstance(shape, list) or not all(
                isinstance(s, int) and 0 <= s for s in shape):
            raise WireError("malformed tensor")
        start, length = offsets[int(value["$tensor"])]
        count = math.prod(shape)
        if length != count * dtype.itemsize:
            raise WireError("tensor buffer does not match its shape")
        raw = bytearray(body[start:start + length])
        tensor = (torch.frombuffer(raw, dtype=dtype).reshape(shape) if count
                  else torch.empty(shape, dtype=dtype))
        device = str(value.get("device", "cpu"))
        if device == SIMULATED and device in devices:
            tensor = OnSimulated(tensor)
        elif device != "cpu":
            tensor = tensor.to(device) if device in devices else ForeignTensor(
                f"tensor on device {device}", tensor)
        if value.get("type") != "Tensor" and not isinstance(tensor, (ForeignTensor, OnSimulated)):
            tensor = ForeignTensor(f"{value.get('type')} (a subclass of torch.Tensor)", tensor)
        return tensor
    raise WireError("unexpected JSON object")


def decode(head, body, devices=("cpu",)):
    """(header, values) from a frame's parts; tensors land on their device if it is in ``devices``."""
    try:
        header = json.loads(head)
        offsets = header.get("buffers", [])
        if not isinstance(header, dict) or any(
                not (isinstance(s, int) and isinstance(n, int) and 0 <= s and s + n <= len(body))
                for s, n in offsets):
            raise WireError("malformed frame")
        values = {k: _decode_value(v, body, offsets, devices)
                  for k, v in header.get("values", {}).items()}
    except WireError:
        raise
    except Exception as error:  # JSON, index and type errors from a malformed frame
        raise WireError(f"malformed frame ({type(error).__name__})") from None
    return header, values


def _read_exactly(fd, size):
    chunks, left = [], size
    while left:
        chunk = os.read(fd, min(left, 1 << 20))
        if not chunk:
            raise WireError("the other side closed the connection")
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def send(fd, header, **values):
    """Write one frame to file descriptor ``fd``."""
    data = memoryview(encode(header, **values))
    while data:
        written = os.write(fd, data)
        data = data[written:]


def recv(fd, devices=("cpu",)):
    """Read one frame from ``fd`` (blocking); returns (header, values)."""
    head_len, body_len = _HEAD.unpack(_read_exactly(fd, _HEAD.size))
    if head_len > _MAX_HEADER or body_len > MAX_FRAME:
        raise WireError("frame too large")
    return decode(_read_exactly(fd, head_len), _read_exactly(fd, body_len), devices)


class FrameReader:
    """Non-blocking frame assembly for the trusted side: feed bytes, take whole frames."""

    def __init__(self, devices=("cpu",)):
        self.buffer = bytearray()
        self.devices = devices

    def feed(self, data):
        self.buffer += data

    def frames(self):
        """Every complete frame received so far, decoded, in order."""
        out = []
        while len(self.buffer) >= _HEAD.size:
            head_len, body_len = _HEAD.unpack_from(self.buffer)
            if head_len > _MAX_HEADER or body_len > MAX_FRAME:
                raise WireError("frame too large")
            end = _HEAD.size + head_len + body_len
            if len(self.buffer) < end:
                break
            head = bytes(self.buffer[_HEAD.size:_HEAD.size + head_len])
            body = bytes(self.buffer[_HEAD.size + head_len:end])
            del self.buffer[:end]
            out.append(decode(head, body, self.devices))
        return out
