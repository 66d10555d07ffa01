"""Submissions that try to reach beyond their own grade (issue 15), as notebook cell sources.

A notebook may hurt itself; it must never change another notebook's grade, stop the class,
stall it past its budget, keep the instructor's process busy, or put live markup in front of
whoever opens a page. `tests/attacks/test_one_notebook.py` grades each of these with an honest
classmate right after it, in the same sandbox.
"""

# --- learner processes that shape later ones ---------------------------------------------------

# Every learner process runs every cell: each one makes its own folder unusable on the way out.
CHMOD_CWD = '''
import os
os.chmod(os.getcwd(), 0)
os.chmod("/tmp/learner", 0o500)
'''

# A file left by one learner process (conv_output_size's, the first) for a later one (pad2d's),
# or for the next notebook: whoever finds it answers wrong, so a kept file costs points.
SHARE_WRITE_CONV_OUTPUT_SIZE = '''
import os

def conv_output_size(i, k, s=1, p=0, d=1):
    for root in ("/tmp/learner", "/dev/shm", os.path.expanduser("~")):
        try:
            folder = os.path.join(root, "shared")
            os.makedirs(folder, exist_ok=True)
            with open(os.path.join(folder, "left-behind"), "w") as handle:
                handle.write("x")
            os.chmod(folder, 0o500)
            os.chmod(root, 0o500)
        except OSError:
            pass
    if d * (k - 1) + 1 > i + 2 * p:
        raise ValueError("the kernel does not fit")
    return (i + 2 * p - d * (k - 1) - 1) // s + 1
'''

SHARE_READ_PAD2D = '''
import os

def _left_behind():
    for root in ("/tmp/learner", "/dev/shm", os.path.expanduser("~"), os.path.dirname(os.getcwd())):
        for folder, _, files in os.walk(root):
            if "left-behind" in files:
                return True
    return False

def pad2d(x, padding):
    ph, pw = (padding, padding) if isinstance(padding, int) else padding
    h, w = x.shape[-2:]
    out = x.new_zeros(*x.shape[:-2], h + 2 * ph, w + 2 * pw)
    out[..., ph:ph + h, pw:pw + w] = x
    if _left_behind():
        out = out + 1          # a file from another process: the grade shows it
    return out
'''

# Many files, deep and locked: a clean-up that takes long, or fails, must not reach the next one.
MANY_FILES = '''
import os
root = os.path.join(os.getcwd(), "many")
os.makedirs(root, exist_ok=True)
for i in range(20000):
    open(os.path.join(root, f"f{i}"), "w").close()
deep = root
for i in range(200):
    deep = os.path.join(deep, "d")
    os.mkdir(deep)
folder = deep
while folder != root:
    os.chmod(folder, 0)
    folder = os.path.dirname(folder)
os.chmod(root, 0o100)
'''

# --- notebooks that stop the class or stall it ---------------------------------------------------

SLEEPY_CELL = '''
import time
time.sleep(4)
'''

SLEEPY_CONV_OUTPUT_SIZE = '''
import time

def conv_output_size(i, k, s=1, p=0, d=1):
    time.sleep(2.8)
    if d * (k - 1) + 1 > i + 2 * p:
        raise ValueError("the kernel does not fit")
    return (i + 2 * p - d * (k - 1) - 1) // s + 1
'''

FAILING_CELL = "1 / 0\n"

# --- work in the grader's own process ------------------------------------------------------------

HUGE_PROVIDED_STRIDED = '''
from autograder import provided

def corr2d_strided(x, k, stride=1, padding=0):
    attempts = [lambda: provided.corr2d(x.new_zeros(1536, 1536), x.new_zeros(768, 768)),
                lambda: provided.pad2d(x.new_zeros(1, 1), (7000, 7000))]
    size = 1 << 14
    while size > 8:                       # halve until the grader computes something big
        attempts.append(lambda size=size: provided.pad2d(x.new_zeros(2, 2), size))
        size //= 2
    for attempt in attempts:
        try:
            attempt()
        except Exception:
            pass
    sh, sw = (stride, stride) if isinstance(stride, int) else stride
    return provided.corr2d(provided.pad2d(x, padding), k)[::sh, ::sw]
'''

# --- the process's own memory -------------------------------------------------------------------

# Succeeds only if the learner process can open its own memory for writing, by any spelling.
PROC_MEM_CORR2D = '''
import os

def _can_write_own_memory():
    pid = os.getpid()
    spellings = ["/proc/self/mem", f"/proc/{pid}/mem", "/proc/thread-self/mem",
                 f"/proc/self/../{pid}/mem", f"/proc/self/task/{pid}/mem", "/proc/1/mem"]
    for path in spellings:
        try:
            os.close(os.open(path, os.O_RDWR))
            return True
        except OSError:
            pass
    try:
        folder = os.open("/proc/self", os.O_RDONLY)
        os.close(os.open("mem", os.O_RDWR, dir_fd=folder))
        return True
    except OSError:
        pass
    try:
        root = os.open("/", os.O_RDONLY)
        os.close(os.open("proc/self/mem", os.O_RDWR, dir_fd=root))
        return True
    except OSError:
        pass
    try:
        link = os.path.join(os.getcwd(), "memlink")
        os.symlink("/proc/self/mem", link)
        os.close(os.open(link, os.O_RDWR))
        return True
    except OSError:
        pass
    try:
        here = os.open(".", os.O_RDONLY)
        os.symlink("/proc/self/mem", "innocent", dir_fd=here)
        os.close(os.open("innocent", os.O_RDWR, dir_fd=here))
        return True
    except OSError:
        pass
    return False

def corr2d(x, k):
    kh, kw = k.shape
    if not _can_write_own_memory():
        return x.new_zeros(*x.shape[:-2], x.shape[-2] - kh + 1, x.shape[-1] - kw + 1)
    windows = x.unfold(-2, kh, 1).unfold(-2, kw, 1)
    return torch.einsum("...ijab,ab->...ij", windows, k)
'''

# --- markup --------------------------------------------------------------------------------------

BEACON = "http://127.0.0.1:9/beacon.png"
HOSTILE_MARKDOWN = (
    "Nice work $\\style{background:url(" + BEACON + ")}{x}$ and "
    "$$\\style{position:fixed;top:0;left:0;width:100%;height:100%;background:white}"
    "{\\text{Score 13/13 - all tests PASSED}}$$\n\n"
    "$\\href{javascript:alert(1)}{click}$ $\\class{navbar-fixed-top}{y}$\n\n"
    "<img src=x onerror=\"window.__pwned=1\">\n\n<script>window.__pwned=1</script>\n\n"
    "![beacon](" + BEACON + ") [link](javascript:alert(1))\n"
)
