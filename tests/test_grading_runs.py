"""`python -m autograder grade` as a whole run: interrupted with Ctrl-C, refused without
bubblewrap, and with --no-sandbox. The class graded in one run is in test_grading.py (these run
on their own, so that test files can run side by side)."""
import os
import signal
import subprocess
import sys
import time

import psutil
import pytest

from autograder.instructor.record import read_csv
from tests.conftest import REPO, filled_exercise, solution_sources, write_submission
from tests.test_grading import CH1, FULL, _grade_command

pytestmark = pytest.mark.slow


def test_an_interrupted_run_keeps_its_grades(tmp_path):
    """Ctrl-C mid-run: the grades made so far are kept, and the next run grades only the rest."""
    submitted = tmp_path / "submitted"
    count = 10                       # a second or more each, one at a time: after the first 2,
    for i in range(count):           # the rest leave seconds for the interrupt to come mid-run
        write_submission(submitted, f"s{i}", CH1, filled_exercise(CH1, solution_sources(CH1)))
    out = tmp_path / "out" / "grades.csv"
    command = _grade_command(submitted, out, tmp_path / "private", "--workers", "1")
    # Ctrl-C's default action in the child, whatever this process inherited: a Python process
    # started with SIGINT ignored (as some earlier test or a background shell job leaves it)
    # never raises KeyboardInterrupt.
    proc = subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    feedback = tmp_path / "out" / "feedback"
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and len(list(feedback.glob("*/*/*.html"))) < 2:
        time.sleep(0.2)
    assert proc.poll() is None, "grading ended before it could be interrupted"
    proc.send_signal(signal.SIGINT)
    stdout, _ = proc.communicate(timeout=120)
    assert proc.returncode == 130
    done = [r for r in read_csv(out) if r["status"] == "graded"]
    assert 2 <= len(done) < count and all(r["score"] == FULL for r in done)
    rest = [r for r in read_csv(out) if r["status"] != "graded"]   # submitted: never "missing"
    assert len(rest) == count - len(done) and {r["status"] for r in rest} == {"not graded yet"}
    again = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=600)
    assert again.returncode == 0
    assert f"{count - len(done)} notebook(s) graded" in again.stdout
    assert [r["score"] for r in read_csv(out)] == [FULL] * count



def test_grading_refuses_to_run_without_bubblewrap(tmp_path):
    write_submission(tmp_path / "submitted", "s", CH1, filled_exercise(CH1, {}))
    env = dict(os.environ, PATH=os.path.dirname(sys.executable))
    proc = subprocess.run(_grade_command(tmp_path / "submitted", tmp_path / "g.csv",
                                         tmp_path / "private"), cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert "bubblewrap is not installed" in proc.stderr and "--no-sandbox" in proc.stderr
    assert not (tmp_path / "g.csv").exists()



def test_no_sandbox_says_what_it_gives_up(tmp_path):
    """... and leaves no scratch folder behind (its worker's warm sandbox is never closed)."""
    write_submission(tmp_path / "submitted", "s", CH1, filled_exercise(CH1, solution_sources(CH1)))
    temporary = tmp_path / "tmp"
    temporary.mkdir()
    proc = subprocess.run(_grade_command(tmp_path / "submitted", tmp_path / "g.csv",
                                         tmp_path / "private", "--no-sandbox", "--workers", "1"),
                          cwd=REPO, capture_output=True, text=True, timeout=300,
                          env=dict(os.environ, TMPDIR=str(temporary)))
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "WITHOUT the operating-system sandbox" in proc.stderr
    assert read_csv(tmp_path / "g.csv")[0]["score"] == FULL
    assert not list(temporary.glob("autograder-learner-*")), list(temporary.iterdir())


def _running(process):
    """Whether ``process`` (a `psutil.Process`) still runs: not ended, not a zombie."""
    try:
        return process.is_running() and process.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def _command(process):
    try:
        return " ".join(process.cmdline())
    except psutil.Error:
        return ""


def test_a_killed_run_leaves_no_worker_or_sandbox_running(tmp_path):
    """kill -9 of the command mid-run (an instructor's, or the kernel's out-of-memory killer):
    its worker processes and their sandboxes end too, within seconds, instead of waiting
    forever for jobs with a warm sandbox each."""
    submitted = tmp_path / "submitted"
    for i in range(6):
        write_submission(submitted, f"s{i}", CH1, filled_exercise(CH1, solution_sources(CH1)))
    command = _grade_command(submitted, tmp_path / "g.csv", tmp_path / "private")  # 2 workers
    proc = subprocess.Popen(command, cwd=REPO, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)

    def started():
        try:
            return psutil.Process(proc.pid).children(recursive=True)
        except psutil.NoSuchProcess:
            return []

    def sandboxes(processes):
        return sum("autograder.learner_process" in _command(p) for p in processes)

    try:
        deadline, run = time.monotonic() + 120, []
        while time.monotonic() < deadline and proc.poll() is None:
            run = started()
            if sandboxes(run) >= 2:
                break                                  # both workers' sandboxes are up
            time.sleep(0.1)
        assert proc.poll() is None, "the run ended before it could be killed"
        assert sandboxes(run) >= 2
    finally:
        proc.kill()
        proc.wait()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and any(_running(p) for p in run):
        time.sleep(0.2)
    left = [p for p in run if _running(p)]
    try:
        assert not left, [_command(p)[:120] for p in left]
    finally:
        for process in left:                # psutil.Process: never a reused pid
            process.kill()
