"""nbgrader preprocessors that put the course's trusted grader inside stock nbgrader.

* `TrustedGrading` replaces nbgrader's ``Execute`` in ``nbgrader autograde``: instead of running
  the notebook in a Jupyter kernel (where the learner's code could decide its own grade), it
  grades it with `autograder.grade_notebook.grade_job` — learner code in a sandboxed process, cases,
  references and comparisons in nbgrader's own process — and writes the verdict into the test
  cells' outputs (an error output with the check's message, or "passed"), which nbgrader's
  SaveAutoGrades then records as usual.
* `ConciseErrors` makes feedback show each failing test's message, not a traceback.

Enable both with `autograder.nbgrader_config.use_trusted_grading`. torch is imported only when a
notebook is graded.
"""
from __future__ import annotations

import os
from pathlib import Path

from nbformat.notebooknode import NotebookNode
from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import Bool, Float, Unicode

from .errors import wrap_message
from .secret import read_or_create_secret
from .job import (GradingJob, content_hash, learner_code_digest, reference_cells,
                  source_tests, student_seed)
from .notebook import NotebookError

__all__ = ["TrustedGrading", "ConciseErrors", "test_cell_outputs"]


def test_cell_outputs(outcome):
    """The outputs a graded test cell gets from its `TestOutcome`."""
    if outcome.passed:
        return [NotebookNode(output_type="stream", name="stdout",
                             text=f"{outcome.title}: passed ({outcome.points:g} points)\n")]
    return [_error("CheckFailure", outcome.message)]


class TrustedGrading(NbGraderPreprocessor):
    """Grade with the trusted grader instead of executing the notebook (see the module docstring).

    Runs after nbgrader's sanitising step, whose OverwriteCells has put the instructor's test
    cells (hidden tests included, read from the gradebook) back in place of whatever the
    submission holds: those are the tests graded. Every code grade cell ends with an output
    written here, so SaveAutoGrades gives full points only to a test that passed.
    """

    sandboxed = Bool(True, help="Run learner code inside bubblewrap.").tag(config=True)
    cell_timeout = Float(60.0, help="Seconds one learner cell may run.").tag(config=True)
    secret = Unicode("", help="Course secret for hidden-test seeds (default: the one kept "
                              "next to the gradebook).").tag(config=True)

    def preprocess(self, nb, resources):
        import nbformat

        from .grade_notebook import grade_job, worker_sandbox

        info = resources.get("nbgrader", {})
        student, assignment = info.get("student", ""), info.get("assignment", "")
        notebook_id = info.get("notebook", "")
        secret = self.secret or read_or_create_secret(
            _gradebook_folder(info, self.config.get("CourseDirectory", {}).get("root")))
        try:
            tests = source_tests(nb)
        except ValueError as error:
            raise ValueError(f"{assignment}/{notebook_id}: trusted grading (use_trusted_grading "
                             "in nbgrader_config.py) grades only test cells that call "
                             "check(\"<exercise>\", <function>): "
                             f"{str(error).splitlines()[0]}") from None
        text = nbformat.writes(nb)
        job = GradingJob(student, assignment, text, tests,
                         student_seed(student, assignment, notebook_id, secret,
                                      learner_code_digest(text)),
                         content_hash(text.encode(), tests, secret),
                         cell_timeout=self.cell_timeout, sandboxed=self.sandboxed,
                         reference_cells=self._solution(assignment, notebook_id))
        result = grade_job(job, worker_sandbox(self.sandboxed))
        if result.status != "graded":
            raise RuntimeError(f"{student}/{assignment}/{notebook_id} could not be graded: "
                               f"{result.reason}")
        outcomes = {t.grade_id: t for t in result.tests}
        problems = {p.cell: p for p in result.cell_problems}
        index = 0
        for cell in nb.cells:
            if cell.cell_type != "code":
                continue
            index += 1
            meta = cell.metadata.get("nbgrader", {})
            grade_id = meta.get("grade_id")
            if grade_id in outcomes:
                cell.outputs = test_cell_outputs(outcomes[grade_id])
            elif meta.get("grade") and not meta.get("solution"):
                # a grade cell the trusted grader did not grade never earns points by default
                cell.outputs = [_error("NotGraded", "the trusted grader did not grade this cell")]
            else:
                problem = problems.get(grade_id or f"cell {index}")
                if problem is not None:
                    cell.outputs = [_error(problem.kind, problem.message)]
        resources.setdefault("autograder", {})["result"] = result
        from .sanitize import sanitize_notebook  # no learner markup live in autograded/
        return sanitize_notebook(nb), resources


    def _solution(self, assignment, notebook_id):
        """The course's solution cells (the source notebook's), for the CPU-time check; () when
        the course keeps no source notebook here."""
        course = self.config.get("CourseDirectory", {})
        root = Path(course.get("root") or os.getcwd())
        source = Path(course.get("source_directory") or "source")
        path = (source if source.is_absolute() else root / source) / assignment / \
            f"{notebook_id}.ipynb"
        try:
            return reference_cells(path)
        except NotebookError:
            return ()


def _error(ename, evalue):
    return NotebookNode(output_type="error", ename=ename, evalue=evalue,
                        traceback=[f"{ename}: {evalue}"])


def _gradebook_folder(info, root=None):
    """The folder holding the course's gradebook (the course secret lives next to it).

    nbgrader's ``db_url`` (``sqlite:////abs/path/gradebook.db`` by default) names it; for a
    gradebook that is not an SQLite file, the course root (nbgrader's default: the current folder).
    """
    from sqlalchemy.engine import make_url

    try:
        url = make_url(info.get("db_url") or "")
    except Exception:           # not a database URL: fall back to the course root
        url = None
    if url is not None and url.drivername.startswith("sqlite") and url.database not in (
            None, "", ":memory:"):
        return Path(url.database).resolve().parent
    return Path(root or os.getcwd()).resolve()


class ConciseErrors(NbGraderPreprocessor):
    """Feedback shows each failing test's message, not its traceback.

    A traceback quotes the source line that raised, which for a hidden test is the hidden test
    itself; the check's message already says what failed, on which case, and how to replay it.
    """

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type == "code" and cell.metadata.get("nbgrader", {}).get("grade"):
            for output in cell.get("outputs", []):
                if output.get("output_type") == "error":
                    name = output.get("ename") or "Error"
                    text = wrap_message(f"{name}: {output.get('evalue')}")
                    output["traceback"] = [f"\x1b[0;31m{name}\x1b[0m{text[len(name):]}"]
        return cell, resources
