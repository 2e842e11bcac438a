#!/usr/bin/env bash
# Runs every test: installs what is missing (Debian 12), builds the normal and
# the sanitizer (ASan+UBSan) builds, and runs ctest in each. Each ctest run
# starts its own Postgres and nginx on 127.0.0.1 and stops them at the end.
# Exits non-zero when anything fails; the last line is "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."

if [ "${SP_SKIP_DEPS:-0}" != 1 ]; then
    scripts/install-deps.sh || { echo "installing dependencies failed"; exit 1; }
fi

jobs=$(nproc 2>/dev/null || echo 2)
passed=0
failed=0

# Builds and tests one configuration: $1 = build dir, the rest = cmake options.
run_build() {
    local dir=$1
    shift
    echo "=== $dir: configure and build"
    if ! cmake -S . -B "$dir" "$@" >"$dir/configure.log" 2>&1; then
        cat "$dir/configure.log"
        failed=$((failed + 1))
        return
    fi
    if ! cmake --build "$dir" -j "$jobs"; then
        failed=$((failed + 1))
        return
    fi
    echo "=== $dir: ctest"
    local log="$dir/ctest.log"
    (cd "$dir" && ctest --output-on-failure -j "$jobs") 2>&1 | tee "$log"
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

mkdir -p build build-asan
run_build build -DCMAKE_BUILD_TYPE=RelWithDebInfo
run_build build-asan -DCMAKE_BUILD_TYPE=Debug -DSP_SANITIZE=ON

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
