"""Read a notebook once: cells, sources, nbgrader metadata, test cells. Standard library only.

Every part of the course that looks inside a notebook (the grader's planning and its workers,
``validate``, the feedback, the gradebook writer, the authoring tools and the tests) reads it
here, so that they agree on what a cell, a test cell or a learner's code is, and so that a
hostile notebook can do one thing only: be refused with a reason.

`parse` is *total*: whatever the bytes, it returns a `Notebook` or raises `NotebookError` with a
sentence a learner can act on ("not valid JSON (Expecting value at line 1)", "nested more than
64 levels deep", "has 3000 cells; the limit is 2000"). Nothing it returns is deeper than
`MAX_DEPTH`, so later code may recurse over it; malformed metadata (``"nbgrader": []``, a
``grade_id`` that is not a string) reads as absent.

A *test cell* is what nbgrader calls an autograder-tests cell: a code cell whose nbgrader
metadata has ``grade`` true and ``solution`` false. The learner's code is every other code cell.
"""
from __future__ import annotations

import ast
import json
import threading
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["Cell", "Notebook", "NotebookError", "parse", "read", "parse_python", "MAX_BYTES", "MAX_DEPTH",
           "MAX_CELLS"]

MAX_BYTES = 32 * 2**20       # a course notebook is ~50 KB; outputs included, a few MB
MAX_DEPTH = 64               # nbformat needs ~6 levels; widget states and JSON outputs a few more
MAX_CELLS = 2000             # a course notebook has ~40 cells


class NotebookError(ValueError):
    """The data is not a notebook that can be graded; ``str()`` says why, for the learner.

    ``detail`` is the bare reason, without "not valid JSON" and the like (e.g. the JSON
    parser's "Expecting value at line 1").
    """

    def __init__(self, message, detail=None):
        super().__init__(message)
        self.detail = detail or message


def _text(value):
    """A cell source or metadata string: lists of lines joined, anything else as text."""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return "".join(part if isinstance(part, str) else str(part) for part in value)
    return "" if value is None else str(value)


@dataclass(frozen=True)
class Cell:
    """One cell, normalised: ``source`` is a str; ``nbgrader`` a dict ({} when malformed)."""

    index: int                       # position among all cells, from 0
    cell_type: str                   # "code", "markdown", "raw", or whatever the file says
    source: str
    metadata: dict = field(default_factory=dict, repr=False)
    nbgrader: dict = field(default_factory=dict)
    code_index: int | None = None    # position among code cells, from 1 (None: not code)
    raw: dict = field(default_factory=dict, repr=False)   # the cell as parsed

    @property
    def grade_id(self):
        """nbgrader's ``grade_id`` when it is a string, else None."""
        value = self.nbgrader.get("grade_id")
        return value if isinstance(value, str) else None

    @property
    def is_code(self):
        return self.cell_type == "code"

    @property
    def is_test(self):
        """An autograder-tests cell: code, ``grade`` true, ``solution`` false."""
        return self.is_code and bool(self.nbgrader.get("grade")) \
            and not self.nbgrader.get("solution")

    @property
    def is_solution(self):
        return bool(self.nbgrader.get("solution"))

    @property
    def label(self):
        """How messages name the cell: its grade_id, else "cell N" (N counts code cells)."""
        return self.grade_id or f"cell {self.code_index if self.is_code else self.index + 1}"


@dataclass(frozen=True)
class Notebook:
    """A parsed notebook: `cells` in order, and the parsed JSON (``data``) bounded in depth."""

    cells: tuple
    data: dict = field(repr=False, default_factory=dict)

    def code_cells(self):
        return [cell for cell in self.cells if cell.is_code]

    def test_cells(self):
        return [cell for cell in self.cells if cell.is_test]

    def learner_cells(self, test_ids=()):
        """Code cells that are the learner's: not test cells, not cells named in ``test_ids``."""
        test_ids = set(test_ids)
        return [cell for cell in self.code_cells()
                if not cell.is_test and (cell.grade_id is None or cell.grade_id not in test_ids)]

    def by_grade_id(self):
        """{grade_id: cell} (the last cell wins when two share an id)."""
        return {cell.grade_id: cell for cell in self.cells if cell.grade_id is not None}

    def grade_ids(self):
        return {cell.grade_id for cell in self.cells if cell.grade_id is not None}


def _too_deep(value, limit):
    """True when ``value`` nests lists and dicts more than ``limit`` levels (no recursion)."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children
                     if isinstance(child, (dict, list)))
    return False


def parse(data, *, max_bytes=MAX_BYTES, max_cells=MAX_CELLS) -> Notebook:
    """The `Notebook` in ``data``, or `NotebookError` saying why there is none.

    ``data`` is the file's text or bytes, or an already parsed dict (an nbformat node, say).
    Bytes that are not UTF-8 are decoded with replacement characters (the code is still read).
    """
    if isinstance(data, dict):
        return _from_parsed(data, max_cells)
    if isinstance(data, (bytes, bytearray)):
        if len(data) > max_bytes:
            raise NotebookError(f"larger than {max_bytes >> 20} MiB")
        data = bytes(data).decode("utf-8", errors="replace")
    elif len(data) > max_bytes:
        raise NotebookError(f"larger than {max_bytes >> 20} MiB")
    try:
        parsed = json.loads(data)
    except json.JSONDecodeError as error:
        detail = f"{error.msg} at line {error.lineno}"
        raise NotebookError(f"not valid JSON ({detail})", detail) from None
    except RecursionError:
        raise NotebookError(f"nested more than {MAX_DEPTH} levels deep") from None
    except (ValueError, MemoryError) as error:      # e.g. an integer with 10,000 digits
        raise NotebookError(f"not valid JSON ({error})", str(error)) from None
    return _from_parsed(parsed, max_cells)


def _from_parsed(parsed, max_cells):
    if not isinstance(parsed, dict) or not isinstance(parsed.get("cells"), list):
        raise NotebookError("not a notebook (no list of cells)", "no list of cells")
    if _too_deep(parsed, MAX_DEPTH):
        raise NotebookError(f"nested more than {MAX_DEPTH} levels deep")
    if len(parsed["cells"]) > max_cells:
        raise NotebookError(f"made of {len(parsed['cells'])} cells; the grader reads at most "
                            f"{max_cells}")
    cells, code_index = [], 0
    for index, raw in enumerate(parsed["cells"]):
        if not isinstance(raw, dict):
            raw = {}
        metadata = raw.get("metadata")
        metadata = metadata if isinstance(metadata, dict) else {}
        nbgrader = metadata.get("nbgrader")
        nbgrader = nbgrader if isinstance(nbgrader, dict) else {}
        cell_type = raw.get("cell_type")
        cell_type = cell_type if isinstance(cell_type, str) else ""
        number = None
        if cell_type == "code":
            code_index += 1
            number = code_index
        cells.append(Cell(index, cell_type, _text(raw.get("source", "")), metadata, nbgrader,
                          number, raw))
    return Notebook(tuple(cells), parsed)


def read(path, **limits) -> Notebook:
    """`parse` the file at ``path``; `NotebookError` also when it cannot be read."""
    path = Path(path)
    try:
        size = path.stat().st_size
        if size > limits.get("max_bytes", MAX_BYTES):
            raise NotebookError(f"larger than {limits.get('max_bytes', MAX_BYTES) >> 20} MiB")
        data = path.read_bytes()
    except OSError as error:
        reason = error.strerror or str(error)
        raise NotebookError(f"cannot be read ({reason})", reason) from None
    return parse(data, **limits)


# CPython 3.11 keeps the depth of its AST-to-object conversion in state shared by all threads:
# when one thread's ``ast.parse`` is interrupted mid-conversion (a garbage collection that runs
# Python code, say) and another thread parses meanwhile, the first fails with "SystemError: AST
# constructor recursion depth mismatch". Seen here on a Dask worker running two graders.
_AST_LOCK = threading.Lock()


def parse_python(source):
    """``ast.parse(source)``, one thread at a time (see `_AST_LOCK`). Raises what it raises."""
    with _AST_LOCK:
        return ast.parse(source)
