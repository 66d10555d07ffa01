"""The instructor's side of the course: grading, recording, reports. Never runs in a learner's kernel.

Nothing here imports torch at import time: planning, recording and reporting need only the
standard library, nbgrader and matplotlib. The trusted comparison (`autograder.grade_notebook`), which
needs torch, runs in the grading workers.

    plan     (`plan`)      submissions -> picklable `GradingJob` objects
    execute  (`executors`) one job -> sandboxed learner process + trusted comparison -> `NotebookResult`
    record   (`record`)    the one writer of the gradebook, feedback, CSV and report
"""
