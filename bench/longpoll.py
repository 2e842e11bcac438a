"""longpoll: many concurrent HTTP requests held open, with the time each answer arrives.

    with Holder("127.0.0.1", port, requests) as h:   # requests: [(path, headers)]
        h.wait_quiet(...)                             # the answers given at once are in
        ...                                           # change something
        h.wait_all(timeout)
    h.answers: [(status, arrived_monotonic) or (None, error)] in request order

One asyncio loop in a thread, one connection per request (Connection: close,
so an answer ends with the connection). The arrival time is taken when the
first bytes of the answer are read, so a burst of answers is timed as it comes
off the sockets, not when Python gets round to parsing it.
"""
import asyncio
import threading
import time


class _Conn(asyncio.Protocol):
    def __init__(self, holder, index, request):
        self.holder, self.index, self.request = holder, index, request
        self.buf = bytearray()
        self.first = None

    def connection_made(self, transport):
        transport.write(self.request)

    def data_received(self, data):
        if self.first is None:
            self.first = time.monotonic()
        self.buf += data

    def connection_lost(self, exc):
        status = None
        if self.buf.startswith(b"HTTP/1."):
            try:
                status = int(self.buf.split(b" ", 2)[1])
            except (IndexError, ValueError):
                pass
        if status is None:
            self.holder._done(self.index, (None, repr(exc) if exc else "closed without an answer"))
        else:
            self.holder._done(self.index, (status, self.first))


class Holder:
    def __init__(self, host, port, requests, connect_parallel=200):
        self.host, self.port = host, port
        self.requests = []
        for path, headers in requests:
            head = f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nConnection: close\r\n"
            head += "".join(f"{k}: {v}\r\n" for k, v in headers.items())
            self.requests.append((head + "\r\n").encode())
        self.answers = [None] * len(self.requests)
        self.sent_at = [None] * len(self.requests)
        self.connect_parallel = connect_parallel
        self._lock = threading.Lock()
        self._count = 0
        self._last_answer = time.monotonic()
        self._all = threading.Event()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._transports = []

    def _done(self, index, answer):
        with self._lock:
            if self.answers[index] is None:
                self.answers[index] = answer
                self._count += 1
                self._last_answer = time.monotonic()
                if self._count == len(self.requests):
                    self._all.set()

    async def _open_all(self):
        sem = asyncio.Semaphore(self.connect_parallel)

        async def one(i, req):
            async with sem:
                try:
                    transport, _ = await self._loop.create_connection(
                        lambda: _Conn(self, i, req), self.host, self.port)
                    self.sent_at[i] = time.monotonic()
                    self._transports.append(transport)
                except OSError as e:
                    self._done(i, (None, f"connect: {e}"))

        await asyncio.gather(*(one(i, r) for i, r in enumerate(self.requests)))
        self.opened_at = time.monotonic()
        self._opened.set()

    def _run(self):
        asyncio.set_event_loop(self._loop)
        self._loop.run_forever()

    def __enter__(self):
        self._opened = threading.Event()
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._open_all(), self._loop)
        if not self._opened.wait(60):
            raise RuntimeError("could not open the connections within 60 s")
        return self

    def answered(self):
        with self._lock:
            return self._count

    def wait_quiet(self, quiet=1.0, least=2.0, most=15.0):
        """Waits until no answer has come for `quiet` s, at least `least` s after opening."""
        start = time.monotonic()
        while True:
            now = time.monotonic()
            with self._lock:
                last = self._last_answer
            if (now - start >= least and now - last >= quiet) or now - start >= most \
                    or self._all.is_set():
                return
            time.sleep(0.05)

    def wait_all(self, timeout):
        return self._all.wait(timeout)

    def __exit__(self, *exc):
        def close_all():
            for t in self._transports:
                t.abort()
            self._loop.stop()
        self._loop.call_soon_threadsafe(close_all)
        self._thread.join(10)
        self._loop.close()
        return False
