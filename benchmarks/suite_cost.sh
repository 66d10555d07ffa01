#!/bin/bash
# The test suite's cost: wall time and the CPU time of every process it starts (sandboxes,
# graders, browsers included), read from a cgroup-v1 cpuacct group, so that kernel threads and
# other work on the machine do not count. Run as root on an otherwise idle machine, side by side
# with the baseline (a worktree of the older commit sharing this .venv), e.g.:
#   git worktree add /tmp/base OLD && ln -s "$PWD/.venv" /tmp/base/.venv && ln -s "$PWD/_build" /tmp/base/_build
#   benchmarks/suite_cost.sh /tmp/base; benchmarks/suite_cost.sh .
# Arguments after the folder go to pytest (e.g. one file: tests/test_layout.py); pytest-xdist's
# options, and whether bytecode is written, are those of the folder's Makefile (XDIST, PYTEST).
# Remove the folder's __pycache__ folders first to measure a fresh clone.
set -u
repo=$(cd "${1:-.}" && pwd)
group=/sys/fs/cgroup/cpuacct/suite-cost
mkdir -p "$group" || { echo "needs root and a cgroup-v1 cpuacct hierarchy" >&2; exit 2; }
echo $$ > "$group/tasks"
before=$(cat "$group/cpuacct.usage")
start=$(date +%s.%N)
# pytest-xdist's options as that commit's `make test` gives them
xdist=$(sed -n 's/^XDIST *:= *//p' "$repo/Makefile")
# and with bytecode written or not, as that Makefile's PYTEST says
grep -q '^PYTEST *:= *PYTHONDONTWRITEBYTECODE= ' "$repo/Makefile" && export PYTHONDONTWRITEBYTECODE=
(cd "$repo" && .venv/bin/python -m pytest ${xdist:--n 4 --dist loadfile} -p no:cacheprovider -q "${@:2}") \
    > "${TMPDIR:-/tmp}/suite-cost.log" 2>&1
rc=$?
end=$(date +%s.%N)
after=$(cat "$group/cpuacct.usage")
tail -1 "${TMPDIR:-/tmp}/suite-cost.log"
python3 -c "print(f'$repo: exit $rc, wall {$end - $start:.0f} s, CPU {($after - $before) / 1e9:.0f} s')"
