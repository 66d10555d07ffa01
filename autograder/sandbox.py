"""Start and talk to sandboxed learner processes (the trusted side of `autograder.learner_process`).

A `Sandbox` is one warm zygote (`python -m autograder.learner_process`) inside bubblewrap: its own
user, PID, network, IPC and mount namespaces, no network at all, no capabilities, a read-only
view of the Python installation, the virtual environment and the learner library only (not the
repository, not `solutions/`, not the gradebook, not the instructor's home, not any submission,
not NumPy, SciPy and the libraries built on them), no /proc but /proc/cpuinfo (so no
``/proc/self/mem`` either), and two writable, size-capped folders, /tmp/learner and /dev/shm,
that the zygote empties after every learner process. `Sandbox.spawn` forks a fresh,
single-use `Learner` from it.

The messages are `autograder.protocol`'s; every request carries an id. Every read has a
deadline; a learner that misses it is killed by the zygote and the caller gets `LearnerGone`.
A reply that is late or out of step, or scratch folders the zygote could not empty, mark the
sandbox `broken`: its owner must replace it (`autograder.grade_notebook` does), so that nothing one
notebook did reaches the next. The sandbox's whole process tree dies with the worker
(``--die-with-parent``) and when `Sandbox.close` is called.

The learner process's CPU time is read here, from the host's /proc (`Learner.cpu_seconds`):
the learner's own code cannot change what it says.
"""
from __future__ import annotations

import importlib.util
import itertools
import os
import select
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import weakref
from pathlib import Path

from . import protocol

__all__ = ["Sandbox", "Learner", "LearnerGone", "SandboxUnavailable", "bwrap_command",
           "NO_SANDBOX_WARNING", "hidden_packages"]

LIBRARY = Path(__file__).resolve().parent          # the learner library: autograder/
START_TIMEOUT = 120.0
EXIT_TIMEOUT = 30.0           # a learner process ending and its clean-up (kernel.WIPE_SECONDS + 10)

SCRATCH_BYTES = 256 << 20     # each writable folder (/tmp/learner, /dev/shm): memory, so capped

NO_SANDBOX_WARNING = (
    "WARNING: --no-sandbox: learner code runs WITHOUT the operating-system sandbox. It can read "
    "and write every file this user can (solutions/, the gradebook, other submissions) and use "
    "the network, and plant files that later learner processes import. The grade is still "
    "decided outside the learner's process and the in-process "
    "guards (seccomp, audit hook, disabled operators) still apply. Use it only to check one "
    "trusted notebook on a machine without bubblewrap.")


class _LazyWire:
    """`autograder.wire` (which needs torch), imported on first use: checking for bubblewrap or
    printing the --no-sandbox warning must not cost the instructor's process a torch import."""

    def __getattr__(self, name):
        from . import wire as module
        return getattr(module, name)


wire = _LazyWire()


class SandboxUnavailable(RuntimeError):
    """bubblewrap is missing or cannot create namespaces here."""


class LearnerGone(Exception):
    """The learner process missed its deadline (and was killed) or died; ``exit`` says how."""

    def __init__(self, reason, exit=None, timed_out=False):
        super().__init__(reason)
        self.exit, self.timed_out = exit or {}, timed_out


def hidden_packages():
    """The folders of the installed `protocol.UNAVAILABLE` packages (and their bundled libraries),
    which the sandbox replaces by empty read-only ones."""
    folders = set()
    for name in protocol.UNAVAILABLE:
        try:
            spec = importlib.util.find_spec(name)
        except (ImportError, ValueError):
            continue
        for location in (spec.submodule_search_locations or []) if spec else []:
            folder = Path(location).resolve()
            folders.add(folder)
            libs = folder.with_name(folder.name + ".libs")
            if libs.is_dir():
                folders.add(libs.resolve())
    return sorted(folders)


def bwrap_command(python=sys.executable, cuda=False):
    """The bubblewrap command line that runs the zygote (see the module docstring)."""
    bwrap = shutil.which("bwrap")
    if bwrap is None:
        raise SandboxUnavailable(
            "bubblewrap is not installed, so learner notebooks cannot be sandboxed. Install it "
            "(Debian/Ubuntu: apt-get install bubblewrap), or pass --no-sandbox to grade one "
            "trusted notebook without the sandbox.")
    prefixes = sorted({os.path.realpath(p) for p in (sys.prefix, sys.base_prefix, sys.exec_prefix)})
    # /tmp first: the environment or the library may live below /tmp (a CI clone, say), and
    # their binds must land on top of it.
    command = [bwrap, "--unshare-all", "--unshare-user", "--uid", "65534", "--gid", "65534",
               "--cap-drop", "ALL", "--die-with-parent", "--new-session",
               "--hostname", "sandbox", "--tmpfs", "/tmp", "--ro-bind", "/usr", "/usr"]
    for link in ("lib", "lib64", "bin", "sbin"):
        if os.path.islink(f"/{link}"):
            command += ["--symlink", os.readlink(f"/{link}"), f"/{link}"]
        elif os.path.isdir(f"/{link}"):
            command += ["--ro-bind", f"/{link}", f"/{link}"]
    for prefix in prefixes:
        if not prefix.startswith("/usr/"):
            command += ["--ro-bind", prefix, prefix]
    for path in (sys.prefix, os.path.dirname(os.path.realpath(python))):
        if os.path.islink(path):
            command += ["--symlink", os.readlink(path), path]
    command += ["--ro-bind-try", "/etc/ld.so.cache", "/etc/ld.so.cache",
                "--ro-bind", str(LIBRARY), str(LIBRARY)]
    for folder in [LIBRARY / "instructor", *hidden_packages()]:     # empty and read-only
        command += ["--tmpfs", str(folder), "--remount-ro", str(folder)]
    if cuda:       # the CUDA driver reads /proc and /sys: the audit hook guards /proc there
        command += ["--proc", "/proc"]
    else:          # no /proc/self/mem, no other process: only what torch reads to pick kernels
        command += ["--dir", "/proc", "--ro-bind", "/proc/cpuinfo", "/proc/cpuinfo"]
    command += ["--dev", "/dev",
                "--size", str(SCRATCH_BYTES), "--tmpfs", "/dev/shm",
                "--size", str(SCRATCH_BYTES), "--tmpfs", "/tmp/learner"]
    if cuda:
        for device in sorted(Path("/dev").glob("nvidia*")):
            command += ["--dev-bind", str(device), str(device)]
        command += ["--ro-bind-try", "/sys", "/sys", "--ro-bind-try", "/proc/driver/nvidia",
                    "/proc/driver/nvidia"]
    # last: everything but /tmp/learner and /dev/shm becomes read-only
    return command + ["--remount-ro", "/tmp", "--remount-ro", "/", "--chdir", "/tmp/learner",
                      "--clearenv"]


def _environment(sandboxed):
    """The zygote's environment: no channel of the grader's (those are `zygote_command`'s
    options), only what Python and PyTorch read."""
    env = {"PATH": "/usr/bin:/bin", "HOME": "/tmp", "LANG": "C.UTF-8", "OMP_NUM_THREADS": "1",
           "MKL_NUM_THREADS": "1", "PYTHONDONTWRITEBYTECODE": "1", "PYTHONHASHSEED": "0",
           "MPLBACKEND": "Agg", "PYTHONPATH": str(LIBRARY.parent)}
    for name in ("CUDA_VISIBLE_DEVICES", "AUTOGRADER_DEVICES", "LD_LIBRARY_PATH"):
        if name in os.environ:
            env[name] = os.environ[name]
    if not sandboxed:
        env = {**os.environ, **env, "HOME": os.environ.get("HOME", "/tmp")}
    return env


def zygote_command(control_fd, sandboxed, scratch):
    """``python -P -m autograder.learner_process ...`` (``-P``: no current folder on
    ``sys.path``) with the control socket's descriptor, the scratch folder and whether it is
    sandboxed."""
    return [sys.executable, "-P", "-m", "autograder.learner_process",
            f"--control-fd={control_fd}", f"--scratch={scratch}",
            *(["--sandboxed"] if sandboxed else [])]


def _children(pid):
    """Host process ids of ``pid``'s children (read from the host's /proc)."""
    try:
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except (OSError, ValueError):
        pass
    found = []                      # kernels without CONFIG_PROC_CHILDREN: every process's ppid
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                stat = Path(entry.path, "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def _command_name(pid):
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return ""


def cpu_seconds(pid):
    """CPU time (user + system, seconds) that host process ``pid`` has used, or None."""
    try:
        return int(Path(f"/proc/{pid}/schedstat").read_text().split()[0]) / 1e9
    except (OSError, ValueError, IndexError):
        pass
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


class Sandbox:
    """A warm zygote, sandboxed unless ``sandboxed=False``; ready when the constructor returns.

    ``broken`` is "" while the sandbox can be used, else why it must be replaced.
    """

    def __init__(self, sandboxed=True, cuda=False, start_timeout=START_TIMEOUT):
        self.sandboxed, self.cuda = sandboxed, cuda
        self.broken = ""
        self._ids = itertools.count(1)
        parent, child = socket.socketpair()
        self.control = parent
        self.reader = wire.FrameReader()
        self.scratch = None if sandboxed else tempfile.mkdtemp(prefix="autograder-learner-")
        # removed by `close`, or when the process exits with this sandbox still open (a worker
        # thread's warm sandbox is never closed: its zygote quits when this process ends)
        self._remove_scratch = weakref.finalize(self, shutil.rmtree, self.scratch, True) \
            if self.scratch else None
        env = _environment(sandboxed)
        command = zygote_command(child.fileno(), sandboxed, self.scratch or "/tmp/learner")
        if sandboxed:
            command = bwrap_command(cuda=cuda) + [
                arg for name, value in env.items() for arg in ("--setenv", name, value)] + command
        self.process = subprocess.Popen(
            command, pass_fds=(child.fileno(),), stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env,
            cwd="/tmp", start_new_session=True)
        child.close()
        try:
            self.info = self._control_message(start_timeout)
            if self.info.get("type") != "ready" or self.info.get("version") != protocol.VERSION:
                raise LearnerGone(f"it answered {self.info!r}")
        except LearnerGone as gone:
            error = self.process.stderr.read().decode(errors="replace")[-2000:] \
                if self.process.poll() is not None else ""
            self.close()
            raise SandboxUnavailable(
                f"the sandbox did not start: {error.strip() or gone}") from None
        if not self.info.get("clean", True):
            self.broken = "its scratch folders were not empty at the start"
        self.zygote_pid = self._find_zygote()

    def _find_zygote(self):
        """The zygote's host pid: below bubblewrap's own processes, if any."""
        pid = self.process.pid
        while _command_name(pid) == "bwrap":
            children = _children(pid)
            if len(children) != 1:
                return None
            pid = children[0]
        return pid

    def _control_message(self, timeout):
        deadline = time.monotonic() + timeout
        while True:
            frames = self.reader.frames()
            if frames:
                if len(frames) > 1:
                    self.reader.buffer[:0] = b"".join(wire.encode(h) for h, _ in frames[1:])
                return frames[0][0]
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self.control], [], [], left)[0]:
                raise LearnerGone("the sandbox did not answer in time", timed_out=True)
            data = self.control.recv(1 << 16)
            if not data:
                raise LearnerGone("the sandbox stopped")
            self.reader.feed(data)

    def control_reply(self, kinds, request_id, timeout):
        """The zygote's reply to request ``request_id``; a late, missing or out-of-step reply
        marks the sandbox broken (raises LearnerGone)."""
        try:
            header = self._control_message(timeout)
            return protocol.check_reply(header, kinds, request_id)
        except (LearnerGone, protocol.ProtocolError, wire.WireError) as error:
            self.broken = f"the zygote did not answer request {request_id} in step ({error})"
            raise LearnerGone(self.broken, timed_out=isinstance(error, LearnerGone)
                              and error.timed_out) from None

    def alive(self):
        return self.process.poll() is None

    def usable(self):
        return not self.broken and self.alive()

    def spawn(self, options, timeout=60.0):
        """A fresh learner process, confined with ``options`` (see `autograder.protocol`)."""
        if self.broken:
            raise LearnerGone(f"the sandbox cannot be used: {self.broken}")
        request_id = next(self._ids)
        to_learner = os.pipe()
        from_learner = os.pipe()
        try:
            socket.send_fds(self.control, [wire.encode({"type": "spawn", "id": request_id,
                                                        "options": options})],
                            [to_learner[0], from_learner[1]])
        except OSError as error:
            self.broken = f"the zygote is gone ({error})"
            raise LearnerGone(self.broken) from None
        finally:
            os.close(to_learner[0])
            os.close(from_learner[1])
        try:
            reply = self.control_reply({"spawned"}, request_id, timeout)
        except LearnerGone:
            os.close(to_learner[1])
            os.close(from_learner[0])
            raise
        children = _children(self.zygote_pid) if self.zygote_pid else []
        learner = Learner(self, request_id, to_learner[1], from_learner[0],
                          children[0] if len(children) == 1 else None)
        learner.expect({"ready"}, timeout)
        return learner

    def close(self):
        if self.process.poll() is None:
            try:
                self.control.send(wire.encode({"type": "quit"}))
            except OSError:
                pass
            try:
                self.process.wait(2)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.control.close()
        if self.process.stderr:
            self.process.stderr.close()
        if self._remove_scratch is not None:
            self._remove_scratch()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class Learner:
    """One learner process: send requests, read replies with deadlines, collect violations.

    ``pid`` is its host process id (None if it could not be found), for `cpu_seconds`.
    """

    def __init__(self, sandbox, spawn_id, to_fd, from_fd, pid=None, devices=("cpu",)):
        self.sandbox, self.spawn_id, self.to_fd, self.from_fd = sandbox, spawn_id, to_fd, from_fd
        self.pid = pid
        self.reader = wire.FrameReader(devices)
        self._unread = []             # frames that arrived after the reply they came with
        self._ids = itertools.count(1)
        self.violations = []          # [(kind, message)] reported since the last take_violations
        self.exit = None
        self.internal_error = ""      # the learner library's own traceback, if it failed
        os.set_blocking(to_fd, False)

    def cpu_seconds(self):
        """CPU time the learner process has used so far, read from outside it; None if unknown."""
        return cpu_seconds(self.pid) if self.pid else None

    def take_violations(self):
        found, self.violations = self.violations, []
        return found

    def _write(self, data, deadline):
        view = memoryview(data)
        while view:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([], [self.to_fd], [], left)[1]:
                self.kill()
                raise LearnerGone("the learner process stopped reading", self.exit, True)
            try:
                view = view[os.write(self.to_fd, view[:1 << 16]):]
            except BrokenPipeError:
                raise LearnerGone("the learner process ended", self._ended()) from None

    def request(self, header, expect, timeout, on_provided=None, **values):
        """Send one request, return the reply (of a type in ``expect``) that answers it.

        ``on_provided(name, args, kwargs, deadline)`` answers the learner's `autograder.provided`
        calls made meanwhile: it returns the value, raises CheckFailure to refuse, or raises
        LearnerGone when the call's deadline passes. The ``timeout`` counts those answers too.
        """
        request_id = next(self._ids)
        deadline = time.monotonic() + timeout
        self._write(wire.encode({**header, "id": request_id}, **values), deadline)
        return self.expect(expect, timeout, on_provided, deadline, request_id)

    def expect(self, types, timeout, on_provided=None, deadline=None, request_id=None):
        deadline = deadline or time.monotonic() + timeout
        answered = 0
        while True:
            try:
                frames = self._unread + self.reader.frames()
            except wire.WireError as error:
                self.kill()
                raise LearnerGone(f"the learner process sent a malformed message ({error})",
                                  self.exit) from None
            self._unread = []
            for index, (header, values) in enumerate(frames):
                kind = header.get("type")
                if kind == "violation":       # forged ones only hurt the sender
                    reported = str(header.get("kind"))
                    if len(self.violations) < 20:
                        self.violations.append((reported if reported in (
                            "forbidden", "sandbox", "tampering") else "sandbox",
                            str(header.get("message"))[:2000]))
                elif kind == "internal_error":
                    self.internal_error = str(header.get("trace", ""))[-4000:]
                    raise LearnerGone("the learner process failed: "
                                      + self.internal_error.strip().splitlines()[-1], self._ended())
                elif (kind == "provided" and on_provided and answered < 10000
                      and header.get("id") == request_id):
                    answered += 1
                    self._answer_provided(on_provided, header, values, deadline)
                elif kind in types and header.get("id") == request_id:
                    # What came with the reply in the same read is judged at the next request
                    # (a second reply is out of step there), never dropped.
                    self._unread = frames[index + 1:]
                    return header, values
                else:
                    self.kill()
                    raise LearnerGone(f"the learner process sent {kind!r} out of step (for "
                                      f"request {header.get('id')!r}, waiting for "
                                      f"{request_id!r})", self.exit)
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self.from_fd], [], [], left)[0]:
                self.kill()
                raise LearnerGone("deadline passed", self.exit, timed_out=True)
            data = os.read(self.from_fd, 1 << 20)
            if not data:
                raise LearnerGone("the learner process ended", self._ended())
            self.reader.feed(data)

    def _answer_provided(self, on_provided, header, values, deadline):
        from .errors import CheckFailure

        reply = {"id": header.get("id")}
        try:
            value = on_provided(str(header.get("name")), tuple(values.get("args", ())),
                                dict(values.get("kwargs", {})), deadline)
            frame = wire.encode({**reply, "type": "provided_result"}, value=value)
        except CheckFailure as refusal:
            frame = wire.encode({**reply, "type": "provided_refused", "message": str(refusal)})
        except LearnerGone:
            self.kill()
            raise
        except Exception as error:  # noqa: BLE001 - bad arguments: the learner's error to see
            frame = wire.encode({**reply, "type": "provided_error",
                                 "message": protocol.provided_error_message(error)})
        self._write(frame, deadline)

    def _ended(self):
        """The zygote's ``exited`` for this process (waiting for its clean-up); a missing or
        unclean one marks the sandbox broken."""
        if self.exit is None:
            try:
                self.exit = self.sandbox.control_reply({"exited"}, self.spawn_id, EXIT_TIMEOUT)
                if not self.exit.get("clean", False):
                    self.sandbox.broken = ("the learner process's files could not be removed "
                                           "after it ended")
            except LearnerGone:
                self.exit = {"type": "exited", "lost": True}
        return self.exit

    def kill(self):
        if self.exit is None:
            try:
                self.sandbox.control.send(wire.encode({"type": "kill", "id": self.spawn_id}))
            except OSError:
                pass
            self._ended()

    def close(self):
        """Ask the learner process to exit (kill it if it does not); wait until the zygote has
        removed its files; release the pipes."""
        if self.exit is None:
            try:
                self._write(wire.encode({"type": "exit"}), time.monotonic() + 2)
                deadline = time.monotonic() + 5
                while self.exit is None and time.monotonic() < deadline:
                    if select.select([self.from_fd], [], [], 0.5)[0] and not os.read(
                            self.from_fd, 1 << 20):
                        self._ended()
                if self.exit is None:
                    self.kill()
            except LearnerGone:
                pass
        for fd in (self.to_fd, self.from_fd):
            try:
                os.close(fd)
            except OSError:
                pass
