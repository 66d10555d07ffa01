"""The corpus of correct but unusual implementations (`tests.implementations`' alternates).

Fast checks of its shape, not of its correctness (test_exercises.py grades every alternate):
every graded function has at least three alternates in at least three different styles, each
description names its style first (``"fft: rfft2 of image and kernel, ..."``), no alternate
touches NumPy or SciPy (the grader does not provide them), and every alternate's source pastes
into a notebook's solution cell as it is: it compiles, defines the function under the
exercise's name and reads no global name that the notebook's set-up cell does not define.
"""
import builtins
import dis
import re

import pytest
import torch

import autograder
from autograder import exercise_db, provided
from tests.implementations import load_all

_, ALTERNATES = load_all()

# The styles a learner might write an exercise in; an alternate's description starts with one,
# followed by ": ".
STYLE_TAGS = (
    "loops",          # Python loops over positions, windows, planes, filters or entries
    "slices",         # shift-and-add: one strided slice per kernel tap, accumulated
    "python-list",    # indexing with Python lists (x[:, [2, 0, 1]], k[list(range(...))])
    "fft",            # torch.fft: products of spectra (with .conj() for a correlation)
    "einsum",         # torch.einsum as the main tool (selector tensors, fused kernels)
    "tensordot",
    "matmul",         # matrix products (channels-last, 0/1 permutation or spreading matrices)
    "toeplitz",       # an explicit convolution (Toeplitz / banded / averaging) matrix
    "kron",           # torch.kron
    "tensor-unfold",  # Tensor.unfold windows (views)
    "as_strided",     # Tensor.as_strided windows
    "im2col",         # F.unfold / F.fold, where the exercise allows them
    "pad",            # F.pad, negative amounts included, where the exercise allows it
    "index",          # advanced indexing with index tensors, index_select
    "gather",         # torch.gather
    "scatter",        # scatter_, scatter_add_, index_add_, index_put_, index_copy_
    "where",          # torch.where, masks, one-hot comparisons
    "broadcast",      # broadcast comparisons or products
    "float64",        # computed in float64, cast back to the input's dtype
    "stack-cat",      # torch.stack / torch.cat building
    "roll",           # torch.roll
    "cumsum",         # prefix sums (a summed-area table)
    "pivot",          # elimination around a pivot entry
    "iteration",      # an iterative method (power iteration)
    "recursion",
    "functools",      # functools.reduce and friends
    "math",           # math-module formulas
    "range",          # len(range(...)) and other built-in sequence arithmetic
    "sets",           # Python sets
    "meta",           # the meta device
    "provided",       # autograder.provided helpers the part may use
)
MIN_ALTERNATES = 3
MIN_STYLES = 3


def _style(implementation):
    tag, separator, _ = implementation.description.partition(": ")
    return tag if separator else None


def _alternates_of(key):
    return [a for a in ALTERNATES if a.exercise == key]


def test_the_style_tags_are_distinct():
    assert len(set(STYLE_TAGS)) == len(STYLE_TAGS)


@pytest.mark.parametrize("implementation", ALTERNATES, ids=lambda i: i.id)
def test_every_alternate_names_its_style(implementation):
    assert _style(implementation) in STYLE_TAGS, (
        f"{implementation.id}: the description should start with one of {STYLE_TAGS} and ': '")


@pytest.mark.parametrize("key", sorted(exercise_db))
def test_every_exercise_has_alternates_in_three_styles(key):
    alternates = _alternates_of(key)
    styles = {_style(a) for a in alternates} & set(STYLE_TAGS)
    assert len(alternates) >= MIN_ALTERNATES, f"{key}: {len(alternates)} alternates"
    assert len(styles) >= MIN_STYLES, f"{key}: styles {sorted(styles)}"


def test_every_alternate_is_of_a_graded_exercise():
    assert {a.exercise for a in ALTERNATES} <= set(exercise_db)


_FOREIGN = re.compile(r"\b(numpy|scipy)\b|\bnp\.", re.IGNORECASE)


@pytest.mark.parametrize("implementation", ALTERNATES, ids=lambda i: i.id)
def test_no_alternate_uses_numpy_or_scipy(implementation):
    found = _FOREIGN.search(implementation.source())
    assert found is None, f"{implementation.id} mentions {found.group(0)!r}"


def _notebook_namespace():
    """What a notebook's locked set-up cell defines before the learner's cells run."""
    return {"torch": torch, "autograder": autograder, "check": autograder.check,
            "provided": provided}


def _global_names(code):
    """Global names read by ``code`` and the functions, lambdas and comprehensions inside it."""
    names = {i.argval for i in dis.get_instructions(code) if i.opname == "LOAD_GLOBAL"}
    for constant in code.co_consts:
        if hasattr(constant, "co_code"):
            names |= _global_names(constant)
    return names


@pytest.mark.parametrize("implementation", ALTERNATES, ids=lambda i: i.id)
def test_every_alternate_pastes_into_a_solution_cell(implementation):
    """Its source alone, run after the set-up cell, defines the exercise's function; the
    function reads no global the notebook lacks (a module-level helper or constant here)."""
    name = implementation.exercise.split(".")[-1]
    source = implementation.source()
    namespace = _notebook_namespace()
    exec(compile(source, f"<cell {name}>", "exec"), namespace)
    function = namespace.get(name)
    assert callable(function), f"{implementation.id}: the cell does not define {name}"
    missing = {n for n in _global_names(function.__code__)
               if n not in namespace and not hasattr(builtins, n)}
    assert not missing, f"{implementation.id} reads globals a notebook lacks: {sorted(missing)}"
