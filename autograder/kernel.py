"""The learner's process during grading: runs a notebook's cells and answers calls. Untrusted.

    python -m autograder.kernel        (started by `autograder.sandbox`, inside bubblewrap)

One such *zygote* runs per grading worker. It imports torch, NumPy and IPython once, never runs
learner code, and forks a fresh, single-use *learner process* for every piece of work the trusted
grader (`autograder.trusted`) asks for. Before any learner code runs, each learner process:

1. closes every file descriptor but its two message pipes, points fds 0-2 at /dev/null and
   captures ``print`` output up to a limit; moves into a fresh scratch folder;
2. sets resource limits (memory, CPU seconds, file size, no core dumps);
3. disables, for the whole process (all threads, every alias, backend and namespace), every
   operator of the family that the graded exercises forbid (`guard.disable_ops`); a call
   raises and is reported to the grader at once, even if the learner's code catches the error;
4. adds an audit hook that refuses, with a clear message reported to the grader: starting
   processes or threads, loading native code (ctypes, extension modules from writable places),
   sockets, signals to other processes, and walking the heap or other threads' frames (``gc``,
   ``sys._current_frames``, tracing hooks);
5. installs a seccomp filter (`autograder.seccomp`): no fork/exec, ptrace or namespaces, even
   from native code.

Then it runs cells and calls on request and sends back values as `autograder.wire` frames. It
decides nothing: the grader generates the cases, computes the references and compares, in its
own process. Nothing here needs nbgrader; IPython is used for cell magics when it is installed.
"""
from __future__ import annotations

import io
import os
import resource
import select
import shutil
import signal
import socket
import sys
import threading
import traceback

import _posixsubprocess
import torch

from . import provided, seccomp, wire
from .checks import TIME_LIMIT_VARIABLE, call_locally, learner_line
from .errors import ForbiddenOpError
from .exercise_db import get_exercise
from .guard import disable_ops, family_ops, forbidden_message, provided_running
from .samples import SampleInput
from .simulated import SimulatedTensor, _leaves, _map, from_simulated, to_simulated

try:
    from IPython.core.interactiveshell import InteractiveShell
except ImportError:      # a GPU machine with torch and pytest only
    InteractiveShell = None

__all__ = ["main", "LearnerProcess", "SCRATCH_ROOT"]

# The learner's writable folder: a size-capped tmpfs in the sandbox (the rest of the sandbox's
# file system is read-only), emptied after every learner process. Without the sandbox
# (--no-sandbox) the launcher gives each zygote a private folder instead.
SCRATCH_ROOT = os.environ.get("AUTOGRADER_SCRATCH", "/tmp/learner")
SANDBOXED = os.environ.get("AUTOGRADER_SANDBOXED") == "1"
CELL_PREFIX = "<ipython-input-"
_REFUSED_EVENTS = {
    "os.fork": "start a process", "os.forkpty": "start a process", "os.exec": "start a program",
    "os.posix_spawn": "start a program", "os.spawn": "start a program",
    "os.system": "start a program", "subprocess.Popen": "start a program",
    "_thread.start_new_thread": "start a thread", "os.kill": "send a signal",
    "os.killpg": "send a signal", "signal.pthread_kill": "send a signal",
    "ctypes.dlopen": "load native code (ctypes)", "ctypes.dlsym": "load native code (ctypes)",
    "ctypes.dlsym/handle": "load native code (ctypes)", "ctypes.cdata": "load native code (ctypes)",
    "ctypes.call_function": "call native code (ctypes)",
    "gc.get_objects": "walk the heap (gc)", "gc.get_referrers": "walk the heap (gc)",
    "gc.get_referents": "walk the heap (gc)", "sys._current_frames": "inspect other threads",
    "sys.settrace": "install a tracing hook", "sys.setprofile": "install a profiling hook",
    "socket.__new__": "open a network socket", "socket.connect": "open a network connection",
    "socket.bind": "open a network socket", "resource.setrlimit": "change resource limits",
    "os.chroot": "change the root folder", "os.setuid": "change user",
}


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
    """One learner process's life: confinement, then cells and calls until told to exit."""

    def __init__(self, reader, writer, options):
        self.reader, self.writer, self.options = reader, writer, options
        self.lock = threading.Lock()
        self.output = _Output(int(options.get("output_limit", 1 << 20)))
        self.current = ["your function"]
        self.guarded, self.fingerprint = [], 0
        self.shell = None
        self.namespace = {"__name__": "__main__"}
        self.devices = ("cpu",) + tuple(f"cuda:{i}" for i in range(torch.cuda.device_count())
                                        if options.get("cuda"))

    # --- reporting ----------------------------------------------------------------------------
    def send(self, header, **values):
        with self.lock:
            wire.send(self.writer, header, **values)

    def violation(self, kind, message):
        """Tell the grader at once (before the learner's code can catch anything)."""
        try:
            self.send({"type": "violation", "kind": kind, "message": message})
        except Exception:
            pass

    # --- confinement --------------------------------------------------------------------------
    def confine(self):
        options = self.options
        keep = {self.reader, self.writer}
        for fd in range(3, 1024):
            if fd not in keep:
                try:
                    os.close(fd)
                except OSError:
                    pass
        null = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(null, fd)
        os.close(null)
        sys.stdin = io.StringIO("")
        sys.stdout = sys.stderr = self.output
        scratch = os.path.join(SCRATCH_ROOT, "work")
        os.makedirs(scratch, exist_ok=True)
        os.chdir(scratch)
        os.environ["HOME"] = scratch
        memory = int(options.get("memory_limit", 0))
        if memory and not options.get("cuda"):
            resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
        cpu = int(options.get("cpu_limit", 0))
        if cpu:
            resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 5))
        resource.setrlimit(resource.RLIMIT_FSIZE, (64 << 20, 64 << 20))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        if options.get("cuda"):
            for index in range(torch.cuda.device_count()):
                torch.empty(1, device=f"cuda:{index}")   # initialise before the filter
        pattern = options.get("forbidden")
        if pattern:
            def on_call(op_name):
                message = forbidden_message(self.current[0], op_name)
                self.violation("forbidden", message)
                raise ForbiddenOpError(message)
            disable_ops(pattern, on_call)
            # Our registrations are leaked _DispatchModule objects: with no `reset`, even code
            # that finds one cannot undo them, and `intact` notices if the kernels change.
            del torch._C._DispatchModule.reset
            ops = family_ops(pattern)
            self.guarded = ops[::max(1, len(ops) // 16)]
            self.fingerprint = self._fingerprint()
        if seccomp.supported():
            seccomp.install(allow_threads=bool(options.get("cuda")))
        sys.addaudithook(self._audit)
        threading.Thread.start = self._refuse_thread
        _posixsubprocess.fork_exec = self._refuse_process
        # one intra-op thread: more would need new threads, which the filter refuses
        torch.set_num_threads = torch.set_num_interop_threads = lambda n: None
        if InteractiveShell is not None and InteractiveShell.initialized():
            self.shell = InteractiveShell.instance()      # made by the zygote, no learner state
            self.namespace = self.shell.user_ns
        sys.path[:] = [p for p in sys.path if p and not p.startswith((SCRATCH_ROOT, "/tmp"))]

    def _fingerprint(self):
        dump = torch._C._dispatch_dump_table
        return sum(dump(op).count("/dev/null") for op in self.guarded)

    def intact(self):
        """False once the disabled operators' kernels differ from those installed at the start."""
        return not self.guarded or self._fingerprint() == self.fingerprint

    def _refuse_thread(self, *args, **kwargs):
        self._audit("_thread.start_new_thread", ())

    def _refuse_process(self, *args, **kwargs):
        self._audit("subprocess.Popen", ())

    def _audit(self, event, args):
        what = _REFUSED_EVENTS.get(event)
        if what is None and event == "import" and len(args) > 1 and args[1]:
            path = str(args[1])
            if path.endswith((".so", ".pyd")) and path.startswith(("/tmp", "/dev/shm")):
                what = "load native code (an extension module from a writable folder)"
        if what is None and event == "open" and args and str(args[0]).startswith("/proc/"):
            name = str(args[0])
            if not name.startswith(("/proc/self/", f"/proc/{os.getpid()}/", "/proc/cpuinfo",
                                    "/proc/meminfo")):
                what = "read another process's /proc files"
        if what is None:
            return
        message = (f"The notebook tried to {what} ({event}). Grading runs each notebook in a "
                   "sandbox that does not allow this; use plain tensor code instead.")
        self.violation("sandbox", message)
        raise PermissionError(message)

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
        self.send(reply)

    def call(self, header, values):
        name = header["name"]
        function = self.namespace.get(name)
        if not callable(function):
            self.send({"type": "missing", "found": type(function).__name__
                       if name in self.namespace else None})
            return
        info = get_exercise(header["exercise"])
        sample = SampleInput(tuple(values.get("args", ())), dict(values.get("kwargs", {})))
        self.current[0] = name
        if header.get("time_limit"):
            os.environ[TIME_LIMIT_VARIABLE] = str(float(header["time_limit"]))
        outcome = call_locally(info, function, sample, _is_cell,
                               simulated=bool(header.get("simulated")))
        self.current[0] = "your function"
        if not self.intact():
            message = (f"{name} ran while the operators this exercise forbids had been "
                       "restored: the notebook changed the grader's disabled kernels.")
            self.violation("sandbox", message)
            outcome.violation, outcome.violation_type = message, "TamperingError"
        reply = {k: getattr(outcome, k) for k in (
            "kind", "error_type", "error_bases", "error_message", "line", "stub", "violation",
            "violation_type", "op_count", "time_limit", "wrong_device")}
        reply["error_message"] = reply["error_message"][:4000]
        reply["type"] = "outcome"
        after = outcome.inputs_after
        try:
            self.send(reply, value=outcome.value, args=after.args, kwargs=after.kwargs)
        except wire.WireError as error:
            reply.update(kind="raised", error_type="ValueError", error_bases=("ValueError",),
                         error_message=f"the result could not be sent back: {error}")
            self.send(reply, args=after.args, kwargs=after.kwargs)
        self.output.take()

    def provided(self, name, args, kwargs):
        """`autograder.provided` here: the grader computes it, if the part may use it."""
        # tensors on the simulated device travel as their CPU data and come back on it
        on_simulated = any(isinstance(v, SimulatedTensor) for v in _leaves((args, kwargs)))
        args, kwargs = _map(from_simulated, tuple(args)), _map(from_simulated, dict(kwargs))
        token = provided_running.set(True)      # the guards' watch: encoding is not the learner's
        try:
            self.send({"type": "provided", "name": str(name)}, args=args, kwargs=kwargs)
            header, values = wire.recv(self.reader, self.devices)
        finally:
            provided_running.reset(token)
        if header.get("type") == "provided_result":
            value = values.get("value")
            return _map(to_simulated, value) if on_simulated else value
        if header.get("type") == "provided_error":
            raise RuntimeError(f"autograder.provided.{name}: {header.get('message')}")
        raise ForbiddenOpError(str(header.get("message", "autograder.provided refused")))

    def serve(self):
        provided.remote = self.provided
        self.send({"type": "ready", "pid": os.getpid()})
        while True:
            header, values = wire.recv(self.reader, self.devices)
            kind = header.get("type")
            if kind == "cell":
                self.run_cell(header["source"])
            elif kind == "call":
                self.call(header, values)
            else:
                return


def _is_cell(filename):
    return filename.startswith(CELL_PREFIX)


def _learner_main(reader, writer, options):
    """Body of a forked learner process; never returns."""
    status = 0
    try:
        process = LearnerProcess(reader, writer, options)
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


def _wipe_scratch():
    for root in (SCRATCH_ROOT, "/dev/shm") if SANDBOXED else (SCRATCH_ROOT,):
        if os.path.isdir(root):
            for entry in os.listdir(root):
                path = os.path.join(root, entry)
                if os.path.isdir(path) and not os.path.islink(path):
                    shutil.rmtree(path, ignore_errors=True)
                else:
                    try:
                        os.unlink(path)
                    except OSError:
                        pass


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


def main():
    """The zygote: fork learner processes on request (control socket on fd 3), one at a time.

    Requests: ``spawn`` (with the learner's two pipe ends passed as fds) and, while a learner
    runs, ``kill``; ``quit`` or the end of input stops the zygote. It never touches CUDA, so that
    the learner processes it forks can.
    """
    control = _Control(int(os.environ.get("AUTOGRADER_CONTROL_FD", "3")))
    torch.set_num_threads(1)
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
    control.reply({"type": "ready", "ipython": InteractiveShell is not None})
    while True:
        header = control.next()
        if header is None or header.get("type") == "quit":
            return
        if header.get("type") != "spawn" or len(control.fds) < 2:
            continue                                   # e.g. a kill that came too late
        fds, control.fds = control.fds[:2], control.fds[2:]
        pid = os.fork()
        if pid == 0:
            control.socket.close()
            _learner_main(fds[0], fds[1], header.get("options", {}))
        for fd in fds:
            os.close(fd)
        control.reply({"type": "spawned", "pid": pid})
        _supervise(control, pid)
        _wipe_scratch()


def _supervise(control, pid):
    """Wait for the learner process to end, or kill it when the grader says so; report how."""
    pidfd = os.pidfd_open(pid)
    killed = False
    try:
        while True:
            if any(frame.get("type") == "kill" for frame in control.frames):
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
    control.reply({"type": "exited", "killed": killed,
                   "signal": os.WTERMSIG(status) if os.WIFSIGNALED(status) else 0,
                   "status": os.WEXITSTATUS(status) if os.WIFEXITED(status) else -1,
                   "maxrss_kib": usage.ru_maxrss})


if __name__ == "__main__":
    main()
