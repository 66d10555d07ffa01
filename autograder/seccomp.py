"""A seccomp filter for the learner's process: no new processes, no debugging, no signals to others.

Installed by `autograder.learner_process` in each learner process before any learner code runs; it cannot be
removed, and it is inherited by nothing because nothing can be started. It refuses (EPERM):

* ``fork``, ``vfork``, ``clone`` (new processes, and new threads unless ``allow_threads``: CUDA
  needs them), ``clone3`` (ENOSYS, so the C library falls back to ``clone``), ``execve``,
  ``execveat``;
* ``ptrace``, ``process_vm_readv``/``writev`` (reading or writing another process);
* ``kill``, ``tkill``, ``tgkill``, ``pidfd_send_signal`` aimed at any process but itself;
* ``unshare``, ``setns``, ``mount``, ``bpf`` (namespaces and kernel programs).

Linux on x86-64 and aarch64. Written as a raw classic-BPF program through ``prctl`` (ctypes), so
it needs no library; `install` raises OSError where the kernel refuses it.
"""
from __future__ import annotations

import ctypes
import os
import platform
import struct

__all__ = ["install", "supported"]

_ARCH = {  # AUDIT_ARCH_* and syscall numbers
    "x86_64": (0xC000003E, dict(fork=57, vfork=58, clone=56, clone3=435, execve=59, execveat=322,
                                ptrace=101, process_vm_readv=310, process_vm_writev=311,
                                kill=62, tkill=200, tgkill=234, pidfd_send_signal=424,
                                unshare=272, setns=308, mount=165, bpf=321)),
    "aarch64": (0xC00000B7, dict(clone=220, clone3=435, execve=221, execveat=281, ptrace=117,
                                 process_vm_readv=270, process_vm_writev=271, kill=129,
                                 tkill=130, tgkill=131, pidfd_send_signal=424, unshare=97,
                                 setns=268, mount=40, bpf=280)),
}

_LD_W_ABS, _JEQ_K, _JGE_K, _JSET_K, _RET_K = 0x20, 0x15, 0x35, 0x45, 0x06
_ALLOW, _KILL = 0x7FFF0000, 0x80000000
_ERRNO = 0x00050000
_EPERM, _ENOSYS = 1, 38
_CLONE_THREAD = 0x00010000
_PR_SET_NO_NEW_PRIVS, _PR_SET_SECCOMP, _SECCOMP_MODE_FILTER = 38, 22, 2
_NR, _ARCH_OFFSET, _ARG0 = 0, 4, 16      # offsets in struct seccomp_data (little-endian)


def supported():
    return platform.system() == "Linux" and platform.machine() in _ARCH


def _program(pid, allow_threads):
    arch, nr = _ARCH[platform.machine()]
    deny = ("ret", _ERRNO | _EPERM)
    code = [("ld", _ARCH_OFFSET), ("jeq", arch, "next", "kill"), ("ld", _NR),
            ("jge", 0x40000000, "deny", "next")]            # x32 system calls: refuse
    for name in ("fork", "vfork", "execve", "execveat", "ptrace", "process_vm_readv",
                 "process_vm_writev", "unshare", "setns", "mount", "bpf", "pidfd_send_signal"):
        if name in nr:
            code.append(("jeq", nr[name], "deny", "next"))
    code += [("jeq", nr["clone3"], "enosys", "next"),
             ("jeq", nr["clone"], "clone", "next")]
    for name in ("kill", "tkill", "tgkill"):
        code.append(("jeq", nr[name], "self", "next"))
    code += [("ret", _ALLOW),
             ("label", "clone"), ("ld", _ARG0),
             ("jset", _CLONE_THREAD if allow_threads else 0, "allow", "deny"),
             ("label", "self"), ("ld", _ARG0), ("jeq", pid, "allow", "deny"),
             ("label", "allow"), ("ret", _ALLOW),
             ("label", "deny"), deny,
             ("label", "enosys"), ("ret", _ERRNO | _ENOSYS),
             ("label", "kill"), ("ret", _KILL)]
    labels, position = {}, 0
    for item in code:
        if item[0] == "label":
            labels[item[1]] = position
        else:
            position += 1
    out, position = [], 0
    for item in code:
        if item[0] == "label":
            continue
        op = item[0]
        if op == "ld":
            out.append((_LD_W_ABS, 0, 0, item[1]))
        elif op == "ret":
            out.append((_RET_K, 0, 0, item[1]))
        else:
            jump = {"jeq": _JEQ_K, "jge": _JGE_K, "jset": _JSET_K}[op]

            def offset(target):
                return 0 if target == "next" else labels[target] - position - 1
            out.append((jump, offset(item[2]), offset(item[3]), item[1]))
        position += 1
    return out


def install(pid=None, allow_threads=False):
    """Apply the filter to this process (and its threads created later). Irreversible."""
    if not supported():
        raise OSError(f"seccomp filter not available on {platform.system()} {platform.machine()}")
    program = _program(os.getpid() if pid is None else pid, allow_threads)
    raw = b"".join(struct.pack("<HBBI", *instruction) for instruction in program)
    filters = ctypes.create_string_buffer(raw)

    class _Prog(ctypes.Structure):
        _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]

    prog = _Prog(len(program), ctypes.addressof(filters))
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_void_p, ctypes.c_ulong,
                           ctypes.c_ulong]
    if libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, None, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_NO_NEW_PRIVS) failed")
    if libc.prctl(_PR_SET_SECCOMP, _SECCOMP_MODE_FILTER, ctypes.addressof(prog), 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_SECCOMP) failed")
