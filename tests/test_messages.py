"""What a learner reads when a check fails: the message alone, in their own words, at a glance.

Each test is a common first-attempt mistake; the message must name what the learner wrote (the
stub's parameter names, the line of whichever of their functions raised) and nothing of the
grader's internals.
"""
import ast
import textwrap

import pytest
import torch

from autograder import CheckFailure, check
from autograder.errors import WIDTH, wrap_message
from tests.conftest import EXERCISES, cell_source, graded_cells, nbgrader_meta, read_notebook


def _failure(key, function, **kwargs):
    with pytest.raises(CheckFailure) as caught:
        check(key, function, verbose=False, **kwargs)
    return str(caught.value)


def _define(source, filename):
    """Define functions from ``source`` as a notebook cell of its own would."""
    namespace = {"torch": torch}
    exec(compile(textwrap.dedent(source), filename, "exec"), namespace)
    return namespace


def test_ipython_shows_the_message_without_the_grader_frames(capsys):
    from IPython.core.interactiveshell import InteractiveShell

    shell = InteractiveShell.instance()
    try:
        shell.run_cell("from autograder import check\n"
                       "def pad2d(x, padding):\n    return x\n"
                       'check("01_cross_correlation.pad2d", pad2d)')
    finally:
        InteractiveShell.clear_instance()
    shown = capsys.readouterr()
    text = shown.out + shown.err
    assert "CheckFailure" in text and "pad2d failed case 1" in text
    for internal in ("checks.py", "_report", "raise failure from None", "Traceback"):
        assert internal not in text
    assert max(len(line) for line in text.splitlines()) <= WIDTH + 12   # + colour codes


def test_rendered_lines_are_wrapped_at_100_columns():
    long = CheckFailure("corr2d is not vectorised: " + "many words " * 60)
    lines = long._render_traceback_()
    assert len(lines) > 3 and all(len(line) <= WIDTH + 12 for line in lines)
    assert wrap_message("a\n  b " + "c " * 80).splitlines()[2].startswith("    ")


def test_an_in_place_change_names_the_parameter():
    def corr2d(x, k):
        k.add_(1)
        return x[:x.shape[0] - k.shape[0] + 1, :x.shape[1] - k.shape[1] + 1].clone()

    assert "modified its input `k` in place" in _failure("01_cross_correlation.corr2d", corr2d)


def test_a_wrong_tuple_element_is_named_as_in_the_stub():
    from tests.conftest import solution_functions

    solution = solution_functions("07_gradients")["conv2d_backward"]

    def conv2d_backward(grad_output, input, weight, stride=1, padding=0):
        grad_input, grad_weight, grad_bias = solution(grad_output, input, weight, stride, padding)
        return grad_input * 2, grad_weight, grad_bias

    message = _failure("07_gradients.conv2d_backward", conv2d_backward)
    assert "grad_input (element 0 of the result) differs" in message


def test_the_failing_line_is_in_the_helper_that_raised():
    helpers = _define("""
        def window_sum(x, k):
            return (x * k).sum(dim=(-1, -2, -3))   # one axis too many
        """, "<cell 1>")
    main = _define("""
        def corr2d(x, k):
            return window_sum(x, k)
        """, "<cell 2>")
    main["window_sum"] = helpers["window_sum"]
    message = _failure("01_cross_correlation.corr2d", main["corr2d"])
    assert "at line 3 in window_sum" in message


def test_the_stub_is_told_apart_from_pytorchs_not_implemented_error():
    stub = _define("""
        def pad2d(x, padding):
            raise NotImplementedError()
        """, "<stub>")["pad2d"]
    assert "Replace `raise NotImplementedError()` with your code" in _failure(
        "01_cross_correlation.pad2d", stub)

    def pad2d(x, padding):
        return torch.nonzero(x.to("meta"))   # PyTorch's own NotImplementedError

    message = _failure("01_cross_correlation.pad2d", pad2d)
    assert "PyTorch's NotImplementedError" in message and "Replace `raise" not in message


def test_requires_grad_in_a_factory_is_named_as_such():
    from tests.conftest import solution_functions

    solution = solution_functions("07_gradients")["conv2d_backward"]

    def conv2d_backward(grad_output, input, weight, stride=1, padding=0):
        torch.zeros(1, requires_grad=True)
        return solution(grad_output, input, weight, stride, padding)

    message = _failure("07_gradients.conv2d_backward", conv2d_backward)
    assert "created a tensor with torch.zeros(..., requires_grad=True)" in message


@pytest.mark.parametrize("path", sorted(EXERCISES.glob("*/*.ipynb")), ids=lambda p: p.stem)
def test_hidden_test_cells_print_nothing_in_the_learners_notebook(path):
    """A released hidden-test cell holds no expression whose value Jupyter would echo."""
    for cell in graded_cells(read_notebook(path)):
        if nbgrader_meta(cell)["grade_id"].endswith("_hidden"):
            assert ast.parse(cell_source(cell)).body == [], cell_source(cell)


def test_every_wrong_gradient_is_named_from_the_loss_backwards():
    """The loss summed over the batch, not averaged: every gradient is wrong, and the message
    names them all, nearest the loss first (where the learner should look), not only the first
    in the tuple (grad_conv1_weight, the one furthest from the bug)."""
    from tests.implementations import load_all
    mutants, _ = load_all()
    summed = next(m for m in mutants if m.exercise == "10_network.digits_cnn_backward"
                  and "summed over the batch" in m.description)
    message = _failure(summed.exercise, summed.function)
    first = message.splitlines()[0]
    order = ["grad_fc_bias", "grad_fc_weight", "grad_conv2_bias", "grad_conv2_weight",
             "grad_conv1_bias", "grad_conv1_weight"]
    assert "6 of the 6 values of the result are wrong (from the loss backwards): " in first
    assert first.index(order[0]) < first.index(order[1]) < first.index(order[-1]), first
    assert all(f"- {name} (element" in message for name in order), message


def test_one_wrong_element_keeps_its_own_message():
    from tests.implementations import load_all
    _, alternates = load_all()
    right = next(a.function for a in alternates if a.exercise == "07_gradients.conv2d_backward")

    def conv2d_backward(grad_output, input, weight, stride=1, padding=0):
        grad_input, grad_weight, grad_bias = right(grad_output, input, weight, stride, padding)
        return grad_input, grad_weight, 2 * grad_bias
    message = _failure("07_gradients.conv2d_backward", conv2d_backward)
    assert "grad_bias (element 2 of the result)" in message and "values of" not in message
