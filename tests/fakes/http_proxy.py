#!/usr/bin/env python3
"""An HTTP forward proxy that forwards nothing and remembers everything it was
asked, to show whether a program sent a request through a proxy.

Point http_proxy / HTTPS_PROXY / ALL_PROXY at <url>: a plain request arrives
in absolute form ("GET http://host/path"), an https one as "CONNECT host:443";
both are recorded (op "proxy") and answered 403, so nothing leaves the machine.
Stats: "requests" [{method, target, host}].
Listens on 127.0.0.1 only; never connects anywhere.
"""
import fakebase
from fakebase import Reply


class ProxyHandler(fakebase.FakeHandler):
    fake_name = "http_proxy"

    @classmethod
    def new_state(cls, server):
        return {"requests": []}

    def do_CONNECT(self):
        self._dispatch()

    def route(self, method, path):
        return "proxy", self.do_proxy, ()

    def do_proxy(self):
        with self.lock:
            self.state["requests"].append({"method": self.command, "target": self.path,
                                           "host": self.headers.get("Host")})
        self.body.drain(1 << 20)
        raise Reply(403, "this test proxy forwards nothing\n", {"Connection": "close"})

    def fake_stats(self):
        return {"requests": list(self.state["requests"])}


if __name__ == "__main__":
    raise SystemExit(fakebase.main(ProxyHandler))
