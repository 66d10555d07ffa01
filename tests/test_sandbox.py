"""The sandbox's own promises: a fresh state for every learner process, a control channel that
cannot get out of step, no /proc/self/mem, no NumPy, and the notebook parser that the grader
relies on to never fail.

Runs with torch and pytest alone (no nbgrader); the tests that start a sandbox are slow.
"""
import json
import os
import shutil
import time

import pytest

from autograder import notebook as nb
from autograder.learner_process import remove_contents
from tests.conftest import SOLUTIONS, filled_exercise, solution_sources, total_points

CH1 = "01_cross_correlation"
SANDBOXED = shutil.which("bwrap") is not None
OPTIONS = {"forbidden": None, "memory_limit": 4 << 30, "cpu_limit": 60, "output_limit": 1 << 16,
           "cuda": False}


# --- the notebook parser is total ------------------------------------------------------------------

@pytest.mark.parametrize("text, reason", [
    ("not json", "not valid JSON (Expecting value at line 1)"),
    ("[1, 2]", "not a notebook (no list of cells)"),
    ('{"cells": {}}', "not a notebook (no list of cells)"),
    ("[" * 100_000 + "]" * 100_000, "nested more than 64 levels deep"),
    ('{"cells": [], "metadata": ' + "[" * 70 + "]" * 70 + "}", "nested more than 64 levels"),
    ('{"cells": [' + ",".join(["{}"] * 2001) + "]}", "made of 2001 cells"),
    ('{"cells": [], "n": 1' + "0" * 5000 + "}", "not valid JSON"),
])
def test_the_parser_refuses_with_a_reason(text, reason):
    with pytest.raises(nb.NotebookError, match=reason.replace("(", r"\(").replace(")", r"\)")):
        nb.parse(text)


def test_malformed_metadata_reads_as_absent():
    notebook = nb.parse(json.dumps({"cells": [
        {"cell_type": "code", "source": ["a", 1], "metadata": {"nbgrader": []}},
        {"cell_type": "code", "source": "b", "metadata": {"nbgrader": {"grade_id": 7,
                                                                       "grade": True}}},
        "not a cell",
        {"cell_type": "markdown", "source": None, "metadata": []},
        {"cell_type": "code", "source": "t", "metadata": {"nbgrader": {
            "grade_id": "test_x", "grade": True, "solution": False}}}]}))
    first, second, third, fourth, fifth = notebook.cells
    assert first.source == "a1" and first.nbgrader == {} and first.label == "cell 1"
    assert second.grade_id is None and second.is_test and second.label == "cell 2"
    assert third.cell_type == "" and not third.is_code and fourth.source == ""
    assert fifth.is_test and fifth.grade_id == "test_x"
    assert [c.label for c in notebook.learner_cells()] == ["cell 1"]


def test_every_course_notebook_parses_the_same_as_json():
    for path in sorted(SOLUTIONS.glob("*/*.ipynb")):
        data = json.loads(path.read_text())
        parsed = nb.read(path)
        assert len(parsed.cells) == len(data["cells"])
        for cell, raw in zip(parsed.cells, data["cells"]):
            source = raw["source"]
            assert cell.source == ("".join(source) if isinstance(source, list) else source)


def test_the_learner_code_digest_is_total():
    from autograder.job import learner_code_digest
    for text in ("", "[" * 100_000, json.dumps({"cells": [{"metadata": {"nbgrader": []}}]})):
        assert len(learner_code_digest(text)) == 64


# --- clean-up ---------------------------------------------------------------------------------------

def test_remove_contents_restores_permissions_whatever_the_learner_did(tmp_path):
    root = tmp_path / "scratch"
    deep = root / "a"
    deep.mkdir(parents=True)
    for i in range(30):
        (deep / f"f{i}").write_text("x")
        deep = deep / "d"
        deep.mkdir()
    os.symlink("/", root / "link-to-root")
    folder = deep
    while folder != root:
        os.chmod(folder, 0)
        folder = folder.parent
    os.chmod(root, 0o500)
    assert remove_contents(str(root))
    assert root.is_dir() and not os.listdir(root)


def test_remove_contents_gives_up_at_its_deadline(tmp_path):
    root = tmp_path / "scratch"
    (root / "a").mkdir(parents=True)
    assert not remove_contents(str(root), deadline=time.monotonic() - 1)


# --- the sandbox --------------------------------------------------------------------------------------

def _new_sandbox():
    from autograder.sandbox import Sandbox
    return Sandbox(sandboxed=SANDBOXED)


@pytest.fixture(scope="module")
def shared_sandbox():
    """One sandbox for the tests that leave it usable (each learner process is new anyway)."""
    with _new_sandbox() as box:
        yield box


@pytest.fixture
def sandbox(shared_sandbox):
    assert shared_sandbox.usable(), "an earlier test left the shared sandbox broken"
    yield shared_sandbox
    assert shared_sandbox.usable(), "this test left the shared sandbox broken"


@pytest.fixture
def own_sandbox():
    """A sandbox of its own, for a test that breaks it on purpose."""
    with _new_sandbox() as box:
        yield box


def _cell(learner, source):
    header, _ = learner.request({"type": "cell", "source": source}, {"cell_done"}, 30)
    return header


@pytest.mark.slow
def test_each_learner_process_starts_in_a_new_empty_folder(sandbox):
    look = ("import json, os\n"
            "print(json.dumps([os.getcwd(), os.listdir('.'), "
            "os.listdir(os.path.dirname(os.getcwd()))]))\n")
    first = sandbox.spawn(OPTIONS)
    where, _, _ = json.loads(_cell(first, look)["output"])
    _cell(first, "open('mine', 'w').write('x')\nos.mkdir('locked')\nos.chmod('locked', 0)\n"
                 "os.chmod('.', 0)\nos.chmod('..', 0o500)")
    first.close()
    assert first.exit["clean"] and not sandbox.broken
    second = sandbox.spawn(OPTIONS)
    now, files, siblings = json.loads(_cell(second, look)["output"])
    second.close()
    assert now != where and files == [] and siblings == [os.path.basename(now)]


@pytest.mark.slow
def test_a_late_reply_breaks_the_sandbox_and_the_next_notebook_gets_a_fresh_one(
        own_sandbox, monkeypatch):
    """The zygote's clean-up outlasts the grader's wait: its late ``exited`` must never be taken
    for a later answer. The sandbox is marked broken, and grading goes on in a new one."""
    from autograder import sandbox as sandbox_module
    from autograder.job import GradingJob, source_tests
    from autograder.grade_notebook import grade_job
    learner = own_sandbox.spawn(OPTIONS)
    _cell(learner, "import os\nfor i in range(30000): open(f'f{i}', 'w').close()")
    monkeypatch.setattr(sandbox_module, "EXIT_TIMEOUT", 0.001)
    learner.close()
    assert own_sandbox.broken and not own_sandbox.usable()
    monkeypatch.undo()
    with pytest.raises(sandbox_module.LearnerGone, match="cannot be used"):
        own_sandbox.spawn(OPTIONS)
    notebook = json.dumps(filled_exercise(CH1, solution_sources(CH1)))
    job = GradingJob("s", CH1, notebook, source_tests(SOLUTIONS / CH1 / f"{CH1}.ipynb"), 1, "h",
                     sandboxed=SANDBOXED)
    result = grade_job(job, own_sandbox)
    assert result.score == total_points(CH1), [t.message for t in result.tests if not t.passed]


@pytest.mark.slow
def test_replies_out_of_step_are_refused(sandbox):
    """A learner process that writes frames of its own (here a second reply to the request it
    is answering) is out of step at the next request: it is killed, and its late frame is never
    taken for the answer to that request."""
    from autograder.sandbox import LearnerGone
    learner = sandbox.spawn(OPTIONS)
    forge = ("import os\nfrom autograder import wire\n"
             "for fd in range(3, 64):\n"
             "    try:\n"
             "        os.write(fd, wire.encode({'type': 'cell_done', 'id': 1, 'output': 'forged',"
             " 'overflow': False}))\n"
             "    except OSError:\n"
             "        pass\n")
    _cell(learner, forge)
    with pytest.raises(LearnerGone, match="out of step"):
        _cell(learner, "print('the real second answer')")
    learner.close()


@pytest.mark.slow
@pytest.mark.skipif(not SANDBOXED, reason="needs bubblewrap")
def test_no_numpy_and_no_own_memory_in_the_sandbox(sandbox):
    learner = sandbox.spawn(OPTIONS)
    header = _cell(learner, "import os, sys\n"
                            "print(os.path.exists('/proc/self/mem'), os.listdir('/proc'))\n"
                            "print(sorted(m for m in sys.modules if m.split('.')[0] == 'numpy'))\n"
                            "import numpy")
    learner.close()
    lines = header["output"].splitlines()
    assert lines == ["False ['cpuinfo']", "[]"], lines
    assert header["error"]["ename"] == "ModuleNotFoundError"
    assert "not available when your notebook is graded" in header["error"]["evalue"]


@pytest.mark.slow
def test_no_spelling_of_proc_reaches_the_process_memory_where_proc_is_mounted():
    """Without /proc in the sandbox there is nothing to open; where it is mounted (a CUDA
    worker, --no-sandbox, validate) the audit hook refuses every way of spelling a path to it."""
    from autograder.sandbox import Sandbox
    from tests.attacks.one_notebook import PROC_MEM_CORR2D
    with Sandbox(sandboxed=False) as box:
        learner = box.spawn(OPTIONS)
        header = _cell(learner, "import torch\n" + PROC_MEM_CORR2D.split("def corr2d")[0]
                       + "print(_can_write_own_memory(), os.path.exists('/proc/self/mem'))")
        violations = learner.take_violations()
        learner.close()
    assert header["output"].split() == ["False", "True"], header
    assert violations and all(kind == "sandbox" for kind, _ in violations), violations


def test_a_frame_that_comes_with_the_reply_is_judged_at_the_next_request_not_dropped():
    """Under load a forged second reply and the real one arrive in one read: the first answers
    the request, and the second must still be out of step at the next request (it used to be
    dropped with the rest of that read, so the forgery went unnoticed)."""
    import types

    from autograder import wire
    from autograder.sandbox import Learner, LearnerGone

    fake = types.SimpleNamespace(
        control=types.SimpleNamespace(send=lambda data: None),
        control_reply=lambda kinds, request_id, timeout: {"type": "exited", "clean": True})
    to_learner, from_learner = os.pipe(), os.pipe()
    learner = Learner(fake, 1, to_learner[1], from_learner[0])
    try:
        os.write(from_learner[1], wire.encode({"type": "cell_done", "id": 1, "output": "forged"})
                 + wire.encode({"type": "cell_done", "id": 1, "output": "real"}))
        header, _ = learner.request({"type": "cell", "source": ""}, {"cell_done"}, 5)
        assert header["output"] == "forged"
        with pytest.raises(LearnerGone, match="out of step") as gone:
            learner.request({"type": "cell", "source": ""}, {"cell_done"}, 5)
        assert not gone.value.timed_out
    finally:
        for fd in (*to_learner, *from_learner):
            os.close(fd)
