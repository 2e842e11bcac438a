"""The programs' command lines: --help, bad flags, and the clear messages
for a missing socket or configuration."""
import os
import re
import subprocess

import sptest


def run(name, *args, env=None):
    binary = os.path.join(sptest.state()["build_dir"], name)
    e = {"PATH": os.environ.get("PATH", ""), "ASAN_OPTIONS": "detect_leaks=1"}
    e.update(env or {})
    p = subprocess.run([binary, *args], stdin=subprocess.DEVNULL, capture_output=True, env=e,
                       timeout=30)
    return p.returncode, p.stdout.decode() + p.stderr.decode()


def test_help_lists_the_options():
    for name, flag in (("social-post", "--listen"), ("social-post-status", "--threads"),
                       ("social-post-worker", "--max-runtime")):
        code, out = run(name, "--help")
        assert code == 0 and flag in out, (name, code, out)


WORKER_FLAGS = {  # DESIGN.md section 6 names the first five; deployments use the rest
    "--concurrency", "--once", "--max-runtime", "--lease", "--help", "--per-user", "--grace",
    "--poll", "--backoff-base", "--max-attempts", "--max-video-bytes", "--ig-poll",
    "--ig-deadline", "--webhook-backoff", "--webhook-give-up", "--version", "--reseal-tokens",
    "--allow-plain-tokens", "--db-connections", "--retention-days", "--job-retention-days"}


def test_worker_help_lists_every_option_and_each_listed_option_is_accepted():
    """The worker's options and its --help come from one table: every option
    is listed with its argument, and each listed option is taken (a bad
    number is refused naming the option, never as an unknown option)."""
    code, out = run("social-post-worker", "--help")
    assert code == 0, (code, out)
    listed = dict(re.findall(r"^  (--[a-z-]+)( [A-Z]+)?", out, re.M))
    assert set(listed) == WORKER_FLAGS, sorted(set(listed) ^ WORKER_FLAGS)
    for flag, arg in listed.items():
        if arg:
            code, msg = run("social-post-worker", flag, "x")
            assert code == 2 and f"{flag} must be a number" in msg, (flag, code, msg)
            code, msg = run("social-post-worker", flag)
            assert code == 2 and "requires an argument" in msg, (flag, code, msg)
    code, msg = run("social-post-worker", "--once")  # taken: it gets as far as the configuration
    assert code == 1 and "DATABASE_URL" in msg, (code, msg)


def test_version_prints_the_version_cmake_knows():
    with open(os.path.join(sptest.state()["source_dir"], "CMakeLists.txt")) as f:
        version = re.search(r"project\(social_post VERSION ([0-9.]+)", f.read()).group(1)
    for name in ("social-post", "social-post-status", "social-post-worker"):
        code, out = run(name, "--version")
        assert code == 0 and out == f"{name} {version}\n", (name, code, out)


def test_bad_flags_exit_2():
    for name in ("social-post", "social-post-status"):
        for args in (["--threads", "0"], ["--threads", "x"], ["--bogus"], ["stray"]):
            code, out = run(name, *args)
            assert code == 2 and out.strip(), (name, args, code, out)


def test_missing_configuration_is_reported():
    code, out = run("social-post", "--listen", "127.0.0.1:0")
    assert code == 1 and "DATABASE_URL" in out, (code, out)
    code, out = run("social-post", "--listen", "127.0.0.1:0", env={"DATABASE_URL": "postgresql://x"})
    assert code == 1 and "SUPABASE" in out, (code, out)  # no key source to verify tokens
    code, out = run("social-post-worker", "--once")
    assert code == 1 and "DATABASE_URL" in out, (code, out)


def test_stdin_that_is_not_a_socket_is_explained():
    st = sptest.state()
    env = {"DATABASE_URL": st["api_database_url"], "SUPABASE_JWT_SECRET": "s" * 32}
    code, out = run("social-post-status", env=env)
    assert code == 1 and "not a socket" in out, (code, out)


if __name__ == "__main__":
    sptest.run(globals())
