#!/usr/bin/env python3
"""A TCP proxy with faults: put it between a program and a server (Postgres) to
make the link slow, stall it while connections stay open, or cut it.

    python3 tcp_proxy.py --target 127.0.0.1:5432 --port 0
    -> {"port": N}  (the control interface; the proxy's own port is in stats)

The idea: what a database that "accepts connections but answers nothing" looks
like to a client is a TCP peer that stops forwarding, so that is all this does.
Bytes are forwarded in both directions by two threads per connection; the mode
is read again before every piece, so a change takes effect at once on open
connections too.

Modes (POST /_control/config {"mode": ..., "delay_ms": N}):
  pass    forward at once (default)
  delay   wait delay_ms before forwarding each piece (a slow, far-away link)
  stall   forward nothing, in either direction, and hold new connections open
          without a byte; everything resumes when the mode changes
  refuse  accept new connections and reset them at once (a server that is gone);
          open ones keep working
POST /_control/cut resets every open connection (both sides get RST).
GET /_control/stats: listen_port, mode, connections_total, connections_open,
bytes_up (client -> target), bytes_down.
Listens on 127.0.0.1 only and connects only to the --target given.
"""
import socket
import struct
import sys
import threading
import time

import fakebase
from fakebase import Reply

PIECE = 65536
TARGET = None  # (host, port), from --target


def _reset(sock):
    """Closes sock with an RST instead of a FIN (waking a thread blocked in recv)."""
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        sock.shutdown(socket.SHUT_RD)
    except OSError:
        pass
    try:
        sock.close()
    except OSError:
        pass


class Link:
    """One proxied connection: the client's socket and the target's."""

    def __init__(self, server, client):
        self.server, self.client, self.upstream = server, client, None
        self.closed = False

    def mode(self):
        return self.server.config.get("mode", "pass")

    def wait_while_stalled(self):
        while self.mode() == "stall" and not self.closed:
            time.sleep(0.02)

    def run(self):
        try:
            self.wait_while_stalled()
            self.upstream = socket.create_connection(TARGET, timeout=10)
            self.upstream.settimeout(None)
        except OSError:
            self.close(reset=True)
            return
        up = threading.Thread(target=self.pump, args=(self.client, self.upstream, "bytes_up"), daemon=True)
        up.start()
        self.pump(self.upstream, self.client, "bytes_down")
        up.join()
        self.close()

    def pump(self, src, dst, counter):
        try:
            while not self.closed:
                self.wait_while_stalled()
                data = src.recv(PIECE)
                if not data:
                    try:
                        dst.shutdown(socket.SHUT_WR)
                    except OSError:
                        pass
                    return
                self.wait_while_stalled()
                delay = float(self.server.config.get("delay_ms") or 0) if self.mode() == "delay" else 0
                if delay > 0:
                    time.sleep(delay / 1000.0)
                if self.closed:
                    return
                dst.sendall(data)
                with self.server.lock:
                    self.server.proxy[counter] += len(data)
        except OSError:
            self.close(reset=True)

    def close(self, reset=False):
        with self.server.lock:
            if self.closed:
                return
            self.closed = True
            self.server.proxy["links"].discard(self)
        for s in (self.client, self.upstream):
            if s is None:
                continue
            if reset:
                _reset(s)
            else:
                try:
                    s.close()
                except OSError:
                    pass


def _accept_loop(server, listener):
    while True:
        try:
            client, _ = listener.accept()
        except OSError:
            return
        client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with server.lock:
            server.proxy["connections_total"] += 1
            refuse = server.config.get("mode") == "refuse"
        if refuse:
            _reset(client)
            continue
        link = Link(server, client)
        with server.lock:
            server.proxy["links"].add(link)
        threading.Thread(target=link.run, daemon=True).start()


class ProxyHandler(fakebase.FakeHandler):
    fake_name = "tcp_proxy"
    default_config = {"mode": "pass", "delay_ms": 0}

    @classmethod
    def on_start(cls, server):
        if TARGET is None:
            raise SystemExit("tcp_proxy: --target HOST:PORT is required")
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((fakebase.HOST, 0))
        listener.listen(128)
        server.proxy = {"listen_port": listener.getsockname()[1], "links": set(), "connections_total": 0,
                        "bytes_up": 0, "bytes_down": 0}
        threading.Thread(target=_accept_loop, args=(server, listener), daemon=True).start()

    def control_extra(self, method, name):
        if name == "cut" and method == "POST":
            self.body.drain()
            with self.lock:
                links = list(self.server.proxy["links"])
            for link in links:
                link.close(reset=True)
            self.respond(200, {"cut": len(links)})
            return True
        return False

    def route(self, method, path):
        return None

    def fake_stats(self):
        p = self.server.proxy
        return {"listen_port": p["listen_port"], "mode": self.cfg.get("mode"),
                "connections_total": p["connections_total"], "connections_open": len(p["links"]),
                "bytes_up": p["bytes_up"], "bytes_down": p["bytes_down"]}


def _validate_mode(handler_cls):
    """Refuses unknown modes in POST /_control/config (a typo must not pass silently)."""
    original = handler_cls._control

    def control(self, name):
        if name == "config" and self.command == "POST":
            patch = self.read_json()
            if not isinstance(patch, dict) or patch.get("mode", "pass") not in ("pass", "delay", "stall", "refuse"):
                raise Reply(400, {"error": "mode must be pass, delay, stall or refuse"})
            with self.lock:
                self.server.config.update(patch)
                return self.respond(200, dict(self.server.config))
        return original(self, name)

    handler_cls._control = control


_validate_mode(ProxyHandler)


def main(argv):
    global TARGET
    rest, i = [], 0
    while i < len(argv):
        if argv[i] == "--target" and i + 1 < len(argv):
            host, _, port = argv[i + 1].rpartition(":")
            TARGET = (host or fakebase.HOST, int(port))
            i += 2
        else:
            rest.append(argv[i])
            i += 1
    return fakebase.main(ProxyHandler, rest)


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
