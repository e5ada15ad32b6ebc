"""Pure-ASGI middleware: request id, access log, security headers, body cap, last-resort 500."""

import ipaddress
import json
import logging
import re
import time
import uuid
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from core.context import RequestContext, reset_request_context, set_request_context
from core.errors import error_body
from core.metrics import observe_request

access_log = logging.getLogger("nucleotide.access")
error_log = logging.getLogger("nucleotide.errors")

REQUEST_ID_PATTERN = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
]


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key == name:
            return value.decode("latin-1")
    return None


def _valid_ip(value: str) -> str | None:
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        return None


def client_ip(scope: Scope, trusted_hops: int) -> str | None:
    """The caller's address: the peer, or behind `trusted_hops` proxies (0 = none trusted) the
    X-Forwarded-For entry the nearest trusted proxy saw, counted from the right.

    Each proxy appends the address it received the request from, so everything left of the
    trusted entries is whatever the client chose to send; only the right-hand ones are facts.
    With fewer entries than proxies (one was bypassed), the leftmost is the best we know."""
    client = scope.get("client")
    peer = client[0] if client else None
    forwarded = _header(scope, b"x-forwarded-for") if trusted_hops else None
    if not forwarded:
        return peer
    hops = [part.strip() for part in forwarded.split(",") if part.strip()]
    if not hops:
        return peer
    return _valid_ip(hops[max(0, len(hops) - trusted_hops)]) or peer


INTERNAL_ERROR = "Something went wrong; it has been logged."
TOO_LARGE = "The request body is too large."


def _request_id(scope: Scope) -> str:
    """The caller's X-Request-ID when it is a sane one, else a new one."""
    sent_id = _header(scope, b"x-request-id")
    return sent_id if sent_id and REQUEST_ID_PATTERN.match(sent_id) else uuid.uuid4().hex


def _stamp_headers(message: Message, request_id: str, authenticated: bool) -> None:
    """The request id and the security headers on every answer; no-store on authenticated
    ones unless the route chose its own caching."""
    headers = list(message.get("headers", []))
    names = {k.lower() for k, _ in headers}
    headers.append((b"x-request-id", request_id.encode()))
    headers.extend(h for h in SECURITY_HEADERS if h[0] not in names)
    if authenticated and b"cache-control" not in names:
        headers.append((b"cache-control", b"no-store"))
    message["headers"] = headers


class PayloadTooLarge(Exception):
    """Raised while the body streams in (chunked, no Content-Length) once it passes the cap."""


class RequestContextMiddleware:
    """Sets the request context, stamps headers, logs one access line, turns crashes into JSON."""

    def __init__(
        self,
        app: ASGIApp,
        trusted_proxy_hops: int,
        max_body_bytes: int,
        upload_body_bytes: int,
        large_uploads: tuple[tuple[re.Pattern[str], int], ...] = (),
    ) -> None:
        """`upload_body_bytes` caps multipart bodies, except on paths matching one of
        `large_uploads` (pattern, cap), e.g. the lab's report upload."""
        self.app = app
        self.trusted_proxy_hops = trusted_proxy_hops
        self.max_body_bytes = max_body_bytes
        self.upload_body_bytes = upload_body_bytes
        self.large_uploads = large_uploads

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = _request_id(scope)
        user_agent = (_header(scope, b"user-agent") or "")[:255] or None
        token = set_request_context(
            RequestContext(request_id, client_ip(scope, self.trusted_proxy_hops), user_agent)
        )
        authenticated = _header(scope, b"authorization") is not None
        limit = self._body_limit(scope)
        started = time.perf_counter()
        status = {"code": 500, "started": False, "too_large": False}

        declared = _header(scope, b"content-length")
        if declared and declared.isdigit() and int(declared) > limit:
            await self._send_error(send, request_id, 413, "payload_too_large", TOO_LARGE)
            self._log(scope, 413, started)
            reset_request_context(token)
            return

        received = 0

        async def capped_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    status["too_large"] = True
                    raise PayloadTooLarge
            return message

        async def stamped_send(message: Message) -> None:
            if status["too_large"]:
                # The framework turned the overflow into its own answer (FastAPI: "400 error
                # parsing the body"); the cap is ours, so the client gets our 413 instead.
                if not status["started"]:
                    status["code"], status["started"] = 413, True
                    await self._send_error(send, request_id, 413, "payload_too_large", TOO_LARGE)
                return
            if message["type"] == "http.response.start":
                status["code"], status["started"] = message["status"], True
                _stamp_headers(message, request_id, authenticated)
            await send(message)

        try:
            await self.app(scope, capped_receive, stamped_send)
        except PayloadTooLarge:
            if not status["started"]:
                status["code"] = 413
                await self._send_error(send, request_id, 413, "payload_too_large", TOO_LARGE)
        except Exception:
            error_log.exception("unhandled error on %s %s", scope["method"], _logged_path(scope))
            if not status["started"]:
                status["code"] = 500
                await self._send_error(send, request_id, 500, "internal_error", INTERNAL_ERROR)
        finally:
            self._log(scope, status["code"], started)
            reset_request_context(token)

    def _body_limit(self, scope: Scope) -> int:
        content_type = _header(scope, b"content-type") or ""
        if not content_type.startswith("multipart/"):
            return self.max_body_bytes
        path = scope["path"]
        for pattern, cap in self.large_uploads:
            if pattern.fullmatch(path):
                return cap
        return self.upload_body_bytes

    @staticmethod
    async def _send_error(
        send: Send, request_id: str, status: int, code: str, message: str
    ) -> None:
        body = json.dumps(error_body(code, message)).encode()
        headers: list[Any] = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            (b"x-request-id", request_id.encode()),
            *SECURITY_HEADERS,
        ]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    @staticmethod
    def _log(scope: Scope, status: int, started: float) -> None:
        elapsed = time.perf_counter() - started
        access_log.info(
            "%s %s %s %.1fms", scope["method"], _logged_path(scope), status, elapsed * 1000
        )
        # The router leaves the matched route in the scope: metrics by template, not by path.
        route = scope.get("route")
        observe_request(scope["method"], getattr(route, "path", None), status, elapsed)


def _logged_path(scope: Scope) -> str:
    """The path for the logs; a route with a `{token}` in its path (a consent request's link,
    a push token) is logged by its template, so the secret never reaches a log."""
    route = scope.get("route")
    template = getattr(route, "path", None)
    if template and "{token}" in template:
        return str(template)
    return str(scope["path"])
