"""Python is parsed one thread at a time in the grader (`autograder.notebook.parse_python`):
CPython 3.11's AST conversion shares its recursion depth between threads, and a Dask worker
grading two notebooks at once lost one to "SystemError: AST constructor recursion depth
mismatch". The parse is stretched here so that threads would overlap if they could."""
import ast
import contextlib
import threading
import time

from autograder import notebook
from autograder.review import review_reasons


def _most_at_once(monkeypatch, threads=6):
    """The largest number of threads inside ``ast.parse`` at once while ``threads`` threads
    review a notebook of five cells each."""
    inside, most = [0], [0]
    guard = threading.Lock()
    real = ast.parse

    def slow_parse(source, *args, **kwargs):
        with guard:
            inside[0] += 1
            most[0] = max(most[0], inside[0])
        time.sleep(0.02)
        try:
            return real(source, *args, **kwargs)
        finally:
            with guard:
                inside[0] -= 1

    monkeypatch.setattr(ast, "parse", slow_parse)
    cells = [("corr2d", "def corr2d(x, k):\n    return x\n")] * 5
    started = [threading.Thread(target=review_reasons, args=(cells,)) for _ in range(threads)]
    for thread in started:
        thread.start()
    for thread in started:
        thread.join()
    return most[0]


def test_threads_never_parse_at_the_same_time(monkeypatch):
    assert _most_at_once(monkeypatch) == 1


def test_without_the_lock_they_do(monkeypatch):
    """The test above can fail: the same threads overlap once the lock is gone."""
    monkeypatch.setitem(vars(notebook), "_AST_LOCK", contextlib.nullcontext())
    assert _most_at_once(monkeypatch) > 1
