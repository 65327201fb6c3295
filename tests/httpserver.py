"""A scriptable HTTP server on 127.0.0.1 for fetcher tests and the fetch benchmark.

Routes map a path to a handler ``fn(request) -> Reply``; the server records every
request (path and headers) so tests can check what the fetcher sent.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Reply:
    status: int = 200
    body: bytes = b""
    headers: dict = field(default_factory=dict)
    delay: float = 0.0  # seconds before answering
    stream_bytes: int = 0  # send this many filler bytes after the body (a huge response)


@dataclass
class Seen:
    path: str
    headers: dict


class Server:
    """``with Server() as srv: srv.route("/x", lambda req: Reply(...)); srv.url("/x")``."""

    def __init__(self):
        self.routes: dict[str, object] = {}
        self.requests: list[Seen] = []
        self._lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # quiet
                pass

            def do_GET(self):  # noqa: N802 - http.server's naming
                with outer._lock:
                    outer.requests.append(Seen(self.path, dict(self.headers)))
                handler = outer.routes.get(self.path.split("?")[0]) or outer.routes.get(self.path)
                reply = handler(self) if handler else Reply(404, b"not found")
                if reply.delay:
                    time.sleep(reply.delay)
                try:
                    self.send_response(reply.status)
                    headers = {"Content-Type": "text/html; charset=utf-8", **reply.headers}
                    total = len(reply.body) + reply.stream_bytes
                    headers.setdefault("Content-Length", str(total))
                    for k, v in headers.items():
                        if v is not None:
                            self.send_header(k, v)
                    self.end_headers()
                    self.wfile.write(reply.body)
                    chunk = b"x" * 65536
                    left = reply.stream_bytes
                    while left > 0:
                        self.wfile.write(chunk[: min(left, len(chunk))])
                        left -= len(chunk)
                except (BrokenPipeError, ConnectionResetError):
                    pass

        class QuietServer(ThreadingHTTPServer):
            def handle_error(self, request, client_address):  # clients hang up on purpose
                pass

        self.httpd = QuietServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def route(self, path: str, handler) -> None:
        self.routes[path] = handler

    def static(self, path: str, body: bytes | str, **kw) -> None:
        data = body.encode() if isinstance(body, str) else body
        self.routes[path] = lambda _req, data=data, kw=kw: Reply(body=data, **kw)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def hits(self, path: str) -> int:
        return sum(1 for r in self.requests if r.path.split("?")[0] == path)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()
