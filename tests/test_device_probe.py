"""The simulated second device: device bugs caught on a CPU-only machine, and nothing else.

The rules follow what CUDA does with a GPU tensor and a CPU tensor in one operation; each test
below fails if its rule is dropped or inverted. The per-exercise "device mutants" (a course
solution with one tensor created without ``device=``) live in tests/implementations and are run
by tests/test_exercises.py; here they are also checked to be right on the CPU, and to be caught
with a message that names ``device=`` and the line that created the CPU tensor.
"""
import re

import pytest
import torch
import torch.nn.functional as F

from autograder import CheckFailure, ForbiddenOpError, LeftTorchError, check, exercise_db
from autograder.checks import call_locally, judge_call, run_check
from autograder.samples import Draw, SampleInput
from autograder.simulated import (DeviceMismatchError, SimulatedTensor, from_simulated,
                                  simulated_device, to_simulated)
from tests.implementations import DEVICE_MUTANTS, device_bug_line, load_all

load_all()
CORR2D = "01_cross_correlation.corr2d"


@pytest.fixture
def x():
    return to_simulated(torch.arange(12.0).reshape(3, 4))


def _data(tensor):
    assert isinstance(tensor, SimulatedTensor), f"expected a simulated tensor, got {type(tensor)}"
    return from_simulated(tensor)


# --- the rules ----------------------------------------------------------------------------------
def test_simulated_tensors_report_meta_and_compute_on_their_data(x):
    with simulated_device():
        y = (x * 2).sum(dim=1)
    assert x.device.type == "meta" and y.device.type == "meta"
    assert _data(y).tolist() == [12.0, 44.0, 76.0]


def test_a_cpu_scalar_mixes_with_the_simulated_device(x):
    with simulated_device():
        y = x * torch.tensor(2.0) + torch.tensor(1.0)
        z = torch.where(x > 5, x, torch.tensor(0.0))
    assert torch.equal(_data(y), torch.arange(12.0).reshape(3, 4) * 2 + 1)
    assert _data(z)[0].tolist() == [0.0, 0.0, 0.0, 0.0]


def test_cpu_index_tensors_index_a_simulated_tensor(x):
    rows, mask = torch.tensor([0, 2]), torch.tensor([True, False, True])
    with simulated_device():
        picked, masked = x[rows], x[mask]
        y = x.clone()
        y[rows] = 5.0
        y[rows, torch.tensor([1, 3])] = x[0, :2]
    assert _data(picked).tolist() == _data(masked).tolist() == [[0, 1, 2, 3], [8, 9, 10, 11]]
    assert _data(y).tolist() == [[5, 0, 5, 5], [4, 5, 6, 7], [5, 5, 5, 1]]
    with simulated_device():
        table = torch.zeros(4)
        table[torch.tensor([1, 2])] = x[0, 3]        # a device scalar into a CPU tensor
    assert type(table) is torch.Tensor and table.tolist() == [0, 3, 3, 0]


def test_copies_between_devices_are_allowed(x):
    with simulated_device():
        y = x.clone()
        y[:, :2] = torch.ones(3, 2)                  # copy_ from the CPU
        moved = torch.ones(2).to(x.device)
    assert _data(y)[:, :2].tolist() == [[1, 1]] * 3
    assert _data(moved).tolist() == [1.0, 1.0]


@pytest.mark.parametrize("mix", [
    "x + torch.ones(3, 4)",
    "x[0, 0] * torch.ones(3, 4)",                    # a simulated scalar does not move either
    "torch.cat([x, torch.ones(1, 4)])",
    "torch.stack([x, torch.ones(3, 4)])",
    "x @ torch.ones(4, 2)",
    "torch.einsum('ij,jk->ik', x, torch.ones(4, 2))",
    "torch.where(torch.ones(3, 4, dtype=torch.bool), x, x)",
    "x.new_zeros(3, 4).scatter_(1, torch.zeros(3, 1, dtype=torch.long), 1.0)",
    "x.clone().index_put_((torch.tensor([0]),), torch.ones(4))",   # values, not indices
    "torch.ones(5)[torch.arange(2, device=x.device)]",             # device index into the CPU
    "torch.ones(3, 4).add_(x)",
])
def test_mixing_a_cpu_tensor_with_the_simulated_device_raises(x, mix):
    with simulated_device(), pytest.raises(DeviceMismatchError) as caught:
        eval(mix, {"torch": torch, "x": x})
    message = str(caught.value)
    assert "device=x.device" in message and "x.new_zeros" in message
    assert re.search(r"aten\.\w+", message) and "tensor of shape (" in message
    assert all(len(line) <= 100 for line in message.splitlines()), message


def test_the_message_names_the_op_the_shape_and_where_the_cpu_tensor_was_made(x):
    with simulated_device(), pytest.raises(DeviceMismatchError) as caught:
        stray = torch.zeros(3, 4)
        stray_view = stray.T.T
        x + stray_view
    message = str(caught.value)
    assert "aten.add.Tensor" in message and "float32 tensor of shape (3, 4)" in message
    assert "stray = torch.zeros(3, 4)" in message     # the creation, not the use


def test_factories_follow_the_device_they_are_given(x):
    with simulated_device():
        made = {
            "zeros(device=x.device)": torch.zeros(2, device=x.device),
            "new_zeros": x.new_zeros(2),
            "zeros_like": torch.zeros_like(x),
            "arange(device=x.device)": torch.arange(2, device=x.device),
            "tensor(device=x.device)": torch.tensor([1.0, 2.0], device=x.device),
            "new_tensor": x.new_tensor([1.0, 2.0]),
            "to(x)": torch.ones(2).to(x),
            "full(device=x.device)": torch.full((2,), 3.0, device=x.device),
        }
        plain = {"zeros()": torch.zeros(2), "tensor()": torch.tensor([1.0]), ".cpu()": x.cpu(),
                 "new_zeros(device='cpu')": x.new_zeros(2, device="cpu")}
    for name, tensor in made.items():
        assert isinstance(tensor, SimulatedTensor), name
    for name, tensor in plain.items():
        assert type(tensor) is torch.Tensor and tensor.device.type == "cpu", name
    assert _data(made["tensor(device=x.device)"]).tolist() == [1.0, 2.0]
    assert _data(made["zeros_like"]).shape == (3, 4)


def test_in_place_writes_through_views_reach_the_base(x):
    with simulated_device():
        y = x.clone()
        row = y[1]
        row += 100
        y[:, 0] = -1.0
        y.T[3, 2] = 42.0
        same = y.add_(0)
        z = x.clone()
        z.t_()
    assert same is y
    assert _data(y).tolist() == [[-1, 1, 2, 3], [-1, 105, 106, 107], [-1, 9, 10, 42]]
    assert z.shape == _data(z).shape == (4, 3)
    assert _data(x).tolist()[0] == [0, 1, 2, 3]       # clone did not alias


def test_python_values_come_out_of_simulated_tensors(x):
    with simulated_device():
        assert x[1, 2].item() == 6.0 and x[0].tolist() == [0, 1, 2, 3]
        assert bool(x[0, 1] > 0) and int(x[2, 3]) == 11 and float(x[0, 1]) == 1.0
        assert f"{x[1, 1]:.1f}" == "5.0" and len(x) == 3
        assert "device='simulated'" in repr(x)
        assert torch.equal(x, x) and torch.allclose(x, x + 0)


def test_simulated_tensors_work_outside_the_context_too(x):
    assert _data(x + 1)[0].tolist() == [1, 2, 3, 4]
    with pytest.raises(DeviceMismatchError):
        x + torch.ones(3, 4)


# --- the checks ---------------------------------------------------------------------------------
def _corr2d_info():
    return exercise_db[CORR2D]


def _sample():
    return SampleInput((torch.randn(5, 6), torch.randn(2, 3)))


def corr2d_to_cpu(x, k):
    kh, kw = k.shape
    windows = x.unfold(-2, kh, 1).unfold(-2, kw, 1)
    return torch.einsum("...ijab,ab->...ij", windows, k).cpu()


def corr2d_cpu_result(x, k):
    kh, kw = k.shape
    windows = x.unfold(-2, kh, 1).unfold(-2, kw, 1)
    out = torch.empty(windows.shape[:-2], dtype=x.dtype)
    out[:] = torch.einsum("...ijab,ab->...ij", windows, k)
    return out


@pytest.mark.parametrize("hidden", [False, True])
def test_a_result_moved_to_the_cpu_fails_the_check(hidden):
    with pytest.raises(CheckFailure) as caught:
        check(CORR2D, corr2d_to_cpu, hidden=hidden, seed=5, verbose=False)
    message = str(caught.value)
    assert "on the simulated device" in message and "device=x.device" in message
    assert "the result is a float32 tensor" in message and "on the CPU" in message
    assert "torch.einsum(\"...ijab,ab->...ij\", windows, k).cpu()" in message   # where made


def test_a_result_created_without_device_fails_and_names_the_line():
    with pytest.raises(CheckFailure) as caught:
        check(CORR2D, corr2d_cpu_result, verbose=False)
    message = str(caught.value)
    assert "out = torch.empty(windows.shape[:-2], dtype=x.dtype)" in message
    assert "device=x.device" in message


def test_replay_line_reproduces_a_probe_failure():
    def pad2d(x, padding):
        ph, pw = (padding, padding) if isinstance(padding, int) else padding
        out = torch.zeros(x.shape[0] + 2 * ph, x.shape[1] + 2 * pw, dtype=x.dtype)
        out[ph:ph + x.shape[0], pw:pw + x.shape[1]] = x
        return out
    with pytest.raises(CheckFailure) as caught:
        check("01_cross_correlation.pad2d", pad2d, hidden=True, seed=9, verbose=False)
    replay = re.search(r"Replay it: (.*)", str(caught.value)).group(1)
    assert replay.startswith("with autograder.simulated_device(): case = autograder.sample_input(")
    import autograder
    namespace = {"autograder": autograder, "pad2d": pad2d}
    exec(replay.replace("pad2d(*case", "result = pad2d(*case"), namespace)
    assert type(namespace["result"]) is torch.Tensor          # the CPU tensor the check refused
    assert all(isinstance(a, SimulatedTensor) for a in namespace["case"].args[:1])


def test_forbidden_operations_numpy_and_autograd_are_still_caught_on_the_probe():
    info = _corr2d_info()
    shortcut = call_locally(info, lambda x, k: F.conv2d(x[None, None], k[None, None])[0, 0],
                            _sample(), simulated=True)
    assert "forbidden operation aten.convolution" in shortcut.violation
    with pytest.raises(ForbiddenOpError):
        judge_call(info, _sample(), None, shortcut)
    numpy = call_locally(info, lambda x, k: torch.from_numpy(x.numpy()), _sample(), simulated=True)
    with pytest.raises(LeftTorchError):
        judge_call(info, _sample(), None, numpy)
    backward = exercise_db["07_gradients.conv2d_backward"]
    sample = backward.sample_inputs(Draw(0), False)[0]

    def uses_autograd(grad_output, input, weight, stride=1, padding=0):
        weight = weight.clone().requires_grad_()
        out = (input.sum() * weight).sum()
        return torch.autograd.grad(out, weight)
    outcome = call_locally(backward, uses_autograd, sample, simulated=True)
    assert "used autograd" in outcome.violation


def test_input_mutation_and_time_limits_still_hold_on_the_probe(monkeypatch):
    info = _corr2d_info()

    def scribbles(x, k):
        x.zero_()
        return x[: x.shape[0] - k.shape[0] + 1, : x.shape[1] - k.shape[1] + 1].clone()
    outcome = call_locally(info, scribbles, _sample(), simulated=True)
    with pytest.raises(CheckFailure, match="modified its input `x` in place"):
        judge_call(info, _sample(), None, outcome)

    def spins(x, k):
        while True:
            x = x + 0
    assert call_locally(info, spins, _sample(), simulated=True, time_limit=0.3).kind == "timeout"


def test_op_counts_are_the_same_on_the_probe_and_not_checked_there():
    info = exercise_db["09_fast_convolution.conv2d_im2col"]
    from tests.conftest import solution_functions
    function = solution_functions("09_fast_convolution")["conv2d_im2col"]
    sample = info.sample_inputs(Draw(0), False)[0]
    plain = call_locally(info, function, sample).op_count
    assert plain and call_locally(info, function, sample, simulated=True).op_count == plain
    calls = []

    def call(sample, expected, op_counts=None, simulated=False):
        calls.append((simulated, op_counts is not None))
        return judge_call(info, sample, expected,
                          call_locally(info, function, sample, simulated=simulated), op_counts)
    assert run_check(info, call, hidden=False, seed=0) is None
    assert (True, False) in calls and (True, True) not in calls     # op counts on plain calls only


def test_the_summary_says_where_the_probe_ran_and_where_it_does_not_apply(capsys):
    from tests.conftest import solution_functions
    functions = solution_functions("01_cross_correlation")
    check(CORR2D, functions["corr2d"])
    check("01_cross_correlation.conv_output_size", functions["conv_output_size"])
    tensor_line, int_line = capsys.readouterr().out.splitlines()
    assert "cpu" in tensor_line and "the simulated device" in tensor_line
    assert "no tensor inputs, so no device checks" in int_line


# --- every exercise has a device mutant, right on the CPU and caught with a clear message -------
TENSOR_EXERCISES = sorted(k for k, info in exercise_db.items() if not info.tensor_free)


@pytest.mark.parametrize("key", TENSOR_EXERCISES)
def test_every_tensor_exercise_has_a_device_mutant(key):
    assert any(m.exercise == key for m in DEVICE_MUTANTS), key


@pytest.mark.parametrize("implementation", DEVICE_MUTANTS, ids=lambda i: i.id)
def test_device_mutant_is_right_on_the_cpu(implementation):
    """Without the simulated device the mutant passes: the probe is what catches it."""
    info = exercise_db[implementation.exercise]

    def cpu_only(sample, expected, op_counts=None, simulated=False):
        return judge_call(info, sample, expected,
                          call_locally(info, implementation.function, sample), op_counts)
    assert run_check(info, cpu_only, hidden=True, seed=11) is None


@pytest.mark.parametrize("implementation", DEVICE_MUTANTS, ids=lambda i: i.id)
def test_device_mutant_message_names_device_and_the_line(implementation):
    with pytest.raises(CheckFailure) as caught:
        check(implementation.exercise, implementation.function, verbose=False)
    message = str(caught.value)
    assert "on the simulated device" in message and "device=x.device" in message
    assert device_bug_line(implementation) in message, message
