"""How nginx serves the status page (web/) at /social-post-ui/: from the
source tree in the test stack, and from share/social-post/web/ through the
snippet that `cmake --install` writes; its security headers; and the rules
that let a strict CSP hold (no inline script or style, no HTML built from
strings). The page's behaviour is test_status_page.py's (in a browser)."""
import glob
import html.parser
import http.client
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time

import sptest

UI = "/social-post-ui/"
FILES = {"": "text/html", "index.html": "text/html", "app.js": "text/javascript",
         "api.js": "text/javascript", "render.js": "text/javascript",
         "style.css": "text/css", "favicon.svg": "image/svg+xml"}


def web_dir():
    return os.path.join(sptest.state()["source_dir"], "web")


def assert_security_headers(r):
    csp = r.headers.get("content-security-policy", "")
    assert "default-src 'self'" in csp, r.headers
    assert "script-src" not in csp and "unsafe" not in csp, csp  # nothing looser than 'self'
    assert r.headers.get("x-content-type-options") == "nosniff", r.headers
    assert r.headers.get("referrer-policy") == "no-referrer", r.headers


def test_every_file_is_served_with_its_type_and_security_headers():
    for name, ctype in FILES.items():
        r = sptest.http("GET", UI + name)
        assert r.status == 200, (name, r.status)
        assert r.headers["content-type"].split(";")[0] == ctype, (name, r.headers)
        assert_security_headers(r)
        if name:
            with open(os.path.join(web_dir(), name), "rb") as f:
                assert r.body == f.read(), name  # from the source tree


def test_bare_path_redirects_and_only_get_is_allowed():
    r = sptest.http("GET", "/social-post-ui")
    assert r.status == 301 and r.headers["location"].endswith(UI), (r.status, r.headers)
    r = sptest.http("POST", UI, {"x": 1})
    assert r.status in (403, 405), r.status
    assert sptest.http("GET", UI + "nothing-here.js").status == 404
    # the API beside it is untouched
    assert sptest.http("GET", "/social-post-status").status == 401


class _Tags(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


def test_markup_needs_nothing_a_strict_csp_forbids():
    with open(os.path.join(web_dir(), "index.html")) as f:
        parser = _Tags()
        parser.feed(f.read())
    for tag, attrs in parser.tags:
        assert tag != "style", "inline <style>"
        assert "style" not in attrs, f"inline style on <{tag}>"
        assert not [a for a in attrs if a.startswith("on")], f"inline handler on <{tag}>"
        if tag == "script":
            assert attrs.get("src") and not attrs["src"].startswith(("http:", "https:", "//")), attrs
        for a in ("src", "href"):
            assert not str(attrs.get(a, "")).startswith(("http:", "https:", "//", "data:")), attrs


def test_scripts_never_turn_data_into_html():
    for path in glob.glob(os.path.join(web_dir(), "*.js")):
        with open(path) as f:
            text = f.read()
        for pattern in (r"\.innerHTML", r"\.outerHTML\s*=", r"insertAdjacentHTML",
                        r"document\.write", r"\beval\(", r"new Function", r"localStorage\.setItem",
                        r"document\.cookie"):
            assert not re.search(pattern, text), (os.path.basename(path), pattern)


def _get(port, path):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", path)
        resp = conn.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
    finally:
        conn.close()


def test_installed_snippet_serves_the_installed_page():
    st = sptest.state()
    cmake = shutil.which("cmake")
    assert cmake, "cmake is missing"
    root = tempfile.mkdtemp(prefix="sp-ui-install-")
    nginx_pid = None
    try:
        os.chmod(root, 0o755)  # nginx's workers (nobody, under root) read it
        prefix = os.path.join(root, "usr")
        out = subprocess.run([cmake, "--install", st["build_dir"], "--prefix", prefix],
                             capture_output=True, text=True)
        assert out.returncode == 0, out.stdout + out.stderr
        share = os.path.join(prefix, "share", "social-post")
        with open(os.path.join(share, "nginx", "social-post.conf")) as f:
            snippet = f.read()
        assert "@SP_WEB_ROOT@" not in snippet
        assert f"alias {share}/web/;" in snippet, snippet
        for name in FILES:
            if name:
                assert os.path.exists(os.path.join(share, "web", name)), name

        # a real nginx with the installed snippet, as a deployment includes it
        port = sptest._stack_module().free_port()
        nginx_prefix = os.path.join(root, "nginx")
        os.makedirs(os.path.join(nginx_prefix, "logs"))
        for d in ("client_body", "fastcgi", "proxy", "scgi", "uwsgi"):
            os.makedirs(os.path.join(nginx_prefix, "tmp", d))
            os.chmod(os.path.join(nginx_prefix, "tmp", d), 0o777)
        conf = os.path.join(nginx_prefix, "nginx.conf")
        with open(conf, "w") as f:
            f.write(f"""worker_processes 1;
pid {nginx_prefix}/nginx.pid;
error_log {nginx_prefix}/logs/error.log;
events {{ worker_connections 64; }}
http {{
    access_log off;
    client_body_temp_path {nginx_prefix}/tmp/client_body;
    fastcgi_temp_path {nginx_prefix}/tmp/fastcgi;
    proxy_temp_path {nginx_prefix}/tmp/proxy;
    scgi_temp_path {nginx_prefix}/tmp/scgi;
    uwsgi_temp_path {nginx_prefix}/tmp/uwsgi;
    include {share}/nginx/social-post-upstreams.conf;
    server {{
        listen 127.0.0.1:{port};
        include {share}/nginx/social-post.conf;
    }}
}}
""")
        with open(os.path.join(share, "nginx", "social-post-upstreams.conf")) as f:
            assert "upstream social_post_fcgi" in f.read()
        nginx = sptest._stack_module().find_nginx()
        base = [nginx, "-p", nginx_prefix + "/", "-c", conf, "-e", nginx_prefix + "/logs/error.log"]
        out = subprocess.run(base + ["-t", "-q"], capture_output=True, text=True)
        assert out.returncode == 0, out.stdout + out.stderr
        assert subprocess.run(base).returncode == 0
        deadline = time.time() + 15
        while nginx_pid is None and time.time() < deadline:
            try:
                with open(os.path.join(nginx_prefix, "nginx.pid")) as f:
                    nginx_pid = int(f.read().strip())
            except (OSError, ValueError):
                time.sleep(0.05)
        assert nginx_pid, "nginx did not start"
        for name, ctype in FILES.items():
            for _ in range(100):
                try:
                    status, headers, body = _get(port, UI + name)
                    break
                except OSError:
                    time.sleep(0.05)
            assert status == 200, (name, status)
            assert headers["content-type"].split(";")[0] == ctype, (name, headers)
            if name:
                with open(os.path.join(share, "web", name), "rb") as f:
                    assert body == f.read(), name
    finally:
        if nginx_pid:
            os.kill(nginx_pid, signal.SIGTERM)
            for _ in range(200):
                try:
                    os.kill(nginx_pid, 0)
                    time.sleep(0.05)
                except ProcessLookupError:
                    break
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sptest.run(globals())
