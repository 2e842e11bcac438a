#!/usr/bin/env bash
# fuzz.sh [SECONDS]: runs every libFuzzer target of tests/fuzz for SECONDS
# each (default 20), building them first with clang in build-fuzz
# (-DSP_FUZZ=ON: -fsanitize=fuzzer,address,undefined).
#
# Each target starts from its seeds (tests/fuzz/corpus/<name>/) and keeps
# what it finds in build-fuzz/corpus/<name>/ for the next run. A crash (or a
# sanitizer report, a leak, a timeout) is copied to
# tests/fuzz/regressions/<name>/, where ctest replays it in every build, and
# the run fails. Prints each target's executions and coverage, and last
# "fuzz: N passed, N failed".
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

passed=0
failed=0
for name in $(tr ';' ' ' <"$build/fuzz_targets.txt"); do
    work="$build/corpus/$name"
    artifacts="$build/artifacts/$name"
    log="$build/fuzz-$name.log"
    mkdir -p "$work" "$artifacts"
    rm -f "$artifacts"/*
    "$build/tests/fuzz/fuzz_$name" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
        -print_final_stats=1 -artifact_prefix="$artifacts/" "$work" "tests/fuzz/corpus/$name" \
        >"$log" 2>&1
    status=$?
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
    cov=$(grep -o 'cov: [0-9]*' "$log" | tail -n 1 | cut -d' ' -f2)
    features=$(grep -o 'ft: [0-9]*' "$log" | tail -n 1 | cut -d' ' -f2)
    crashes=$(find "$artifacts" -type f | wc -l)
    if [ "$status" -eq 0 ] && [ "$crashes" -eq 0 ]; then
        passed=$((passed + 1))
        echo "fuzz_$name: ok, ${execs:-?} executions, coverage ${cov:-?} edges, ${features:-?} features"
    else
        failed=$((failed + 1))
        mkdir -p "tests/fuzz/regressions/$name"
        cp "$artifacts"/* "tests/fuzz/regressions/$name/" 2>/dev/null
        echo "fuzz_$name: FAILED (exit $status); inputs kept in tests/fuzz/regressions/$name/:"
        grep -E 'ERROR|SUMMARY|runtime error' "$log" | head -n 5
    fi
done
echo "fuzz: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
