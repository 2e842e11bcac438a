#!/usr/bin/env bash
# Runs every test: installs what is missing (Debian 12), builds the normal and
# the sanitizer (ASan+UBSan) builds, and runs ctest in each, then runs every
# fuzz target for a bounded time (scripts/fuzz.sh, SP_FUZZ_SECONDS each,
# default 10). Each ctest run starts its own Postgres and nginx on 127.0.0.1
# and stops them at the end. Exits non-zero when anything fails; the last
# line is "N passed, N failed" (each fuzz target counts as one test).
set -uo pipefail
cd "$(dirname "$0")/.."

if [ "${SP_SKIP_DEPS:-0}" != 1 ]; then
    scripts/install-deps.sh || { echo "installing dependencies failed"; exit 1; }
fi

jobs=$(nproc 2>/dev/null || echo 2)
passed=0
failed=0

# Configures and builds one configuration: $1 = build dir, the rest = cmake
# options. Returns non-zero (after printing why) when either step fails.
build_one() {
    local dir=$1
    shift
    mkdir -p "$dir"
    echo "=== $dir: configure and build"
    if ! cmake -S . -B "$dir" "$@" >"$dir/configure.log" 2>&1; then
        cat "$dir/configure.log"
        return 1
    fi
    cmake --build "$dir" -j "$jobs"
}

# Runs ctest in a built configuration, its output in $dir/ctest.log.
test_one() {
    local dir=$1
    (cd "$dir" && ctest --output-on-failure -j "$jobs") >"$dir/ctest.log" 2>&1
}

# Adds the counts of a finished ctest run (its log printed first).
count_one() {
    local dir=$1
    local log="$dir/ctest.log"
    echo "=== $dir: ctest"
    cat "$log"
    local total fails
    total=$(sed -n 's/.*tests passed, [0-9]* tests failed out of \([0-9]*\).*/\1/p' "$log" | tail -n 1)
    fails=$(sed -n 's/.*tests passed, \([0-9]*\) tests failed out of.*/\1/p' "$log" | tail -n 1)
    if [ -z "$total" ]; then
        failed=$((failed + 1))
        return
    fi
    passed=$((passed + total - fails))
    failed=$((failed + fails))
}

# Runs the fuzz targets (tests/fuzz) for SP_FUZZ_SECONDS each.
run_fuzz() {
    echo "=== build-fuzz: fuzz targets, ${SP_FUZZ_SECONDS:-10} s each"
    local log=build-fuzz/fuzz.log
    mkdir -p build-fuzz
    SP_FUZZ_BUILD_JOBS=$jobs scripts/fuzz.sh "${SP_FUZZ_SECONDS:-10}" 2>&1 | tee "$log"
    local ok bad
    ok=$(sed -n 's/^fuzz: \([0-9]*\) passed, \([0-9]*\) failed.*/\1/p' "$log" | tail -n 1)
    bad=$(sed -n 's/^fuzz: \([0-9]*\) passed, \([0-9]*\) failed.*/\2/p' "$log" | tail -n 1)
    passed=$((passed + ${ok:-0}))
    failed=$((failed + ${bad:-1}))
}

# The builds compile first, one after the other (compiling beside the
# end-to-end tests slowed them more than it saved: the chaos test took 150 s
# instead of 23). Then the two ctest runs go side by side: each starts its
# own Postgres and nginx on free ports, and their end-to-end tests spend most
# of their time waiting on the worker, the fakes and the clock, so together
# they take little longer than the longer one alone. The fuzz targets build
# beside them at a lower priority and run last.
built=()
for config in "build -DCMAKE_BUILD_TYPE=RelWithDebInfo" \
              "build-asan -DCMAKE_BUILD_TYPE=Debug -DSP_SANITIZE=ON"; do
    # shellcheck disable=SC2086 # the words are the directory and its options
    if build_one $config; then
        built+=("${config%% *}")
    else
        failed=$((failed + 1))
    fi
done
pids=()
for dir in "${built[@]}"; do
    echo "=== $dir: ctest started (log: $dir/ctest.log)"
    test_one "$dir" &
    pids+=($!)
done
mkdir -p build-fuzz
(
    renice -n 10 "$BASHPID" >/dev/null 2>&1
    SP_FUZZ_BUILD_JOBS=1 scripts/fuzz.sh --build-only
) >build-fuzz/build.log 2>&1 &
fuzz_build=$!
for pid in "${pids[@]}"; do
    wait "$pid"
done
for dir in "${built[@]}"; do
    count_one "$dir"
done
wait "$fuzz_build" || cat build-fuzz/build.log
run_fuzz

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
