#!/usr/bin/env bash
# install-deps.sh: installs what social-post needs to build, test and run on
# Debian 12 (bookworm) or a close relative, with apt-get.
#
# Idempotent: when every package is installed already it changes nothing and
# needs no network; otherwise it runs `apt-get update` and installs the missing
# ones (packages already installed are left at their version, not upgraded).
# Runs apt-get through sudo when not root.
set -euo pipefail

packages=(
    # build
    build-essential cmake pkg-config
    libfcgi-dev libpq-dev libcurl4-openssl-dev libcjson-dev libssl-dev
    # run and test: Postgres, nginx, FastCGI spawner
    postgresql postgresql-client nginx-light spawn-fcgi
    # tests: the e2e scripts and the local stack (scripts/stack.py)
    python3 python3-jwt python3-cryptography python3-psycopg2
    # tests of the deployment files: OpenAPI checks (with node and npm, below),
    # the Debian package (cpack: dpkg-shlibdeps, file), units (systemd-analyze),
    # the nginx example (a throw-away TLS certificate)
    python3-yaml python3-jsonschema dpkg-dev file systemd openssl lintian
    # checks and tools (prometheus: its promtool checks /metrics; the package's
    # own service is not used, and is stopped below when it starts one)
    valgrind curl ca-certificates prometheus
    # clang and its runtime (libFuzzer) for scripts/fuzz.sh
    clang libclang-rt-14-dev
    # browser tests of the status page (web/): Chromium, driven by playwright-core
    # from npm (tests/browser/); the emoji font draws the page's ✓ and ⏳
    chromium fonts-noto-color-emoji
)
# node and npm run the browser tests and validate docs/openapi.yaml. A newer nodejs installed from
# elsewhere brings its own npm and conflicts with Debian's npm package, so
# these two count as present when the commands are, whatever dpkg says.
command -v node >/dev/null || packages+=(nodejs)
command -v npm >/dev/null || packages+=(npm)

sudo=()
if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || { echo "install-deps.sh: run as root or install sudo" >&2; exit 1; }
    sudo=(sudo)
fi

missing=()
for p in "${packages[@]}"; do
    status=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
    [ "$status" = "installed" ] || missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
    echo "install-deps.sh: all ${#packages[@]} packages are installed"
    exit 0
fi

echo "install-deps.sh: installing ${missing[*]}"
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 update
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y --no-install-recommends "${missing[@]}"

# prometheus is here for promtool only: where systemd runs, its package starts
# a Prometheus server (port 9090) that nothing here uses.
if [[ " ${missing[*]} " == *" prometheus "* ]] && [ -d /run/systemd/system ]; then
    "${sudo[@]}" systemctl disable --now prometheus >/dev/null 2>&1 || true
fi
