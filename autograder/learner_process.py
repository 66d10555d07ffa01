"""The learner's process during grading: runs a notebook's cells and answers calls. Untrusted.

    python -m autograder.learner_process        (started by `autograder.sandbox`, inside bubblewrap)

One such *zygote* runs per grading worker. It imports torch and IPython once, never runs learner
code, and forks a fresh, single-use *learner process* for every piece of work the trusted grader
(`autograder.grade_notebook`) asks for (the messages: `autograder.protocol`). Each learner
process is locked down before any learner code runs (`autograder.lockdown`: file descriptors,
resource limits, the forbidden operators switched off, an audit hook, a seccomp filter), then
serves cells and calls (`LearnerProcess`).

NumPy, SciPy and the libraries built on them are not importable here (`protocol.UNAVAILABLE`): graded
code is PyTorch (and plain Python), and nothing a learner writes can leave it for another
library's convolution. In the sandbox their files are not even visible (`autograder.sandbox`).

When a learner process ends, the zygote removes everything it wrote (its scratch folder and
/dev/shm, permissions restored first, whatever the learner did to them) before it reports
``exited``; ``clean`` False there makes the grader replace the zygote, so no learner process
starts from a state an earlier one shaped.

The learner process decides nothing: the grader generates the cases, computes the references and
compares, in its own process, and measures the learner process's CPU time from outside.
Nothing here needs nbgrader; IPython is used for cell magics when it is installed.
"""
from __future__ import annotations

import builtins
import sys

from .protocol import UNAVAILABLE


class _Unavailable:
    """Meta-path finder and loader: `UNAVAILABLE` packages are found (so that code which only
    asks whether they exist goes on) but importing one raises, saying why."""

    @staticmethod
    def find_spec(name, path=None, target=None):
        if name.partition(".")[0] in UNAVAILABLE:
            from importlib.machinery import ModuleSpec
            return ModuleSpec(name, _Unavailable)
        return None

    @staticmethod
    def create_module(spec):
        return None

    @staticmethod
    def exec_module(module):
        top = module.__name__.partition(".")[0]
        raise ModuleNotFoundError(
            f"{top} is not available when your notebook is graded: the graded functions use "
            "PyTorch only (and plain Python). Remove this import (and any use of it).",
            name=module.__name__)


if __name__ == "__main__":         # the zygote: torch below must start without NumPy
    sys.meta_path.insert(0, _Unavailable)

import io
import itertools
import os
import select
import signal
import socket
import threading
import time
import traceback

import torch

from . import protocol, provided, wire
from .checks import call_locally, learner_line
from .integrity import Snapshot
from .errors import ForbiddenOpError
from .exercise_db import get_exercise
from .lockdown import Lockdown
from .op_watch import provided_running
from .samples import SampleInput
from .simulated import SimulatedTensor, leaves, map_tensors, from_simulated, to_simulated

try:
    from IPython.core.interactiveshell import InteractiveShell
except ImportError:      # a GPU machine with torch and pytest only
    InteractiveShell = None

__all__ = ["main", "LearnerProcess", "SCRATCH_ROOT", "remove_contents"]

# The learner's writable folder: a size-capped tmpfs in the sandbox (the rest of the sandbox's
# file system is read-only), emptied after every learner process. Without the sandbox
# (--no-sandbox) the launcher gives each zygote a private folder instead.
# (`main` sets both from its command line, before any learner process is forked.)
SCRATCH_ROOT = "/tmp/learner"
SANDBOXED = False
CELL_PREFIX = "<ipython-input-"


class _Output(io.TextIOBase):
    """``sys.stdout``/``sys.stderr`` for learner code: keeps the first ``limit`` characters."""

    def __init__(self, limit):
        self.limit, self.parts, self.size, self.overflow = limit, [], 0, False

    def writable(self):
        return True

    def write(self, text):
        text = str(text)
        room = self.limit - self.size
        if len(text) > room:
            self.overflow = True
            text = text[:max(room, 0)]
        if text:
            self.parts.append(text)
            self.size += len(text)
        return len(text)

    def take(self):
        text, self.parts, self.size = "".join(self.parts), [], 0
        return text


class LearnerProcess:
    """One learner process's life: `confine`, then `serve` cells and calls until told to exit."""

    def __init__(self, reader, writer, options, scratch):
        self.reader, self.writer, self.options = reader, writer, options
        self.scratch = scratch
        self.lock = threading.Lock()
        self.output = _Output(int(options.get("output_limit", 1 << 20)))
        self.current = ["your function"]
        self.calling = None                           # the part whose call is running
        self.request_id = None
        self.snapshot = None                          # taken in `serve`, before learner code
        self.lockdown = Lockdown(options, scratch, SCRATCH_ROOT, (reader, writer), self.output,
                                 self.violation, self.current, _is_cell)
        self.shell = None
        self.namespace = {"__name__": "__main__"}
        self.devices = ("cpu",) + tuple(f"cuda:{i}" for i in range(torch.cuda.device_count())
                                        if options.get("cuda"))

    # --- reporting ----------------------------------------------------------------------------
    def send(self, header, **values):
        with self.lock:
            wire.send(self.writer, header, **values)

    def reply(self, header, **values):
        """Answer the request being served (its id goes with the reply)."""
        self.send({**header, "id": self.request_id}, **values)

    def violation(self, kind, message):
        """Tell the grader at once (before the learner's code can catch anything)."""
        try:
            self.send({"type": "violation", "kind": kind, "message": message})
        except Exception:
            pass

    # --- confinement --------------------------------------------------------------------------
    def confine(self):
        """Lock this process down (`autograder.lockdown`), then take the shell the zygote made."""
        self.lockdown.apply()
        if InteractiveShell is not None and InteractiveShell.initialized():
            self.shell = InteractiveShell.instance()      # made by the zygote, no learner state
            self.namespace = self.shell.user_ns

    # --- work ---------------------------------------------------------------------------------
    def run_cell(self, source):
        error = None
        if self.shell is not None:
            result = self.shell.run_cell(source, store_history=False)
            error = result.error_before_exec or result.error_in_exec
        else:
            try:
                exec(compile(source, f"{CELL_PREFIX}{id(source)}>", "exec"), self.namespace)
            except BaseException as caught:  # noqa: B036 - reported, not handled
                error = caught
        reply = {"type": "cell_done", "output": self.output.take(),
                 "overflow": self.output.overflow}
        if error is not None:
            reply["error"] = {"ename": type(error).__name__, "evalue": str(error)[:4000],
                              "line": learner_line(error, _is_cell)}
        self.reply(reply)

    def call(self, header, values):
        name = header["name"]
        function = self.namespace.get(name)
        if not callable(function):
            self.reply({"type": "missing", "found": type(function).__name__
                        if name in self.namespace else None})
            return
        info = get_exercise(header["exercise"])
        sample = SampleInput(tuple(values.get("args", ())), dict(values.get("kwargs", {})))
        self.current[0], self.calling = name, info
        try:
            outcome = call_locally(info, function, sample, _is_cell,
                                   simulated=bool(header.get("simulated")),
                                   time_limit=float(header.get("time_limit") or 0),
                                   keep_simulated=True)
        finally:
            self.current[0], self.calling = "your function", None
        if not self.lockdown.intact():
            message = (f"{name} ran while the operators this exercise forbids had been "
                       "restored: the notebook changed the grader's disabled kernels.")
            self.violation("sandbox", message)
            outcome.violation, outcome.violation_type = message, "TamperingError"
        changed = self.snapshot.changes()
        if changed:
            message = (f"{name} ran after the notebook changed what the grader relies on "
                       f"({', '.join(changed[:4])}{' …' if len(changed) > 4 else ''}). Remove "
                       "the code that does this; no test can pass while it is in effect.")
            self.violation("tampering", message)
            outcome.violation, outcome.violation_type = message, "TamperingError"
        reply = {k: getattr(outcome, k) for k in protocol.OUTCOME_FIELDS}
        reply["error_message"] = reply["error_message"][:4000]
        reply["type"] = "outcome"
        after = outcome.inputs_after
        try:
            self.reply(reply, value=outcome.value, args=after.args, kwargs=after.kwargs)
        except wire.WireError as error:
            reply.update(kind="raised", error_type="ValueError", error_bases=("ValueError",),
                         error_message=f"the result could not be sent back: {error}")
            self.reply(reply, args=after.args, kwargs=after.kwargs)
        self.output.take()

    def provided(self, name, args, kwargs):
        """`autograder.provided` here: the grader computes it, if the part may use it."""
        # tensors on the simulated device travel as their CPU data and come back on it
        on_simulated = any(isinstance(v, SimulatedTensor) for v in leaves((args, kwargs)))
        args, kwargs = map_tensors(from_simulated, tuple(args)), map_tensors(from_simulated, dict(kwargs))
        info = self.calling
        if info is not None and name in info.may_use:
            # The grader refuses it anyway (provided.check_cost); saying so here spares sending
            # tens of MB for nothing. The grader still judges every call that is sent.
            too_large = provided.oversized_argument(info, str(name), args, kwargs)
            if too_large:
                raise RuntimeError(f"autograder.provided.{name}: "
                                   + protocol.provided_error_message(ValueError(too_large)))
        token = provided_running.set(True)      # the guards' watch: encoding is not the learner's
        try:
            self.reply({"type": "provided", "name": str(name)}, args=args, kwargs=kwargs)
            header, values = wire.recv(self.reader, self.devices)
        finally:
            provided_running.reset(token)
        if header.get("id") != self.request_id:
            raise ForbiddenOpError("autograder.provided: the grader's answer was out of step")
        if header.get("type") == "provided_result":
            value = values.get("value")
            return map_tensors(to_simulated, value) if on_simulated else value
        if header.get("type") == "provided_error":
            raise RuntimeError(f"autograder.provided.{name}: {header.get('message')}")
        raise ForbiddenOpError(str(header.get("message", "autograder.provided refused")))

    def serve(self):
        vars(provided)["remote"] = self.provided      # the module is read-only to notebook code
        self.snapshot = _snapshot()
        self.snapshot.watch_setattr()                 # the audit hook passes it assignments
        self.lockdown.snapshot = self.snapshot
        self.send({"type": "ready", "pid": os.getpid(), "version": protocol.VERSION})
        while True:
            header, values = wire.recv(self.reader, self.devices)
            kind = header.get("type")
            self.request_id = header.get("id")
            if kind == "cell":
                self.run_cell(header["source"])
            elif kind == "call":
                self.call(header, values)
            else:
                return


def _is_cell(filename):
    return filename.startswith(CELL_PREFIX)


_THIS = sys.modules[__name__]
_WATCHED_TORCH = ("torch.utils._python_dispatch", "torch.overrides", "torch._ops",
                  "torch.autograd", "torch.autograd.grad_mode")


def _snapshot():
    """`integrity.Snapshot` of the learner library's modules (this one included; not the
    package's facade, whose lazy names the grader never uses) and of the parts of torch its
    watches rely on, taken before any learner code runs."""
    modules = {name: module for name, module in list(sys.modules.items())
               if name.startswith("autograder.") and module is not None
               and not name.startswith("autograder.instructor")}
    modules["autograder.learner_process"] = _THIS
    modules.update({name: sys.modules[name] for name in _WATCHED_TORCH if name in sys.modules})
    return Snapshot(modules, {"builtins": vars(builtins)})


def _learner_main(reader, writer, options, scratch):
    """Body of a forked learner process; never returns."""
    status = 0
    try:
        process = LearnerProcess(reader, writer, options, scratch)
        process.confine()
        process.serve()
    except wire.WireError:
        status = 3
    except BaseException:  # noqa: B036 - reported to the grader, then the process ends
        status = 4
        try:
            wire.send(writer, {"type": "internal_error", "trace": traceback.format_exc()[-4000:]})
        except Exception:
            pass
    finally:
        os._exit(status)


WIPE_SECONDS = 20.0            # longer than this, and the zygote is replaced instead


def remove_contents(root, deadline=None):
    """Remove everything inside ``root``, whatever its permissions; True when ``root`` is empty.

    A learner may have made folders unreadable or unwritable (``chmod 0``), nested them deeply or
    filled them with files: permissions are restored on the way down, and a tree that cannot be
    removed before ``deadline`` (a ``time.monotonic()`` value) is left for the caller to report.
    Symbolic links are removed, never followed.
    """
    try:
        os.chmod(root, 0o700)
    except OSError:
        pass
    stack, folders = [root], []
    while stack:
        if deadline is not None and time.monotonic() > deadline:
            return False
        folder = stack.pop()
        try:
            os.chmod(folder, 0o700)
            entries = list(os.scandir(folder))
        except OSError:
            continue
        for entry in entries:
            try:
                if entry.is_dir(follow_symlinks=False):
                    stack.append(entry.path)
                    folders.append(entry.path)
                else:
                    os.unlink(entry.path)
            except OSError:
                pass
    for folder in reversed(folders):
        try:
            os.rmdir(folder)
        except OSError:
            pass
    try:
        return not os.listdir(root)
    except OSError:
        return False


def _scratch_roots():
    return (SCRATCH_ROOT, "/dev/shm") if SANDBOXED else (SCRATCH_ROOT,)


def _wipe_scratch():
    """Empty every folder a learner process could write; True when all of them are empty."""
    deadline = time.monotonic() + WIPE_SECONDS
    clean = True
    for root in _scratch_roots():
        if os.path.isdir(root):
            clean = remove_contents(root, deadline) and clean
    return clean


class _Control:
    """The zygote's end of the control socket: frames in order, with the fds sent alongside."""

    def __init__(self, fd):
        self.socket = socket.socket(fileno=fd)
        self.reader = wire.FrameReader()
        self.fds = []
        self.frames = []

    def reply(self, message):
        wire.send(self.socket.fileno(), message)

    def fill(self):
        """Read what has arrived (blocking until something has); False at end of input."""
        try:
            data, fds, _, _ = socket.recv_fds(self.socket, 1 << 16, 8)
        except OSError:
            return False
        self.fds += fds
        if not data:
            return False
        self.reader.feed(data)
        self.frames += [header for header, _ in self.reader.frames()]
        return True

    def next(self):
        while not self.frames:
            if not self.fill():
                return None
        return self.frames.pop(0)


def _options(argv):
    import argparse
    parser = argparse.ArgumentParser(prog="python -m autograder.learner_process",
                                     description="The grader's zygote (started by "
                                     "autograder.sandbox); not a command for people.")
    parser.add_argument("--control-fd", type=int, default=3,
                        help="the control socket's file descriptor (default: 3)")
    parser.add_argument("--scratch", default=SCRATCH_ROOT,
                        help="the learner processes' writable folder, emptied after each")
    parser.add_argument("--sandboxed", action="store_true",
                        help="inside bubblewrap: /dev/shm is the learners' too, and is emptied")
    return parser.parse_args(argv)


def main(argv=()):
    """The zygote: fork learner processes on request (control socket on fd 3), one at a time.

    Requests (see `autograder.protocol`): ``spawn`` (with the learner's two pipe ends passed as
    fds) and, while a learner runs, ``kill``; ``quit`` or the end of input stops the zygote. It
    never touches CUDA, so that the learner processes it forks can.
    """
    global SCRATCH_ROOT, SANDBOXED
    options = _options(argv)
    SCRATCH_ROOT, SANDBOXED = options.scratch, options.sandboxed
    control = _Control(options.control_fd)
    torch.set_num_threads(1)
    import autograder
    # The library's lazy names, made read-only; this also imports torch._dynamo (see
    # tamper.Integrity.capture), before the path below leaves out an install under /tmp.
    autograder.check
    sys.path[:] = [p for p in sys.path if p and not p.startswith((SCRATCH_ROOT, "/tmp"))]
    if InteractiveShell is not None:                   # everything a shell imports, imported now
        __import__("sqlite3")
        shell = InteractiveShell.instance()
        shell.history_manager.enabled = False
        shell.showtraceback = lambda *args, **kwargs: None
        shell.showsyntaxerror = lambda *args, **kwargs: None
        shell.run_cell("1", store_history=False)
    try:
        import ctypes
        ctypes.CDLL(None).prctl(4, 0, 0, 0, 0)          # PR_SET_DUMPABLE 0: no /proc/<pid>/mem
    except Exception:
        pass
    os.makedirs(SCRATCH_ROOT, exist_ok=True)
    counter = itertools.count(1)
    clean = _wipe_scratch()
    control.reply({"type": "ready", "ipython": InteractiveShell is not None,
                   "version": protocol.VERSION, "clean": clean})
    while True:
        header = control.next()
        if header is None or header.get("type") == "quit":
            return
        if header.get("type") != "spawn" or len(control.fds) < 2:
            continue                                   # e.g. a kill that came too late
        fds, control.fds = control.fds[:2], control.fds[2:]
        scratch = os.path.join(SCRATCH_ROOT, f"p{next(counter)}")
        os.mkdir(scratch, 0o700)
        pid = os.fork()
        if pid == 0:
            control.socket.close()
            _learner_main(fds[0], fds[1], header.get("options", {}), scratch)
        for fd in fds:
            os.close(fd)
        control.reply({"type": "spawned", "pid": pid, "id": header.get("id")})
        exited = _supervise(control, pid, header.get("id"))
        exited["clean"] = _wipe_scratch()
        control.reply(exited)


def _supervise(control, pid, request_id):
    """Wait for the learner process to end, or kill it when the grader says so; say how."""
    pidfd = os.pidfd_open(pid)
    killed = False
    try:
        while True:
            if any(frame.get("type") == "kill" and frame.get("id") == request_id
                   for frame in control.frames):
                control.frames = [f for f in control.frames if f.get("type") != "kill"]
                os.kill(pid, signal.SIGKILL)
                killed = True
            ready, _, _ = select.select([control.socket, pidfd], [], [])
            if pidfd in ready:
                break
            if not control.fill():                     # the grader is gone: stop the learner
                os.kill(pid, signal.SIGKILL)
                killed = True
    finally:
        os.close(pidfd)
    _, status, usage = os.wait4(pid, 0)
    return {"type": "exited", "id": request_id, "killed": killed,
            "signal": os.WTERMSIG(status) if os.WIFSIGNALED(status) else 0,
            "status": os.WEXITSTATUS(status) if os.WIFEXITED(status) else -1,
            "maxrss_kib": usage.ru_maxrss}


if __name__ == "__main__":
    main(sys.argv[1:])
