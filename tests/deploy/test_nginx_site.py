"""deploy/nginx/social-post-site.conf: the example site, with the snippet and
the upstreams, in a stock Debian-style nginx.conf.

1. `nginx -t` accepts it as shipped, only its paths pointed at this checkout,
   a throw-away certificate and free ports on 127.0.0.1.
2. nginx runs it (with its own prefix, as scripts/stack.py runs nginx; no
   FastCGI program behind it) and answers as DEPLOY.md says: http redirects to
   https, a body over 64 KiB gets the JSON 413, an unreachable program the JSON
   503 with Retry-After, and a request over the `limit_req` rate the JSON 429
   with Retry-After (the rate is lowered to one a minute so that the second
   request is over it whatever the machine's speed).
3. docs/DEPLOY.md's excerpt of the site has only lines of the site file.

Needs SP_SOURCE_DIR (set by ctest), nginx and openssl.
"""
import http.client
import json
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time

SITE = "deploy/nginx/social-post-site.conf"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def find_nginx():
    for path in (shutil.which("nginx"), "/usr/sbin/nginx"):
        if path and os.access(path, os.X_OK):
            return path
    raise SystemExit("FAIL: nginx not found (scripts/install-deps.sh installs it)")


def stock_nginx_conf(prefix):
    """The shape of Debian's /etc/nginx/nginx.conf, with everything under prefix."""
    mime = ("include /etc/nginx/mime.types;" if os.path.exists("/etc/nginx/mime.types")
            else "types { text/html html; application/json json; }")
    return f"""worker_processes 1;
pid {prefix}/nginx.pid;
error_log {prefix}/logs/error.log;

events {{
    worker_connections 64;
}}

http {{
    sendfile on;
    tcp_nopush on;
    types_hash_max_size 2048;
    {mime}
    default_type application/octet-stream;
    ssl_protocols TLSv1.2 TLSv1.3;
    ssl_prefer_server_ciphers on;
    access_log {prefix}/logs/access.log;
    gzip on;
    client_body_temp_path {prefix}/tmp/client_body;
    fastcgi_temp_path {prefix}/tmp/fastcgi;
    proxy_temp_path {prefix}/tmp/proxy;
    scgi_temp_path {prefix}/tmp/scgi;
    uwsgi_temp_path {prefix}/tmp/uwsgi;

    include {prefix}/conf.d/*.conf;
    include {prefix}/sites-enabled/*;
}}
"""


def site_for_test(text, source, prefix, http_port, https_port, strict_rate):
    """The example site with its paths and ports made local to this test."""
    upstreams = os.path.join(prefix, "social-post-upstreams.conf")
    with open(os.path.join(source, "nginx", "social-post-upstreams.conf")) as f:
        up = f.read().replace("/run/social-post/", prefix + "/run/")  # nothing listens there
    with open(upstreams, "w") as f:
        f.write(up)
    text = text.replace("/usr/share/social-post/nginx/social-post-upstreams.conf", upstreams)
    text = text.replace("/usr/share/social-post/nginx/", os.path.join(source, "nginx") + "/")
    text = re.sub(r"ssl_certificate /\S+;", f"ssl_certificate {prefix}/cert.pem;", text)
    text = re.sub(r"ssl_certificate_key /\S+;", f"ssl_certificate_key {prefix}/key.pem;", text)
    text = re.sub(r"^\s*listen \[::\].*\n", "", text, flags=re.M)
    text = re.sub(r"listen 80;", f"listen 127.0.0.1:{http_port};", text)
    text = re.sub(r"listen 443 ", f"listen 127.0.0.1:{https_port} ", text)
    if strict_rate:
        text, n = re.subn(r"rate=\d+r/s", "rate=1r/m", text)
        assert n == 1, "the site has no limit_req_zone rate"
        text, n = re.subn(r" burst=\d+", "", text)
        assert n == 1, "the site's limit_req has no burst"
    assert "/usr/share/" not in text and "/etc/letsencrypt" not in text, text
    return text


def request(port, method, path, body=None, headers=None, tls=True):
    if tls:
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        conn = http.client.HTTPSConnection("127.0.0.1", port, timeout=10, context=ctx)
    else:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        r = conn.getresponse()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
    finally:
        conn.close()


def expect_json_error(answer, status, code):
    got, headers, body = answer
    assert got == status, (got, body)
    assert headers.get("content-type", "").startswith("application/json"), headers
    doc = json.loads(body)
    assert doc.get("code") == code and isinstance(doc.get("error"), str), doc
    return headers


def main():
    source = os.environ.get("SP_SOURCE_DIR") or os.path.dirname(os.path.dirname(
        os.path.dirname(os.path.abspath(__file__))))
    nginx = find_nginx()
    prefix = tempfile.mkdtemp(prefix="sp-nginx-site-")
    os.chmod(prefix, 0o755)  # nginx's workers run as nobody when we are root
    pid = None
    try:
        for d in ("logs", "conf.d", "sites-enabled", "run", "tmp/client_body", "tmp/fastcgi",
                  "tmp/proxy", "tmp/scgi", "tmp/uwsgi"):
            os.makedirs(os.path.join(prefix, d))
        for d in ("tmp", "tmp/client_body", "tmp/fastcgi", "tmp/proxy", "tmp/scgi", "tmp/uwsgi"):
            os.chmod(os.path.join(prefix, d), 0o777)
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                        "-subj", "/CN=localhost", "-keyout", os.path.join(prefix, "key.pem"),
                        "-out", os.path.join(prefix, "cert.pem")],
                       check=True, capture_output=True)
        conf = os.path.join(prefix, "nginx.conf")
        with open(conf, "w") as f:
            f.write(stock_nginx_conf(prefix))
        with open(os.path.join(source, SITE)) as f:
            site = f.read()
        with open(os.path.join(source, "docs", "DEPLOY.md")) as f:
            excerpt = re.search(r"```nginx\n(.*?)```", f.read(), re.S)
        assert excerpt, "docs/DEPLOY.md shows no nginx block"
        site_lines = {line.strip() for line in site.splitlines()}
        for line in excerpt.group(1).splitlines():
            assert not line.strip() or line.strip() in site_lines, \
                f"docs/DEPLOY.md's nginx excerpt has a line the site file lacks: {line.strip()}"
        http_port, https_port = free_port(), free_port()
        base = [nginx, "-p", prefix + "/", "-c", conf, "-e", os.path.join(prefix, "logs",
                                                                          "error.log")]
        site_path = os.path.join(prefix, "sites-enabled", "social-post")

        for strict in (False, True):
            with open(site_path, "w") as f:
                f.write(site_for_test(site, source, prefix, http_port, https_port, strict))
            p = subprocess.run(base + ["-t"], capture_output=True, text=True)
            print(f"nginx -t ({'rate lowered for the test' if strict else 'as shipped'}): "
                  f"exit {p.returncode}")
            if p.returncode != 0:
                print(p.stdout + p.stderr)
                return 1

        subprocess.run(base, check=True)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not os.path.exists(os.path.join(prefix,
                                                                             "nginx.pid")):
            time.sleep(0.05)
        with open(os.path.join(prefix, "nginx.pid")) as f:
            pid = int(f.read().strip())

        status, headers, _ = request(http_port, "GET", "/social-post-status", tls=False)
        assert status == 301 and headers["location"].startswith("https://"), (status, headers)

        # 413 is decided from Content-Length before the rate limit counts the request
        big = b'{"videoId":"' + b"x" * (70 * 1024) + b'"}'
        expect_json_error(request(https_port, "POST", "/social-post", big,
                                  {"Content-Type": "application/json"}), 413, "body_too_large")

        body = json.dumps({"videoId": "00000000-0000-4000-8000-000000000000",
                           "platforms": ["youtube"]})
        h = expect_json_error(request(https_port, "POST", "/.netlify/functions/social-post", body,
                                      {"Content-Type": "application/json"}),
                              503, "service_unavailable")
        assert h.get("retry-after") == "5", h
        h = expect_json_error(request(https_port, "POST", "/social-post", body,
                                      {"Content-Type": "application/json"}), 429, "rate_limited")
        assert h.get("retry-after") == "1", h
        h = expect_json_error(request(https_port, "GET", "/social-post-status?jobId=x"),
                              429, "rate_limited")
        print("ok: 301 to https, JSON 413, JSON 503 with Retry-After, JSON 429 with Retry-After")
        return 0
    finally:
        if pid:
            try:
                os.kill(pid, signal.SIGTERM)
                deadline = time.monotonic() + 10
                while time.monotonic() < deadline:
                    os.kill(pid, 0)
                    time.sleep(0.05)
            except ProcessLookupError:
                pass
        shutil.rmtree(prefix, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
