"""A local HTTP server that records what it receives: the platform's webhook receiver or an
authority's endpoint, in tests. Loopback only."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Received:
    method: str
    path: str
    headers: Message  # case-insensitive: urllib sends "X-signature", not "X-Signature"
    body: bytes


class LocalServer:
    """Records every request; answers `status`, with a Location header when `location` is set."""

    def __init__(self) -> None:
        self.status = 200
        self.location: str | None = None
        self.requests: list[Received] = []
        self._lock = threading.Lock()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        # A short poll interval keeps shutdown() at teardown from waiting half a second.
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
        )

    def url(self, path: str = "/hooks") -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}{path}"

    def paths(self) -> list[str]:
        return [r.path for r in self.requests]

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def _record_and_answer(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with server._lock:
                    server.requests.append(Received(self.command, self.path, self.headers, body))
                self.send_response(server.status)
                if server.location:
                    self.send_header("Location", server.location)
                self.send_header("Content-Length", "0")
                self.end_headers()

            do_POST = _record_and_answer
            do_GET = _record_and_answer  # a followed redirect would arrive as a GET

            def log_message(self, *args) -> None:
                pass

        return Handler

    def start(self) -> LocalServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)
