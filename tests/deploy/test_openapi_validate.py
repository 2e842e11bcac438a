"""docs/openapi.yaml is a valid OpenAPI 3.1 document, by a real validator.

Installs @apidevtools/swagger-parser (the exact version of
tests/deploy/package.json) with npm into SP_BUILD_DIR/npm-tools once, then
runs validate_openapi.js on the document with node. Nothing is installed
outside the build folder, and no lock file is written.

Needs SP_SOURCE_DIR and SP_BUILD_DIR (set by ctest), node and npm
(scripts/install-deps.sh installs them).
"""
import json
import os
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def installed(tools, wanted):
    """True when tools/node_modules holds every wanted package at its version."""
    for name, version in wanted.items():
        try:
            with open(os.path.join(tools, "node_modules", name, "package.json")) as f:
                if json.load(f).get("version") != version:
                    return False
        except (OSError, ValueError):
            return False
    return True


def main():
    source = os.environ["SP_SOURCE_DIR"]
    tools = os.path.join(os.environ["SP_BUILD_DIR"], "npm-tools")
    node, npm = shutil.which("node") or shutil.which("nodejs"), shutil.which("npm")
    if not node or not npm:
        print("FAIL: node and npm are needed (scripts/install-deps.sh installs them)")
        return 1
    with open(os.path.join(HERE, "package.json")) as f:
        wanted = json.load(f)["dependencies"]
    if not installed(tools, wanted):
        os.makedirs(tools, exist_ok=True)
        shutil.copy(os.path.join(HERE, "package.json"), os.path.join(tools, "package.json"))
        print(f"npm install {' '.join(f'{n}@{v}' for n, v in wanted.items())} into {tools}",
              flush=True)
        subprocess.run([npm, "install", "--no-audit", "--no-fund", "--no-package-lock",
                        "--no-update-notifier", "--loglevel=error"],
                       cwd=tools, check=True, timeout=600)
    env = dict(os.environ, NODE_PATH=os.path.join(tools, "node_modules"))
    p = subprocess.run([node, os.path.join(HERE, "validate_openapi.js"),
                        os.path.join(source, "docs", "openapi.yaml")], env=env, timeout=120)
    return p.returncode


if __name__ == "__main__":
    sys.exit(main())
