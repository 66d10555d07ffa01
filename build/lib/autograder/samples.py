"""Sample inputs for the checks, after PyTorch's OpInfo ``SampleInput``.

Every exercise has a ``sample_inputs(draw, hidden)`` generator in its assignment module that
yields `SampleInput` objects; the `Draw` it receives wraps the seeded random sources, so that a
case is fully determined by (exercise, seed, visible or hidden, index) and can be replayed.
"""
from __future__ import annotations

import random
from dataclasses import dataclass, field

import torch

from .compare import describe_value
from .simulated import SIMULATED, from_simulated, to_simulated

__all__ = ["SampleInput", "Draw", "FLOAT_DTYPES"]

FLOAT_DTYPES = (torch.float32, torch.float64)


@dataclass
class SampleInput:
    """The positional and keyword arguments of one call, plus a note on what the case probes."""

    args: tuple
    kwargs: dict = field(default_factory=dict)
    note: str = ""

    def map_tensors(self, fn):
        """A copy with ``fn`` applied to every tensor argument (also inside tuples and lists)."""
        def convert(value):
            if isinstance(value, torch.Tensor):
                return fn(value)
            if isinstance(value, (tuple, list)):
                return type(value)(convert(v) for v in value)
            return value
        return SampleInput(tuple(convert(a) for a in self.args),
                           {k: convert(v) for k, v in self.kwargs.items()}, self.note)

    def to(self, device):
        """A copy on ``device``: a torch device, or "simulated" (see `autograder.simulated`)."""
        if device == SIMULATED:
            return self.map_tensors(to_simulated)
        return self.map_tensors(lambda t: from_simulated(t).to(device))

    def clone(self):
        return self.map_tensors(lambda t: t.clone())

    def tensors(self, parameter_names=()):
        """(parameter name, tensor) pairs, for checking inputs were not modified.

        Positional arguments take their names from ``parameter_names`` (the stub's), else
        "argument 2" and so on.
        """
        named = [(f"`{parameter_names[i]}`" if i < len(parameter_names) else f"argument {i + 1}",
                  a) for i, a in enumerate(self.args)]
        named += [(f"`{k}`", v) for k, v in self.kwargs.items()]
        return [(n, v) for n, v in named if isinstance(v, torch.Tensor)]

    def describe(self, function_name, parameter_names=()):
        """``corr2d(x=float32 tensor of shape (5, 7), k=...)``: the call, with shapes, not values."""
        parts = []
        for i, value in enumerate(self.args):
            label = f"{parameter_names[i]}=" if i < len(parameter_names) else ""
            parts.append(label + describe_value(value))
        parts += [f"{k}={describe_value(v)}" for k, v in self.kwargs.items()]
        call = f"{function_name}({', '.join(parts)})"
        return f"{call}  [{self.note}]" if self.note else call


class Draw:
    """Seeded random sources for sample generators: Python's `random` for sizes, torch for data."""

    def __init__(self, seed):
        self.seed = seed
        self.rng = random.Random(seed)
        self.generator = torch.Generator().manual_seed(seed)

    def int(self, low, high):
        """A uniform integer in [low, high]."""
        return self.rng.randint(low, high)

    def choice(self, options):
        return self.rng.choice(list(options))

    def coin(self, p=0.5):
        return self.rng.random() < p

    def dtype(self):
        return self.choice(FLOAT_DTYPES)

    def int_or_pair(self, low, high, n=2):
        """An int, or an n-tuple of ints (a non-square setting), each in [low, high]."""
        if self.coin():
            return self.int(low, high)
        return tuple(self.int(low, high) for _ in range(n))

    def tensor(self, *shape, dtype=torch.float32):
        """Standard-normal values: no ties, signs of both kinds."""
        return torch.randn(*shape, generator=self.generator, dtype=dtype)

    def negative_tensor(self, *shape, dtype=torch.float32):
        """All values below zero: zero padding would wrongly win a max."""
        return -(torch.rand(*shape, generator=self.generator, dtype=dtype) + 0.5)

    def integer_tensor(self, *shape, low=-3, high=4, dtype=torch.float32):
        """Small integers, exactly representable: for examples a learner can check by hand."""
        return torch.randint(low, high, shape, generator=self.generator).to(dtype)


def pair(value, n=2):
    """``3 -> (3, 3)`` (or an n-tuple); tuples pass through. For references and generators."""
    return (value,) * n if isinstance(value, int) else tuple(value)
