"""Locking a learner process down, once, before any learner code runs. Untrusted side.

`Lockdown.apply` does, in the learner process `autograder.learner_process` forks:

1. closes every file descriptor but its message pipes, points fds 0-2 at /dev/null and sends
   ``print`` output to a capped buffer; moves into its own scratch folder;
2. sets resource limits (memory, CPU seconds, file size, no core dumps);
3. disables, for the whole process (all threads, every alias, backend and namespace), every
   operator of the family that the graded exercises forbid (`op_families.disable_ops`); a call
   is reported at once, even if the learner's code catches the error, and `Lockdown.intact`
   tells whether the disabled kernels were changed since;
4. adds an audit hook that refuses, with a clear message reported to the grader: starting
   processes or threads, loading native code (ctypes, extension modules from writable places),
   sockets, signals to other processes, reading /proc, and walking the heap or other threads'
   frames (``gc``, ``sys._current_frames``, tracing hooks); it also passes every attribute
   assignment to the learner library's `integrity.Snapshot`;
5. installs a seccomp filter (`autograder.seccomp`): no fork/exec, ptrace or namespaces, even
   from native code.

Serving cells and calls afterwards is `autograder.learner_process.LearnerProcess`.
"""
from __future__ import annotations

import io
import os
import resource
import sys
import threading

import _posixsubprocess
import torch

from . import seccomp
from .errors import ForbiddenOpError
from .op_families import disable_ops, family_ops
from .op_watch import call_site, forbidden_message, scratch_message

__all__ = ["Lockdown"]

# Audit events a learner process may not raise, and what the learner tried to do.
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


class Lockdown:
    """The confinement of one learner process.

    ``options``: the ``spawn`` options (`autograder.protocol.SPAWN_OPTIONS`); ``scratch``: its
    writable folder (``scratch_root`` and /tmp are taken off ``sys.path``); ``keep_fds``: the
    descriptors that stay open; ``output``: where ``sys.stdout``/``sys.stderr`` go;
    ``report(kind, message)``: tells the grader at once; ``current``: a one-item list naming the
    graded function running (``"your function"`` between calls, i.e. in a cell);
    ``is_learner_file(filename)``: whether a code object comes from the notebook.
    """

    def __init__(self, options, scratch, scratch_root, keep_fds, output, report, current,
                 is_learner_file):
        self.options, self.scratch, self.scratch_root = options, scratch, scratch_root
        self.keep_fds, self.output, self.report = tuple(keep_fds), output, report
        self.current, self.is_learner_file = current, is_learner_file
        self.snapshot = None             # the server's `integrity.Snapshot`, once taken
        self.guarded, self.fingerprint = [], 0

    def apply(self):
        """Lock the process down; irreversible. Call once, before any learner code runs."""
        options = self.options
        keep = set(self.keep_fds)
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
        os.chdir(self.scratch)
        os.environ["HOME"] = self.scratch
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
                site = call_site(self.is_learner_file)
                if self.current[0] == "your function":      # a cell, not a graded call
                    raise ForbiddenOpError(scratch_message(op_name, site))
                message = forbidden_message(self.current[0], op_name, site)
                self.report("forbidden", message)
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
        sys.path[:] = [p for p in sys.path if p and not p.startswith((self.scratch_root, "/tmp"))]

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
        if event == "object.__setattr__" and self.snapshot is not None and len(args) > 1:
            self.snapshot.note_setattr(args[0], args[1])
        if what is None and event == "import" and len(args) > 1 and args[1]:
            path = str(args[1])
            if path.endswith((".so", ".pyd")) and path.startswith(("/tmp", "/dev/shm")):
                what = "load native code (an extension module from a writable folder)"
        if what is None and event == "open" and args and _proc_path(args[0]):
            what = "open files of /proc (the process's own memory included)"
        if what is None and event == "os.symlink" and args and _proc_path(args[0]):
            what = "link to files of /proc"
        if what is None:
            return
        message = (f"The notebook tried to {what} ({event}). Grading runs each notebook in a "
                   "sandbox that does not allow this; use plain tensor code instead.")
        self.report("sandbox", message)
        raise PermissionError(message)


_PROC_PARTS = {"proc", "self", "thread-self"}


def _proc_path(path):
    """True for a path into /proc, however it is spelled: absolute, relative to the current
    folder, with .., through symbolic links, or relative to a folder opened earlier (the audit
    event does not say which: a relative path through a folder named like /proc's counts)."""
    try:
        text = os.fsdecode(path) if not isinstance(path, int) else ""
    except (TypeError, ValueError):
        return False
    if not text:
        return False
    resolved = os.path.realpath(text)
    if resolved in ("/proc/cpuinfo", "/proc/meminfo"):
        return False
    if not os.path.isabs(text) and _PROC_PARTS & set(text.split("/")):
        return True
    return resolved == "/proc" or resolved.startswith("/proc/") or text.startswith("/proc")
