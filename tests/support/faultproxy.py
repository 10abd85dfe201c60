"""An HTTP proxy on loopback in front of the S3 server that misbehaves on request.

Signatures are not re-made: the request goes on with the client's own headers, which moto
accepts. Faults, counted over the requests the proxy has seen:

- `down_after(n)`: the first n requests pass, every later one finds the server gone
  (connection closed without an answer): an outage in the middle of a run;
- `lose_every(k)`: every kth request reaches the server (it takes effect) but its answer is
  lost: the client cannot know whether its write landed;
- `error_every(k)`: every kth request is answered `500 InternalError` without reaching it.
"""

from __future__ import annotations

import http.client
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

_HOP = {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade"}


class FaultProxy:
    def __init__(self, upstream: str) -> None:
        parts = urlsplit(upstream)
        self.upstream = (parts.hostname or "127.0.0.1", parts.port or 80)
        self.requests = 0
        self.faults = 0
        self._down_after: int | None = None
        self._lose_every = 0
        self._error_every = 0
        self._lock = threading.Lock()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002
                return

            def _handle(self) -> None:
                proxy.relay(self)

            do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _handle  # noqa: N815

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.endpoint = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def down_after(self, n: int | None) -> None:
        with self._lock:
            self._down_after, self.requests = n, 0

    def lose_every(self, k: int) -> None:
        with self._lock:
            self._lose_every, self.requests = k, 0

    def error_every(self, k: int) -> None:
        with self._lock:
            self._error_every, self.requests = k, 0

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def relay(self, h: BaseHTTPRequestHandler) -> None:
        length = int(h.headers.get("Content-Length") or 0)
        body = h.rfile.read(length) if length else b""
        with self._lock:
            self.requests += 1
            n = self.requests
            down = self._down_after is not None and n > self._down_after
            lose = bool(self._lose_every) and n % self._lose_every == 0
            error = bool(self._error_every) and n % self._error_every == 0
            if down or lose or error:
                self.faults += 1
        if down:
            h.close_connection = True
            return  # nothing answered, the connection closes
        if error:
            payload = (
                b'<?xml version="1.0" encoding="UTF-8"?><Error><Code>InternalError'
                b"</Code><Message>injected</Message></Error>"
            )
            h.send_response(500)
            h.send_header("Content-Type", "application/xml")
            h.send_header("Content-Length", str(len(payload)))
            h.end_headers()
            h.wfile.write(payload)
            return
        conn = http.client.HTTPConnection(*self.upstream, timeout=30)
        try:
            headers = {k: v for k, v in h.headers.items() if k.lower() not in _HOP}
            conn.request(h.command, h.path, body=body, headers=headers)
            response = conn.getresponse()
            data = response.read()
        finally:
            conn.close()
        if lose:
            h.close_connection = True
            return  # the server acted; the client never hears of it
        h.send_response(response.status, response.reason)
        head = h.command == "HEAD"  # its Content-Length is the object's, not this body's
        for k, v in response.getheaders():
            if k.lower() not in _HOP and (head or k.lower() != "content-length"):
                h.send_header(k, v)
        if not head:
            h.send_header("Content-Length", str(len(data)))
        h.end_headers()
        if h.command != "HEAD":
            h.wfile.write(data)


@contextmanager
def fault_proxy(upstream: str) -> Iterator[FaultProxy]:
    proxy = FaultProxy(upstream)
    try:
        yield proxy
    finally:
        proxy.close()
