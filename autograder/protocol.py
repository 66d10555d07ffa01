"""The messages between the trusted grader and its sandbox, written down in one place.

Two channels carry `autograder.wire` frames (a JSON header; tensors as raw buffers in the body):

**control**: the grader and the sandbox's *zygote* (`autograder.learner_process.main`), over a Unix
socket; a ``spawn`` passes the new learner process's two pipe ends along (SCM_RIGHTS)::

    grader -> zygote   spawn    {id, options}      fork a learner process (options: SPAWN_OPTIONS)
                       kill     {id}               kill the learner process of spawn ``id``
                       quit     {}                 stop the zygote
    zygote -> grader   ready    {version, ipython}
                       spawned  {id, pid}
                       exited   {id, killed, signal, status, maxrss_kib, clean}

``exited`` comes once the learner process has ended *and* its scratch folders are gone;
``clean`` is False when they could not be removed (the grader then replaces the zygote).

**learner**: the grader and one learner process (`autograder.learner_process.LearnerProcess`), over
two pipes::

    grader -> learner  cell       {id, source}
                       call       {id, name, exercise, simulated, time_limit} + args, kwargs
                       provided_result {id} + value
                       provided_refused {id, message}
                       provided_error   {id, message}
                       exit       {}
    learner -> grader  ready      {version, pid}
                       cell_done  {id, output, overflow[, error]}
                       outcome    {id, OUTCOME_FIELDS...} + value, args, kwargs
                       missing    {id, found}
                       provided   {id, name} + args, kwargs     (while call ``id`` runs)
                       violation  {kind, message}             (at any time; no id)
                       internal_error {trace}

Every request carries an ``id`` (a counter per channel) and its reply repeats it. A reply with
another id, or of a kind the request cannot get, means the channel is out of step (a late reply,
a learner writing frames of its own): the grader kills that learner process, or replaces the
zygote, and reads nothing more from it (`ProtocolError`). ``time_limit`` is 0 in the sandbox:
the grader enforces the deadline from outside and the learner's process is not told it.

Standard library only.
"""
from __future__ import annotations

from dataclasses import dataclass, fields

__all__ = ["VERSION", "ProtocolError", "SPAWN_OPTIONS", "CallOutcome", "OUTCOME_FIELDS",
           "CONTROL_REPLIES",
           "LEARNER_REPLIES", "UNAVAILABLE", "check_reply", "provided_error_message"]

VERSION = 3

# Packages a learner process cannot import: NumPy, SciPy and the libraries built on them. Graded
# code is PyTorch (and plain Python); in the sandbox their folders are hidden as well.
UNAVAILABLE = ("numpy", "scipy", "matplotlib", "sklearn", "pandas", "skimage", "cv2", "numba",
               "jax", "jaxlib", "tensorflow", "cupy", "PIL")

# What a `spawn` may set, with what it means (read by `autograder.learner_process.LearnerProcess`).
SPAWN_OPTIONS = {
    "forbidden": "regex of the operator family disabled for the whole process, or None",
    "memory_limit": "bytes of address space (RLIMIT_AS); 0: none (CUDA)",
    "cpu_limit": "CPU seconds for the whole process (RLIMIT_CPU)",
    "output_limit": "characters of print output kept per cell or call",
    "cuda": "CUDA devices are used (initialised before the seccomp filter)",
}

@dataclass
class CallOutcome:
    """What one call of a learner's function did, wherever it ran (here or in a sandbox).

    ``kind`` is "returned", "raised" or "timeout". ``violation`` holds the message of a forbidden
    operation, autograd use or NumPy escape seen during the call, even if the learner's code
    caught the error. ``inputs_after`` is the call's arguments as they were after the call.
    ``wrong_device`` says which part of a result made on the simulated device was not on it.
    ``aliases`` names the input whose memory the result shares, if any.
    """

    kind: str
    value: object = None
    error_type: str = ""
    error_bases: tuple = ()
    error_message: str = ""
    line: str = ""
    stub: bool = False
    violation: str = ""
    violation_type: str = "ForbiddenOpError"
    op_count: int | None = None
    inputs_after: object = None
    time_limit: float = 0.0
    wrong_device: str = ""
    aliases: str = ""             # the input whose memory the result shares (x itself, a view)


# The fields of an `outcome` reply's header: `CallOutcome`'s, less the tensors (which travel
# as the reply's values) and the time limit (the grader's own).
OUTCOME_FIELDS = tuple(field.name for field in fields(CallOutcome)
                       if field.name not in ("value", "inputs_after", "time_limit"))

# request kind -> reply kinds it may get
CONTROL_REPLIES = {"spawn": {"spawned"}, "kill": {"exited"}}
LEARNER_REPLIES = {"cell": {"cell_done"}, "call": {"outcome", "missing"}}


def provided_error_message(error):
    """A ``provided_error``'s message: the grader's call failed on the learner's arguments (the
    learner process raises ``RuntimeError("autograder.provided.<name>: " + message)``)."""
    return f"{type(error).__name__}: {error}"[:4000]


class ProtocolError(Exception):
    """A reply that does not answer the request: the other side is out of step or lying."""


def check_reply(header, kinds, request_id):
    """Return ``header`` if it is one of ``kinds`` and answers ``request_id``; else raise."""
    kind = header.get("type")
    if kind not in kinds:
        raise ProtocolError(f"expected {' or '.join(sorted(kinds))} for request {request_id}, "
                            f"got {kind!r}")
    if header.get("id") != request_id:
        raise ProtocolError(f"a {kind!r} for request {header.get('id')!r} arrived while "
                            f"waiting for request {request_id}")
    return header
