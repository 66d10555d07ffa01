"""The convolution explorer (book/06_explorer.md): its arithmetic, and the built page in Chromium.

* The arithmetic file (book/_ext/static/conv_arithmetic.js) agrees with PyTorch in every
  JavaScript engine installed (Node, Chromium), and the engines agree with each other; the
  page's check fails on copies of the file with one mistake each, so a check that can no
  longer fail is noticed. PyTorch's side is the page's own `read_pattern`.
* The built page, opened in headless Chromium with networking off at 1280 px: its controls are
  labelled native inputs whose ranges are the arithmetic's limits; moving a slider (input
  events, and the arrow key on a focused slider) changes the drawing and the numbers; the
  sizes shown equal PyTorch's, refusals included; the cells highlighted for a clicked output
  cell are the inputs PyTorch says it reads; the largest grids fit the text column; and
  nothing logs an error.

`make test` builds the book first (`make book`), so _build/html is current.
"""
import json

import pytest
import torch
import torch.nn.functional as F

from tests.browser import CHROMIUM, LAYOUT_JS, Browser, Tab
from tests.conftest import REPO
from tests.test_book_answers import code_cells

BOOK = REPO / "book"
PAGE = REPO / "_build" / "html" / "book" / "06_explorer.html"
from figures import explorer_check  # noqa: E402 - book/ is on pytest's pythonpath

pytestmark = pytest.mark.slow
needs_chromium = pytest.mark.skipif(
    CHROMIUM is None, reason="Chromium is not installed (.ci/run installs Debian's chromium)")
ENGINES = [name for name in ("node", "chromium")
           if explorer_check.javascript_engine(preferred=name)]


@pytest.fixture(scope="module")
def read_pattern():
    """The page's own `read_pattern`, taken from its code cell and run."""
    source = next(s for s, _ in code_cells(BOOK / "06_explorer.md")
                  if s.lstrip().startswith("def read_pattern("))
    namespace = {"torch": torch, "F": F}
    exec(compile(source, "<06_explorer.md, read_pattern>", "exec"), namespace)
    return namespace["read_pattern"]


# ---------------------------------------------------------------------------------------------
# The arithmetic, in each engine

@pytest.mark.skipif(not ENGINES, reason="neither Node nor Chromium is installed")
def test_the_arithmetic_agrees_with_pytorch_in_every_engine(read_pattern):
    answers = {name: explorer_check.explorer_answers(
        engine=explorer_check.javascript_engine(preferred=name)) for name in ENGINES}
    first = answers[ENGINES[0]]
    assert explorer_check.disagreements(first, read_pattern=read_pattern) == []
    assert len(first["direct"]) > 1000 and len(first["transposed"]) > 1000
    for name in ENGINES[1:]:
        assert answers[name] == first, f"{name} and {ENGINES[0]} compute different answers"


MISTAKES = {
    "ceil for floor": ("return {size: Math.floor((c.size", "return {size: Math.ceil((c.size"),
    "output_padding up to the stride": (
        "c.outputPadding >= Math.max(c.stride, c.dilation)",
        "c.outputPadding > Math.max(c.stride, c.dilation)"),
    "scatter without dilation": (
        "const taps = c => range(c.kernel).map(a => a * c.dilation);",
        "const taps = c => range(c.kernel);"),
    "zero-stuffed line padded by k - 1 - p": (
        "return c.dilation * (c.kernel - 1) - c.padding;", "return c.kernel - 1 - c.padding;"),
    "printed formula without the dilation": (
        "`⌊(${c.size} + 2×${c.padding} − ${c.dilation}×",
        "`⌊(${c.size} + 2×${c.padding} − 1×"),
}


@pytest.mark.skipif(not ENGINES, reason="neither Node nor Chromium is installed")
@pytest.mark.parametrize("mistake", MISTAKES)
def test_the_check_fails_on_a_wrong_arithmetic_file(mistake, read_pattern, tmp_path):
    right, wrong = MISTAKES[mistake]
    source = explorer_check.ARITHMETIC_JS.read_text()
    assert source.count(right) == 1, f"the mutation '{mistake}' no longer applies"
    broken = tmp_path / "conv_arithmetic.js"
    broken.write_text(source.replace(right, wrong))
    with pytest.raises(AssertionError, match=r"disagrees with PyTorch:\n  (direct|transposed)"):
        explorer_check.check_explorer(read_pattern=read_pattern, engine=ENGINES[0],
                                      script=broken)


# ---------------------------------------------------------------------------------------------
# The built page

SET = """((values, chained) => {
    const box = document.querySelector('.conv-explorer input[type=checkbox]');
    if (box.checked !== chained) {
        box.checked = chained;
        box.dispatchEvent(new Event('change', {bubbles: true}));
    }
    for (const [name, value] of Object.entries(values)) {
        const slider = document.querySelector(`.conv-explorer input[data-name="${name}"]`);
        slider.value = value;
        slider.dispatchEvent(new Event('input', {bubbles: true}));
    }
    return true;
})"""

# What the reader sees: sizes shown (the number after the formula), messages, the chosen
# output cells and the highlighted input cells of each panel, and the grids' drawings.
READ = r"""(() => {
    const q = s => document.querySelector('.conv-explorer ' + s);
    const shown = kind => {
        const line = q(`[data-role="${kind}-size"]`);
        const number = line.textContent.match(/= (\d+)$/);
        return {size: line.dataset.size === '' ? null : Number(line.dataset.size),
                text: number ? Number(number[1]) : null,
                message: q(`[data-role="${kind}-message"]`).textContent,
                reads: q(`[data-role="${kind}-reads"]`).textContent};
    };
    const cells = (grid, cls) => Array.from(
        document.querySelectorAll(`.conv-explorer [data-grid="${grid}"] rect.${cls}`))
        .map(r => [Number(r.dataset.r), Number(r.dataset.c)]);
    const drawing = grid => (q(`[data-grid="${grid}"] svg`) || {}).innerHTML || '';
    return {direct: shown('direct'), transposed: shown('transposed'),
            directHits: cells('direct-input', 'cx-hit'),
            transposedHits: cells('transposed-input', 'cx-hit'),
            stuffedHits: cells('stuffed', 'cx-hit'),
            directChosen: cells('direct-output', 'cx-selected'),
            transposedChosen: cells('transposed-output', 'cx-selected'),
            drawings: ['direct-input', 'direct-output', 'transposed-input',
                       'transposed-output', 'stuffed'].map(drawing)};
})()"""


def click(tab, grid, r, c):
    """A click on cell (r, c) of an output grid, as a mouse would send it."""
    return tab.evaluate(f"""(() => {{
        const cell = document.querySelector(
            '.conv-explorer [data-grid="{grid}"] rect[data-r="{r}"][data-c="{c}"]');
        cell.dispatchEvent(new MouseEvent('click', {{bubbles: true}}));
        return true;
    }})()""")


def torch_side(conv, i, k, **arguments):
    """PyTorch's output side for an i×i input and a k×k kernel, or None if it refuses."""
    try:
        return conv(torch.zeros(1, 1, i, i), torch.zeros(1, 1, k, k), **arguments).shape[-1]
    except RuntimeError:
        return None


def torch_sizes(setting, chained):
    i, k, s, p, d, op = (setting[f] for f in explorer_check.FIELDS)
    direct = torch_side(F.conv2d, i, k, stride=s, padding=p, dilation=d)
    source = direct if chained else i
    transposed = None if source is None else torch_side(
        F.conv_transpose2d, source, k, stride=s, padding=p, dilation=d, output_padding=op)
    return direct, transposed, source


SETTINGS = [   # (i, k, s, p, d, output_padding), chained
    ((6, 3, 2, 1, 1, 0), True),      # the explorer's start: 6 -> 3 -> 5
    ((6, 3, 2, 1, 1, 1), True),      # output_padding brings 6 back
    ((5, 3, 2, 1, 1, 2), True),      # refused: output_padding >= max(stride, dilation)
    ((5, 3, 2, 1, 3, 2), True),      # allowed with dilation 3
    ((8, 3, 1, 0, 2, 0), True),      # dilation's holes
    ((6, 2, 2, 3, 1, 0), False),     # padding that crops the zero-stuffed line
    ((2, 4, 1, 0, 1, 0), True),      # the kernel does not fit: no input for the transposed
    ((1, 1, 1, 1, 1, 0), False),     # refused: the transposed output would be empty
    ((8, 4, 3, 3, 3, 2), False),     # the largest grids
]


@pytest.fixture(scope="module")
def tab():
    if not PAGE.is_file():
        pytest.fail("the book is not built: run `make book` (make test does it first)")
    browser = Browser()
    page = Tab(browser, PAGE.as_uri())
    yield page
    page.close()
    browser.close()


@needs_chromium
def test_controls_are_labelled_native_inputs_with_the_arithmetics_limits(tab):
    controls = tab.evaluate("""(() => Array.from(
        document.querySelectorAll('.conv-explorer input')).map(input => ({
            type: input.type, name: input.dataset.name || null,
            min: input.min, max: input.max,
            label: (input.labels[0] || {}).textContent || ''})))()""")
    limits = tab.evaluate("ConvArithmetic.LIMITS")
    ranges = {c["name"]: [int(c["min"]), int(c["max"])] for c in controls
              if c["type"] == "range"}
    assert ranges == limits
    assert all(c["label"].strip() for c in controls), controls
    assert [c["type"] for c in controls].count("checkbox") == 1
    buttons = tab.evaluate("""Array.from(document.querySelectorAll('.conv-explorer button'))
        .map(b => b.getAttribute('aria-label'))""")
    assert len(buttons) == 4 and all(buttons), buttons
    assert tab.errors() == []


@needs_chromium
@pytest.mark.parametrize("setting, chained", SETTINGS)
def test_sizes_shown_are_pytorchs(tab, setting, chained):
    values = dict(zip(explorer_check.FIELDS, setting))
    tab.evaluate(f"{SET}({json.dumps(values)}, {json.dumps(chained)})")
    seen = tab.evaluate(READ)
    direct, transposed, _ = torch_sizes(values, chained)
    assert seen["direct"]["size"] == seen["direct"]["text"] == direct, seen["direct"]
    assert seen["transposed"]["size"] == seen["transposed"]["text"] == transposed, \
        seen["transposed"]
    assert bool(seen["direct"]["message"]) == (direct is None)
    refused = transposed is None and (direct is not None or not chained)
    assert bool(seen["transposed"]["message"]) == refused, seen["transposed"]
    assert tab.errors() == []


@needs_chromium
def test_a_clicked_output_cell_highlights_the_inputs_pytorch_says_it_reads(tab,
                                                                          read_pattern):
    values = dict(zip(explorer_check.FIELDS, (7, 3, 2, 1, 2, 1)))
    tab.evaluate(f"{SET}({json.dumps(values)}, true)")
    i, k, s, p, d, op = setting = [values[f] for f in explorer_check.FIELDS]
    _, _, source = torch_sizes(values, chained=True)
    direct = read_pattern(F.conv2d, (i, i), k, stride=s, padding=p, dilation=d)
    transposed = read_pattern(F.conv_transpose2d, (source, source), k, stride=s,
                              padding=p, dilation=d, output_padding=op)
    assert direct.shape[0] == 3 and transposed.shape[0] == 8
    highlighted = 0
    for r, c in [(0, 0), (1, 2), (2, 1)]:
        click(tab, "direct-output", r, c)
        seen = tab.evaluate(READ)
        assert seen["directChosen"] == [[r, c]]
        wanted = direct[r, c].nonzero().tolist()
        assert sorted([a - p, b - p] for a, b in seen["directHits"]) == wanted, setting
    for r, c in [(0, 0), (1, 2), (4, 3), (7, 7)]:
        click(tab, "transposed-output", r, c)
        seen = tab.evaluate(READ)
        assert seen["transposedChosen"] == [[r, c]]
        wanted = transposed[r, c].nonzero().tolist()
        assert sorted(seen["transposedHits"]) == wanted, setting
        assert len(seen["stuffedHits"]) == len(wanted)
        highlighted += len(wanted)
    assert highlighted > 0
    assert tab.errors() == []


@needs_chromium
def test_moving_a_slider_changes_the_drawing_and_the_numbers(tab):
    tab.evaluate(f"{SET}({json.dumps(dict(zip(explorer_check.FIELDS, (6, 3, 1, 1, 1, 0))))}"
                 ", true)")
    before = tab.evaluate(READ)
    # The keyboard: focus the stride slider and press the right arrow.
    tab.evaluate("document.querySelector('.conv-explorer input[data-name=stride]').focus()")
    tab.press("ArrowRight", key_code=39)
    assert tab.evaluate(
        "document.querySelector('.conv-explorer input[data-name=stride]').value") == "2"
    click(tab, "direct-output", 0, 0)
    after = tab.evaluate(READ)
    assert (before["direct"]["size"], after["direct"]["size"]) == (6, 3)
    assert (before["transposed"]["size"], after["transposed"]["size"]) == (6, 5)
    changed = [b != a for b, a in zip(before["drawings"], after["drawings"])]
    assert changed[1] and changed[3], "the output grids were not redrawn"
    # The buttons step through the output cells, and the reads line follows.
    text = after["direct"]["reads"]
    tab.evaluate("""document.querySelector(
        '.conv-explorer [data-panel=direct] button[data-step="1"]').click()""")
    stepped = tab.evaluate(READ)
    assert stepped["directChosen"] == [[0, 1]] and stepped["direct"]["reads"] != text
    # Arrow keys on the focused output grid move the chosen cell too.
    tab.evaluate("document.querySelector('.conv-explorer [data-grid=direct-output] svg')"
                 ".focus()")
    tab.press("ArrowDown", key_code=40)
    assert tab.evaluate(READ)["directChosen"] == [[1, 1]]
    assert tab.errors() == []


@needs_chromium
def test_the_largest_grids_fit_the_text_column(tab):
    values = dict(zip(explorer_check.FIELDS, (8, 4, 3, 0, 3, 2)))
    tab.evaluate(f"{SET}({json.dumps(values)}, false)")
    seen = tab.evaluate(READ)
    assert seen["transposed"]["size"] == torch_sizes(values, chained=False)[1] == 33
    layout = json.loads(tab.evaluate(LAYOUT_JS))
    assert layout["overflowing"] == [], layout["overflowing"]
    assert layout["scrollWidth"] <= layout["viewportWidth"]
    assert tab.errors() == []


def test_without_a_javascript_engine_the_check_says_it_did_not_run(monkeypatch, read_pattern):
    """A machine with neither Node nor Chromium still builds the book; the page says so."""
    monkeypatch.setattr(explorer_check.shutil, "which", lambda name: None)
    assert explorer_check.check_explorer(read_pattern=read_pattern) == {"engine": None}


@pytest.mark.skipif(CHROMIUM is None, reason="no JavaScript engine here: the page says so")
def test_the_built_book_ran_the_check_where_an_engine_is_installed():
    """Where Chromium is installed (CI, and every machine that runs the browser tests), the
    build that made this page ran the arithmetic check: a check that silently stopped running
    would fail here, not pass."""
    import re
    text = " ".join(re.sub(r"<[^>]+>", "", PAGE.read_text()).split())
    assert "This time the check ran in" in text, "the explorer's check did not run on build"
    assert "was not run when this copy was built" not in text
