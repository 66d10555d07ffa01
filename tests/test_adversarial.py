"""A class of cheaters, graded once through ``python -m autograder grade``.

Each student of the class is one attack (sources in `tests.attacks.ch01`) on assignment
01_cross_correlation (five functions; points from the registry, corr2d worth 3): compute
``F.conv2d`` where the guards might not look (threads, helper processes, native code, kernels
re-enabled), fool the checks (fake library, replaced code, lying tensors, edited tests), read or
write what only the instructor may (solutions, gradebook, course secret, other submissions, the
network), predict the hidden cases, or bring grading down (fork and memory bombs, floods, hangs,
crashes). Two honest students are graded in the same run and must keep full marks.

Unless said otherwise an attacking notebook solves every function honestly, except that
``convolve2d`` and ``corr2d_strided`` do not use ``corr2d`` and ``corr2d`` is the cheat, which
falls back to a wrong answer when its trick fails: a contained attack costs exactly 3 points.
An attack that succeeds makes its test fail: the test states what must hold, it is never
weakened to match what the grader does.

Two more small runs (`broken_runs`) hold the submissions that stop the instructor's command
itself, so that the main run stays readable when they do.
"""
import hashlib
import json
import http.server
import secrets
import sqlite3
import subprocess
import sys
import threading
import uuid
from pathlib import Path

import pytest

from tests.attacks import ch01 as A
from autograder.exercise_db import exercise_db
from tests.conftest import (REPO, SOLUTIONS, filled_exercise, nbgrader_meta, points,
                            solution_sources, summary_block, total_points, write_submission)

pytestmark = pytest.mark.slow

CH1 = "01_cross_correlation"
FULL = total_points(CH1)
ONE_FUNCTION = FULL - points(f"{CH1}.corr2d")   # corr2d's points lost, everything else graded
VISIBLE_ONLY = FULL - exercise_db[f"{CH1}.corr2d"].hidden_points   # its hidden tests fail
NO_PAD2D = FULL - points(f"{CH1}.pad2d")                     # pad2d's points lost
NO_OUTPUT_SIZE = FULL - points(f"{CH1}.conv_output_size")    # conv_output_size's points lost
MEMORY_LIMIT_GIB = 2
RUN_TIMEOUT = 900
HONEST = ("honest_a", "honest_b")
VICTIM = "honest_a"


# --- building the class ---------------------------------------------------------------------------

def _cell(source, index):
    return {"cell_type": "code", "execution_count": None, "id": f"adversarial-{index}",
            "metadata": {}, "outputs": [], "source": source}


def _notebook(replace=None, after=(), own_helpers=True):
    """The exercise filled with the solution, ``replace``d functions and extra cells.

    ``after`` is a list of (grade_id, source): a new code cell right after that cell.
    """
    sources = solution_sources(CH1)
    if own_helpers:
        sources.update(convolve2d=A.OWN_CONVOLVE2D, corr2d_strided=A.OWN_STRIDED)
    sources.update(replace or {})
    notebook = filled_exercise(CH1, sources)
    for index, (grade_id, source) in enumerate(after):
        at = next(i for i, c in enumerate(notebook["cells"])
                  if nbgrader_meta(c).get("grade_id") == grade_id)
        notebook["cells"].insert(at + 1, _cell(source, index))
    return notebook


def _tampered(delete):
    """conv_output_size wrong; every test cell replaced by ``pass`` (or deleted)."""
    notebook = _notebook({"conv_output_size": A.WRONG_CONV_OUTPUT_SIZE})
    tests = [c for c in notebook["cells"]
             if nbgrader_meta(c).get("grade") and not nbgrader_meta(c).get("solution")]
    assert len(tests) == 10
    for cell in tests:
        cell["source"] = "pass"
    if delete:
        notebook["cells"] = [c for c in notebook["cells"] if not any(c is t for t in tests)]
    return notebook


def _lookup_table(seeds):
    """{case key: F.conv2d answer} for corr2d's visible cases and the hidden cases of ``seeds``
    (each with the large inputs its CPU-time check draws from the same seed)."""
    from autograder.exercise_db import get_exercise
    from autograder.samples import Draw
    info = get_exercise(f"{CH1}.corr2d")
    table = {}
    for seed, hidden in [(0, False)] + [(s, True) for s in seeds]:
        for sample in [*info.sample_inputs(Draw(seed), hidden), *info.timing_inputs(Draw(seed))]:
            x, k = sample.args
            table[A.case_key(x, k)] = info.reference(x, k).tolist()
    return json.dumps(table)


def _class(paths, secret, port):
    """{student: notebook}: the honest students and one student per attack."""
    from autograder.job import learner_code_digest, student_seed
    from autograder.nbgrader_config import DEFAULT_GRADEBOOK

    solution = _notebook(own_helpers=False)
    marker = paths["marker"]
    victim_notebook = paths["submitted"] / VICTIM / CH1 / f"{CH1}.ipynb"
    corr2d = lambda source: {"corr2d": source}           # noqa: E731
    extra = lambda source, at="setup": [(at, source)]   # noqa: E731
    students = {name: solution for name in HONEST}
    students.update({
        # 1. threads
        "thread_at_call": _notebook(corr2d(A.THREAD_AT_CALL)),
        "thread_at_cell": _notebook(corr2d(A.THREAD_AT_CELL)),
        # 2. helper processes
        "multiprocessing": _notebook(corr2d(A.MULTIPROCESSING)),
        "subprocess": _notebook(corr2d(A.SUBPROCESS)),
        "os_fork": _notebook(corr2d(A.OS_FORK)),
        "os_system": _notebook(corr2d(A.OS_SYSTEM)),
        "posixsubprocess": _notebook(corr2d(A.POSIXSUBPROCESS)),
        # 3. a fake check library, installed before the test cells
        "fake_autograder": _notebook(corr2d(A.WRONG_CORR2D), extra(A.FAKE_AUTOGRADER, "corr2d")),
        # 4. introspection and native code
        "gc_code": _notebook(corr2d(A.WRONG_CORR2D), extra(A.GC_CODE, "corr2d")),
        "originals_code": _notebook(corr2d(A.WRONG_CORR2D), extra(A.ORIGINALS, "corr2d")),
        "ctypes": _notebook(corr2d(A.CTYPES)),
        # 5. reading the solution and the instructor's files
        "read_solution": _notebook(corr2d(A.fill(A.READ_SOLUTION, SOLUTIONS=str(SOLUTIONS)))),
        "read_secrets": _notebook(corr2d(A.WRONG_CORR2D), extra(A.fill(A.READ_SECRETS, PATHS=[
            str(DEFAULT_GRADEBOOK), "~/.local/share/convolutions-hands-on/gradebook.db",
            str(Path.home() / ".local/share/convolutions-hands-on/course-secret"),
            str(paths["gradebook"]), str(paths["private"] / "course-secret"),
            str(paths["private"] / "grading-state.db"),
            str(SOLUTIONS / CH1 / f"{CH1}.ipynb"),
            str(REPO / "tests" / "implementations" / "ch01_cross_correlation.py"),
            str(victim_notebook), str(paths["canary"])]))),
        # 6. writing outside the sandbox
        "write_outside": _notebook(corr2d(A.WRONG_CORR2D), extra(A.fill(
            A.WRITE_OUTSIDE, PAYLOAD=paths["payload"],
            APPEND=[str(victim_notebook), str(paths["canary"]), str(paths["gradebook"]),
                    str(paths["private"] / "grading-state.db"),
                    str(paths["private"] / "course-secret")],
            CREATE=[str(victim_notebook.parent / f"{marker}.txt"),
                    str(paths["out"] / f"{marker}.txt"), str(paths["private"] / f"{marker}.txt"),
                    *[str(p) for p in paths["must_not_exist"]]],
            DELETE=[str(paths["canary"])],
            RMTREE=[str(paths["submitted"] / "honest_b")],
            DATABASES=[str(paths["gradebook"]), str(paths["private"] / "grading-state.db")]),
            "corr2d")),
        # 7. the network
        "network": _notebook(corr2d(A.fill(A.NETWORK, URL=f"http://127.0.0.1:{port}",
                                             PORT=port))),
        # 8. denial of service
        "fork_bomb": _notebook(after=extra(A.FORK_BOMB)),
        "memory_bomb_cell": _notebook(after=extra(A.MEMORY_BOMB_CELL)),
        "memory_bomb_call": _notebook(corr2d(A.MEMORY_BOMB_CALL)),
        "output_flood": _notebook(after=extra(A.OUTPUT_FLOOD)),
        "endless_cell": _notebook(after=extra(A.ENDLESS_CELL)),
        "endless_cell_swallowing": _notebook({"pad2d": A.PAD2D_THEN_SWALLOW}),
        "endless_function": _notebook({"conv_output_size": A.ENDLESS_FUNCTION}),
        "exit_cell": _notebook(after=extra(A.EXIT_CELL)),
        "kill_zygote": _notebook(after=extra(A.KILL_ZYGOTE)),
        # 9. predicting the hidden cases
        "old_seed": _notebook(corr2d(A.fill(A.LOOKUP_TABLE, TABLE=_lookup_table(
            [student_seed("old_seed", CH1, CH1, "")])))),
        # the seed printed in the feedback of an earlier, honest submission
        "seed_from_feedback": _notebook(corr2d(A.fill(A.LOOKUP_TABLE, TABLE=_lookup_table(
            [student_seed("seed_from_feedback", CH1, CH1, secret,
                          learner_code_digest(json.dumps(_notebook())))])))),
        # 10. undoing the disabled kernels
        "dispatch_tricks": _notebook(corr2d(A.DISPATCH_TRICKS)),
        "library_reregister": _notebook(corr2d(A.LIBRARY_REREGISTER)),
        # 11. edited or deleted test cells
        "tampered_pass": _tampered(delete=False),
        "tampered_deleted": _tampered(delete=True),
        # 12. results that lie about themselves
        "tensor_subclass": _notebook(corr2d(A.SUBCLASS)),
        "torch_function_object": _notebook(corr2d(A.TORCH_FUNCTION_OBJECT)),
        # 13. the provided helpers, for the part they would answer
        "provided_answer": _notebook(corr2d(A.PROVIDED_ANSWER)),
        "provided_forged": _notebook(corr2d(A.PROVIDED_FORGED)),
        # further tricks
        "planted_module": _notebook(corr2d(A.PLANTED_HELPER_CORR2D), extra(A.PLANT_CELL)),
        "memory_scan": _notebook(corr2d(A.MEMORY_SCAN_CORR2D), extra(A.MEMORY_SCAN)),
        "tmp_persists": _notebook({"corr2d": A.WRONG_CORR2D,
                                   "conv_output_size": A.PERSIST_CONV_OUTPUT_SIZE},
                                  extra(A.PERSIST_WRITE, "corr2d")),
        "tmpfs_memory": _notebook(after=extra(A.TMPFS_FILL)),
        # 14. code hidden among the course's own install lines, which the review skips
        "install_smuggle": _install_smuggled(),
    })
    return students


def _install_smuggled():
    """The honest notebook with a line slipped into its setup cell's install lines (which never
    run where the course is installed): no longer exactly the course's, so they are read."""
    notebook = _notebook(own_helpers=False)
    setup = next(c for c in notebook["cells"] if nbgrader_meta(c).get("grade_id") == "setup")
    source = "".join(setup["source"])
    assert "    import subprocess\n" in source
    setup["source"] = source.replace("    import subprocess\n",
                                     "    import subprocess\n    import ctypes\n")
    return notebook


# What each student must score. Attacks on corr2d, conv_output_size or pad2d lose that function.
SCORES = {
    **{name: FULL for name in HONEST},
    "thread_at_call": ONE_FUNCTION, "thread_at_cell": ONE_FUNCTION,
    "multiprocessing": ONE_FUNCTION, "subprocess": ONE_FUNCTION, "os_fork": ONE_FUNCTION,
    "os_system": ONE_FUNCTION, "posixsubprocess": ONE_FUNCTION,
    "fake_autograder": ONE_FUNCTION, "gc_code": ONE_FUNCTION, "originals_code": ONE_FUNCTION,
    "ctypes": ONE_FUNCTION, "read_solution": ONE_FUNCTION, "read_secrets": ONE_FUNCTION,
    "write_outside": ONE_FUNCTION, "network": ONE_FUNCTION,
    "fork_bomb": FULL, "memory_bomb_cell": FULL, "memory_bomb_call": ONE_FUNCTION,
    "output_flood": FULL, "endless_cell": FULL, "endless_cell_swallowing": NO_PAD2D,
    "endless_function": NO_OUTPUT_SIZE, "exit_cell": FULL, "kill_zygote": FULL,
    "old_seed": VISIBLE_ONLY,
    "dispatch_tricks": ONE_FUNCTION, "library_reregister": ONE_FUNCTION,
    "tampered_pass": NO_OUTPUT_SIZE, "tampered_deleted": NO_OUTPUT_SIZE,
    "tensor_subclass": ONE_FUNCTION, "torch_function_object": ONE_FUNCTION,
    "provided_answer": ONE_FUNCTION, "provided_forged": ONE_FUNCTION,
    "install_smuggle": FULL,
}

# Attacks that would get full marks if they worked: whatever else happens, they must not.
MUST_NOT_GET_FULL_MARKS = ("seed_from_feedback", "planted_module", "memory_scan")

# The flags (autograder.result.FLAGS) that each attack must raise in the CSV.
# "memory": an allocation refused at --memory-limit (an error in a cell or a call) hits the memory
# limit as much as a process killed for it. posixsubprocess: a process start that only the seccomp
# filter stops is still an attempt to start a process.
FLAGS = {
    "thread_at_call": {"sandbox"}, "thread_at_cell": {"sandbox"},
    "multiprocessing": {"sandbox"}, "subprocess": {"sandbox"}, "os_fork": {"sandbox"},
    "os_system": {"sandbox"}, "posixsubprocess": {"sandbox"},
    "gc_code": {"sandbox"}, "ctypes": {"sandbox", "forbidden"}, "network": {"sandbox"},
    "fork_bomb": {"sandbox"}, "kill_zygote": {"sandbox"},
    "memory_bomb_cell": {"memory"}, "memory_bomb_call": {"memory"},
    "output_flood": {"output"}, "endless_cell": {"timeout"},
    "endless_cell_swallowing": {"timeout"}, "endless_function": {"timeout"},
    "exit_cell": {"crash"},
    "dispatch_tricks": {"forbidden"}, "library_reregister": {"forbidden"},
    "tampered_pass": {"tampered"}, "tampered_deleted": {"tampered"},
    "provided_forged": {"review"}, "install_smuggle": {"review"},
}


# --- running it -------------------------------------------------------------------------------------

class _Server:
    """An HTTP server on 127.0.0.1 that records every connection; stops itself after a while."""

    def __init__(self, lifetime=RUN_TIMEOUT + 60):
        seen = self.seen = []

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                seen.append(("GET", self.path))
                self.send_response(200)
                self.end_headers()
                self.wfile.write(b"[[0.0]]")

            def log_message(self, *args):
                pass

        class Server(http.server.ThreadingHTTPServer):
            daemon_threads = True

            def verify_request(self, request, client_address):
                seen.append(("connect", client_address))
                return True

        self.httpd = Server(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.2},
                                       daemon=True)
        self.timer = threading.Timer(lifetime, self.httpd.shutdown)
        self.timer.daemon = True

    def __enter__(self):
        self.thread.start()
        self.timer.start()
        return self

    def __exit__(self, *exc):
        self.timer.cancel()
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(5)


def _digest(folder):
    folder = Path(folder)
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def _start(root, workers=2):
    """Start `python -m autograder grade` on root/submitted (gradebook in root/private, CSV,
    feedback and report in root/out); its output goes to root/stdout.txt and root/stderr.txt."""
    command = [sys.executable, "-m", "autograder", "grade", str(root / "submitted"),
               "--out", str(root / "out" / "grades.csv"),
               "--gradebook", str(root / "private" / "gradebook.db"),
               "--workers", str(workers), "--timeout", "10", "--call-time-limit", "3",
               "--memory-limit", str(MEMORY_LIMIT_GIB), "--no-progress", "--verbose"]
    with open(root / "stdout.txt", "w") as stdout, open(root / "stderr.txt", "w") as stderr:
        return subprocess.Popen(command, cwd=REPO, stdout=stdout, stderr=stderr, text=True)


def _finish(process, root):
    try:
        process.wait(RUN_TIMEOUT)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    return subprocess.CompletedProcess(process.args, process.returncode,
                                       (root / "stdout.txt").read_text(),
                                       (root / "stderr.txt").read_text())


def _rows(out):
    from autograder.instructor.record import read_csv
    path = out / "grades.csv"
    return {r["student_id"]: r for r in read_csv(path)} if path.exists() else {}


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    root = tmp_path_factory.mktemp("adversarial")
    submitted, private, out, outside = (root / n for n in ("submitted", "private", "out", "outside"))
    for folder in (private, outside):
        folder.mkdir()
    secret = secrets.token_hex(32)
    (private / "course-secret").write_text(secret + "\n")
    (outside / "canary.txt").write_text("a file outside every sandbox\n")
    marker = f"ADVERSARIAL-{uuid.uuid4().hex}"         # names of files the attackers create
    payload = f"PWNED-{uuid.uuid4().hex}"              # what they write into files
    must_not_exist = [REPO / f"{marker}.txt", REPO / "solutions" / f"{marker}.txt",
                      REPO / "autograder" / f"{marker}.txt", Path("/tmp") / f"{marker}.txt",
                      Path.home() / ".local/share/convolutions-hands-on" / f"{marker}.txt"]
    paths = {"submitted": submitted, "private": private, "out": out, "marker": marker,
             "payload": payload,
             "gradebook": private / "gradebook.db", "canary": outside / "canary.txt",
             "must_not_exist": must_not_exist}
    with _Server() as server:
        students = _class(paths, secret, server.port)
        for student, notebook in students.items():
            write_submission(submitted, student, CH1, notebook)
        before = {"submitted": _digest(submitted), "outside": _digest(outside),
                  "secret": _digest(private)}
        proc = _finish(_start(root), root)
    created = [p for p in must_not_exist if p.exists()] + sorted(REPO.glob("adversarial-persist-*"))
    for path in created:            # report it, but leave nothing behind in shared places
        path.unlink()
    return {"proc": proc, "rows": _rows(out), "summary": proc.stdout, "students": set(students),
            "out": out, "private": private, "marker": marker, "payload": payload,
            "must_not_exist": must_not_exist, "seen": list(server.seen),
            "before": before, "after": {"submitted": _digest(submitted),
                                        "outside": _digest(outside)},
            "created": created}


def _row(graded, student):
    rows = graded["rows"]
    assert student in rows, (f"no CSV row for {student}; the run said:\n"
                             f"{graded['proc'].stderr[-3000:]}")
    return rows[student]


def _flags(graded, student):
    return set(_row(graded, student)["flags"].split())


def _block(graded, student):
    """The summary's lines about one student (header, flags, problems, failing tests)."""
    return summary_block(graded["summary"], student, CH1)


# --- the run as a whole -------------------------------------------------------------------------------

def test_the_run_completes_and_grades_everyone(graded):
    proc = graded["proc"]
    assert proc.returncode == 0, proc.stderr[-4000:]
    assert "Traceback" not in proc.stderr, proc.stderr[-4000:]
    assert set(graded["rows"]) == graded["students"]
    not_graded = {s: r["reason"] for s, r in graded["rows"].items() if r["status"] != "graded"}
    assert not not_graded


@pytest.mark.parametrize("student", HONEST)
def test_honest_students_keep_full_marks_and_get_feedback(graded, student):
    row = _row(graded, student)
    assert (row["status"], row["score"], row["max_score"]) == ("graded", FULL, FULL), row
    assert row["flags"] == ""
    page = graded["out"] / "feedback" / student / CH1 / f"{CH1}.html"
    assert page.is_file() and f"{FULL:g} / {FULL:g}" in page.read_text()


@pytest.mark.parametrize("student", sorted(set(SCORES) - set(HONEST)))
def test_each_attack_costs_exactly_what_it_should(graded, student):
    row = _row(graded, student)
    assert row["status"] == "graded", row
    assert row["score"] == SCORES[student], (row, _block(graded, student))


@pytest.mark.parametrize("student", MUST_NOT_GET_FULL_MARKS)
def test_attacks_that_would_compute_the_answer_do_not_get_full_marks(graded, student):
    """A lookup table may hold the public visible cases (1 point), never the hidden ones."""
    bound = VISIBLE_ONLY if student == "seed_from_feedback" else ONE_FUNCTION
    row = _row(graded, student)
    assert row["score"] is not None and row["score"] <= bound, (row, _block(graded, student))


@pytest.mark.parametrize("student", sorted(FLAGS))
def test_each_attack_is_flagged(graded, student):
    assert FLAGS[student] <= _flags(graded, student), (_row(graded, student),
                                                        _block(graded, student))


def test_flags_are_known_words():
    from autograder.result import FLAGS as KNOWN
    assert {f for expected in FLAGS.values() for f in expected} <= set(KNOWN)


# --- what the summary tells the instructor -------------------------------------------------------------

@pytest.mark.parametrize("student, words", [
    ("thread_at_call", "start a thread"), ("thread_at_cell", "start a thread"),
    ("multiprocessing", "start a process"), ("os_fork", "start a process"),
    ("subprocess", "start a program"), ("os_system", "start a program"),
    ("gc_code", "walk the heap"), ("ctypes", "native code"),
    ("network", "network"), ("kill_zygote", "send a signal"),
    ("dispatch_tricks", "forbidden operation aten."),
    ("library_reregister", "forbidden operation aten."),
    ("tensor_subclass", "plain torch.Tensor"), ("torch_function_object", "torch.Tensor"),
    ("provided_answer", "called autograder.provided.corr2d, which this part may not use"),
    ("provided_forged", "called autograder.provided.corr2d, which this part may not use"),
    ("endless_cell", "was stopped"), ("endless_function", "did not return"),
    ("exit_cell", "exited"), ("output_flood", "output limit"),
    ("tampered_pass", "test cells changed"), ("tampered_deleted", "test cells changed"),
])
def test_the_summary_says_what_happened(graded, student, words):
    assert words in _block(graded, student)


def test_the_solution_and_the_instructors_files_cannot_be_read(graded):
    """The cell raises EXFIL-OK with what it read, or EXFIL-FAILED; its message is in the summary."""
    block = _block(graded, "read_secrets")
    assert "EXFIL-FAILED" in block and "EXFIL-OK" not in block, block


def test_the_hidden_seed_is_not_the_old_formula(graded):
    """The visible cases are public (seed 0): the table answers them. The hidden cases come from
    the course secret, so a table built from the old, unsalted seed misses every one."""
    block = _block(graded, "old_seed")
    assert "test_corr2d_hidden" in block and "test_corr2d:" not in block, block


# --- nothing outside the sandbox changed ----------------------------------------------------------------

def test_the_writes_were_refused(graded):
    """The cell raises WROTE-OUTSIDE with the paths it could write, or WRITE-REFUSED. Creating
    a file at a path that does not exist outside (the repository's folder, /tmp) may succeed in
    the sandbox's own file system: those paths are checked from outside below. Every write to a
    file that exists outside (another submission, the gradebook, the secret) must be refused."""
    block = _block(graded, "write_outside")
    assert "WRITE-REFUSED" in block or "WROTE-OUTSIDE" in block, block
    if "WROTE-OUTSIDE" in block:
        claimed = block.split("WROTE-OUTSIDE ")[1].split(" (at line")[0].split(" | ")
        assert set(claimed) <= {str(p) for p in graded["must_not_exist"]}, block


def test_other_submissions_are_untouched(graded):
    assert graded["after"]["submitted"] == graded["before"]["submitted"]
    assert _row(graded, VICTIM)["score"] == FULL and _row(graded, "honest_b")["score"] == FULL


def test_files_outside_every_sandbox_are_untouched(graded):
    assert graded["after"]["outside"] == graded["before"]["outside"]
    assert not graded["created"], f"created from inside the sandbox: {graded['created']}"
    assert not list(graded["out"].rglob(f"{graded['marker']}*"))
    assert not list(graded["private"].rglob(f"{graded['marker']}*"))


def test_the_gradebook_state_and_secret_are_untouched(graded):
    private, payload = graded["private"], graded["payload"].encode()
    assert _digest(private)["course-secret"] == graded["before"]["secret"]["course-secret"]
    for name in ("gradebook.db", "grading-state.db"):
        path = private / name
        assert payload not in path.read_bytes()
        with sqlite3.connect(path) as db:
            tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        assert "pwned" not in tables


def test_the_network_is_unreachable(graded):
    assert graded["seen"] == []
    assert "sandbox" in _flags(graded, "network")


# --- the further tricks, one by one ------------------------------------------------------------------

def test_a_module_planted_in_tmp_does_not_run_in_the_next_learner_process(graded):
    """The sandbox's /tmp is the first entry of the learner's sys.path and outlives each learner
    process. A sqlite3.py planted there (then os._exit) is imported by the restarted learner
    process while IPython sets up, before the seccomp filter and the audit hook: it forks an
    unconfined interpreter that computes F.conv2d for corr2d."""
    row = _row(graded, "planted_module")
    assert row["score"] <= ONE_FUNCTION, (row, _block(graded, "planted_module"))


def test_the_disabled_kernels_cannot_be_restored_from_inside(graded):
    """ctypes type punning (a Union of c_void_p, POINTER(c_char) and py_object) reads memory and
    turns addresses into objects with no audited event; the leaked _DispatchModule objects that
    hold the disabling kernels are found by scanning the process and reset()."""
    row = _row(graded, "memory_scan")
    assert row["score"] <= ONE_FUNCTION, (row, _block(graded, "memory_scan"))


def test_a_seed_shown_in_the_feedback_does_not_give_away_the_next_grading(graded):
    """The feedback and the CSV print the hidden-test seed, and the seed depends only on the
    student, the notebook and the course secret. A student who reads it and resubmits a table of
    answers (computed with F.conv2d at home, replaying `sample_input(..., seed=S, hidden=True)`)
    passes every hidden case without writing corr2d. The test builds the table from the seed the
    feedback would show (the fixture knows the course secret)."""
    row = _row(graded, "seed_from_feedback")
    assert row["score"] <= VISIBLE_ONLY, (row, _block(graded, "seed_from_feedback"))


def test_no_file_survives_from_one_learner_process_to_the_next(graded):
    """corr2d's cell leaves a file in /tmp and in the sandbox's root (the folder above the check
    library); conv_output_size (graded in a later learner process) fails if it sees a file left
    there by another process."""
    row = _row(graded, "tmp_persists")
    assert row["score"] == ONE_FUNCTION, (row, _block(graded, "tmp_persists"))


def test_files_in_tmp_count_against_the_memory_limit(graded):
    """tmpfs pages are not address space: a learner that writes 3 GiB of files into /tmp uses
    3 GiB of the machine's memory past a --memory-limit of 2 GiB."""
    block = _block(graded, "tmpfs_memory")
    assert "TMPFS-WROTE" in block, block
    written = int(block.split("TMPFS-WROTE ")[1].split()[0])
    assert written <= MEMORY_LIMIT_GIB * 1024, block


# --- submissions that stop the instructor's command ----------------------------------------------------

@pytest.fixture(scope="module")
def broken_runs(tmp_path_factory):
    """Two small runs, side by side (one worker each): honest_c with a notebook whose cells list
    holds a string, and honest_c with a forged violation frame. Separate runs, because either
    can stop the command before the other's result is written."""
    attackers = {
        "malformed_cell": _notebook(own_helpers=False),
        "forged_violation": _notebook({"conv_output_size": A.FORGED_VIOLATION}),
    }
    attackers["malformed_cell"]["cells"].append("a cell that is a string")
    started = {}
    for student, notebook in attackers.items():
        root = tmp_path_factory.mktemp(f"adversarial-{student}")
        write_submission(root / "submitted", "honest_c", CH1, _notebook(own_helpers=False))
        write_submission(root / "submitted", student, CH1, notebook)
        started[student] = (root, _start(root, workers=1))
    runs = {}
    for student, (root, process) in started.items():
        proc = _finish(process, root)
        runs[student] = {"proc": proc, "rows": _rows(root / "out"), "summary": proc.stdout}
    return runs


def test_a_malformed_notebook_does_not_stop_the_run(broken_runs):
    """A submitted notebook whose "cells" list holds a string: the worker grades it, then the
    instructor's process crashes writing its feedback (feedback.py: c.get on a str), and no CSV
    is written for anyone."""
    run = broken_runs["malformed_cell"]
    proc = run["proc"]
    assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr[-3000:]
    assert {"honest_c", "malformed_cell"} <= set(run["rows"])
    assert run["rows"]["honest_c"]["score"] == FULL


def test_a_forged_violation_cannot_break_the_summary_or_the_csv(broken_runs):
    """The learner writes a violation frame with kind '=HYPERLINK(...)' to its own pipe during a
    failing call: the kind lands unfiltered in the test's flags, GradingRun.summary raises
    KeyError (FLAGS[flag]) on this and on every later run (the result is stored), and the CSV's
    flags column holds a spreadsheet formula."""
    from autograder.result import FLAGS as KNOWN
    run = broken_runs["forged_violation"]
    proc = run["proc"]
    assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr[-3000:]
    assert run["rows"]["honest_c"]["score"] == FULL
    row = run["rows"]["forged_violation"]
    assert row["score"] == NO_OUTPUT_SIZE
    assert set(row["flags"].split()) <= set(KNOWN), row
    assert not any(value and str(value)[0] in "=+-@" for value in row.values()), row
