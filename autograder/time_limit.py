"""A time limit on a learner's call, inside the process that runs it (SIGALRM).

The grader also ends a call from outside when its deadline passes (`autograder.sandbox`); this
one gives instant feedback in a notebook. Standard library only.
"""
from __future__ import annotations

import signal
import threading
from contextlib import contextmanager

from .errors import LearnerTimeout

__all__ = ["time_limit"]


@contextmanager
def time_limit(seconds, function_name="your function"):
    """Raise `LearnerTimeout` inside the body if it runs longer than ``seconds``.

    Uses SIGALRM, so it works in the main thread on POSIX (where Jupyter kernels and pytest run
    code); elsewhere the body runs without a limit. The alarm re-fires every half second, so a
    learner's loop that catches the first interruption is interrupted again. During grading, a
    loop that swallows every interruption is ended from outside: the trusted grader kills the
    learner process when the call's deadline passes (`autograder.sandbox.Learner`).
    """
    usable = (hasattr(signal, "setitimer") and seconds
              and threading.current_thread() is threading.main_thread())
    if not usable:
        yield
        return

    fired = []

    def on_alarm(signum, frame):
        fired.append(signum)
        raise LearnerTimeout(f"{function_name} did not return within {seconds:g} s")

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds, 0.5)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
