"""Each notebook's layout comes from the registry; parts are independent; `provided` is correct.

* headings, points, test cells, intro tables and book links are what `autograder.authoring`
  generates from `ExerciseInfo` (points and order defined once, in the assignment module);
* no part's grade depends on another part: every solution still passes with the other parts'
  functions replaced by stubs that raise, because dependent parts call `autograder.provided`;
* every `autograder.provided` function matches its PyTorch namesake on its exercise's cases,
  and refuses to run inside the check of a part that may not use it.
"""
import re
import sys

import pytest
import torch

from autograder import check, provided
from autograder.exercise_db import exercise_db
from autograder.authoring import book_url, layout_all, section_title
from autograder.compare import Raises, assert_matches
from autograder.errors import CheckFailure, ForbiddenOpError
from autograder.samples import Draw
from tests.conftest import (EXERCISES, REPO, SOLUTIONS, cell_source, graded_cells,
                            nbgrader_meta, read_notebook, solution_functions)

ASSIGNMENTS = sorted({info.assignment for info in exercise_db.values()})


def test_committed_notebooks_are_laid_out_from_the_registry():
    assert layout_all(write=False) == [], (
        "solutions/ differ from the registry's layout: run `make release`")


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_points_headings_and_tables_match_the_registry(assignment):
    infos = [i for i in exercise_db.values() if i.assignment == assignment]
    for folder in (SOLUTIONS, EXERCISES):
        notebook = read_notebook(folder / assignment / f"{assignment}.ipynb")
        points, order = {}, []
        for cell in graded_cells(notebook):
            name = nbgrader_meta(cell)["grade_id"].removeprefix("test_").removesuffix("_hidden")
            points[name] = points.get(name, 0) + nbgrader_meta(cell)["points"]
        headings = [re.match(r"## Part (\w) — `(\w+)` \((\d+) points\)", cell_source(c))
                    for c in notebook["cells"]]
        headings = [(m[1], m[2], int(m[3])) for m in headings if m]
        assert [(name, p) for _, name, p in headings] == [(i.name, i.points) for i in infos]
        assert points == {i.name: i.points for i in infos}
        assert [letter for letter, _, _ in headings] == list("ABCDEFGH"[:len(infos)])
        intro = cell_source(notebook["cells"][0])
        assert f"| | **Total** | **{sum(i.points for i in infos)}** |" in intro
        for letter, name, p in headings:
            assert re.search(rf"^\| {letter} \| `{name}\(.*\)` \| {p} \|$", intro, re.M)


@pytest.mark.parametrize("key", sorted(exercise_db))
def test_each_part_links_to_its_section_of_the_book(key):
    info = exercise_db[key]
    notebook = read_notebook(EXERCISES / info.assignment / f"{info.assignment}.ipynb")
    part = next(cell_source(c) for c in notebook["cells"]
                if nbgrader_meta(c).get("grade_id") == f"part_{info.name}")
    title = section_title(info.section)
    assert f"*In the book:* [§ {title}]({book_url(info.section)})" in part


def _stub(*args, **kwargs):
    raise NotImplementedError()


@pytest.mark.parametrize("key", sorted(exercise_db))
def test_no_part_depends_on_another_part_being_right(key):
    assignment, name = key.split(".")
    functions = solution_functions(assignment)
    function = functions[name]
    namespace = function.__globals__
    others = {n: namespace[n] for n in functions if n != name and n in namespace}
    try:
        namespace.update({n: _stub for n in others})
        check(key, function, verbose=False)
    finally:
        namespace.update(others)


# provided function -> the exercise whose cases (and PyTorch reference) it is checked on
PROVIDED = {
    "corr2d": "01_cross_correlation.corr2d",
    "pad2d": "01_cross_correlation.pad2d",
    "conv2d": "05_grouped_separable.conv2d",
    "conv3d": "03_conv3d.conv3d",
    "conv_transpose2d": "06_transposed.conv_transpose2d",
    "im2col": "09_fast_convolution.im2col",
    "col2im": "09_fast_convolution.col2im",
    "max_pool2d_with_indices": "08_unpooling.max_pool2d_with_indices",
    "max_unpool2d": "08_unpooling.max_unpool2d",
}


def test_every_provided_function_is_listed():
    assert sorted(PROVIDED) == sorted(provided.__all__)
    used = {n for info in exercise_db.values() for n in info.may_use}
    assert used <= set(provided.__all__)


@pytest.mark.parametrize("name", sorted(PROVIDED))
@pytest.mark.parametrize("hidden", [False, True])
def test_provided_functions_match_pytorch(name, hidden):
    key = PROVIDED[name]
    info = exercise_db[key]
    for sample in info.sample_inputs(Draw(5), hidden):
        expected = info.reference(*sample.args, **sample.kwargs)
        if isinstance(expected, Raises):
            continue  # a case whose arguments must be rejected
        actual = getattr(provided, name)(*sample.args, **sample.kwargs)
        assert_matches(actual, expected, what=f"provided.{name}")


@pytest.mark.parametrize("name", sorted(PROVIDED))
def test_a_provided_function_is_not_an_answer_to_its_own_exercise(name):
    key = PROVIDED[name]
    with pytest.raises(ForbiddenOpError, match=rf"called autograder.provided.{name}, which this "
                                                r"part\s+may not use"):
        check(key, getattr(provided, name), verbose=False)


def test_a_provided_function_works_in_the_parts_that_may_use_it():
    users = [info for info in exercise_db.values() if info.may_use]
    assert users
    for info in users:
        solution = solution_functions(info.assignment)[info.name]
        check(info.key, solution, verbose=False)   # these solutions call provided.*


def test_a_provided_function_refused_in_a_part_costs_that_part():
    def conv2d_via_provided(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
        return provided.conv2d(input, weight, bias, stride, padding, dilation, groups)

    with pytest.raises(CheckFailure, match="may not use"):
        check("05_grouped_separable.conv2d", conv2d_via_provided, verbose=False)


def test_every_import_of_the_package_is_a_declared_dependency():
    """`pip install .` (the learner's side) and `pip install .[instructor]` bring everything the
    package imports: the learner modules import torch and NumPy only; the instructor's modules
    what the `instructor` extra lists, or what nbgrader itself requires."""
    import ast
    import tomllib

    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    def names(requirements):
        return {re.split(r"[\[<>=!~; ]", r, maxsplit=1)[0].lower() for r in requirements}
    base = names(project["dependencies"])
    instructor = names(project["optional-dependencies"]["instructor"])
    by_nbgrader = {"nbformat", "nbconvert", "traitlets", "alembic", "ipython"}
    dist = {"distributed": "dask", "IPython": "ipython"}
    imported = {}
    for path in (REPO / "autograder").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            found = ([a.name for a in node.names] if isinstance(node, ast.Import) else
                     [node.module] if isinstance(node, ast.ImportFrom) and node.level == 0
                     and node.module else [])
            for module in found:
                top = module.split(".")[0]
                if top not in sys.stdlib_module_names and top != "autograder":
                    imported.setdefault(dist.get(top, top).lower(), set()).add(
                        str(path.relative_to(REPO)))
    learner = {"autograder/" + name for name in (
        "checks.py", "compare.py", "op_families.py", "op_watch.py", "time_limit.py", "tamper.py",
        "provided.py", "samples.py", "simulated.py",
        "exercise_db.py", "exercise_info.py", "errors.py", "integrity.py", "protocol.py")}
    undeclared = {m: f for m, f in imported.items()
                  if m not in base | instructor | by_nbgrader}
    assert not undeclared, f"imported but not in pyproject.toml: {undeclared}"
    for module, files in imported.items():
        if module not in base:
            assert not files & learner, f"the learner's side imports {module}: {files & learner}"
    assert project["scripts"]["autograder"] == "autograder.__main__:main"


def _package_imports():
    """{module: {modules of the package it imports}} for autograder/, from the source (ast),
    imports inside functions included."""
    import ast
    graph = {}
    root = REPO / "autograder"
    for path in root.rglob("*.py"):
        parts = list(path.relative_to(REPO).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        module = ".".join(parts)
        package = parts if path.name == "__init__.py" else parts[:-1]
        found = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                base = (package[:len(package) - node.level + 1] if node.level else [])
                target = ".".join(base + ([node.module] if node.module else []))
                names = [f"{target}.{a.name}" for a in node.names] + [target]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            else:
                continue
            found |= {n for n in names if n.startswith("autograder")}
        graph[module] = found
    modules = set(graph)
    return {m: {t for t in targets if t in modules and t != m} for m, targets in graph.items()}


def test_the_package_has_no_import_circle_and_the_library_never_imports_the_instructor():
    """The README's structure: no circle of imports among the package's modules (the package's
    face, autograder/__init__.py, which loads names lazily, aside), and nothing outside
    autograder/instructor/ imports it but the command line."""
    graph = {m: t - {"autograder"} for m, t in _package_imports().items() if m != "autograder"}
    state = {}

    def visit(module, trail):
        state[module] = "open"
        for target in sorted(graph.get(module, ())):
            assert state.get(target) != "open", " -> ".join(trail + [module, target])
            if target not in state:
                visit(target, trail + [module])
        state[module] = "done"

    for module in sorted(graph):
        if module not in state:
            visit(module, [])
    up = {m: sorted(t for t in targets if t.startswith("autograder.instructor"))
          for m, targets in graph.items()
          if not m.startswith("autograder.instructor") and m != "autograder.__main__"}
    assert not {m: t for m, t in up.items() if t}, up
