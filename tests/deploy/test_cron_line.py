"""deploy/cron/social-post-worker.cron: the worker's line for hosts without systemd.

Runs the line's command the way cron does (/bin/sh -c), with its paths moved
into a throw-away folder: the environment files are the shipped examples with
every variable uncommented, plus a secret whose value looks like a command,
read by deploy/bin/social-post-env as installed; the worker is a stub that
records its arguments and environment and waits.

Checks: a minute-by-minute schedule as the social-post-worker user; the worker
gets --max-runtime and the variables of both files (worker.env's winning), and
nothing else of cron's environment; no value is evaluated (`$(...)` stays
text and runs nothing); a second run while the first one holds the lock ends
at once without starting a worker (flock -n: never two at a time); once the
first has ended, the next run starts one again; the worker's output is
appended to its log file; with the worker's binary gone (package removed, not
purged) the line does nothing. docs/DEPLOY.md installs the shipped file.

Needs SP_SOURCE_DIR (set by ctest), flock (util-linux) and sh.
"""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

CRON = "deploy/cron/social-post-worker.cron"

STUB_WORKER = """#!/bin/sh
# records one start, then waits until the test releases it
n=$(ls "{dir}"/start-* 2>/dev/null | wc -l)
python3 - "$@" > "{dir}/start-$n.json" <<'PY'
import json, os, sys
print(json.dumps({{"argv": sys.argv[1:], "env": dict(os.environ)}}))
PY
echo "stub worker $n running" >&2
i=0
while [ ! -e "{dir}/release" ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i + 1)); done
"""

EVIL = "EVIL_SECRET='$(touch {dir}/pwned)`touch {dir}/pwned2`'\n"


def cron_entry(path):
    """(schedule, user, command) of the file's one entry."""
    entries = [line for line in open(path).read().splitlines()
               if line.strip() and not line.lstrip().startswith("#")]
    assert len(entries) == 1, f"{path}: expected one entry, found {entries}"
    fields = entries[0].split(None, 6)
    return " ".join(fields[:5]), fields[5], fields[6]


def uncommented(text):
    """An environment file with every `#VARIABLE=` line made active."""
    return re.sub(r"^#([A-Z][A-Z0-9_]*=)", r"\1", text, flags=re.M)


def wait_for(what, check, seconds=30):
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for " + what)
        time.sleep(0.05)


def main():
    source = os.environ.get("SP_SOURCE_DIR") or os.path.dirname(os.path.dirname(
        os.path.dirname(os.path.abspath(__file__))))
    schedule, user, command = cron_entry(os.path.join(source, CRON))
    assert schedule == "* * * * *", schedule
    assert user == "social-post-worker", user
    assert "flock -n " in command and "--max-runtime" in command, command
    assert " sh " not in command and ". /etc" not in command, "env files are never run by sh"
    with open(os.path.join(source, "docs", "DEPLOY.md")) as f:
        assert "install -m 0644 /usr/share/social-post/deploy/social-post-worker.cron " \
            "/etc/cron.d/social-post-worker" in f.read(), \
            "docs/DEPLOY.md does not install the shipped cron file"

    tmp = tempfile.mkdtemp(prefix="sp-cron-")
    first = None
    try:
        for d in ("etc", "bin", "lock", "runs", "log"):
            os.makedirs(os.path.join(tmp, d))
        runs = os.path.join(tmp, "runs")
        for name in ("social-post.env", "worker.env"):
            with open(os.path.join(source, "deploy", name)) as f:
                text = uncommented(f.read())
            with open(os.path.join(tmp, "etc", name), "w") as f:
                f.write(text + (EVIL.format(dir=runs) if name == "worker.env" else ""))
        for name, body in (("social-post-worker", STUB_WORKER),):
            path = os.path.join(tmp, "bin", name)
            with open(path, "w") as f:
                f.write(body.format(dir=runs))
            os.chmod(path, 0o755)

        local = command
        for old, new in (("/etc/social-post/", tmp + "/etc/"),
                         ("/usr/bin/social-post-worker", tmp + "/bin/social-post-worker"),
                         ("/usr/lib/social-post/social-post-env",
                          os.path.join(source, "deploy/bin/social-post-env")),
                         ("/var/log/social-post/", tmp + "/log/"),
                         ("/run/lock/", tmp + "/lock/")):
            assert old in local, f"the cron line does not mention {old}"
            local = local.replace(old, new)
        env = {"PATH": tmp + "/bin:/usr/bin:/bin", "HOME": tmp, "SHELL": "/bin/sh",
               "CRON_ONLY": "must not reach the worker"}

        def run_line(wait):
            p = subprocess.Popen(["/bin/sh", "-c", local], env=env, stdin=subprocess.DEVNULL,
                                 stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
            if wait:
                out = p.communicate(timeout=30)[0]
                return p.returncode, out
            return p

        def starts():
            return sorted(f for f in os.listdir(runs) if f.startswith("start-"))

        first = run_line(wait=False)
        wait_for("the first run's worker", lambda: len(starts()) == 1)
        with open(os.path.join(runs, starts()[0])) as f:
            wait_for("the worker's record", lambda: os.path.getsize(f.name) > 0)
            record = json.loads(open(f.name).read())
        argv, wenv = record["argv"], record["env"]
        assert "--max-runtime" in argv, argv
        assert wenv["DATABASE_URL"].startswith("postgresql://social_post_worker:"), wenv
        assert "&connect_timeout=5" in wenv["DATABASE_URL"], wenv  # `&` survived sh
        assert wenv["CORS_ALLOWED_ORIGINS"] == "https://app.example.com,https://staging.example.com"
        assert wenv["SUPABASE_URL"].startswith("https://"), wenv
        assert wenv["SOCIAL_POST_SPOOL_DIR"] == "/var/cache/social-post", wenv
        assert "CRON_ONLY" not in wenv and "HOME" not in wenv, "only the files' variables"
        assert wenv["EVIL_SECRET"].startswith("$(touch "), wenv["EVIL_SECRET"]
        assert not os.path.exists(os.path.join(runs, "pwned")), "a value was run as a command"
        assert not os.path.exists(os.path.join(runs, "pwned2")), "a value was run as a command"

        t0 = time.monotonic()
        code, out = run_line(wait=True)
        assert time.monotonic() - t0 < 10, "the second run waited for the lock"
        assert len(starts()) == 1, f"a second worker started while one ran: {starts()}"

        open(os.path.join(runs, "release"), "w").close()
        first.wait(timeout=30)
        os.unlink(os.path.join(runs, "release"))
        third = run_line(wait=False)
        wait_for("a worker after the first one ended", lambda: len(starts()) == 2)
        open(os.path.join(runs, "release"), "w").close()
        third.wait(timeout=30)
        with open(os.path.join(tmp, "log", "worker.log")) as f:
            log = f.read()
        assert "stub worker 0 running" in log and "stub worker 1 running" in log, log

        os.unlink(os.path.join(runs, "release"))
        os.unlink(os.path.join(tmp, "bin", "social-post-worker"))
        code, out = run_line(wait=True)
        assert code == 0 and len(starts()) == 2, (code, out, starts())
        print("ok: one worker at a time, both env files read and nothing evaluated, "
              "output logged, nothing runs once the package is removed")
        return 0
    finally:
        if first and first.poll() is None:  # a failed check: let the stub go
            open(os.path.join(tmp, "runs", "release"), "w").close()
            first.wait(timeout=30)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
