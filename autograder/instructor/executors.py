"""Run grading jobs: in this process, in local worker processes, or on a Dask cluster.

Every executor takes picklable `GradingJob`s and yields ``(job, NotebookResult)`` pairs as they
finish, in any order; the caller records them. Workers keep one warm sandbox each (torch and the
learner library imported once) and grade each notebook in fresh, single-use learner processes.
A worker that dies loses nothing that was recorded: its unfinished jobs are graded again
(Dask reschedules them on the remaining workers; the local pool is restarted).
"""
from __future__ import annotations

import multiprocessing
import os
import threading
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool

from ..result import NotebookResult

__all__ = ["grade_in_worker", "warm_worker", "run_serial", "LocalPool", "run_dask", "Executor"]


def warm_worker(sandboxed=True):
    """Start this process's sandbox before the first job arrives (pool initializer).

    One intra-op thread: the workers already use every core, and idle OpenMP threads that spin
    would only take time from the learner processes. The worker ends when the process that
    started the pool does, however it ends (`_end_with_parent`)."""
    import torch

    from ..grade_notebook import worker_sandbox
    _end_with_parent()
    torch.set_num_threads(1)
    worker_sandbox(sandboxed)


def _end_with_parent():
    """End this worker as soon as the grading command is gone, even killed (SIGKILL): an idle
    worker waits for jobs on a queue whose other end it holds itself, and would wait forever
    with its warm sandbox. Its sandbox (bubblewrap, ``--die-with-parent``) ends with it."""
    parent = multiprocessing.parent_process()
    if parent is None:
        return

    def watch():
        parent.join()                   # its sentinel: readable once the parent has exited
        os._exit(1)

    threading.Thread(target=watch, name="end-with-parent", daemon=True).start()


def grade_in_worker(job):
    """Grade one job in this worker process; a failure of the grader itself becomes a result."""
    try:
        from ..grade_notebook import grade_job
        return grade_job(job)
    except Exception as error:  # the grader's own failure: report it, keep the run going
        return _failed(job, f"the grader failed on this notebook ({type(error).__name__}: "
                            f"{error})")


def _failed(job, reason):
    """A result for a job the grader itself could not finish: no content hash, so the next run
    grades it again instead of keeping this row."""
    return NotebookResult(job.student, job.assignment, status="could not be graded",
                          reason=reason, seed=job.seed, content_hash="")


def run_serial(jobs):
    for job in jobs:
        yield job, grade_in_worker(job)


# What every worker imports, imported once in the fork server (torch and the trusted grader):
# a worker forked from it does not import them again.
WORKER_MODULES = ["autograder.grade_notebook"]


def _worker_context():
    """multiprocessing's "forkserver" context, preloading `WORKER_MODULES`.

    The fork server is a fresh interpreter (started like a spawned process, never forked from
    this one), that only imports; it never runs torch, so it never touches CUDA, and the
    workers it forks can (CUDA does not survive a fork of a process that used it)."""
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(WORKER_MODULES)
    return context


class LocalPool:
    """``workers`` processes forked from a fork server that imported the grader once (see
    `_worker_context`), each with a warm sandbox. Created before the jobs are planned, so that
    the workers warm up meanwhile."""

    def __init__(self, workers, sandboxed=True):
        self.workers, self.sandboxed = workers, sandboxed
        self.pool = self._start()

    def _start(self):
        pool = ProcessPoolExecutor(max_workers=self.workers, initializer=warm_worker,
                                   initargs=(self.sandboxed,),
                                   mp_context=_worker_context())
        for _ in range(self.workers):
            pool.submit(os.getpid)              # start every worker now
        return pool

    def run(self, jobs):
        """Submit every job now; return an iterator of (job, result) as they finish.

        A job whose worker died is retried twice (in a restarted pool)."""
        futures = {self.pool.submit(grade_in_worker, job): job for job in jobs}
        return self._results(futures)

    def _results(self, futures):
        retries = {}
        while futures:
            pending = []
            try:
                while futures:
                    done, _ = wait(futures, return_when=FIRST_COMPLETED)
                    for future in done:
                        job = futures.pop(future)
                        try:
                            yield job, future.result()
                        except BrokenProcessPool:
                            retries[id(job)] = retries.get(id(job), 0) + 1
                            if retries[id(job)] > 2:
                                yield job, _failed(job, "a grading worker died three times on it")
                            else:
                                pending.append(job)
            finally:
                for future in futures:
                    future.cancel()
            if pending:
                self.pool.shutdown(wait=True, cancel_futures=True)
                self.pool = self._start()
                futures = {self.pool.submit(grade_in_worker, job): job for job in pending}

    def close(self, wait=True):
        self.pool.shutdown(wait=wait, cancel_futures=True)


def run_dask(jobs, scheduler):
    """Send the jobs to the Dask scheduler at ``scheduler``; yield results as they arrive.

    A job whose worker dies is rerun on another worker (the scheduler does this; after
    ``distributed.scheduler.allowed-failures`` deaths it gives up with `KilledWorker`, like the
    local pool's three tries). A job the cluster could not run for any other reason (the
    scheduler lost, a worker that cannot import the grader) comes back as "could not be graded"
    without a content hash, so that the next run grades it instead of keeping that row.
    """
    import uuid

    from distributed import Client, as_completed
    from distributed.scheduler import KilledWorker

    run = uuid.uuid4().hex[:8]     # keys of this run only: never a result of another run's job
    with Client(scheduler, timeout="30s") as client:
        futures = {}
        for job in jobs:
            key = f"grade-{job.assignment}-{job.student}-{job.content_hash[:12]}-{run}"
            futures[client.submit(grade_in_worker, job, key=key, pure=False, retries=2)] = job
        for future in as_completed(futures):
            job = futures.pop(future)
            try:
                result = future.result()
            except KilledWorker:
                result = _failed(job, "Dask workers died while grading it, "
                                      "every time it was tried")
            except Exception as error:      # the cluster's failure, not the notebook's
                result = _failed(job, f"the Dask cluster could not grade it "
                                      f"({type(error).__name__}: {error}); run the command "
                                      "again to grade it")
            future.release()
            yield job, result


class Executor:
    """The executor chosen by the flags: Dask if ``scheduler``, serial if 1 worker, else a
    `LocalPool` (started at once) of ``workers`` processes, or of ``jobs`` if there are fewer
    notebooks to grade (each process starts a sandbox of its own; one without a notebook would
    only take time from the others). ``run(jobs)`` yields (job, result) pairs; ``close()``
    ends it."""

    def __init__(self, *, workers=None, scheduler=None, sandboxed=True, jobs=None):
        self.scheduler = scheduler
        asked = workers or os.cpu_count() or 1
        self.workers = asked if jobs is None else max(1, min(asked, jobs))
        self.pool = (LocalPool(self.workers, sandboxed)
                     if not scheduler and asked > 1 else None)

    def slots(self):
        """How many notebooks are graded at once: the local workers, or every thread of the Dask
        cluster's workers (asked once; the worker count if the cluster cannot say)."""
        if not self.scheduler:
            return self.workers
        try:
            from distributed import Client
            with Client(self.scheduler, timeout="10s") as client:
                return max(1, sum(client.nthreads().values()))
        except Exception:                   # the run itself reports a cluster it cannot reach
            return self.workers

    def run(self, jobs):
        if self.scheduler:
            return run_dask(jobs, self.scheduler)
        if self.pool is None:
            return run_serial(jobs)
        return self.pool.run(jobs)

    def close(self, wait=True):
        """Stop the workers; ``wait=False`` lets them wind down while the caller goes on."""
        if self.pool is not None:
            self.pool.close(wait)
