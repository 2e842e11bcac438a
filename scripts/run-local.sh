#!/usr/bin/env bash
# Runs social-post locally: installs what is missing (Debian 12), builds, and
# starts its own Postgres cluster (under build/stack/), the FastCGI programs,
# nginx on 127.0.0.1, the worker, and (unless real platform credentials are
# configured) sandbox platforms on 127.0.0.1 in place of YouTube, Facebook,
# Instagram and TikTok. Prints a demo user's token and curl commands; Ctrl-C stops.
#   SP_NGINX_PORT=8080 scripts/run-local.sh     pick nginx's port (default 8080)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j "$(nproc 2>/dev/null || echo 2)"
export SP_NGINX_PORT="${SP_NGINX_PORT:-8080}"
export SP_STACK_WORKER=1
exec /usr/bin/python3 scripts/stack.py run
