"""The trusted grader's parts, without nbgrader: the wire format, the seccomp filter, the
process-wide disabled operators, and `grade_job` itself (learner code in a sandboxed process,
verdict here) on CPU and on every CUDA device present.

Runs with torch, NumPy and pytest alone (the GPU machine has no nbgrader and maybe no
bubblewrap: then the learner processes run without the OS sandbox, with every in-process guard).
"""
import json
import shutil
import struct
import subprocess
import sys
import textwrap

import pytest
import torch

from autograder import wire
from autograder.checks import available_devices
from autograder.exercise_db import get_exercise
from tests.conftest import REPO, SOLUTIONS, filled_exercise, solution_sources, total_points
from tests.implementations import load_all

MUTANTS, ALTERNATES = load_all()
CH1 = "01_cross_correlation"


def _frame_parts(frame):
    head, body = struct.unpack_from("<IQ", frame)
    return frame[12:12 + head], frame[12 + head:12 + head + body]


def _round_trip(**values):
    return wire.decode(*_frame_parts(wire.encode({"type": "t"}, **values)))[1]


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.float32, torch.float64,
                                   torch.int64, torch.bool, torch.complex64], ids=str)
def test_tensors_cross_the_wire_exactly(dtype):
    x = torch.randn(3, 5).to(dtype)
    got = _round_trip(x=x, strided=x[::2, 1::3], empty=x[:0], scalar=x[0, 0])
    assert torch.equal(got["x"], x) and got["x"].dtype == dtype
    assert torch.equal(got["strided"], x[::2, 1::3])
    assert got["empty"].shape == (0, 5) and got["scalar"].shape == ()


def test_python_values_cross_the_wire():
    value = {"a": (1, [2.5, None, True], "s"), "b": float("nan"), "c": float("-inf")}
    got = _round_trip(v=value)["v"]
    assert got["a"] == (1, [2.5, None, True], "s")
    assert got["b"] != got["b"] and got["c"] == float("-inf")


def test_what_is_not_a_plain_tensor_is_marked_not_trusted():
    class Sneaky(torch.Tensor):
        def __eq__(self, other):
            return True
    got = _round_trip(sub=torch.zeros(2).as_subclass(Sneaky), array=torch.zeros(2).numpy(),
                      meta=torch.empty(2, device="meta"))
    assert isinstance(got["sub"], wire.ForeignTensor) and "Sneaky" in got["sub"].kind
    assert isinstance(got["array"], wire.Unsupported) and "ndarray" in got["array"].what
    assert isinstance(got["meta"], wire.Unsupported)


@pytest.mark.parametrize("tamper", ["size", "offset", "dtype", "json", "header"])
def test_malformed_frames_are_refused(tamper):
    head, body = _frame_parts(wire.encode({"type": "t"}, x=torch.zeros(4)))
    header = json.loads(head)
    if tamper == "size":
        header["values"]["x"]["shape"] = [5]
    elif tamper == "offset":
        header["buffers"] = [[8, 16]]
    elif tamper == "dtype":
        header["values"]["x"]["dtype"] = "object"
    elif tamper == "header":
        header["values"]["x"] = {"$pickle": "cos\nsystem\n"}
    head = b"{not json" if tamper == "json" else json.dumps(header).encode()
    with pytest.raises(wire.WireError):
        wire.decode(head, body)


def test_oversized_frames_are_refused():
    reader = wire.FrameReader()
    reader.feed(struct.pack("<IQ", 10, wire.MAX_FRAME + 1))
    with pytest.raises(wire.WireError, match="too large"):
        reader.frames()


def _in_subprocess(code):
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], cwd=REPO,
                          capture_output=True, text=True, timeout=120)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="seccomp is Linux-only")
def test_seccomp_refuses_processes_threads_and_signals_to_others():
    proc = _in_subprocess("""
        import os, subprocess, threading
        from autograder import seccomp
        seccomp.install()
        for name, attempt in [("fork", os.fork), ("spawn", lambda: subprocess.run(["true"])),
                              ("thread", lambda: threading.Thread(target=print).start()),
                              ("kill", lambda: os.kill(os.getppid(), 0))]:
            try:
                attempt()
                print(name, "ALLOWED")
            except (OSError, RuntimeError) as error:
                print(name, "refused")
        os.kill(os.getpid(), 0)
        print("self ok")
    """)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["fork", "refused", "spawn", "refused", "thread", "refused",
                                   "kill", "refused", "self", "ok"]


def test_disabled_operators_stay_disabled_in_every_thread_alias_and_namespace():
    proc = _in_subprocess("""
        import threading, torch, torch.nn.functional as F
        from autograder.op_families import CONVOLUTION, disable_ops
        calls = []
        def on_call(name):
            calls.append(name)
            raise RuntimeError("forbidden " + name)
        assert disable_ops(CONVOLUTION, on_call) > 50
        x, w = torch.randn(1, 1, 5, 5), torch.randn(1, 1, 3, 3)
        attempts = {
            "F.conv2d": lambda: F.conv2d(x, w),
            "aten.convolution": lambda: torch.ops.aten.convolution(
                x, w, None, [1, 1], [0, 0], [1, 1], False, [0, 0], 1),
            "aten._convolution": lambda: torch.ops.aten._convolution(
                x, w, None, [1, 1], [0, 0], [1, 1], False, [0, 0], 1, False, False, True, True),
            "thnn_conv2d": lambda: torch._C._nn.thnn_conv2d(x, w, [3, 3]),
            "mkldnn": lambda: torch.ops.mkldnn._convolution_pointwise(
                x, w, None, [0, 0], [1, 1], [1, 1], 1, "none", [], ""),
            "nn.Conv2d": lambda: torch.nn.Conv2d(1, 1, 3)(x),
            "meta": lambda: F.conv2d(x.to("meta"), w.to("meta")),
            "backward": lambda: torch.ops.aten.convolution_backward(
                x, x, w, None, [1, 1], [0, 0], [1, 1], False, [0, 0], 1, [True, True, False]),
        }
        def in_thread(attempt):
            out = []
            def run():
                try:
                    attempt(); out.append("RAN")
                except RuntimeError:
                    out.append("refused")
            t = threading.Thread(target=run); t.start(); t.join()
            return out[0]
        for name, attempt in attempts.items():
            print(name, in_thread(attempt))
        print("pad", F.pad(x, (1, 1)).shape[-1], "unfold", x.unfold(2, 3, 1).shape[2])
    """)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert all(line.endswith("refused") for line in lines[:-1]), lines
    assert lines[-1] == "pad 7 unfold 3"


def _job(notebook, student="s", seed=12345, assignment=CH1, **options):
    from autograder.job import GradingJob, source_tests
    return GradingJob(student, assignment, json.dumps(notebook), source_tests(
        SOLUTIONS / assignment / f"{assignment}.ipynb"), seed, "hash", cell_timeout=20,
        call_time_limit=3, sandboxed=shutil.which("bwrap") is not None, **options)


@pytest.fixture(scope="module")
def sandbox():
    from autograder.sandbox import Sandbox
    with Sandbox(sandboxed=shutil.which("bwrap") is not None,
                 cuda=torch.cuda.is_available()) as box:
        yield box


def _grade(sandbox, sources):
    from autograder.grade_notebook import grade_job
    return grade_job(_job(filled_exercise(CH1, sources)), sandbox)


@pytest.mark.slow
def test_grade_job_gives_the_solution_full_marks_on_every_device(sandbox):
    result = _grade(sandbox, solution_sources(CH1))
    assert result.score == result.max_score == total_points(CH1), [t.message for t in result.tests]
    assert list(result.devices) == available_devices()


@pytest.mark.slow
def test_grade_job_gives_the_network_solution_full_marks(sandbox):
    """Chapter 10: Part A forbids F.unfold in the learner process, Part B autograd, and Part B
    calls four provided functions, computed by the grader over the pipe."""
    from autograder.grade_notebook import grade_job
    ch10 = "10_network"
    notebook = filled_exercise(ch10, solution_sources(ch10))
    result = grade_job(_job(notebook, assignment=ch10), sandbox)
    assert result.score == result.max_score == total_points(ch10), [
        t.message for t in result.tests]


@pytest.mark.slow
def test_grade_job_catches_a_device_bug_without_a_gpu_and_a_mutant_everywhere(sandbox):
    """A tensor created without device= loses its tests' points on any machine: the learner
    process runs each case once more on the simulated device (and on CUDA when present)."""
    sources = solution_sources(CH1)
    bug = "out = torch.zeros(h + 2 * ph, w + 2 * pw, dtype=x.dtype)"
    sources["pad2d"] = sources["pad2d"].replace("out = x.new_zeros(h + 2 * ph, w + 2 * pw)", bug)
    assert bug in sources["pad2d"]
    sources["conv_output_size"] = next(
        m for m in MUTANTS if m.exercise == f"{CH1}.conv_output_size").source()
    result = _grade(sandbox, sources)
    tests = {t.grade_id: t for t in result.tests}
    lost = {grade_id for grade_id, t in tests.items() if not t.passed}
    # pad2d fails; corr2d_strided, which pads with provided.pad2d, does not depend on it
    assert lost == {"test_conv_output_size", "test_conv_output_size_hidden", "test_pad2d",
                    "test_pad2d_hidden"}
    for grade_id in ("test_pad2d", "test_pad2d_hidden"):
        message = tests[grade_id].message
        assert tests[grade_id].points == 0 and "on the simulated device" in message
        assert "device=x.device" in message and f"in pad2d: {bug}" in message, message
    assert result.score == result.max_score - sum(tests[g].max_points for g in lost)


@pytest.mark.slow
def test_grade_job_forbids_the_taught_operation_even_in_another_thread(sandbox):
    sources = solution_sources(CH1)
    sources["corr2d"] = textwrap.dedent("""
        import threading
        def corr2d(x, k):
            out = []
            thread = threading.Thread(target=lambda: out.append(
                torch.nn.functional.conv2d(x[None, None], k[None, None])[0, 0]))
            thread.start(); thread.join()
            return out[0]
    """)
    result = _grade(sandbox, sources)
    failed = {t.grade_id: t for t in result.tests if not t.passed}
    assert {"test_corr2d", "test_corr2d_hidden"} <= set(failed)
    assert "sandbox" in failed["test_corr2d"].flags or "forbidden" in failed["test_corr2d"].flags


@pytest.mark.slow
def test_a_cell_that_hangs_is_run_once_per_notebook_not_once_per_group(sandbox, monkeypatch):
    """Each group of tests has its own learner process, which replays the notebook's cells; a
    cell that hung in one is skipped by every later one (it used to cost --timeout per group)."""
    from autograder import grade_notebook as trusted
    from autograder.job import GradingJob, source_tests
    ran = []
    original = trusted._Group._problem
    monkeypatch.setattr(trusted._Group, "_problem", lambda self, label, kind, message: (
        ran.append((label, kind)), original(self, label, kind, message)))
    sources = solution_sources(CH1)
    sources["conv_output_size"] += "\n\nwhile True:\n    pass\n"
    tests = source_tests(SOLUTIONS / CH1 / f"{CH1}.ipynb")
    job = GradingJob("s", CH1, json.dumps(filled_exercise(CH1, sources)), tests, 12345, "hash",
                     cell_timeout=2, call_time_limit=3,
                     sandboxed=shutil.which("bwrap") is not None)
    groups = {(get_exercise(t.exercise).forbidden or "", get_exercise(t.exercise).forbid_autograd)
              for t in tests}
    assert len(groups) > 1
    result = trusted.grade_job(job, sandbox)
    assert ran == [("conv_output_size", "timeout")], ran
    lost = {t.grade_id for t in result.tests if not t.passed}
    assert lost == {"test_conv_output_size", "test_conv_output_size_hidden"}, lost


@pytest.mark.slow
def test_an_oversized_provided_argument_is_refused_alike_before_and_after_the_pipe(sandbox):
    """`provided.corr2d` with an argument far larger than the part's cases: the learner process
    refuses it before sending (tens of MB for nothing) with the grader's own message, and the
    grader, which judges whatever is sent, refuses it the same way when that step is skipped.
    corr2d_strided returns the right answer only if both refusals came, word for word alike."""
    sources = solution_sources(CH1)
    sources["corr2d_strided"] = textwrap.dedent("""
        from autograder import provided

        def corr2d_strided(x, k, stride=1, padding=0):
            big = x.new_zeros(1536, 1536)
            messages = []
            learner = provided.remote.__self__
            for skip_the_learner_side in (False, True):
                calling = learner.calling
                if skip_the_learner_side:
                    learner.calling = None
                try:
                    provided.corr2d(big, k)
                    messages.append("computed")
                except RuntimeError as error:
                    messages.append(str(error))
                finally:
                    learner.calling = calling
            sh, sw = (stride, stride) if isinstance(stride, int) else stride
            out = provided.corr2d(provided.pad2d(x, padding), k)[::sh, ::sw]
            refused = ("autograder.provided.corr2d: ValueError: an argument of "
                       "autograder.provided.corr2d has 2,359,296 elements; this part's cases "
                       "need at most")
            return out if messages[0] == messages[1] and messages[0].startswith(refused) else -out
    """)
    result = _grade(sandbox, sources)
    tests = [t for t in result.tests if t.exercise == f"{CH1}.corr2d_strided"]
    assert tests and all(t.passed for t in tests), [t.message[:600] for t in tests]
    assert result.score == result.max_score, [t.message[:300] for t in result.tests if not t.passed]
