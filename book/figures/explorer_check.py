"""The convolution explorer's arithmetic, run as JavaScript and compared with PyTorch.

The explorer on book/06_explorer.md draws every size, formula and highlighted cell from one
file, ``_ext/static/conv_arithmetic.js`` (`ARITHMETIC_JS`). `explorer_answers` runs that very
file in a JavaScript engine (Node when it is installed, else headless Chromium) over every
setting the explorer's sliders allow, and `disagreements` compares each answer with PyTorch:

* the output size of ``F.conv1d`` and ``F.conv_transpose1d``, or the fact that PyTorch refuses
  the setting, and for which reason (kernel too large, ``output_padding`` too large, empty
  output);
* the formula the explorer prints, read back as integer arithmetic;
* for every output position, the input positions it reads: directly (the sliding window), as a
  scatter (the transposed convolution), and under the window of the equivalent direct
  convolution over the zero-stuffed, padded input. PyTorch's side comes from the
  ``read_pattern`` function the page defines (autograd: where the gradient is non-zero);
* on a few two-dimensional settings (`GRID_SETTINGS`), every output cell's reads against
  ``F.conv2d`` and ``F.conv_transpose2d``.

`check_explorer` runs all of this and raises `AssertionError`, naming the first settings that
disagree (each one replayable with PyTorch), so that the page's build fails. Arguments are
keyword-only: these functions are not convolutions, and never stand in for one.
"""
from __future__ import annotations

import html
import itertools
import json
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import torch.nn.functional as F

ARITHMETIC_JS = Path(__file__).resolve().parent.parent / "_ext" / "static" / "conv_arithmetic.js"
FIELDS = ("size", "kernel", "stride", "padding", "dilation", "outputPadding")
CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome")

# Two-dimensional settings, one per idea the page asks the reader to try.
GRID_SETTINGS = [
    ("direct", dict(size=5, kernel=3, stride=2, padding=1, dilation=1, outputPadding=0)),
    ("direct", dict(size=8, kernel=3, stride=1, padding=0, dilation=2, outputPadding=0)),
    ("direct", dict(size=7, kernel=4, stride=3, padding=2, dilation=1, outputPadding=0)),
    ("transposed", dict(size=3, kernel=3, stride=2, padding=1, dilation=1, outputPadding=1)),
    ("transposed", dict(size=4, kernel=2, stride=3, padding=0, dilation=2, outputPadding=2)),
    ("transposed", dict(size=4, kernel=3, stride=2, padding=3, dilation=1, outputPadding=1)),
    ("stuffed", dict(size=3, kernel=3, stride=2, padding=1, dilation=1, outputPadding=1)),
    ("stuffed", dict(size=4, kernel=2, stride=3, padding=0, dilation=2, outputPadding=2)),
    ("stuffed", dict(size=4, kernel=3, stride=2, padding=3, dilation=1, outputPadding=1)),
]

# Evaluated with ConvArithmetic and the data from Python; returns what Python compares.
_DRIVER = r"""(A, data) => {
  const L = A.LIMITS;
  const span = ([lo, hi]) => Array.from({length: hi - lo + 1}, (_, n) => lo + n);
  const upTo = n => Array.from({length: n}, (_, j) => j);
  const settings = sizes => {
    const all = [];
    for (const size of sizes) for (const kernel of span(L.kernel))
      for (const stride of span(L.stride)) for (const padding of span(L.padding))
        for (const dilation of span(L.dilation)) for (const outputPadding of span(L.outputPadding))
          all.push({size, kernel, stride, padding, dilation, outputPadding});
    return all;
  };
  const answer = (c, sizeOf, formula, readers, windows) => {
    const out = {setting: c, formula: formula(c)}, r = sizeOf(c);
    if (r.error) return Object.assign(out, {error: r.error, message: r.message});
    out.size = r.size;
    for (const [name, reads] of Object.entries(readers)) {
      out[name] = upTo(r.size).map(j => reads(c, j));
    }
    for (const [name, window] of Object.entries(windows)) {
      out[name] = [window(c, 0), window(c, r.size - 1)];
    }
    return out;
  };
  const direct = settings(span(L.size)).map(c => answer(
    c, A.directSize, A.directFormula, {reads: A.directReads}, {windows: A.directWindow}));
  const largest = Math.max(L.size[1], ...direct.filter(a => !a.error).map(a => a.size));
  const transposed = settings(span([1, largest])).map(c => Object.assign(answer(
    c, A.transposedSize, A.transposedFormula,
    {reads: A.transposedReads, stuffed: A.stuffedReads}, {windows: A.stuffedWindow}),
    {stuffedLength: A.stuffedLength(c)}));
  const readers = {direct: A.directReads, transposed: A.transposedReads,
                   stuffed: A.stuffedReads};
  const grid = data.grid.map(([kind, c]) => {
    const n = (kind === 'direct' ? A.directSize : A.transposedSize)(c).size;
    return upTo(n).flatMap(r => upTo(n).map(col => A.grid(readers[kind], c, r, col)));
  });
  return {limits: L, direct, transposed, grid};
}"""


def javascript_engine(*, preferred="auto"):
    """("node" or "chromium", its path), or None when neither is installed.

    ``preferred`` is "auto" (Node first: it starts in a tenth of a second), "node" or
    "chromium".
    """
    names = {"auto": ("node",) + CHROMIUM_NAMES, "node": ("node",),
             "chromium": CHROMIUM_NAMES}[preferred]
    for name in names:
        path = shutil.which(name)
        if path:
            return ("node" if name == "node" else "chromium", path)
    return None


def run_javascript(*, driver, data, engine, script=ARITHMETIC_JS, timeout=120):
    """The JSON value of ``(driver)(ConvArithmetic, data)``, evaluated by ``engine`` (from
    `javascript_engine`) after it has run ``script`` (`ARITHMETIC_JS`: the file the page
    loads, as it loads it; tests pass a broken copy).

    Raises RuntimeError with the engine's own error when the script fails.
    """
    kind, path = engine
    payload = json.dumps(data)
    with tempfile.TemporaryDirectory(prefix="explorer-js-") as folder:
        if kind == "node":
            script = (f"require({json.dumps(str(script))});\n"
                      f"const result = ({driver})(globalThis.ConvArithmetic, {payload});\n"
                      "process.stdout.write(JSON.stringify(result));\n")
            run = subprocess.run([path, "-e", script], capture_output=True, text=True,
                                 timeout=timeout)
            if run.returncode:
                raise RuntimeError(f"node failed: {run.stderr.strip()[-2000:]}")
            return json.loads(run.stdout)
        page = Path(folder) / "run.html"
        page.write_text(
            '<!DOCTYPE html><html><head><meta charset="utf-8"></head><body><pre id="out">'
            f'</pre><script src="{Path(script).resolve().as_uri()}"></script><script>\n'
            "let result;\n"
            f"try {{ result = {{value: ({driver})(globalThis.ConvArithmetic, {payload})}}; }}\n"
            "catch (error) { result = {error: String(error && error.stack || error)}; }\n"
            "document.getElementById('out').textContent = JSON.stringify(result);\n"
            "</script></body></html>")
        run = subprocess.run(
            [path, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
             "--disable-extensions", f"--user-data-dir={Path(folder) / 'profile'}",
             "--dump-dom", page.as_uri()],
            capture_output=True, text=True, timeout=timeout)
        found = re.search(r'<pre id="out">(.*?)</pre>', run.stdout, re.S)
        if not found or not found[1]:
            raise RuntimeError(f"chromium printed no result: {run.stderr.strip()[-2000:]}")
        result = json.loads(html.unescape(found[1]))
        if "error" in result:
            raise RuntimeError(f"chromium: {result['error']}")
        return result["value"]


def explorer_answers(*, engine, script=ARITHMETIC_JS):
    """What conv_arithmetic.js computes for every setting within its sliders' limits (and,
    for the transposed convolution, every input size the direct one can hand it), plus the
    reads of every output cell of `GRID_SETTINGS`."""
    return run_javascript(driver=_DRIVER, data={"grid": GRID_SETTINGS}, engine=engine,
                          script=script)


def _describe(kind, setting):
    names = {"size": "i", "kernel": "k", "stride": "s", "padding": "p", "dilation": "d",
             "outputPadding": "output_padding"}
    return f"{kind} " + " ".join(f"{names[f]}={setting[f]}" for f in FIELDS)


def _refusal(error):
    """Which of PyTorch's refusals ``error`` (a RuntimeError) is, by its message."""
    message = str(error)
    for text, kind in [("Kernel size can't be greater", "kernel"),
                       ("output padding must be smaller", "output_padding"),
                       ("Output size is too small", "empty")]:
        if text in message:
            return kind
    return f"unexpected: {message[:120]}"


def torch_answer(kind, setting, *, read_pattern, dims=1):
    """PyTorch's answer for ``setting`` (a dict with `FIELDS`) on a ``dims``-dimensional
    square input: {"size": n, "reads": [sorted reads of each output, row-major]} or
    {"error": the refusal}. ``kind`` is "direct" (F.conv1d/2d) or "transposed" (or
    "stuffed", the same operation). A read is an input position, a list of ``dims`` ints.
    """
    key = (kind, tuple(setting[f] for f in FIELDS), read_pattern, dims)
    if key not in _ANSWERS:
        _ANSWERS[key] = _torch_answer(kind, setting, read_pattern=read_pattern, dims=dims)
    return _ANSWERS[key]


_ANSWERS = {}        # PyTorch does not change its mind: each setting is asked once per process


def _torch_answer(kind, setting, *, read_pattern, dims):
    conv = {("direct", 1): F.conv1d, ("direct", 2): F.conv2d}.get(
        (kind, dims), F.conv_transpose1d if dims == 1 else F.conv_transpose2d)
    arguments = dict(stride=setting["stride"], padding=setting["padding"],
                     dilation=setting["dilation"])
    if kind != "direct":
        arguments["output_padding"] = setting["outputPadding"]
    try:
        pattern = read_pattern(conv, (setting["size"],) * dims, setting["kernel"],
                               **arguments)
    except RuntimeError as error:
        return {"error": _refusal(error)}
    sizes = set(pattern.shape[:dims])
    assert len(sizes) == 1, f"a square input gave a {tuple(pattern.shape[:dims])} output"
    flat = pattern.reshape(-1, *pattern.shape[dims:])
    return {"size": sizes.pop(),
            "reads": [cell.nonzero().tolist() for cell in flat]}


def _formula_value(text):
    """The integer the printed formula evaluates to: ⌊a / b⌋ is floor division."""
    python = (text.replace("⌊", "(").replace("⌋", ")").replace(" / ", " // ")
              .replace("×", "*").replace("−", "-"))
    assert re.fullmatch(r"[\d\s()+\-*/]+", python), f"not arithmetic: {text!r}"
    return eval(python, {"__builtins__": {}})             # digits and operators only


def disagreements(answers, *, read_pattern):
    """Every way in which ``answers`` (from `explorer_answers`) differ from PyTorch, each as
    a line that names the setting; [] when they agree everywhere."""
    problems = []
    limits = answers["limits"]
    spans = {f: list(range(limits[f][0], limits[f][1] + 1)) for f in FIELDS}

    def expect_settings(kind, sizes):
        got = [tuple(a["setting"][f] for f in FIELDS) for a in answers[kind]]
        wanted = list(itertools.product(sizes, *(spans[f] for f in FIELDS[1:])))
        if sorted(got) != sorted(wanted):
            problems.append(f"{kind}: the JavaScript checked {len(got)} settings, "
                            f"not the {len(wanted)} its sliders allow")

    largest = spans["size"][-1]
    for kind in ("direct", "transposed"):
        if kind == "transposed":
            expect_settings(kind, range(1, largest + 1))
        else:
            expect_settings(kind, spans["size"])
        for js in answers[kind]:
            setting, name = js["setting"], _describe(kind, js["setting"])
            torch = torch_answer(kind, setting, read_pattern=read_pattern)
            value = _formula_value(js["formula"])
            if "error" in torch or "error" in js:
                if torch.get("error") != js.get("error"):
                    problems.append(f"{name}: JavaScript says {js.get('error', js.get('size'))}"
                                    f", PyTorch {torch.get('error', torch.get('size'))}")
                elif js["error"] != "output_padding" and value >= 1:
                    problems.append(f"{name}: refused, yet its formula gives {value}")
                continue
            if kind == "direct":
                largest = max(largest, torch["size"])
            if js["size"] != torch["size"] or value != torch["size"]:
                problems.append(f"{name}: JavaScript size {js['size']}, its formula "
                                f"{js['formula']} = {value}, PyTorch {torch['size']}")
                continue
            wanted = [[m for (m,) in cell] for cell in torch["reads"]]
            readers = ["reads"] + (["stuffed"] if kind == "transposed" else [])
            for reader in readers:
                for j, (got, want) in enumerate(zip(js[reader], wanted)):
                    if got != want:
                        problems.append(f"{name}: output {j} reads {got} ({reader}), "
                                        f"PyTorch {want}")
                        break
            # The first window starts at the first cell; the last is the last that fits.
            first, last = js["windows"]
            end, step = ((setting["size"] + 2 * setting["padding"], setting["stride"])
                         if kind == "direct" else (js["stuffedLength"], 1))
            if not (first[0] == 0 and last[-1] < end <= last[-1] + step):
                problems.append(f"{name}: the windows run from {first[0]} to {last[-1]} "
                                f"on a line of {end} cells")
    for (kind, setting), js in zip(GRID_SETTINGS, answers["grid"]):
        torch = torch_answer(kind, setting, read_pattern=read_pattern, dims=2)
        if js != torch.get("reads"):
            problems.append(f"{_describe(kind, setting)}, 2-D: the cells read differ")
    return problems


def check_explorer(*, read_pattern, engine="auto", script=ARITHMETIC_JS):
    """Compare conv_arithmetic.js with PyTorch (see the module's docstring).

    Returns {"engine": its name or None, "direct": settings, "transposed": settings,
    "refused": settings PyTorch refuses, "outputs": output positions whose reads were
    compared, "grid": 2-D settings}. With no JavaScript engine installed nothing is run and
    "engine" is None. Raises AssertionError listing the first disagreements.
    """
    found = javascript_engine(preferred=engine)
    if found is None:
        return {"engine": None}
    answers = explorer_answers(engine=found, script=script)
    problems = disagreements(answers, read_pattern=read_pattern)
    assert not problems, ("conv_arithmetic.js disagrees with PyTorch:\n  "
                          + "\n  ".join(problems[:20])
                          + (f"\n  ... {len(problems) - 20} more" if len(problems) > 20
                             else ""))
    valid = [a for kind in ("direct", "transposed") for a in answers[kind] if "size" in a]
    return {"engine": found[0], "direct": len(answers["direct"]),
            "transposed": len(answers["transposed"]),
            "refused": sum("error" in a for k in ("direct", "transposed")
                           for a in answers[k]),
            "outputs": sum(a["size"] for a in valid), "grid": len(GRID_SETTINGS)}
