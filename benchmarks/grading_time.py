"""How long grading takes per notebook: the course's grader (1 and 2 workers) against stock nbgrader.

    .venv/bin/python benchmarks/grading_time.py [--students 12] [--assignment 01_cross_correlation]

All runs grade the same class: N copies of a complete submission (the solutions pasted into the
student notebook), each under its own student id. The baseline is plain ``nbgrader autograde``
with nbgrader's own Execute preprocessor and default settings, run sequentially on every
notebook (the assignment is generated beforehand, untimed). The course's runs are the whole
``python -m autograder grade`` command (start-up, recording the assignment, sandboxed grading,
gradebook, feedback, CSV and report), timed from start to exit. Prints seconds per notebook for
each and the speed-ups over stock nbgrader. Run it on an idle machine; the figures in the README
come from it.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from autograder.authoring import filled_exercise, solution_sources

REPO = Path(__file__).resolve().parent.parent


def _class(root, assignment, students):
    notebook = json.dumps(filled_exercise(assignment, solution_sources(assignment)))
    for i in range(students):
        folder = root / f"student{i:03d}" / assignment
        folder.mkdir(parents=True)
        (folder / f"{assignment}.ipynb").write_text(notebook)


def _env():
    env = dict(os.environ)
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env["PATH"]
    return env


def course_grader(root, assignment, students, workers):
    submitted = root / "submitted"
    _class(submitted, assignment, students)
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "autograder", "grade", str(submitted),
                    "--out", str(root / "grades.csv"), "--gradebook", str(root / "gb.db"),
                    "--workers", str(workers), "--no-progress"],
                   check=True, capture_output=True, env=_env(), cwd=REPO)
    return time.perf_counter() - start


def stock_nbgrader(root, assignment, students):
    _class(root / "submitted", assignment, students)
    (root / "nbgrader_config.py").write_text(
        "c = get_config()\n"
        f"c.CourseDirectory.root = {str(root)!r}\n"
        f"c.CourseDirectory.source_directory = {str(REPO / 'solutions')!r}\n"
        f"c.CourseDirectory.db_url = 'sqlite:///{root / 'gb.db'}'\n")
    run = dict(check=True, capture_output=True, env=_env(), cwd=root)
    subprocess.run([sys.executable, "-m", "nbgrader", "generate_assignment", assignment], **run)
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "nbgrader", "autograde", assignment], **run)
    return time.perf_counter() - start


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=12)
    parser.add_argument("--assignment", default="01_cross_correlation")
    args = parser.parse_args()
    runs = {
        "stock nbgrader autograde": lambda root: stock_nbgrader(root, args.assignment,
                                                                args.students),
        "autograder grade, 1 worker": lambda root: course_grader(root, args.assignment,
                                                                 args.students, 1),
        "autograder grade, 2 workers": lambda root: course_grader(root, args.assignment,
                                                                  args.students, 2),
    }
    seconds = {}
    for name, run in runs.items():
        with tempfile.TemporaryDirectory() as tmp:
            seconds[name] = run(Path(tmp)) / args.students
    base = seconds["stock nbgrader autograde"]
    print(f"{args.students} complete submissions of {args.assignment}, {os.cpu_count()} cores:")
    for name, value in seconds.items():
        ratio = "" if value == base else f"   {base / value:.1f}x faster than stock"
        print(f"  {name:<28} {value:6.2f} s per notebook{ratio}")


if __name__ == "__main__":
    main()
