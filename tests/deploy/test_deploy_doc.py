"""docs/DEPLOY.md, section 6 ("Without systemd, step by step"), run as written.

Every ```sh block after a `<!-- deploy-test -->` marker is taken from the document
itself and fed, in order, to one bash (so the blocks share variables as they would in
an operator's shell), from the source tree, as root. Between blocks the test looks at
what a person would check:
- after the install: the package is installed, its users exist;
- after the start: the FastCGI programs run as the user social-post, which cannot
  read either environment file; the health check answered ok;
- after the post: the job completed with every platform's success, the worker ran as
  social-post-worker, and the logs are where the document says, with JSON lines;
- after the removal: nothing runs, the package is purged, its users, folders, logs,
  sockets and cron files are gone.
If a block fails, the removal block still runs (best effort) before the test fails.

This installs a package, starts the host's Postgres cluster, cron and nginx: it runs
only as root, with the build in SOURCE/build (as the document builds it), and refuses
to run where social-post is already installed (a real deployment). Exit 77: skipped.
Needs SP_SOURCE_DIR and SP_BUILD_DIR (set by ctest).
"""
import json
import os
import re
import queue
import shutil
import subprocess
import sys
import tempfile
import threading
import time

MARKER = "<!-- deploy-test -->"
BLOCK_SECONDS = (900, 300, 120, 180, 420, 300)  # install, database, sandbox, start, post, remove
DONE = "@@social-post-deploy-test-block-done@@"


def blocks(doc):
    found = []
    for part in doc.split(MARKER)[1:]:
        m = re.match(r"\s*```sh\n(.*?)```", part, re.S)
        assert m, "a deploy-test marker not followed by a ```sh block"
        found.append(m.group(1))
    return found


class Shell:
    """One bash fed block by block; each block's output is returned."""

    def __init__(self, cwd):
        self.n = 0
        self.dir = tempfile.mkdtemp(prefix="sp-deploy-doc-")
        env = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
               "HOME": "/root", "LANG": "C.UTF-8", "DEBIAN_FRONTEND": "noninteractive"}
        self.p = subprocess.Popen(["bash", "--noprofile", "--norc"], cwd=cwd, env=env,
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT, text=True, bufsize=1)
        # lines are read by a thread: select() on a buffered reader misses lines
        # that are already in its buffer
        self.lines = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.p.stdout:
            self.lines.put(line)
        self.lines.put(None)

    def run(self, block, seconds, strict=True):
        head = "set -euo pipefail\n" if strict else "set +e\n"
        # the block is sourced from a file with stdin from /dev/null: a command
        # in it that reads stdin (apt, dpkg) must not eat the lines after it
        self.n += 1
        path = os.path.join(self.dir, f"block{self.n}.sh")
        with open(path, "w") as f:
            f.write(head + block)
        # the marker on a line of its own even after output without a newline
        self.p.stdin.write(f". {path} </dev/null\nprintf '\\n%s\\n' {DONE}\n")
        self.p.stdin.flush()
        out, deadline = [], time.monotonic() + seconds
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"block timed out after {seconds} s:\n{block}\n"
                                     + "".join(out[-40:]))
            try:
                line = self.lines.get(timeout=left)
            except queue.Empty:
                continue
            if line is None:
                raise AssertionError(f"block failed ({self.p.wait()}):\n{block}\n"
                                     + "".join(out[-60:]))
            if line.strip() == DONE:
                return "".join(out)
            out.append(line)
            sys.stdout.write(line)

    def close(self):
        shutil.rmtree(self.dir, ignore_errors=True)
        try:
            self.p.stdin.close()
        except OSError:
            pass
        try:
            self.p.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.p.kill()


def sh(*argv):
    return subprocess.run(argv, capture_output=True, text=True)


def users_of(program):
    """The users running /usr/bin/program."""
    out = sh("ps", "-eo", "user:32,args").stdout.splitlines()
    return {line.split(None, 1)[0] for line in out
            if len(line.split(None, 1)) == 2 and line.split(None, 1)[1].split()[0] ==
            f"/usr/bin/{program}"}


def user_exists(name):
    return sh("getent", "passwd", name).returncode == 0


def check_installed():
    assert sh("dpkg-query", "-W", "-f", "${db:Status-Status}", "social-post").stdout == "installed"
    assert user_exists("social-post") and user_exists("social-post-worker")
    print("check: package installed, users social-post and social-post-worker exist")


def check_started(out):
    assert '"status":"ok"' in out and '"database":"ok"' in out, "health check: " + out[-500:]
    for prog in ("social-post", "social-post-status"):
        assert users_of(prog) == {"social-post"}, (prog, users_of(prog))
    for env in ("social-post.env", "worker.env"):
        r = sh("runuser", "-u", "social-post", "--", "cat", f"/etc/social-post/{env}")
        assert r.returncode != 0, f"the HTTP programs' user can read {env}"
    print("check: programs run as social-post, which reads no env file; health ok")


def check_posted(out):
    statuses = [line for line in out.splitlines() if line.startswith("{") and '"jobId"' in line
                and '"results"' in line]
    assert statuses, "no status answer in the output"
    status = json.loads(statuses[-1])
    assert status["status"] == "completed", status
    for platform in ("youtube", "facebook", "instagram", "tiktok"):
        assert status["results"][platform]["success"] is True, status["results"]
    for log in ("worker.log", "social-post.log", "social-post-status.log"):
        path = f"/var/log/social-post/{log}"
        with open(path) as f:
            lines = [line for line in f.read().splitlines() if line.strip()]
        assert lines, f"{path} is empty"
        json.loads(lines[-1])  # one JSON object per line
    print("check: job completed on every platform; logs in /var/log/social-post, JSON lines")


def check_removed():
    for prog in ("social-post", "social-post-status", "social-post-worker"):
        assert not users_of(prog), f"{prog} still runs"
    status = sh("dpkg-query", "-W", "-f", "${db:Status-Status}", "social-post").stdout
    assert status in ("", "not-installed"), status
    assert not user_exists("social-post") and not user_exists("social-post-worker")
    for path in ("/var/cache/social-post", "/var/log/social-post", "/run/social-post",
                 "/etc/social-post", "/etc/cron.d/social-post-worker",
                 "/etc/cron.d/social-post-http", "/run/lock/social-post-worker.lock",
                 "/usr/lib/social-post"):
        assert not os.path.exists(path), f"{path} is left"
    print("check: nothing runs, the package, its users, folders, logs and cron files are gone")


def main():
    source = os.environ["SP_SOURCE_DIR"]
    build = os.environ["SP_BUILD_DIR"]
    if os.geteuid() != 0:
        print("skipped: the document's commands install a package; they need root")
        return 77
    if os.path.realpath(build) != os.path.realpath(os.path.join(source, "build")):
        print(f"skipped: the document builds in SOURCE/build, this build is {build}")
        return 77
    if sh("dpkg-query", "-W", "-f", "${db:Status-Status}", "social-post").stdout == "installed":
        raise AssertionError("social-post is installed on this host: this test installs and "
                             "purges it, so it runs only where it is not")
    with open(os.path.join(source, "docs", "DEPLOY.md")) as f:
        steps = blocks(f.read())
    assert len(steps) == len(BLOCK_SECONDS), f"expected {len(BLOCK_SECONDS)} blocks, {len(steps)}"
    checks = [lambda out: check_installed(), None, None, check_started, check_posted, None]
    shell = Shell(source)
    removed = False
    try:
        for i, (block, seconds, check) in enumerate(zip(steps, BLOCK_SECONDS, checks), 1):
            print(f"=== DEPLOY.md section 6, block {i}", flush=True)
            out = shell.run(block, seconds)
            if i == len(steps):
                removed = True
            if check:
                check(out)
        check_removed()
        print("ok")
        return 0
    finally:
        if not removed:
            print("=== a block failed: running the removal block, best effort", flush=True)
            cleanup = Shell(source) if shell.p.poll() is not None else shell
            try:
                cleanup.run("pkill -f 'scripts/sandbox.py run' || true\n" + steps[-1], 300,
                            strict=False)
            except AssertionError as e:
                print(f"cleanup: {e}")
            if cleanup is not shell:
                cleanup.close()
        shell.close()


if __name__ == "__main__":
    sys.exit(main())
