"""What the status page's browser tests share: playwright-core from npm in
the build folder, Debian's chromium, and running one scenario of
tests/browser/status_page.js.

    browserkit.run("html_is_text", {"token": ..., "videoId": ...})

The scenario gets the fixture (plus baseUrl, the page's URL and the
screenshot folder) as JSON in $SP_UI_FIXTURE and exits 0 when it held.
playwright-core is installed once per build folder, at the version that
tests/browser/package.json pins, with `npm install --no-package-lock`.

Settings (environment):
    SP_CHROMIUM              the browser (default /usr/bin/chromium)
    SP_UI_EXPECT_PROGRESS=1  the upload scenario requires progress bars (see
                             REQUIRE_PROGRESS in test_status_page.py)
"""
import json
import os
import shutil
import subprocess

import sptest

HERE = os.path.dirname(os.path.abspath(__file__))
BROWSER_DIR = os.path.join(os.path.dirname(HERE), "browser")
SCRIPT = os.path.join(BROWSER_DIR, "status_page.js")
PACKAGE_JSON = os.path.join(BROWSER_DIR, "package.json")


def pinned_version():
    with open(PACKAGE_JSON) as f:
        return json.load(f)["dependencies"]["playwright-core"]


def playwright_dir():
    """node_modules/playwright-core under the build folder, installed if missing."""
    target = os.path.join(sptest.state()["build_dir"], "browser")
    module = os.path.join(target, "node_modules", "playwright-core")
    want = pinned_version()
    try:
        with open(os.path.join(module, "package.json")) as f:
            if json.load(f).get("version") == want:
                return module
    except (OSError, ValueError):
        pass
    npm = shutil.which("npm")
    assert npm, "npm is missing: run scripts/install-deps.sh"
    os.makedirs(target, exist_ok=True)
    shutil.copy(PACKAGE_JSON, os.path.join(target, "package.json"))
    out = subprocess.run([npm, "install", "--no-package-lock", "--no-audit", "--no-fund",
                          "--loglevel=error"], cwd=target, capture_output=True, text=True,
                         timeout=600)
    assert out.returncode == 0, f"npm install playwright-core@{want} failed:\n{out.stdout}{out.stderr}"
    return module


def chromium():
    path = os.environ.get("SP_CHROMIUM", "/usr/bin/chromium")
    assert os.access(path, os.X_OK), f"{path} is missing: run scripts/install-deps.sh"
    return path


def screenshot_dir():
    d = os.path.join(sptest.state()["build_dir"], "screenshots")
    os.makedirs(d, exist_ok=True)
    return d


def run(scenario, fixture, timeout=300):
    """Runs one scenario in a fresh headless Chromium; fails with its output."""
    node = shutil.which("node") or shutil.which("nodejs")
    assert node, "node is missing: run scripts/install-deps.sh"
    base = sptest.state()["api_base_url"]
    data = dict(fixture, baseUrl=base, pageUrl=base + "/social-post-ui/",
                screenshotDir=screenshot_dir())
    stale = os.path.join(data["screenshotDir"], f"failed-{scenario}.png")
    if os.path.exists(stale):
        os.remove(stale)  # from an earlier failed run
    env = dict(os.environ, SP_UI_FIXTURE=json.dumps(data), SP_PLAYWRIGHT=playwright_dir(),
               SP_CHROMIUM=chromium())
    try:
        out = subprocess.run([node, SCRIPT, scenario], env=env, capture_output=True, text=True,
                             timeout=timeout)
    except subprocess.TimeoutExpired as e:
        said = [x.decode(errors="replace") if isinstance(x, bytes) else x or ""
                for x in (e.stdout, e.stderr)]
        raise AssertionError(f"{scenario}: no result after {timeout} s\n{''.join(said)}")
    text = (out.stdout + out.stderr).strip()
    if text:
        print("\n".join("    " + line for line in text.splitlines()))
    assert out.returncode == 0, f"browser scenario {scenario} failed (exit {out.returncode})"
