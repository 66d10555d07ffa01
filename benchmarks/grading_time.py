"""How long grading takes per notebook: the course's pipeline against stock nbgrader.

    .venv/bin/python benchmarks/grading_time.py [--students 8] [--assignment 01_cross_correlation]

Both runs grade the same class: N copies of a complete submission (the solutions pasted into the
student notebook). The baseline is plain ``nbgrader autograde`` with nbgrader's own Execute
preprocessor and default settings; the course's run is ``python -m autograder grade``, which also
generates the assignment, the HTML feedback and the CSV export. Prints seconds per notebook and
the ratio. Run it on an idle machine.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.conftest import filled_exercise, solution_sources  # noqa: E402


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


def course_pipeline(root, assignment, students):
    submitted = root / "submitted"
    _class(submitted, assignment, students)
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "autograder", "grade", str(submitted),
                    "--out", str(root / "grades.csv"), "--gradebook", str(root / "gb.db")],
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
    parser.add_argument("--students", type=int, default=8)
    parser.add_argument("--assignment", default="01_cross_correlation")
    args = parser.parse_args()
    results = {}
    for name, run in (("stock nbgrader autograde", stock_nbgrader),
                      ("python -m autograder grade", course_pipeline)):
        with tempfile.TemporaryDirectory() as tmp:
            results[name] = run(Path(tmp), args.assignment, args.students) / args.students
    base, ours = results.values()
    print(f"{args.students} complete submissions of {args.assignment}:")
    for name, seconds in results.items():
        print(f"  {name:<28} {seconds:6.2f} s per notebook")
    print(f"  ratio (course pipeline / stock autograde): {ours / base:.2f}")


if __name__ == "__main__":
    main()
