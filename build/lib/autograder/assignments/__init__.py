"""One module per assignment: its exercises' references, sample inputs and forbidden operations.

`autograder.exercise_db` finds the modules here by listing the package: add a chapter by adding a
module that defines ``ASSIGNMENT`` and ``EXERCISES``.
"""
