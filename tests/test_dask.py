"""Grading on a real Dask cluster, through the real command line.

A module fixture starts a Dask scheduler and two Dask workers from this virtual environment, all
bound to 127.0.0.1, and always stops them (terminate, then kill, each process group). The
workers are started as Dask's documentation starts them, ``dask worker ADDRESS``: one thread per
core (2 here), so that each worker grades two notebooks at once. A class of 9 chapter-1
submissions is then graded two ways (``--workers 2``, the default here, and ``--scheduler``):
the two CSVs must be byte-identical and the scores right. Finally one Dask worker is killed
(SIGKILL, its whole process group) while it is grading a class of 15: the command must still
exit 0, with a graded row and the right score for every student.
"""
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import REPO, SOLUTIONS, filled_exercise, solution_sources, write_submission
from tests.implementations import load_all

pytestmark = pytest.mark.slow

CH1 = "01_cross_correlation"
SALT = "test-dask-seed-salt"     # the same hidden-test seeds in every run (separate gradebooks)
DASK = Path(sys.executable).parent / "dask"
START_TIMEOUT = 90               # seconds for the scheduler and both workers to be ready
RUN_TIMEOUT = 600                # seconds for one grading command

MUTANTS, ALTERNATES = load_all()


# --- the class ----------------------------------------------------------------------------------
def _points():
    """{function: points of its tests} and the assignment's total, from the source notebook."""
    from autograder.job import source_tests
    points = {}
    for test in source_tests(SOLUTIONS / CH1 / f"{CH1}.ipynb"):
        points[test.function] = points.get(test.function, 0.0) + float(test.points)
    return points, sum(points.values())


def _one(table, function, index=0):
    return [i for i in table if i.exercise == f"{CH1}.{function}"][index].source()


def _class(root, larger=False):
    """Write the submissions under root; return {student: expected score}.

    The mutants are of functions no other function calls (convolve2d, conv_output_size), so each
    costs exactly its own tests' points.
    """
    points, full = _points()
    solution = solution_sources(CH1)
    alternates = {name: _one(ALTERNATES, name) for name in solution}
    students = {
        "perfect_a": (solution, full),
        "perfect_b": (solution, full),
        "untouched": ({}, 0.0),
        "mutant_convolve2d": ({**solution, "convolve2d": _one(MUTANTS, "convolve2d")},
                              full - points["convolve2d"]),
        "mutant_conv_output_size": ({**solution, "conv_output_size": _one(MUTANTS,
                                                                          "conv_output_size")},
                                    full - points["conv_output_size"]),
        "alternate": (alternates, full),
    }
    students["alternate_b"] = ({name: _one(ALTERNATES, name, 1) for name in solution}, full)
    students["mutant_conv_output_size_b"] = (
        {**solution, "conv_output_size": _one(MUTANTS, "conv_output_size", 2)},
        full - points["conv_output_size"])
    students["mutant_convolve2d_b"] = ({**solution, "convolve2d": _one(MUTANTS, "convolve2d", 1)},
                                       full - points["convolve2d"])
    if larger:      # long enough that a worker can be killed while it is grading
        for letter in "cdefg":
            students[f"perfect_{letter}"] = (solution, full)
        students["alternate_c"] = ({name: _one(ALTERNATES, name, 2) for name in solution}, full)
    for student, (sources, _) in students.items():
        write_submission(root, student, CH1, filled_exercise(CH1, sources))
    return {student: score for student, (_, score) in students.items()}, full


def _command(submitted, out_dir, *options):
    return [sys.executable, "-m", "autograder", "grade", str(submitted),
            "--out", str(out_dir / "grades.csv"), "--gradebook", str(out_dir / "private" / "gb.db"),
            "--force", "--seed-salt", SALT, "--no-progress", *options]


def _grade(submitted, out_dir, *options):
    proc = subprocess.run(_command(submitted, out_dir, *options), cwd=REPO, capture_output=True,
                          text=True, timeout=RUN_TIMEOUT)
    assert proc.returncode == 0, f"{options}: exit {proc.returncode}\n{proc.stderr[-4000:]}"
    return (out_dir / "grades.csv").read_bytes(), proc


def _check_scores(csv_path, expected, full):
    from autograder.instructor.record import read_csv
    rows = {r["student_id"]: r for r in read_csv(csv_path)}
    assert sorted(rows) == sorted(expected)
    for student, score in expected.items():
        row = rows[student]
        assert (row["assignment"], row["status"], row["score"], row["max_score"]) == \
            (CH1, "graded", score, full), row


# --- a real Dask cluster ------------------------------------------------------------------------
def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Cluster:
    """A Dask scheduler and workers, each `dask` command in its own process group."""

    def __init__(self, folder):
        self.folder = Path(folder)
        self.address = f"tcp://127.0.0.1:{_free_port()}"
        self.processes = {}           # name -> (Popen, log path)
        self.env = dict(os.environ, PYTHONPATH=os.pathsep.join(
            [str(REPO)] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]))

    def _start(self, name, *args):
        log = self.folder / f"{name}.log"
        with open(log, "wb") as handle:
            proc = subprocess.Popen([str(DASK), *args], cwd=self.folder, env=self.env,
                                    stdin=subprocess.DEVNULL, stdout=handle,
                                    stderr=subprocess.STDOUT, start_new_session=True)
        self.processes[name] = (proc, log)
        return proc

    def start(self, workers):
        self._start("scheduler", "scheduler", "--host", "127.0.0.1",
                    "--port", self.address.rsplit(":", 1)[1], "--no-dashboard")
        for i in range(workers):            # as users start them: one thread per core
            self._start(f"worker{i}", "worker", self.address, "--no-dashboard",
                        "--host", "127.0.0.1", "--local-directory", str(self.folder / f"worker{i}"))
        self.wait_for_workers(workers, START_TIMEOUT)

    def client(self, timeout=30):
        from distributed import Client
        return Client(self.address, timeout=f"{timeout}s", set_as_default=False)

    def wait_for_workers(self, n, timeout):
        deadline = time.monotonic() + timeout
        while True:
            for name, (proc, _) in self.processes.items():
                assert proc.poll() is None or not name.startswith("scheduler"), \
                    f"{name} exited ({proc.returncode})\n{self.logs()}"
            try:
                with self.client(timeout=max(1, min(10, deadline - time.monotonic()))) as client:
                    client.wait_for_workers(n, timeout=max(1, deadline - time.monotonic()))
                    return
            except (OSError, TimeoutError) as error:
                if time.monotonic() > deadline:
                    raise AssertionError(f"the Dask cluster was not ready in {timeout} s "
                                         f"({error})\n{self.logs()}") from error
                time.sleep(0.5)

    def group_of(self, pid):
        """The name of the `dask` command whose process group holds process ``pid``."""
        group = os.getpgid(pid)
        return next(name for name, (proc, _) in self.processes.items() if proc.pid == group)

    def kill(self, name):
        """SIGKILL the whole process group of one command (e.g. a worker's nanny and worker)."""
        proc, _ = self.processes[name]
        _signal_group(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)

    def stop(self):
        """Terminate every process group, then kill what is left; never raises."""
        for proc, _ in self.processes.values():
            if proc.poll() is None:
                _signal_group(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + 15
        for proc, _ in self.processes.values():
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                pass
        for proc, _ in self.processes.values():
            _signal_group(proc.pid, signal.SIGKILL)     # also a worker that outlived its nanny
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass

    def logs(self, tail=2000):
        return "\n".join(f"--- {name} ---\n{log.read_text(errors='replace')[-tail:]}"
                         for name, (_, log) in self.processes.items() if log.exists())


def _signal_group(group, sig):
    try:
        os.killpg(group, sig)
    except (ProcessLookupError, PermissionError):
        pass


@pytest.fixture(scope="module")
def dask_cluster(tmp_path_factory):
    pytest.importorskip("distributed")
    if not DASK.exists():
        pytest.skip(f"no {DASK}")
    from autograder.sandbox import SandboxUnavailable, bwrap_command
    try:
        bwrap_command()
    except SandboxUnavailable as error:
        pytest.skip(f"no sandbox: {error}")
    cluster = Cluster(tmp_path_factory.mktemp("dask"))
    try:
        cluster.start(workers=2)
        yield cluster
    finally:
        cluster.stop()


# --- the tests ----------------------------------------------------------------------------------
def test_local_and_dask_write_the_same_grades(dask_cluster, tmp_path):
    """The embedded default (local worker processes) and a Dask cluster whose workers run two
    threads each give the same CSV, byte for byte. (One worker, serial, is what the attack
    classes of tests/attacks use.)"""
    submitted = tmp_path / "submitted"
    expected, full = _class(submitted)
    local, _ = _grade(submitted, tmp_path / "local", "--workers", "2")
    dask, proc = _grade(submitted, tmp_path / "dask", "--scheduler", dask_cluster.address)
    assert f"with the Dask cluster at {dask_cluster.address}" in proc.stderr
    _check_scores(tmp_path / "local" / "grades.csv", expected, full)
    assert dask == local


def test_a_worker_killed_mid_run_loses_no_grade(dask_cluster, tmp_path):
    submitted = tmp_path / "submitted"
    expected, full = _class(submitted, larger=True)
    out_dir = tmp_path / "out"
    feedback = out_dir / "feedback"
    dask_cluster.wait_for_workers(2, START_TIMEOUT)
    stdout, stderr = open(tmp_path / "stdout", "w+"), open(tmp_path / "stderr", "w+")
    proc = subprocess.Popen(_command(submitted, out_dir, "--scheduler", dask_cluster.address),
                            cwd=REPO, stdout=stdout, stderr=stderr, stdin=subprocess.DEVNULL)
    try:
        with dask_cluster.client() as client:
            deadline = time.monotonic() + RUN_TIMEOUT
            victim = None
            while victim is None:
                assert proc.poll() is None, "the run ended before a worker could be killed"
                assert time.monotonic() < deadline, "no result was recorded in time"
                if any(feedback.rglob("*.html")):          # a first grade is recorded
                    busy = {w: keys for w, keys in client.processing().items() if keys}
                    if busy:
                        victim = sorted(busy)[0]
                        lost = busy[victim]
                time.sleep(0.2)
            pid = client.run(os.getpid, workers=[victim])[victim]
            dask_cluster.kill(dask_cluster.group_of(pid))
            proc.wait(timeout=RUN_TIMEOUT)
            assert victim not in client.scheduler_info()["workers"]
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        stdout.close()
        stderr.close()
    err = (tmp_path / "stderr").read_text()
    assert proc.returncode == 0, f"exit {proc.returncode}\n{err[-4000:]}\n{dask_cluster.logs()}"
    assert lost and all(key.startswith(f"grade-{CH1}-") for key in lost), lost
    _check_scores(out_dir / "grades.csv", expected, full)
