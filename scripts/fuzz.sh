#!/usr/bin/env bash
# fuzz.sh [SECONDS | --build-only]: runs every libFuzzer target of tests/fuzz for SECONDS
# each (default 20), building them first with clang in build-fuzz
# (-DSP_FUZZ=ON: -fsanitize=fuzzer,address,undefined). Targets run
# SP_FUZZ_PARALLEL at a time (default: one per core).
#
# Each target starts from its seeds (tests/fuzz/corpus/<name>/) and keeps
# what it finds in build-fuzz/corpus/<name>/ for the next run. A crash (or a
# sanitizer report, a leak, a timeout) is copied to
# tests/fuzz/regressions/<name>/, where ctest replays it in every build, and
# the run fails. Prints each target's executions and coverage, and last
# "fuzz: N passed, N failed". --build-only builds the targets and stops.
set -uo pipefail
cd "$(dirname "$0")/.."

seconds=${1:-20}
build=${SP_FUZZ_BUILD_DIR:-build-fuzz}
jobs=${SP_FUZZ_BUILD_JOBS:-2}

mkdir -p "$build"
if ! cmake -S . -B "$build" -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=RelWithDebInfo \
        -DSP_FUZZ=ON >"$build/configure.log" 2>&1; then
    cat "$build/configure.log"
    echo "fuzz: 0 passed, 1 failed (configure)"
    exit 1
fi
if ! cmake --build "$build" -j "$jobs" --target fuzzers; then
    echo "fuzz: 0 passed, 1 failed (build)"
    exit 1
fi
[ "$seconds" = --build-only ] && exit 0

# Runs one target; prints its one-line verdict into $build/verdict-<name>.
fuzz_one() {
    local name=$1
    local work="$build/corpus/$name"
    local artifacts="$build/artifacts/$name"
    local log="$build/fuzz-$name.log"
    local verdict="$build/verdict-$name"
    mkdir -p "$work" "$artifacts"
    rm -f "$artifacts"/*
    "$build/tests/fuzz/fuzz_$name" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
        -print_final_stats=1 -artifact_prefix="$artifacts/" "$work" "tests/fuzz/corpus/$name" \
        >"$log" 2>&1
    local status=$?
    local execs cov features crashes
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
    cov=$(grep -o 'cov: [0-9]*' "$log" | tail -n 1 | cut -d' ' -f2)
    features=$(grep -o 'ft: [0-9]*' "$log" | tail -n 1 | cut -d' ' -f2)
    crashes=$(find "$artifacts" -type f | wc -l)
    if [ "$status" -eq 0 ] && [ "$crashes" -eq 0 ]; then
        echo "fuzz_$name: ok, ${execs:-?} executions, coverage ${cov:-?} edges, ${features:-?} features" >"$verdict"
    else
        mkdir -p "tests/fuzz/regressions/$name"
        cp "$artifacts"/* "tests/fuzz/regressions/$name/" 2>/dev/null
        {
            echo "fuzz_$name: FAILED (exit $status); inputs kept in tests/fuzz/regressions/$name/:"
            grep -E 'ERROR|SUMMARY|runtime error' "$log" | head -n 5
        } >"$verdict"
    fi
}

# Targets run side by side, SP_FUZZ_PARALLEL at a time (default: one per
# core): each is single-threaded, so this shortens the step, not the search.
parallel=${SP_FUZZ_PARALLEL:-$(nproc 2>/dev/null || echo 1)}
names=$(tr ';' ' ' <"$build/fuzz_targets.txt")
running=0
for name in $names; do
    rm -f "$build/verdict-$name"
    fuzz_one "$name" &
    running=$((running + 1))
    if [ "$running" -ge "$parallel" ]; then
        wait -n
        running=$((running - 1))
    fi
done
wait

passed=0
failed=0
for name in $names; do
    if grep -q '^fuzz_[a-z0-9_]*: ok' "$build/verdict-$name" 2>/dev/null; then
        passed=$((passed + 1))
    else
        failed=$((failed + 1))
    fi
    cat "$build/verdict-$name" 2>/dev/null || echo "fuzz_$name: FAILED (no verdict)"
done
echo "fuzz: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
