"""Wrong ("mutant") and correct-but-different ("alternate") implementations of every exercise.

Each module registers functions with `mutant`, `device_mutant` or `alternate`. The tests require
every mutant to fail its exercise's checks and every alternate to pass them, directly and through
nbgrader; a device mutant (right on the CPU, wrong on a GPU) must fail the checks' simulated
device, with a message that names the line creating its CPU tensor. Each function is
self-contained (it may use torch, torch.nn.functional and the notebook's `provided` only), so
its source can be pasted into a notebook's solution cell; mutants that share a helper name it in
``helpers``, and their source starts with the helper's.
"""
import inspect
import textwrap
from dataclasses import dataclass
from typing import Callable

MUTANTS = []
ALTERNATES = []
DEVICE_MUTANTS = []
DEVICE_BUG = "# <- CPU tensor"      # marks the line of a device mutant that creates the tensor


@dataclass(frozen=True)
class Implementation:
    exercise: str      # key in autograder.exercise_db, e.g. "01_cross_correlation.corr2d"
    description: str
    function: Callable
    helpers: tuple = ()   # self-contained module-level functions the function calls

    @property
    def id(self):
        return f"{self.exercise.split('.')[-1]}: {self.description}"

    def source(self):
        """The function's source without its decorator, named as the exercise function, after
        the source of its helpers."""
        lines = textwrap.dedent(inspect.getsource(self.function)).splitlines()
        body = "\n".join(line for line in lines if not line.startswith("@"))
        name = self.exercise.split(".")[-1]
        body = body.replace(f"def {self.function.__name__}(", f"def {name}(", 1)
        helpers = [textwrap.dedent(inspect.getsource(helper)) for helper in self.helpers]
        return "\n\n".join(helpers + [body])


def _register(table, exercise, description, helpers=()):
    def decorate(function):
        table.append(Implementation(exercise, description, function, tuple(helpers)))
        return function
    return decorate


def mutant(exercise, description, helpers=()):
    """Register a wrong implementation that the checks must reject."""
    return _register(MUTANTS, exercise, description, helpers)


def device_mutant(exercise, description, helpers=()):
    """Register a mutant that is right on the CPU but creates a tensor without ``device=``.

    The line that creates the tensor ends with `DEVICE_BUG`; the checks must name it.
    """
    def decorate(function):
        _register(MUTANTS, exercise, description, helpers)(function)
        DEVICE_MUTANTS.append(MUTANTS[-1])
        return function
    return decorate


def alternate(exercise, description):
    """Register a correct implementation, written differently, that must get full marks."""
    return _register(ALTERNATES, exercise, description)


def load_all():
    from . import (ch01_cross_correlation, ch02_multichannel, ch03_conv3d,  # noqa: F401
                   ch04_dilated, ch05_grouped_separable, ch06_transposed, ch07_gradients,
                   ch08_unpooling, ch09_fast_convolution, ch10_network)
    return MUTANTS, ALTERNATES


def device_bug_line(implementation):
    """The source line of a device mutant that creates a tensor on the CPU."""
    lines = [line.strip() for line in inspect.getsource(implementation.function).splitlines()
             if line.rstrip().endswith(DEVICE_BUG)]
    assert len(lines) == 1, implementation.id
    return lines[0]
