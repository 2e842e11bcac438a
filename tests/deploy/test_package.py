"""The Debian package: `cpack -G DEB` in the build folder, then its contents,
its control fields, and the programs run from an installed copy.

1. cpack builds the package into a folder of the build tree.
2. `dpkg-deb -c` lists every file an operator needs (programs, units,
   environment files, migrations and their runner, nginx files, examples,
   docs, the status page when web/ exists); `dpkg-deb -f` names the package,
   its version (the project's), and Depends computed by dpkg-shlibdeps on
   libfcgi, libpq, libcurl, libcjson and OpenSSL's libssl/libcrypto; the
   environment files are conffiles and mode 0600 (0640, group social-post-worker,
   once the maintainer scripts ran: tests/deploy/test_package_lifecycle.py).
3. It is installed into a throw-away root: `dpkg --root ROOT -i` when we are
   root (an empty dpkg database there; dependencies are the host's), otherwise
   `dpkg -x`. The installed programs then run with --help (and --version when
   their help lists it), with the system's libraries.

Needs SP_SOURCE_DIR, SP_BUILD_DIR and SP_VERSION (set by ctest), cpack,
dpkg-deb, dpkg-shlibdeps (dpkg-dev) and file.
"""
import glob
import os
import shutil
import stat
import subprocess
import sys
import tempfile

PROGRAMS = ("social-post", "social-post-status", "social-post-worker")
UNITS = ("social-post.socket", "social-post.service", "social-post-status.socket",
         "social-post-status.service", "social-post-worker.service")
CONFFILES = ("/etc/social-post/social-post.env", "/etc/social-post/worker.env",
             "/etc/logrotate.d/social-post")
ENV_FILES = CONFFILES[:2]
LIBRARIES = (("libfcgi",), ("libpq",), ("libcurl",), ("libcjson",), ("libssl", "libcrypto"))


def run(argv, **kw):
    p = subprocess.run(argv, capture_output=True, text=True, **kw)
    if p.returncode != 0:
        raise AssertionError(f"{' '.join(argv)} failed ({p.returncode}):\n{p.stdout}{p.stderr}")
    return p.stdout


def expected_files(source):
    files = [f"/usr/bin/{p}" for p in PROGRAMS]
    files += [f"/lib/systemd/system/{u}" for u in UNITS]
    files += list(CONFFILES)
    files += ["/usr/share/social-post/migrate.sh",
              "/usr/share/social-post/nginx/social-post.conf",
              "/usr/share/social-post/nginx/social-post-upstreams.conf",
              "/usr/share/social-post/deploy/social-post-worker.cron",
              "/usr/share/social-post/deploy/social-post-http.cron",
              "/usr/lib/social-post/social-post-env",
              "/usr/lib/social-post/social-post-spawn",
              "/usr/share/doc/social-post/copyright",
              "/usr/share/doc/social-post/changelog.gz",
              "/usr/share/social-post/deploy/social-post-site.conf",
              "/usr/share/doc/social-post/README.md",
              "/usr/share/doc/social-post/DEPLOY.md",
              "/usr/share/doc/social-post/openapi.yaml"]
    files += ["/usr/share/social-post/migrations/" + os.path.basename(p)
              for p in sorted(glob.glob(os.path.join(source, "migrations", "*.sql")))]
    web = os.path.join(source, "web")
    for dirpath, _, names in os.walk(web):
        for n in names:
            rel = os.path.relpath(os.path.join(dirpath, n), web)
            files.append("/usr/share/social-post/web/" + rel)
    return files


def install(deb, root):
    """Installs deb into root; returns how."""
    if os.geteuid() == 0:
        # a minimal system's user database for the maintainer scripts (DPKG_ROOT)
        from test_package_lifecycle import seed_system
        seed_system(root)
        admin = os.path.join(root, "var", "lib", "dpkg")
        for d in ("info", "updates", "triggers"):
            os.makedirs(os.path.join(admin, d), exist_ok=True)
        for f in ("status", "available"):
            open(os.path.join(admin, f), "a").close()
        os.makedirs(os.path.join(root, "var", "log"), exist_ok=True)
        run(["dpkg", "--root", root, "--force-depends", "--force-script-chrootless",
             "--log", os.path.join(root, "var", "log", "dpkg.log"), "-i", deb])
        status = run(["dpkg-query", "--admindir", admin, "-W", "-f",
                      "${Package} ${Version} ${db:Status-Status}", "social-post"])
        return "dpkg --root -i (" + status.strip() + ")"
    run(["dpkg", "-x", deb, root])
    return "dpkg -x"


def main():
    source = os.environ["SP_SOURCE_DIR"]
    build = os.environ["SP_BUILD_DIR"]
    version = os.environ["SP_VERSION"]
    out_dir = os.path.join(build, "package-test")
    shutil.rmtree(out_dir, ignore_errors=True)
    run(["cpack", "--config", os.path.join(build, "CPackConfig.cmake"), "-G", "DEB",
         "-B", out_dir], cwd=build)
    debs = glob.glob(os.path.join(out_dir, "*.deb"))
    assert len(debs) == 1, f"expected one package in {out_dir}, found {debs}"
    deb = debs[0]
    print(f"built {os.path.basename(deb)} ({os.path.getsize(deb) // 1024} KiB)")

    listing = {}
    for line in run(["dpkg-deb", "-c", deb]).splitlines():
        fields = line.split(None, 5)
        path = fields[5].split(" -> ")[0]
        listing[path[1:] if path.startswith(".") else path] = fields[0]
    missing = [f for f in expected_files(source) if f not in listing]
    assert not missing, f"missing from the package: {missing}"
    for f in ENV_FILES:
        assert listing[f] == "-rw-------", (f, listing[f])
    for p in PROGRAMS:
        assert listing[f"/usr/bin/{p}"] == "-rwxr-xr-x", (p, listing[f"/usr/bin/{p}"])
    print(f"dpkg-deb -c: {len(listing)} entries, all {len(expected_files(source))} expected files")

    fields = {name: run(["dpkg-deb", "-f", deb, name]).strip()
              for name in ("Package", "Version", "Depends", "Recommends")}
    assert fields["Package"] == "social-post", fields
    assert fields["Version"] == version, (fields["Version"], version)
    depends = [d.strip() for d in fields["Depends"].split(",")]
    for alternatives in LIBRARIES:
        assert any(d.startswith(a) for d in depends for a in alternatives), \
            f"Depends names no {'/'.join(alternatives)}: {fields['Depends']}"
    assert "postgresql-client" in fields["Recommends"], fields
    print("Depends: " + fields["Depends"])

    ctrl = tempfile.mkdtemp(prefix="sp-deb-control-")
    root = tempfile.mkdtemp(prefix="sp-deb-root-")
    try:
        run(["dpkg-deb", "-e", deb, ctrl])
        with open(os.path.join(ctrl, "conffiles")) as f:
            assert sorted(f.read().split()) == sorted(CONFFILES), "conffiles"
        how = install(deb, root)
        print("installed with " + how)
        for f in expected_files(source):
            assert os.path.lexists(root + f), f"{f} not installed"
        mode = stat.S_IMODE(os.stat(root + "/etc/social-post/social-post.env").st_mode)
        # 0600 in the package; 0640 for the worker's group once postinst has run
        assert mode == (0o640 if how.startswith("dpkg --root") else 0o600), oct(mode)
        assert os.access(root + "/usr/share/social-post/migrate.sh", os.X_OK)
        for prog in PROGRAMS:
            path = root + "/usr/bin/" + prog
            p = subprocess.run([path, "--help"], capture_output=True, text=True,
                               stdin=subprocess.DEVNULL, env={"PATH": "/usr/bin:/bin"},
                               timeout=30)
            assert p.returncode == 0 and "Usage" in p.stdout, (prog, p.returncode, p.stdout,
                                                               p.stderr)
            v = subprocess.run([path, "--version"], capture_output=True, text=True,
                               stdin=subprocess.DEVNULL, timeout=30)
            assert v.returncode == 0 and v.stdout.strip() == f"{prog} {version}", \
                (prog, v.returncode, v.stdout, v.stderr)
            print(f"{prog} --help, --version: ok")
        with open(root + "/usr/share/social-post/nginx/social-post.conf") as f:
            snippet = f.read()
        assert "@SP_WEB_ROOT@" not in snippet and "/usr/share/social-post/web" in snippet, \
            "the installed snippet must point at the installed status page"
        print("ok")
        return 0
    finally:
        shutil.rmtree(ctrl, ignore_errors=True)
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
