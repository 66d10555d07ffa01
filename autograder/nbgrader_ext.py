"""nbgrader's Execute preprocessor, made safe for grading many students in one run.

`GradingExecute` replaces nbgrader's ``Execute`` in the autograde pipeline and adds two things:

* a per-student seed: before the kernel starts it sets ``AUTOGRADER_SEED`` from the student id,
  the assignment and the notebook (and an optional course salt), so hidden tests draw cases that
  differ between students, are the same on every regrade, and are printed in the feedback;
* recovery from a cell that never finishes (even one whose loop catches the interrupt) or that
  kills the kernel: nbgrader would stop grading that notebook and record nothing. Here the kernel
  is restarted, the cells that ran before are replayed, the offending cell gets an error output
  (so only its points are lost, or those of the tests that need what it defines), and grading
  goes on with the next cell.
"""
from __future__ import annotations

import hashlib
import os

from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbclient.util import ensure_async, run_sync
from nbformat.notebooknode import NotebookNode
from nbgrader.preprocessors import Execute, NbGraderPreprocessor
from traitlets import Unicode

from .checks import SEED_VARIABLE

__all__ = ["GradingExecute", "ConciseErrors", "student_seed"]


def student_seed(student_id, assignment_id, notebook_id, salt=""):
    """A 31-bit seed that depends on the student, the notebook and the course's salt only."""
    digest = hashlib.sha256(f"{salt}/{assignment_id}/{notebook_id}/{student_id}".encode()).digest()
    return int.from_bytes(digest[:4], "big") % 2**31


class GradingExecute(Execute):
    """nbgrader's Execute with per-student seeds and recovery from hung or crashed kernels."""

    seed_salt = Unicode("", help="Course secret mixed into every student's seed.").tag(config=True)

    def preprocess(self, nb, resources, retries=None):
        info = resources.get("nbgrader", {})
        seed = student_seed(info.get("student", ""), info.get("assignment", ""),
                            info.get("notebook", ""), self.seed_salt)
        self._skipped_cells = set()
        previous = os.environ.get(SEED_VARIABLE)
        os.environ[SEED_VARIABLE] = str(seed)
        try:
            return super().preprocess(nb, resources, retries)
        finally:
            if previous is None:
                os.environ.pop(SEED_VARIABLE, None)
            else:
                os.environ[SEED_VARIABLE] = previous

    async def async_execute_cell(self, cell, cell_index, execution_count=None, store_history=True):
        try:
            return await super().async_execute_cell(cell, cell_index, execution_count,
                                                    store_history)
        except (CellTimeoutError, DeadKernelError) as error:
            timed_out = isinstance(error, CellTimeoutError)
            self.log.warning("Cell %d %s; restarting the kernel and replaying earlier cells",
                             cell_index, "timed out" if timed_out else "killed the kernel")
            self._skipped_cells.add(cell_index)
            await self._restart_and_replay(cell_index)
            reason = (f"this cell ran longer than {self.timeout} s and was stopped"
                      if timed_out else "the kernel stopped while running this cell (a crash, "
                      "an exit, or a loop that kept ignoring the time limit)")
            cell.outputs = [NotebookNode(
                output_type="error", ename="GradingTimeout" if timed_out else "KernelDied",
                evalue=reason,
                traceback=[f"{'GradingTimeout' if timed_out else 'KernelDied'}: {reason}; the "
                           "grader restarted the kernel, re-ran the cells above it and went on."])]
            return cell

    # nbclient binds the synchronous wrapper to its own coroutine; rebind it to ours.
    execute_cell = run_sync(async_execute_cell)

    async def _restart_and_replay(self, upto):
        """Restart the kernel and re-run cells before ``upto`` that ran normally the first time."""
        while True:
            await ensure_async(self.km.restart_kernel(now=True))
            await ensure_async(self.kc.wait_for_ready(timeout=self.startup_timeout))
            for index, earlier in enumerate(self.nb.cells[:upto]):
                if (earlier.cell_type != "code" or not earlier.source.strip()
                        or index in self._skipped_cells):
                    continue
                try:
                    await ensure_async(self.kc.execute_interactive(
                        earlier.source, store_history=False, allow_stdin=False,
                        timeout=self.timeout, output_hook=lambda msg: None))
                except TimeoutError:
                    self._skipped_cells.add(index)
                    break
            else:
                return


class ConciseErrors(NbGraderPreprocessor):
    """Feedback shows each failing test's message, not its traceback.

    A traceback quotes the source line that raised, which for a hidden test is the hidden test
    itself; the check's message already says what failed, on which case, and how to replay it.
    """

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type == "code" and cell.metadata.get("nbgrader", {}).get("grade"):
            for output in cell.get("outputs", []):
                if output.get("output_type") == "error":
                    output["traceback"] = [f"\x1b[0;31m{output.get('ename')}\x1b[0m: "
                                           f"{output.get('evalue')}"]
        return cell, resources
