"""`autograder.integrity.Snapshot`: every change notebook code can make to what the checks rely on
is listed, whether the snapshot reads the functions' attributes at each check (a notebook's
kernel) or learns of assignments from an audit hook (the grader's learner process)."""
import subprocess
import sys
import textwrap

import pytest

from tests.conftest import REPO

# A module to watch, and the changes a notebook could make to it (one per case).
MODULE = '''
import types
module = types.ModuleType("watched")
exec("""
def make():
    limit = 3
    def inner(x):
        return x < limit
    return inner
inner = make()
def plain(a, b=1, *, c=2):
    return a + b + c
class Watch:
    def method(self):
        return 1
""", vars(module))
module.__name__ = "watched"
for value in vars(module).values():
    if callable(value) and hasattr(value, "__module__"):
        value.__module__ = "watched"
'''

CHANGES = {
    "none": "",
    "rebind": "module.plain = lambda a, b=1, *, c=2: 0",
    "code": "module.plain.__code__ = (lambda a, b=1, *, c=2: 0).__code__",
    "code_via_object": "object.__setattr__(module.plain, '__code__', (lambda a, b=1, *, c=2: 0).__code__)",
    "defaults": "module.plain.__defaults__ = (5,)",
    "kwdefaults": "module.plain.__kwdefaults__ = {'c': 7}",
    "closure": "module.inner.__closure__[0].cell_contents = 10**9",
    "class_attribute": "module.Watch.method = lambda self: 2",
    "class_attribute_added": "module.Watch.extra = 1",
    "method_code": "module.Watch.method.__code__ = (lambda self: 2).__code__",
}

SCRIPT = '''
import sys
sys.path.insert(0, {repo!r})
from autograder.integrity import Snapshot
{module}
snapshot = Snapshot({{"watched": module}})
if {watched}:
    sys.addaudithook(lambda event, args: snapshot.note_setattr(args[0], args[1])
                     if event == "object.__setattr__" else None)
    snapshot.watch_setattr()
{change}
print(repr(snapshot.changes()))
'''


@pytest.mark.parametrize("watched", [False, True], ids=["reads", "audit-hook"])
@pytest.mark.parametrize("change", sorted(CHANGES))
def test_every_change_is_listed(change, watched):
    script = SCRIPT.format(repo=str(REPO), module=textwrap.dedent(MODULE), watched=watched,
                           change=CHANGES[change])
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 0, proc.stderr
    found = eval(proc.stdout.strip())
    if change == "none":
        assert found == []
    else:
        assert found and all(f.startswith("watched.") for f in found), found
