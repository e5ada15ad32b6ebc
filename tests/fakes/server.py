"""A tiny threaded HTTP server base for the fakes: records requests, can be told to fail."""

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass
class RecordedRequest:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body or b"null")

    def form(self) -> dict[str, list[str]]:
        return parse_qs(self.body.decode())


@dataclass
class FakeResponse:
    status: int = 200
    body: Any = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    delay_seconds: float = 0.0


class FakeServer:
    """Subclasses implement `respond(request) -> FakeResponse`."""

    def __init__(self) -> None:
        self.requests: list[RecordedRequest] = []
        self.fail_next: list[FakeResponse] = []
        self.lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                parts = urlsplit(self.path)
                recorded = RecordedRequest(
                    method=self.command,
                    path=parts.path,
                    query=parse_qs(parts.query),
                    headers={k.lower(): v for k, v in self.headers.items()},
                    body=self.rfile.read(length) if length else b"",
                )
                with server.lock:
                    server.requests.append(recorded)
                    forced = server.fail_next.pop(0) if server.fail_next else None
                response = forced or server.respond(recorded)
                if response.delay_seconds:
                    threading.Event().wait(response.delay_seconds)
                headers = {"Content-Type": "application/json", **response.headers}
                if isinstance(response.body, bytes):  # sent as it is (an HTML error page)
                    payload = response.body
                else:
                    payload = b"" if response.body is None else json.dumps(response.body).encode()
                try:
                    self.send_response(response.status)
                    self.send_header("Content-Length", str(len(payload)))
                    for key, value in headers.items():
                        self.send_header(key, value)
                    self.end_headers()
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _handle

            def log_message(self, *_args: Any) -> None:
                return

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> "FakeServer":
        self.thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def reset(self) -> None:
        with self.lock:
            self.requests.clear()
            self.fail_next.clear()

    def respond(self, request: RecordedRequest) -> FakeResponse:
        raise NotImplementedError
