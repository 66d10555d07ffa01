"""No criterion can be switched off with a line of Python (issue 14), through the real command.

Each attack (sources in `tests.attacks.criteria`) is wrong code with one criterion switched off:
it must lose the points of the function it cheats on, and the grader must flag what it can see
(``review`` when the code reaches behind the names a solution uses). An attack that changes the
library's state in the learner's process (``tampering``) loses every test that runs while the
change is in effect: all of them, since its cell runs in every learner process. The criteria and where each is
measured (README, "How a grade is made"):

* values, dtypes and shapes: compared in the grader's process;
* vectorisation: the learner process's CPU time, read from outside it, against the course's
  solution timed the same way (the in-process operation count only adds a clearer message);
* result device: read from the frames the learner process sends (which tensors came back marked
  as on the simulated device); mixing devices raises inside it, under the integrity snapshot;
* forbidden operators: disabled for the whole learner process, for good;
* no autograd, PyTorch only: watched inside the learner process (two watches for autograd; no
  NumPy or SciPy in the sandbox at all), under the integrity snapshot and the review.
"""
import pytest

from tests.attacks import CH1, attack_notebook, start_class
from tests.attacks import ch01 as A
from tests.attacks import criteria as C
from tests.conftest import points, total_points

pytestmark = pytest.mark.slow

CH7 = "07_gradients"
FULL = total_points(CH1)
NO_CORR2D = FULL - points(f"{CH1}.corr2d")
OWN = {"convolve2d": A.OWN_CONVOLVE2D, "corr2d_strided": A.OWN_STRIDED}

# attack -> (assignment, replaced functions, score, flags it must carry)
ATTACKS = {
    "a_padded_loop": (CH1, {"corr2d": C.PADDED_LOOP_CORR2D}, NO_CORR2D, set()),
    "b_hidden_loop": (CH1, {"corr2d": C.HIDDEN_LOOP_CORR2D}, NO_CORR2D, {"review"}),
    "c_watch_method": (CH1, {"corr2d": C.WATCH_METHOD_CORR2D}, 0.0, {"tampering", "review"}),
    "d_device_module_dict": (CH1, {"corr2d": C.DEVICE_MODULE_DICT_CORR2D}, 0.0,
                             {"tampering", "review"}),
    "e_device_result_on_cpu": (CH1, {"corr2d": C.DEVICE_RESULT_ON_CPU_CORR2D}, 0.0,
                               {"tampering", "review"}),
    "f_forgetful_record": (CH1, {"corr2d": C.FORGETFUL_RECORD_CORR2D}, 0.0,
                           {"forbidden", "tampering", "review"}),
    "g_numpy_dlpack": (CH1, {"corr2d": C.NUMPY_DLPACK_CORR2D}, NO_CORR2D, set()),
    "h_numpy_tolist": (CH1, {"corr2d": C.NUMPY_TOLIST_CORR2D}, NO_CORR2D, set()),
    "i_autograd": (CH7, {"conv2d_backward": C.AUTOGRAD_BACKWARD},
                   total_points(CH7) - points(f"{CH7}.conv2d_backward"), {"review"}),
    "j_watch_code": (CH1, {"corr2d": C.WATCH_CODE_CORR2D}, 0.0, {"tampering", "review"}),
}


def start(root):
    """Write the class under ``root`` and start grading it (see `tests.attacks.start_class`)."""
    students = {}
    for name, (assignment, replace, *_) in ATTACKS.items():
        helpers = OWN if assignment == CH1 else None
        students[name] = {assignment: attack_notebook(replace, assignment=assignment,
                                                      helpers=helpers)}
        students[f"{name}_next"] = {assignment: attack_notebook(assignment=assignment)}
    return start_class(root, students)


@pytest.fixture(scope="module")
def run(attack_classes):
    return attack_classes["test_criteria"].result()


def test_the_class_is_graded(run):
    assert run.proc.returncode == 0, run.proc.stderr[-4000:]
    assert "Traceback" not in run.proc.stderr, run.proc.stderr[-4000:]


@pytest.mark.parametrize("student", sorted(ATTACKS))
def test_each_attack_loses_the_points_it_cheats_for(run, student):
    assignment, _, score, _ = ATTACKS[student]
    row = run.row(student, assignment)
    assert (row["status"], row["score"]) == ("graded", score), row


@pytest.mark.parametrize("student", sorted(ATTACKS))
def test_each_attack_is_flagged(run, student):
    assignment, _, _, flags = ATTACKS[student]
    assert flags <= run.flags(student, assignment), run.row(student, assignment)


@pytest.mark.parametrize("student", [f"{name}_next" for name in ATTACKS])
def test_the_classmate_graded_next_keeps_full_marks(run, student):
    assignment = ATTACKS[student.removesuffix("_next")][0]
    row = run.row(student, assignment)
    assert (row["status"], row["score"], row["flags"]) == (
        "graded", total_points(assignment), ""), row


def test_vectorisation_is_judged_by_cpu_time_measured_outside(run):
    """The padded loop's operation count does not grow: the CPU time is what fails it."""
    feedback = (run.out / "feedback" / "a_padded_loop" / CH1 / f"{CH1}.html").read_text()
    assert "of CPU time" in feedback and "times the course" in feedback
