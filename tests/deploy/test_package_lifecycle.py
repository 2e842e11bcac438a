"""The Debian package's life on a host: install, what its maintainer scripts make,
remove, purge, and lintian.

The package is installed into a throw-away root with `dpkg --root R
--force-script-chrootless`, so its maintainer scripts really run (with DPKG_ROOT=R,
which they honour: useradd/groupadd --prefix R) without touching this machine.
The root starts as a minimal system: /etc/passwd, group, shadow, gshadow with root,
adm and www-data, and an empty dpkg database.

1. Install: the system users social-post and social-post-worker (no shell, no home)
   and their groups; the environment files root:social-post-worker 0640 (the HTTP
   programs' user reads neither); /var/cache/social-post (worker, 0700);
   /var/log/social-post with the worker's log file; /usr/lib/social-post's helpers.
2. What running leaves behind (sockets, lock files, the cron files an operator
   copied from /usr/share/social-post/deploy, a rotated log) is put in place.
3. Purge: nothing of the package or of what it made is left: the root's file list
   and its users and groups are what they were before the install (dpkg's own
   records aside). A user that still owns a file elsewhere is kept.
4. lintian reports no error (warnings are printed).

Needs root (dpkg --root, chown); otherwise skipped (exit 77). Needs SP_BUILD_DIR.
"""
import glob
import grp  # noqa: F401 (documents that ids come from the root's own files)
import os
import shutil
import stat
import subprocess
import sys
import tempfile

BASE_PASSWD = "root:x:0:0:root:/root:/bin/bash\nwww-data:x:33:33:www-data:/var/www:/usr/sbin/nologin\n"
BASE_GROUP = "root:x:0:\nadm:x:4:\nwww-data:x:33:\n"
IGNORED = ("/var/lib/dpkg", "/var/log/dpkg.log", "/etc/passwd-", "/etc/group-",
           "/etc/shadow-", "/etc/gshadow-", "/etc/.pwd.lock", "/etc/subuid", "/etc/subgid")


def run(argv, **kw):
    p = subprocess.run(argv, capture_output=True, text=True, **kw)
    if p.returncode != 0:
        raise AssertionError(f"{' '.join(argv)} failed ({p.returncode}):\n{p.stdout}{p.stderr}")
    return p.stdout


def make_root():
    root = tempfile.mkdtemp(prefix="sp-deb-life-")
    seed_system(root)
    return root


def seed_system(root):
    """A minimal system in root: folders, users root and www-data, dpkg's database."""
    for d in ("etc", "var/lib/dpkg/info", "var/lib/dpkg/updates", "var/lib/dpkg/triggers",
              "var/log", "var/cache", "etc/cron.d", "srv", "run/lock", "usr/sbin", "tmp"):
        os.makedirs(os.path.join(root, d), exist_ok=True)
    files = {"etc/passwd": BASE_PASSWD, "etc/group": BASE_GROUP,
             "etc/shadow": "root:*:19000:0:99999:7:::\nwww-data:*:19000:0:99999:7:::\n",
             "etc/gshadow": "root:*::\nadm:*::\nwww-data:*::\n",
             "var/lib/dpkg/status": "", "var/lib/dpkg/available": ""}
    for rel, text in files.items():
        with open(os.path.join(root, rel), "w") as f:
            f.write(text)
    os.chmod(os.path.join(root, "etc/shadow"), 0o640)
    os.chmod(os.path.join(root, "etc/gshadow"), 0o640)


def dpkg(root, *args):
    return run(["dpkg", "--root", root, "--force-depends", "--force-script-chrootless",
                "--force-not-root", "--log", os.path.join(root, "var/log/dpkg.log"), *args])


def tree(root):
    """Every path under root (as seen inside it), dpkg's own records aside."""
    paths = set()
    for dirpath, dirs, files in os.walk(root):
        for n in dirs + files:
            p = "/" + os.path.relpath(os.path.join(dirpath, n), root)
            if not p.startswith(IGNORED):
                paths.add(p)
    return paths


def entries(root, name):
    with open(os.path.join(root, "etc", name)) as f:
        return {line.split(":")[0]: line.rstrip("\n").split(":") for line in f if line.strip()}


def ids(root):
    return entries(root, "passwd"), entries(root, "group")


def owner(root, rel):
    st = os.lstat(os.path.join(root, rel.lstrip("/")))
    users = {int(v[2]): k for k, v in entries(root, "passwd").items()}
    groups = {int(v[2]): k for k, v in entries(root, "group").items()}
    return users.get(st.st_uid, st.st_uid), groups.get(st.st_gid, st.st_gid), \
        stat.S_IMODE(st.st_mode)


def check_installed(root):
    passwd, group = ids(root)
    for user in ("social-post", "social-post-worker"):
        assert user in passwd and user in group, (user, sorted(passwd), sorted(group))
        fields = passwd[user]
        assert int(fields[2]) < 1000, f"{user} is not a system user: {fields}"
        assert fields[6] == "/usr/sbin/nologin" and fields[5] == "/nonexistent", fields
        assert passwd[user][3] == group[user][2], f"{user}'s primary group is its own"
    for env in ("/etc/social-post/social-post.env", "/etc/social-post/worker.env"):
        assert owner(root, env) == ("root", "social-post-worker", 0o640), (env, owner(root, env))
    assert owner(root, "/var/cache/social-post") == \
        ("social-post-worker", "social-post-worker", 0o700), owner(root, "/var/cache/social-post")
    assert owner(root, "/var/log/social-post")[2] == 0o755
    assert owner(root, "/var/log/social-post/worker.log")[0] == "social-post-worker"
    assert owner(root, "/var/log/social-post/worker.log")[2] == 0o640
    for helper in ("social-post-env", "social-post-spawn"):
        assert os.access(os.path.join(root, "usr/lib/social-post", helper), os.X_OK), helper
    assert not os.path.exists(os.path.join(root, "usr/share/social-post/nginx/local.conf.in")), \
        "the test stack's own nginx config is not for deployments"
    for doc in ("copyright", "changelog.gz"):
        assert os.path.exists(os.path.join(root, "usr/share/doc/social-post", doc)), doc
    print("installed: users, groups, modes, folders and helpers as expected")


def leave_runtime_traces(root):
    """What running the cron path leaves: sockets, locks, copied cron files, logs."""
    os.makedirs(os.path.join(root, "run/social-post"), exist_ok=True)
    for rel in ("run/social-post/social-post.sock", "run/social-post/social-post-status.sock",
                "run/lock/social-post-worker.lock", "run/lock/social-post.lock",
                "var/log/social-post/social-post.log", "var/log/social-post/worker.log.1.gz"):
        open(os.path.join(root, rel), "w").close()
    os.makedirs(os.path.join(root, "etc/cron.d"), exist_ok=True)
    for name in ("social-post-worker", "social-post-http"):
        shutil.copy(os.path.join(root, f"usr/share/social-post/deploy/{name}.cron"),
                    os.path.join(root, "etc/cron.d", name))
    # an operator's own cron file that merely mentions the name stays
    with open(os.path.join(root, "etc/cron.d/social-post-backup"), "w") as f:
        f.write("0 3 * * * root pg_dump app > /srv/backup.sql\n")
    spool = os.path.join(root, "var/cache/social-post/jobs")
    os.makedirs(spool, exist_ok=True)
    open(os.path.join(spool, "video.part"), "w").close()


def main():
    if os.geteuid() != 0:
        print("skipped: installing into a throw-away root needs root")
        return 77
    build = os.environ["SP_BUILD_DIR"]
    out_dir = os.path.join(build, "package-lifecycle")
    shutil.rmtree(out_dir, ignore_errors=True)
    run(["cpack", "--config", os.path.join(build, "CPackConfig.cmake"), "-G", "DEB",
         "-B", out_dir], cwd=build)
    deb = glob.glob(os.path.join(out_dir, "*.deb"))[0]

    root = make_root()
    try:
        before, before_ids = tree(root), ids(root)
        dpkg(root, "-i", deb)
        check_installed(root)
        dpkg(root, "-i", deb)  # again: an upgrade to the same version changes nothing
        check_installed(root)
        leave_runtime_traces(root)

        dpkg(root, "--remove", "social-post")
        assert not os.path.exists(os.path.join(root, "usr/bin/social-post-worker"))
        assert os.path.exists(os.path.join(root, "etc/social-post/worker.env")), \
            "remove keeps the configuration"
        dpkg(root, "--purge", "social-post")
        os.remove(os.path.join(root, "etc/cron.d/social-post-backup"))
        left = sorted(tree(root) - before)
        assert not left, f"purge left: {left}"
        assert ids(root) == before_ids, "purge must remove the users and groups it made"
        print("purged: nothing the package made is left, users and groups included")

        # a user that owns a file elsewhere is kept
        dpkg(root, "-i", deb)
        os.makedirs(os.path.join(root, "srv"), exist_ok=True)
        keep = os.path.join(root, "srv/keep")
        open(keep, "w").close()
        uid = int(entries(root, "passwd")["social-post-worker"][2])
        os.chown(keep, uid, 0)
        dpkg(root, "--purge", "social-post")
        assert "social-post-worker" in entries(root, "passwd"), "a user owning files stays"
        assert "social-post" not in entries(root, "passwd")
        print("purged again: the user that still owns /srv/keep is kept")
    finally:
        shutil.rmtree(root, ignore_errors=True)

    lintian = shutil.which("lintian")
    if not lintian:
        raise AssertionError("lintian is missing (scripts/install-deps.sh installs it)")
    p = subprocess.run([lintian, "--allow-root", deb], capture_output=True, text=True)
    print(p.stdout.strip())
    errors = [line for line in p.stdout.splitlines() if line.startswith("E:")]
    assert not errors, f"lintian errors: {errors}"
    print(f"lintian: no errors ({len(p.stdout.splitlines())} lines of warnings/info)")
    print("ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
