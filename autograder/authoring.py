"""The notebooks' layout, generated from the exercise registry (``python -m autograder release``).

An assignment's parts, their order, points and book sections are defined once, in its module of
`autograder.assignments` (`exercise_info.arrange`). From that table `layout` writes, in each
source notebook of ``solutions/``:

* the parts in the table's order, lettered A, B, …, each heading ``## Part A — `name` (N points)``;
* each part's link to its section of the rendered book (see `book_url`);
* the two test cells of each part, with their points (visible and hidden) in nbgrader's metadata;
* the intro's table of parts, functions (signatures read from the solution cells) and points,
  and its link to the chapter (written ``(`book/<page>.md`)``, it becomes the chapter's title,
  linked as the parts are).

Everything else in a notebook (prose, solutions, hints) is written by hand. A test checks that the
committed notebooks are what `layout` makes of them.
"""
from __future__ import annotations

import ast
import re
import string
from pathlib import Path

from . import book_links
from .exercise_db import exercise_db
from .install import install_lines
from .notebook import parse_python
from .nbgrader_config import REPO_ROOT

__all__ = ["layout", "layout_all", "book_url", "section_title", "test_cells",
           "released_tests", "solution_sources", "filled_exercise"]

# Where links point: a running Jupyter server serves the rendered book at /static/book/ (`make
# book` adds _build/html to the environment's Jupyter static paths), and its contents API hands
# the notebook out with links that work at its own base URL (`autograder.book_links`); the
# published book's address instead when _config.yml names one.
_PART_HEADING = re.compile(r"^## Part \w+ — .*$", re.M)
_BOOK_LINE = re.compile(r"^\*In the book:\*.*$", re.M)
# the intro's mention of its chapter: the source path as first written, or the link made from it
_CHAPTER = re.compile(r"\((?:`book/(\d\d_\w+)\.md`"
                      r"|\[[^\]]*\]\([^)\s]*/book/(\d\d_\w+)\.html\))\)")
# The setup cell's first lines (`autograder.install`), as any earlier layout wrote them.
_INSTALL = re.compile(r"\A# On Colab.*?importlib\.invalidate_caches\(\)\n\n", re.S)
_TABLE = re.compile(r"^\| Part \| Function \| Points \|\n(?:\|.*\|\n?)*", re.M)


def _find_section(section, book=REPO_ROOT / "book"):
    """(page, lines, index of the label line) of ``(section)=`` in the book's pages."""
    for page in sorted(Path(book).glob("*.md")):
        lines = page.read_text().splitlines()
        if f"({section})=" in lines:
            return page.stem, lines, lines.index(f"({section})=")
    raise ValueError(f"no page of the book has a section labelled ({section})=")


def book_url(section, book=REPO_ROOT / "book"):
    """The rendered section's address, e.g. ``/static/book/06_transposed.html#ch06-matrix``
    (`autograder.book_links.written_prefix`).

    The label is looked up in every page, so a chapter can be split without editing the registry.
    """
    page, _, _ = _find_section(section, book)
    return f"{book_links.written_prefix()}{page}.html#{section}"


def chapter_link(page, book=REPO_ROOT / "book"):
    """``[Title](/static/book/<page>.html)``: a chapter by its title, linked like the parts."""
    for line in (Path(book) / f"{page}.md").read_text().splitlines():
        if line.startswith("# "):
            return f"[{line[2:].strip()}]({book_links.written_prefix()}{page}.html)"
    raise ValueError(f"book/{page}.md has no title")


def section_title(section, book=REPO_ROOT / "book"):
    """The heading that follows the label ``(section)=`` in the book."""
    page, lines, start = _find_section(section, book)
    for line in lines[start + 1:]:
        if line.startswith("#"):
            return line.lstrip("#").strip()
        if line.strip():
            break
    raise ValueError(f"the label ({section})= in book/{page}.md is not above a heading")


def _source(cell):
    source = cell["source"]
    return "".join(source) if isinstance(source, list) else source


def _grade_id(cell):
    return cell.get("metadata", {}).get("nbgrader", {}).get("grade_id", "")


def _signature(cells, name):
    """``corr2d(x, k)``: the parameters of ``def name`` in the part's solution cell."""
    for cell in cells:
        if cell["cell_type"] != "code":
            continue
        try:
            tree = parse_python(_source(cell))
        except SyntaxError:
            continue
        for node in tree.body:
            if isinstance(node, ast.FunctionDef) and node.name == name:
                return f"{name}({ast.unparse(node.args)})"
    raise ValueError(f"no `def {name}(...)` in the cells of part {name}")


def test_cells(info):
    """The two test cells of a part, ``((grade_id, source, points), ...)``: visible, hidden."""
    visible = (f"# {info.name}: the visible cases (fixed seed), on the CPU and on every GPU "
               "present.\n"
               "from autograder import check\n"
               f'check("{info.key}", {info.name})')
    hidden = (f"# {info.name}: hidden cases, drawn afresh at grading time from your own seed.\n"
              "### BEGIN HIDDEN TESTS\n"
              "from autograder import check\n"
              f'check("{info.key}", {info.name}, hidden=True)\n'
              "### END HIDDEN TESTS")
    return ((f"test_{info.name}", visible, info.visible_points),
            (f"test_{info.name}_hidden", hidden, info.hidden_points))


def solution_sources(assignment, solutions=REPO_ROOT / "solutions"):
    """``{function name: source}`` of the solution cells of ``solutions/<assignment>``."""
    from . import notebook as nb

    notebook = nb.read(Path(solutions) / assignment / f"{assignment}.ipynb")
    return {cell.grade_id: cell.source for cell in notebook.cells if cell.is_solution}


def filled_exercise(assignment, sources, exercises=REPO_ROOT / "exercises"):
    """The student notebook of ``assignment`` (a JSON dict) with its solution cells replaced by
    ``sources`` (``{function name: code a learner wrote}``); cells not named keep the stub."""
    import json

    notebook = json.loads((Path(exercises) / assignment / f"{assignment}.ipynb").read_text())
    for cell in notebook["cells"]:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if meta.get("solution") and meta.get("grade_id") in sources:
            cell["source"] = sources[meta["grade_id"]]
    return notebook


def released_tests(assignment):
    """The visible `TestCell`s of ``assignment`` as learners receive them (nbgrader's release
    leaves no ``check`` call in a hidden-test cell), in notebook order, from the registry alone:
    what ``autograder validate`` checks, with no copy of the course's notebooks at hand."""
    from .job import TestCell

    tests = []
    for info in exercise_db.values():
        if info.assignment == assignment:
            (grade_id, source, points), _ = test_cells(info)
            tests.append(TestCell(grade_id, info.key, info.name, False, float(points), source))
    return tuple(tests)


def layout(notebook, assignment, book=REPO_ROOT / "book"):
    """Lay out ``notebook`` (an nbformat node of ``solutions/<assignment>``) from the registry.

    Returns the notebook, changed in place. Raises ValueError when the notebook's parts do not
    match the registry (a part missing, or a part with no heading cell ``part_<name>``).
    """
    infos = [info for info in exercise_db.values() if info.assignment == assignment]
    cells = notebook["cells"]
    starts = [i for i, c in enumerate(cells) if _grade_id(c).startswith("part_")]
    if not starts:
        raise ValueError(f"{assignment}: no part heading cells (grade_id part_<name>)")
    head = cells[:starts[0]]
    parts = {}
    for begin, end in zip(starts, starts[1:] + [len(cells)]):
        parts[_grade_id(cells[begin]).removeprefix("part_")] = cells[begin:end]
    if sorted(parts) != sorted(info.name for info in infos):
        raise ValueError(f"{assignment}: the notebook's parts {sorted(parts)} differ from the "
                         f"registry's {sorted(info.name for info in infos)}")
    rows = []
    ordered = list(head)
    for letter, info in zip(string.ascii_uppercase, infos):
        part = parts[info.name]
        heading = part[0]
        text = _source(heading)
        title = f"## Part {letter} — `{info.name}` ({info.points} points)"
        text = _PART_HEADING.sub(title, text, count=1) if _PART_HEADING.search(text) else (
            f"{title}\n\n{text}")
        link = (f"*In the book:* [§ {section_title(info.section, book)}]"
                f"({book_url(info.section, book)})")
        text = _BOOK_LINE.sub(lambda _: link, text, count=1) if _BOOK_LINE.search(text) else (
            f"{text.rstrip()}\n\n{link}")
        heading["source"] = text
        tests = {_grade_id(c): c for c in part}
        for grade_id, source, points in test_cells(info):
            if grade_id not in tests:
                raise ValueError(f"{assignment}: part {info.name} has no test cell {grade_id}")
            tests[grade_id]["source"] = source
            tests[grade_id]["metadata"]["nbgrader"]["points"] = points
        rows.append(f"| {letter} | `{_signature(part, info.name)}` | {info.points} |")
        ordered.extend(part)
    table = ("| Part | Function | Points |\n|---|---|---|\n" + "\n".join(rows)
             + f"\n| | **Total** | **{sum(info.points for info in infos)}** |")
    for cell in head:
        if _grade_id(cell) == "setup":
            cell["source"] = install_lines() + _INSTALL.sub("", _source(cell), count=1)
    intro = head[0]
    text = _CHAPTER.sub(lambda m: f"({chapter_link(m.group(1) or m.group(2), book)})",
                        _source(intro))
    text = (_TABLE.sub(lambda _: table + "\n", text, count=1).rstrip("\n")
            if _TABLE.search(text) else f"{text.rstrip()}\n\n{table}")
    intro["source"] = text
    notebook["cells"] = ordered
    return notebook


def layout_all(solutions=REPO_ROOT / "solutions", names=None, write=True):
    """Lay out every source notebook; return the paths whose content changed."""
    import nbformat

    changed = []
    for folder in sorted(Path(solutions).iterdir()):
        path = folder / f"{folder.name}.ipynb"
        if not path.is_file() or (names and folder.name not in names):
            continue
        before = path.read_text()
        notebook = layout(nbformat.reads(before, as_version=4), folder.name)
        after = nbformat.writes(notebook) + "\n"
        if after != before:
            changed.append(path)
            if write:
                path.write_text(after)
    return changed
