"""The book teaches, the exercises test: no book function earns a graded exercise's points.

Each page's code cells run in order, as the book build runs them (a fresh namespace, the working
folder book/, matplotlib's Agg backend). Every function they define, and every function of the
book's helper modules (book/figures), goes through the checks of every graded exercise whose stub it
could stand in for, whatever its name (it accepts the stub's required arguments, and needs no
more than the stub takes): the visible cases and the hidden cases of a few seeds. Each check must
fail. A book function that passed one would hand a learner the points for copying the reading
(renaming it is all it takes); where the book shows an implementation, the exercise must ask for
what the book leaves to the learner, or the book shows less.
"""
import contextlib
import importlib
import inspect
import io
import os
import pkgutil
import re
import types
import warnings

import pytest

from autograder import CheckFailure, check, exercise_db
from tests.conftest import REPO

BOOK = REPO / "book"
PAGES = sorted(BOOK.glob("*.md"))
SEEDS = (11, 222)

_FENCE = re.compile(r"^```\{code-cell\}[^\n]*\n(.*?)^```[ \t]*$", re.MULTILINE | re.DOTALL)


def code_cells(page):
    """[(source, tags)] of a MyST notebook page's ```{code-cell} blocks, in order."""
    cells = []
    for match in _FENCE.finditer(page.read_text()):
        lines = match.group(1).splitlines()
        options = []
        if lines and lines[0].strip() == "---":            # a YAML block of options
            end = next(i for i in range(1, len(lines)) if lines[i].strip() == "---")
            options, lines = lines[1:end], lines[end + 1:]
        else:
            while lines and re.match(r"^:[\w-]+:", lines[0]):   # `:tags: [...]` lines
                options.append(lines.pop(0)[1:])
        tags = set()
        for option in options:
            found = re.match(r"^\s*tags:\s*\[(.*)\]", option)
            if found:
                tags |= {t.strip().strip("'\"") for t in found.group(1).split(",") if t.strip()}
        cells.append(("\n".join(lines), tags))
    return cells


@contextlib.contextmanager
def _in_book_folder():
    """The pages' working folder; their helpers (book/figures) are importable anywhere in the
    tests (``pythonpath`` in pyproject.toml)."""
    saved_cwd = os.getcwd()
    os.chdir(BOOK)
    try:
        yield
    finally:
        os.chdir(saved_cwd)


@contextlib.contextmanager
def _no_rendering():
    """Pictures are drawn but not rendered: `figures.animate`'s players and PNGs (what takes
    most of a page's time, and defines no function) return None, and figures skip the layout
    pass of their readability check (`figures.common.readable`, `check_readable`), while the
    pages run here. The book's build renders and checks them."""
    import matplotlib.pyplot as plt
    import figures

    def closed(fig, *args, **kwargs):
        plt.close(fig)

    modules = [importlib.import_module(f"figures.{info.name}")
               for info in pkgutil.iter_modules(figures.__path__)]
    saved = [(module, name, vars(module)[name]) for module in modules
             for name in ("animation", "light_png", "readable", "check_readable")
             if name in vars(module)]
    stubs = {"animation": closed, "light_png": closed,
             "readable": lambda fig, *args, **kwargs: fig,
             "check_readable": lambda fig, *args, **kwargs: fig}
    for module, name, _ in saved:
        setattr(module, name, stubs[name])
    try:
        yield
    finally:
        for module, name, original in saved:
            setattr(module, name, original)


def book_functions(page):
    """{name: [functions]}: every top-level function the page's code cells define, in order.

    A name bound again by a later cell keeps both functions: each one is what a reader copies.
    """
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import torch

    found = {}
    namespace = {"__name__": f"book_{page.stem}"}
    state = torch.random.get_rng_state()
    with _in_book_folder(), warnings.catch_warnings(), _no_rendering(), \
            contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        try:
            for number, (source, tags) in enumerate(code_cells(page), start=1):
                if "skip-execution" in tags:
                    continue
                filename = f"<{page.name}, code cell {number}>"
                try:
                    exec(compile(source, filename, "exec"), namespace)
                except Exception:
                    if "raises-exception" not in tags:
                        raise
                plt.close("all")
                for name, value in namespace.items():
                    code = getattr(value, "__code__", None)
                    if code is not None and code.co_filename == filename:
                        found.setdefault(name, []).append(value)
        finally:
            plt.close("all")
            torch.random.set_rng_state(state)
    return found


def _required(signature):
    return [p for p in signature.parameters.values() if p.default is p.empty
            and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]


def _stubs():
    """{exercise key: the signature of the function the learner writes}."""
    from tests.conftest import solution_functions
    return {key: inspect.signature(solution_functions(info.assignment)[info.name])
            for key, info in exercise_db.items()}


def could_stand_in(function, stub):
    """Whether ``function`` can be called as the stub is: it takes the stub's required
    arguments positionally and needs none the stub does not have."""
    try:
        signature = inspect.signature(function)
        signature.bind(*range(len(_required(stub))))
    except (TypeError, ValueError):
        return False
    return 1 <= len(_required(signature)) <= len(stub.parameters)


def helper_functions():
    """{name: [function]}: the functions the book's helper modules (book/figures) define."""
    import figures
    found = {}
    with _in_book_folder():
        for info in sorted(pkgutil.iter_modules(figures.__path__), key=lambda i: i.name):
            module = importlib.import_module(f"figures.{info.name}")
            for name, value in vars(module).items():
                if (isinstance(value, types.FunctionType)
                        and value.__module__ == module.__name__):
                    found.setdefault(name, []).append(value)
    return found


def _checks_passed(key, function):
    """The checks of exercise ``key`` that ``function`` passes: what it would earn."""
    passed = []
    runs = [("visible", {})] + [(f"hidden, seed {seed}", {"hidden": True, "seed": seed})
                                for seed in SEEDS]
    for label, kwargs in runs:
        try:
            check(key, function, devices=["cpu"], verbose=False, **kwargs)
        except CheckFailure:
            continue
        passed.append(label)
    return passed


def test_the_pages_have_code_cells():
    """The parser finds the cells (a page it cannot read would pass the test below vacuously)."""
    counts = {page.stem: len(code_cells(page)) for page in PAGES}
    chapters = {stem: n for stem, n in counts.items() if stem[:2].isdigit()}
    assert len(chapters) >= 9 and all(n >= 5 for n in chapters.values()), counts
    cells = code_cells(BOOK / "01_cross_correlation.md")
    assert any({"remove-input", "remove-cell"} & set(tags) for _, tags in cells)
    assert any(source.lstrip().startswith("def correlate2d(") for source, _ in cells)


def _earned(functions, stubs):
    earned = []
    for name, defined in functions.items():
        for function in defined:
            for key, stub in stubs.items():
                if could_stand_in(function, stub):
                    passed = _checks_passed(key, function)
                    if passed:
                        earned.append(f"{name} (line {function.__code__.co_firstlineno} of "
                                      f"{function.__code__.co_filename}) passes {key}: "
                                      + ", ".join(passed))
    return earned


def test_a_renamed_answer_is_found():
    """The matching is by signature: the course's own solution, under another name, is caught."""
    from tests.conftest import solution_functions
    stubs = _stubs()
    answer = solution_functions("01_cross_correlation")["corr2d"]
    renamed = types.FunctionType(answer.__code__, answer.__globals__, "sliding_dot_products")
    earned = _earned({"sliding_dot_products": [renamed]}, stubs)
    assert any("passes 01_cross_correlation.corr2d" in e for e in earned), earned


@pytest.mark.slow      # runs every page's code: about a minute for the whole book
@pytest.mark.parametrize("page", PAGES, ids=lambda page: page.stem)
def test_no_book_function_passes_a_graded_exercise(page):
    earned = _earned(book_functions(page), _stubs())
    assert not earned, ("the book hands out graded answers:\n  " + "\n  ".join(earned)
                        + "\nThe exercise must ask for what the book leaves to the learner.")


@pytest.mark.slow
def test_no_helper_module_function_passes_a_graded_exercise():
    functions = helper_functions()          # before the stubs: the real ones are candidates
    with _no_rendering():
        earned = _earned(functions, _stubs())
    assert not earned, ("the book's helper modules hand out graded answers:\n  "
                        + "\n  ".join(earned))
