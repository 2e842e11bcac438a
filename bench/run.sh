#!/usr/bin/env bash
# run.sh: builds social-post, starts a stack of its own on 127.0.0.1, runs the
# benchmarks, stops the stack (also on failure or Ctrl-C) and prints figures.
#
#   bench/run.sh [--sizes 64,256,1024] [--runs 3] [--seconds 10] [--only upload|api]
#                [--generator auto|wrk|python]
#
#   --sizes    video sizes in MiB for worker_upload.py (default 64,256,1024)
#   --runs     runs per case, medians are over these (default 3)
#   --seconds  length of each API load run (default 10)
#   --only     run one of the two benchmarks
#   --generator  the API load generator: wrk, python threads, or auto (wrk
#                when installed)
#
# The build goes to SP_BUILD_DIR (default build-bench/, RelWithDebInfo, so it
# never changes the build/ the tests use) and the stack's state to SP_STACK_DIR
# (default SP_BUILD_DIR/bench-stack), which `stack.py start` wipes first.
# Benchmarks print figures; they never fail on a timing. The exit status is
# not 0 only when something did not work (build, stack, a job that failed).
# Needs what scripts/install-deps.sh installs; wrk is used for the API load
# when installed (apt-get install wrk), else a Python load generator.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
src=$(cd "${SP_SOURCE_DIR:-$here/..}" && pwd)
export SP_SOURCE_DIR=$src
export SP_BUILD_DIR=${SP_BUILD_DIR:-$src/build-bench}
export SP_STACK_DIR=${SP_STACK_DIR:-$SP_BUILD_DIR/bench-stack}
export PYTHONPATH=$src/tests/e2e:$src/tests/fakes${PYTHONPATH:+:$PYTHONPATH}
export PYTHONDONTWRITEBYTECODE=1
py=/usr/bin/python3  # Debian's, with psycopg2, jwt and cryptography

sizes=64,256,1024
runs=3
seconds=10
only=
generator=auto
while [ $# -gt 0 ]; do
    case "$1" in
        --sizes) sizes=$2; shift 2 ;;
        --runs) runs=$2; shift 2 ;;
        --seconds) seconds=$2; shift 2 ;;
        --only) only=$2; shift 2 ;;
        --generator) generator=$2; shift 2 ;;
        -h|--help) sed -n '2,22s/^# \{0,1\}//p' "$0"; exit 0 ;;
        *) echo "run.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
    esac
done
case "$only" in ""|upload|api) ;; *) echo "run.sh: --only upload or --only api" >&2; exit 2 ;; esac

echo "== build ($SP_BUILD_DIR, RelWithDebInfo)"
cmake -S "$src" -B "$SP_BUILD_DIR" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSP_SANITIZE=OFF >/dev/null
cmake --build "$SP_BUILD_DIR" -j2 --target social-post social-post-status social-post-worker >/dev/null

stack_started=
stop_stack() {
    if [ -n "$stack_started" ]; then
        stack_started=
        echo "== stop stack"
        "$py" "$src/scripts/stack.py" stop || true
    fi
}
# A benchmark runs in the background so that a signal reaches this script at
# once; it is passed on as SIGTERM (the scripts then stop their workers and
# fakes), then the stack is stopped.
child=
# shellcheck disable=SC2317  # called from the traps below
on_signal() {
    trap - INT TERM
    if [ -n "$child" ]; then
        kill -TERM "$child" 2>/dev/null || true
        wait "$child" || true
    fi
    exit "$1"
}
step() {
    "$@" &
    child=$!
    local rc=0
    wait "$child" || rc=$?
    child=
    return "$rc"
}
trap stop_stack EXIT
trap 'on_signal 130' INT
trap 'on_signal 143' TERM

echo "== start stack ($SP_STACK_DIR)"
stack_started=1
"$py" "$src/scripts/stack.py" start

commit=$(git -C "$src" rev-parse --short HEAD 2>/dev/null || echo unknown)
echo "== source: $src (commit $commit, plus any uncommitted changes)"
ram=$(awk '/MemTotal/ {printf "%.0f GiB RAM", $2 / 1048576}' /proc/meminfo)
echo "== machine: $(nproc) cores, $(uname -sr), $ram, load average $(cut -d' ' -f1-3 /proc/loadavg)"
status=0
if [ -z "$only" ] || [ "$only" = upload ]; then
    echo "== worker upload (bench/worker_upload.py)"
    step "$py" "$here/worker_upload.py" --sizes "$sizes" --runs "$runs" || status=1
fi
if [ -z "$only" ] || [ "$only" = api ]; then
    echo "== API load (bench/api_load.py)"
    step "$py" "$here/api_load.py" --seconds "$seconds" --runs "$runs" \
        --generator "$generator" || status=1
fi
stop_stack
exit $status
