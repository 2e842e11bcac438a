"""deploy/systemd: every unit passes `systemd-analyze verify`, as installed.

The build is installed with the prefix /usr into a throw-away root (DESTDIR),
which puts the units, the environment files and the programs exactly where the
Debian package does. systemd-analyze then verifies the units against that root
(--root): the ExecStart= binaries must exist and be executable there, and the
units they need (sockets.target, network-online.target, ...) are copied in
from the host. No running systemd is needed, so this works in a container.
Any diagnostic counts as a failure, warnings about unknown keys included.
The offline security review's exposure score is printed for information.

Skipped (exit 77) when systemd-analyze is not installed.
Needs SP_SOURCE_DIR and SP_BUILD_DIR (set by ctest).
"""
import glob
import os
import shutil
import subprocess
import sys
import tempfile

UNITS = ["social-post.socket", "social-post.service", "social-post-status.socket",
         "social-post-status.service", "social-post-worker.service"]
HOST_UNIT_DIRS = ["/lib/systemd/system", "/usr/lib/systemd/system"]


def main():
    analyze = shutil.which("systemd-analyze")
    if not analyze:
        print("SKIP: systemd-analyze is not installed")
        return 77
    build = os.environ["SP_BUILD_DIR"]
    source = os.environ["SP_SOURCE_DIR"]
    shipped = sorted(os.path.basename(p) for p in glob.glob(os.path.join(source, "deploy",
                                                                         "systemd", "*")))
    assert shipped == sorted(UNITS), f"deploy/systemd holds {shipped}, expected {UNITS}"
    root = tempfile.mkdtemp(prefix="sp-units-")
    try:
        env = dict(os.environ, DESTDIR=root)
        subprocess.run(["cmake", "--install", build, "--prefix", "/usr"], env=env, check=True,
                       stdout=subprocess.DEVNULL)
        # the host's own units, where the root's package manager would have put them
        host_units = os.path.join(root, "usr", "lib", "systemd", "system")
        os.makedirs(host_units, exist_ok=True)
        for d in HOST_UNIT_DIRS:
            for path in glob.glob(os.path.join(d, "*")):
                target = os.path.join(host_units, os.path.basename(path))
                if os.path.isfile(path) and not os.path.lexists(target):
                    shutil.copy(path, target)
        paths = [os.path.join(root, "lib", "systemd", "system", u) for u in UNITS]
        for p in paths:
            assert os.path.isfile(p), f"{p} was not installed"
        for exe in ("social-post", "social-post-status", "social-post-worker"):
            assert os.access(os.path.join(root, "usr", "bin", exe), os.X_OK), exe
        for conf in ("social-post.env", "worker.env"):
            assert os.path.isfile(os.path.join(root, "etc", "social-post", conf)), conf

        p = subprocess.run([analyze, "--root", root, "--man=no", "verify", *paths],
                           capture_output=True, text=True)
        out = (p.stdout + p.stderr).strip()
        print(f"systemd-analyze verify ({len(paths)} units): exit {p.returncode}")
        if out:
            print(out)
        if p.returncode != 0 or out:
            print("FAIL: systemd-analyze verify reported the problems above")
            return 1

        for unit in UNITS:
            if not unit.endswith(".service"):
                continue
            p = subprocess.run([analyze, "--root", root, "security", "--offline=yes",
                                os.path.join(root, "lib", "systemd", "system", unit)],
                               capture_output=True, text=True)
            lines = [line for line in (p.stdout + p.stderr).splitlines()
                     if "Overall exposure level" in line]
            print(lines[-1].strip() if lines else f"{unit}: no security review ({p.returncode})")
        print("ok: every unit verified")
        return 0
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
