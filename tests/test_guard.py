"""The guards: forbidden operations at the dispatcher, time limits, tampering."""
import dataclasses
import time

import pytest
import torch
import torch.nn.functional as F

import autograder
from autograder import CheckFailure, ForbiddenOpError, LeftTorchError, TamperingError, check
from autograder.op_families import CONVOLUTION, PADDING, POOLING, UNFOLD, UNPOOLING
from autograder.op_watch import forbid_ops
from autograder.tamper import Integrity
from autograder.time_limit import time_limit
from autograder.errors import LearnerTimeout
from autograder.exercise_db import exercise_db

x = torch.randn(1, 2, 6, 6)
w = torch.randn(3, 2, 3, 3)

CONV_ALIASES = {
    "F.conv2d": lambda: F.conv2d(x, w),
    "torch.conv2d": lambda: torch.conv2d(x, w),
    "nn.Conv2d": lambda: torch.nn.Conv2d(2, 3, 3)(x),
    "torch.ops.aten.convolution": lambda: torch.ops.aten.convolution(
        x, w, None, [1, 1], [0, 0], [1, 1], False, [0, 0], 1),
    "torch.ops.aten.conv2d": lambda: torch.ops.aten.conv2d(x, w),
    "F.conv_transpose2d": lambda: F.conv_transpose2d(x, w.transpose(0, 1)),
    "F.conv1d": lambda: F.conv1d(x[:, :, 0], w[:, :, 0]),
    "F.conv3d": lambda: F.conv3d(x[:, :, None], w[:, :, None]),
}


@pytest.mark.parametrize("alias", sorted(CONV_ALIASES))
def test_every_convolution_alias_is_forbidden(alias):
    with pytest.raises(ForbiddenOpError, match="forbidden operation aten"):
        with forbid_ops(CONVOLUTION, "corr2d"):
            CONV_ALIASES[alias]()


@pytest.mark.parametrize("call", [lambda: F.max_pool2d(x, 2), lambda: F.avg_pool2d(x, 2),
                                  lambda: torch.nn.MaxPool2d(2)(x), lambda: F.adaptive_avg_pool2d(x, 4)])
def test_pooling_is_forbidden(call):
    with pytest.raises(ForbiddenOpError):
        with forbid_ops(POOLING):
            call()


def test_padding_is_forbidden():
    with pytest.raises(ForbiddenOpError):
        with forbid_ops(PADDING):
            F.pad(x, (1, 1, 1, 1))


@pytest.mark.parametrize("call", [
    lambda: F.unfold(x, 3), lambda: x.unfold(2, 3, 1), lambda: torch.einsum("ocab,ncab->no", w, x[..., :3, :3]),
    lambda: F.pad(x, (1, 1)), lambda: x @ x, lambda: torch.flip(x, (2,)), lambda: x.amax((2, 3)),
])
def test_building_blocks_stay_allowed(call):
    with forbid_ops(CONVOLUTION):
        call()


def test_a_caught_forbidden_call_still_fails():
    with forbid_ops(CONVOLUTION) as record:
        try:
            F.conv2d(x, w)
        except Exception:
            pass
    with pytest.raises(ForbiddenOpError):
        record.raise_if_violated()


def test_operator_count_is_recorded():
    with forbid_ops(None) as record:
        (x + 1).sum()
    assert record.op_count == 2


def test_numpy_is_refused():
    with pytest.raises(LeftTorchError):
        with forbid_ops(None):
            x.numpy()


def test_time_limit_interrupts_a_loop():
    start = time.monotonic()
    with pytest.raises(LearnerTimeout):
        with time_limit(0.2):
            while True:
                pass
    assert time.monotonic() - start < 2


def test_time_limit_interrupts_a_loop_that_catches_exceptions():
    with pytest.raises(LearnerTimeout):
        with time_limit(0.2):
            while True:
                try:
                    time.sleep(0.01)
                except Exception:
                    pass


def test_check_reports_a_timeout(monkeypatch):
    key = "01_cross_correlation.conv_output_size"
    monkeypatch.setitem(exercise_db, key, dataclasses.replace(exercise_db[key], time_limit=0.3))

    def forever(i, k, s=1, p=0, d=1):
        while True:
            pass

    with pytest.raises(CheckFailure, match="did not return within 0.3 s"):
        check("01_cross_correlation.conv_output_size", forever, verbose=False)


def test_check_reports_a_modified_input():
    def corr2d_in_place(x, k):
        x.zero_()
        return x[: x.shape[0] - k.shape[0] + 1, : x.shape[1] - k.shape[1] + 1].clone()

    with pytest.raises(CheckFailure, match="modified its input `x` in place"):
        check("01_cross_correlation.corr2d", corr2d_in_place, verbose=False)


def test_library_names_cannot_be_rebound():
    with pytest.raises(TamperingError, match="autograder.check is part of the course's check library"):
        autograder.check = lambda *args, **kwargs: None
    with pytest.raises(TamperingError):
        del autograder.checks.check
    assert autograder.check is check


def test_replaced_torch_function_fails_every_check(monkeypatch):
    def correct(i, k, s=1, p=0, d=1):
        if d * (k - 1) + 1 > i + 2 * p:
            raise ValueError("does not fit")
        return (i + 2 * p - d * (k - 1) - 1) // s + 1

    check("01_cross_correlation.conv_output_size", correct, verbose=False)
    monkeypatch.setattr(torch, "allclose", lambda *args, **kwargs: True)
    assert Integrity.verify() == ["torch.allclose"]
    with pytest.raises(TamperingError, match="torch.allclose"):
        check("01_cross_correlation.conv_output_size", correct, verbose=False)


def test_replaced_library_internals_are_detected(monkeypatch):
    monkeypatch.setitem(vars(autograder.compare), "assert_matches", lambda *args, **kwargs: None)
    assert "autograder.compare.assert_matches" in Integrity.verify()


def test_lookups_ignore_edits_to_the_module_dict(monkeypatch):
    genuine = autograder.check
    monkeypatch.setitem(vars(autograder), "check", lambda *args, **kwargs: None)
    from autograder import check as looked_up
    assert looked_up is genuine and autograder.check is genuine


AUTOGRAD_USES = {
    "requires_grad_ + backward": lambda: (x.clone().requires_grad_() * 2).sum().backward(),
    "torch.autograd.grad": lambda: torch.autograd.grad(
        (torch.zeros(3, requires_grad=True) * 2).sum(), []),
    "factory requires_grad=True": lambda: torch.ones(3, requires_grad=True) + 1,
    "torch.func.grad": lambda: torch.func.grad(lambda t: (t * 2).sum())(x),
    "torch.func.vjp": lambda: torch.func.vjp(lambda t: t * 2, x)[1](x),
}


@pytest.mark.parametrize("use", sorted(AUTOGRAD_USES))
def test_autograd_is_forbidden_when_asked(use):
    with pytest.raises(ForbiddenOpError, match="used autograd"):
        with forbid_ops(None, "conv2d_backward", autograd=True):
            AUTOGRAD_USES[use]()


def test_caught_autograd_use_still_fails():
    with forbid_ops(None, "conv2d_backward", autograd=True) as record:
        try:
            AUTOGRAD_USES["requires_grad_ + backward"]()
        except ForbiddenOpError:
            pass
    with pytest.raises(ForbiddenOpError, match="used autograd"):
        record.raise_if_violated()


def test_autograd_stays_allowed_by_default():
    with forbid_ops(CONVOLUTION) as record:
        AUTOGRAD_USES["requires_grad_ + backward"]()
    record.raise_if_violated()


@pytest.mark.parametrize("call", [
    lambda: F.max_unpool2d(*F.max_pool2d(x, 2, return_indices=True), 2),
    lambda: torch.nn.MaxUnpool2d(2)(*F.max_pool2d(x, 2, return_indices=True)),
])
def test_unpooling_is_forbidden(call):
    indices_ready = F.max_pool2d(x, 2, return_indices=True)  # noqa: F841 - pooling itself is fine
    with pytest.raises(ForbiddenOpError, match="unpool"):
        with forbid_ops(UNPOOLING):
            call()


@pytest.mark.parametrize("call", [lambda: F.unfold(x, 3), lambda: F.fold(F.unfold(x, 3), 6, 3),
                                  lambda: torch.nn.Unfold(2)(x)])
def test_im2col_and_col2im_are_forbidden(call):
    with pytest.raises(ForbiddenOpError):
        with forbid_ops(UNFOLD):
            call()


def test_strided_views_stay_allowed_with_unfold_forbidden():
    with forbid_ops(UNFOLD):
        x.unfold(2, 3, 1).unfold(3, 3, 1)
        x.as_strided((1, 2, 4, 4, 3, 3), (72, 36, 6, 1, 6, 1))


def _op_count_exercise():
    from autograder.exercise_db import ExerciseInfo
    from autograder.samples import SampleInput

    def sizes(draw):
        return (SampleInput((draw.tensor(1, 2, 4, 5),)), SampleInput((draw.tensor(3, 2, 9, 11),)))
    return ExerciseInfo("test", "row_sums", ("input",), lambda t: t.sum(-1), "Tensor.sum",
                        lambda draw, hidden: [], op_count_inputs=sizes)


def _local(info, function):
    from autograder.checks import _call_learner
    return lambda sample, expected, counts=None: _call_learner(info, function, sample, expected,
                                                               counts)


def test_vectorised_function_passes_the_op_count_check():
    from autograder.checks import _check_op_count
    info = _op_count_exercise()
    _check_op_count(info, _local(info, lambda t: t.sum(-1)), seed=0)


def test_loop_over_positions_fails_the_op_count_check():
    from autograder.checks import _check_op_count

    def row_sums(t):
        out = t.new_zeros(t.shape[:-1])
        for i in range(t.shape[-2]):
            out[..., i] = t[..., i, :].sum(-1)
        return out
    with pytest.raises(CheckFailure, match=r"not vectorised: it dispatched \d+ tensor operations"):
        info = _op_count_exercise()
        _check_op_count(info, _local(info, row_sums), seed=0)


def test_an_autograd_message_names_what_the_learner_wrote_and_where():
    """Reading ``.grad`` shows as ``Tensor.grad`` and the learner's line, never ``__get__``."""
    namespace = {"torch": torch}
    exec(compile("def conv2d_backward(x):\n    return x.grad\n", "<ipython-input-7-abc>", "exec"),
         namespace)
    x = torch.ones(3, requires_grad=True)
    with pytest.raises(ForbiddenOpError) as caught:
        with forbid_ops(None, "conv2d_backward", autograd=True):
            namespace["conv2d_backward"](x)
    message = str(caught.value)
    assert "used Tensor.grad on a tensor that requires grad (line 2 in conv2d_backward" in message
    assert "__get__" not in message



_GRADER_THEN_LEARNER = r"""
import sys, warnings
warnings.simplefilter("ignore")
import torch
import torch.nn.functional as F
import autograder.instructor.grade, autograder.grade_notebook, autograder.checks
from autograder.errors import ForbiddenOpError
from autograder.op_families import CONVOLUTION
from autograder.op_watch import forbid_ops
from autograder.tamper import Integrity

with forbid_ops(None) as record:
    (torch.ones(3) + 1).sum()
print("grader side, dynamo imported:", "torch._dynamo" in sys.modules)
import autograder
autograder.check                          # a learner's kernel: the library loads, snapshot taken
print("learner side, dynamo imported:", "torch._dynamo" in sys.modules)

def loop(a):
    for _ in range(50):
        a = a + 1
    return a

ones = torch.ones(8)
with forbid_ops(None) as record:
    torch.compile(loop, backend="eager")(ones)
print("operations counted inside torch.compile:", record.op_count)
x, k = torch.randn(1, 1, 6, 6), torch.randn(1, 1, 3, 3)
for backend in ("eager", "aot_eager"):
    try:
        with forbid_ops(CONVOLUTION, "corr2d"):
            torch.compile(lambda a, b: F.conv2d(a, b) + 1, backend=backend)(x, k)
        print(backend, "conv2d allowed")
    except ForbiddenOpError as error:
        print(backend, "conv2d forbidden:", "forbidden operation aten.convolution" in str(error))
torch.manual_seed(0)
print("replaced since the snapshot:", Integrity.verify())
"""


def test_torch_compile_in_a_notebook_is_watched_and_changes_nothing_the_checks_rely_on():
    """The grader's own processes never import ``torch._dynamo`` (1.4 s each); where learner
    code runs it is imported before the snapshot (it rebinds ``torch.manual_seed``), so
    ``torch.compile`` in a notebook leaves the snapshot valid, and inside it the watch still
    counts every operation and refuses a forbidden one."""
    import subprocess
    import sys
    out = subprocess.run([sys.executable, "-c", _GRADER_THEN_LEARNER], capture_output=True,
                         text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.splitlines() == [
        "grader side, dynamo imported: False",
        "learner side, dynamo imported: True",
        "operations counted inside torch.compile: 50",
        "eager conv2d forbidden: True",
        "aot_eager conv2d forbidden: True",
        "replaced since the snapshot: []",
    ], out.stdout + out.stderr[-3000:]
