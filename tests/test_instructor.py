"""The instructor's side stays light: no torch in the process that plans, records and reports."""
import subprocess
import sys

import pytest

from tests.conftest import REPO


def test_the_grade_command_and_the_instructor_side_do_not_import_torch():
    """Only the grading workers (and the sandboxed learner processes) import torch."""
    code = ("import sys, autograder.__main__, autograder.sandbox, autograder.instructor.grade, "
            "autograder.instructor.record, autograder.instructor.executors, "
            "autograder.instructor.report, autograder.instructor.feedback, "
            "autograder.nbgrader_config\n"
            "from autograder.sandbox import bwrap_command, NO_SANDBOX_WARNING\n"
            "print(sorted(m for m in sys.modules if m == 'torch' or m.startswith('torch.')))")
    proc = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"


def test_importing_the_learner_library_is_free_until_used():
    proc = subprocess.run([sys.executable, "-c", "import sys, autograder; "
                           "print('torch' in sys.modules); autograder.check; "
                           "print('torch' in sys.modules)"],
                          cwd=REPO, capture_output=True, text=True, timeout=120)
    assert proc.stdout.split() == ["False", "True"], proc.stderr


def test_ctrl_c_never_cuts_a_record_in_half():
    """Ctrl-C while a grade or the outputs are written: held back until they are whole, then
    ignored (the outputs) or raised (between two grades)."""
    import os
    import signal

    from autograder.instructor.grade import _held_back

    # SIGINT as Python's default makes it (a shell's background job starts with it ignored)
    outer = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        written = []
        with _held_back():
            os.kill(os.getpid(), signal.SIGINT)
            written.append("csv")
        assert written == ["csv"]
        with pytest.raises(KeyboardInterrupt):
            with _held_back(then_raise=True):
                os.kill(os.getpid(), signal.SIGINT)
                written.append("grade")
        assert written == ["csv", "grade"]
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    finally:
        signal.signal(signal.SIGINT, outer)
