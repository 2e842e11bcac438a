#!/usr/bin/env bash
# run.sh: one command for the benchmarks. Installs the tools they need,
# builds social-post, starts a stack of its own on 127.0.0.1, runs
# bench/bench.py, stops the stack (also on failure or Ctrl-C) and prints every
# figure next to its limit, measured in the same run, as a ratio.
#
#   bench/run.sh [options] [name ...]
#
#   names    static status submit unchanged scale notify longpoll drain upload
#            profile (default: all, about 12 minutes on 2 cores), and sizes: bench/worker_upload.py
#            (YouTube and Facebook, 64 MiB to 1 GiB; not part of "all"),
#            pool: bench/worker_pool.py (100 uploads, at most 6 connections;
#            with a webhook secret sending each job's webhook, then without),
#            progress: bench/progress_rate.py (3 workers x 50 uploads, commits
#            with and without coalescing, next to pgbench), prune:
#            bench/prune.py (retention on a million rows); none of them
#            part of "all"
#   options  passed to bench.py: --runs 3 --seconds 10 --connections 16
#            --polls 1000 --wait 30 --drain-jobs 1000 --drain-concurrency 4
#            --video-mib 1024 --link-mbps 100 (bench/bench.py --help says what each does)
#
# The build goes to SP_BUILD_DIR (default build-bench/, RelWithDebInfo, so it
# never changes the build/ the tests use), the stack's state to SP_STACK_DIR
# (default SP_BUILD_DIR/bench-stack, wiped when the stack starts), and the
# figures to SP_BUILD_DIR/bench-results.json and .md.
# Needs what scripts/install-deps.sh installs; installs wrk, curl, strace and
# linux-perf with apt-get when they are missing (through sudo when not root).
# Benchmarks print figures; they never fail on a timing. The exit status is
# not 0 only when something did not work (build, stack, a failed request or job).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
src=$(cd "${SP_SOURCE_DIR:-$here/..}" && pwd)
export SP_SOURCE_DIR=$src
export SP_BUILD_DIR=${SP_BUILD_DIR:-$src/build-bench}
export SP_STACK_DIR=${SP_STACK_DIR:-$SP_BUILD_DIR/bench-stack}
export PYTHONPATH=$here:$src/tests/e2e:$src/tests/fakes${PYTHONPATH:+:$PYTHONPATH}
export PYTHONDONTWRITEBYTECODE=1
py=/usr/bin/python3  # Debian's, with psycopg2, jwt and cryptography

args=()
sizes=
extras=()
for a in "$@"; do
    case "$a" in
        -h|--help) sed -n '2,29s/^# \{0,1\}//p' "$0"; exit 0 ;;
        sizes) sizes=1 ;;
        pool) extras+=(worker_pool "worker_pool --no-webhooks") ;;
        progress) extras+=(progress_rate) ;;
        prune) extras+=(prune) ;;
        *) args+=("$a") ;;
    esac
done
[ ${#extras[@]} -eq 0 ] || sizes=${sizes:-extras}
# only "sizes" named: run nothing else
only_sizes=
if [ -n "$sizes" ]; then
    only_sizes=1
    for a in "${args[@]+"${args[@]}"}"; do
        case "$a" in --*|[0-9]*) ;; *) only_sizes= ;; esac
    done
fi

# The benchmarks' own tools (not needed by the build or the tests).
need=()
command -v wrk >/dev/null || need+=(wrk)
command -v curl >/dev/null || need+=(curl)
command -v strace >/dev/null || need+=(strace)
command -v perf >/dev/null || need+=(linux-perf)
if [ ${#need[@]} -gt 0 ]; then
    sudo=()
    [ "$(id -u)" -eq 0 ] || sudo=(sudo)
    echo "== installing ${need[*]} (apt-get)"
    apt=("${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600)
    "${apt[@]}" install -y --no-install-recommends "${need[@]}" >/dev/null 2>&1 ||
        { "${apt[@]}" update >/dev/null && "${apt[@]}" install -y --no-install-recommends "${need[@]}" >/dev/null; } ||
        echo "run.sh: could not install ${need[*]}; the benchmarks that need them will say so" >&2
fi

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
# once; it is passed on as SIGTERM (bench.py then stops its nginx, workers and
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

# 1,000 long-polls need more than the usual 1,024 open files, in this script's
# client and in the programs the stack starts (they inherit the limit).
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
echo "== start stack ($SP_STACK_DIR; open files limit $(ulimit -n))"
stack_started=1
"$py" "$src/scripts/stack.py" start

commit=$(git -C "$src" rev-parse --short HEAD 2>/dev/null || echo unknown)
dirty=
if git -C "$src" status --porcelain 2>/dev/null | grep -qv '^??'; then
    dirty=", with uncommitted changes"
fi
echo "== source: commit $commit$dirty"
status=0
if [ -z "$only_sizes" ]; then
    step "$py" "$here/bench.py" --out "$SP_BUILD_DIR/bench-results" "${args[@]+"${args[@]}"}" || status=1
fi
if [ "$sizes" = 1 ]; then
    echo "== worker upload by size (bench/worker_upload.py)"
    step "$py" "$here/worker_upload.py" || status=1
fi
for x in "${extras[@]+"${extras[@]}"}"; do
    read -r name flags <<<"$x" # a script's name, then its flags (no spaces inside one)
    echo "== bench/$name.py${flags:+ $flags}"
    # shellcheck disable=SC2086  # flags split into words on purpose
    step "$py" "$here/$name.py" $flags || status=1
done
stop_stack
exit $status
