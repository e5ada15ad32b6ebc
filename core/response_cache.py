"""Public catalogue answers, serialized once per catalogue version and served from memory.

A route opts in with `@public_cache` (anonymous GETs of the catalogue: categories, products,
consent texts, serviceability, counsellors). The middleware answers those requests from this
process's cache without entering the framework, with a strong ETag (304 on `If-None-Match`) and
`Cache-Control: public, max-age=60, stale-while-revalidate=300`, so a CDN can absorb browsing.

Freshness: a version stamp in Redis (`cache:catalogue:version`). Any committed write to a
watched table (`watch_tables`) bumps it after commit (`database.on_commit`) and drops this
process's entries at once; other replicas read the stamp every VERSION_POLL_SECONDS in a
background thread, so they follow within a second. Without Redis the version is unknown and
nothing is served from (or stored in) the cache: answers come straight from the database.
Requests that carry a token are never served from the cache (they stay `no-store`).

An answer that changes by itself at a known moment (a home banner's window opens or closes)
says so while it is built, with `fresh_until(moment)`: its cached copy is not served from that
moment on, on any replica, without a write to bump the version.
"""

import hashlib
import logging
import re
import threading
from collections.abc import Callable, Iterable, Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from fastapi.routing import iter_route_contexts
from sqlalchemy import event
from sqlalchemy.orm import ORMExecuteState, Session, UOWTransaction
from starlette.routing import compile_path

from core import clock
from core.redis import get_redis
from database import on_commit

logger = logging.getLogger("nucleotide.cache")

CACHE_CONTROL = b"public, max-age=60, stale-while-revalidate=300"
VERSION_KEY = "cache:catalogue:version"
VERSION_POLL_SECONDS = 0.5
MAX_ENTRIES = 2048  # distinct (path, query) answers kept; beyond it the cache starts afresh
PENDING_KEY = "catalogue_bump_pending"

F = TypeVar("F", bound=Callable[..., Any])
T = TypeVar("T")


def public_cache(endpoint: F) -> F:
    """Mark a route's endpoint: its anonymous GET answers are cached (see the module doc)."""
    endpoint.public_cache = True  # type: ignore[attr-defined]
    return endpoint


@dataclass(frozen=True)
class Entry:
    body: bytes
    content_type: bytes
    etag: bytes
    # The moment the answer changes by itself (`fresh_until`); None: only a write changes it.
    expires_at: datetime | None = None

    def fresh(self) -> bool:
        return self.expires_at is None or clock.utcnow() < self.expires_at


class _Freshness:
    """Filled while one cacheable answer is built (shared with the worker thread that builds
    it: the context is copied there, this object is not)."""

    until: datetime | None = None


_building: ContextVar[_Freshness | None] = ContextVar("public_cache_building", default=None)


def fresh_until(moment: datetime | None) -> None:
    """The answer being built changes by itself at `moment` (None: at no known moment): its
    cached copy is served until then only. Outside a cacheable build this does nothing."""
    building = _building.get()
    if building is not None and moment is not None:
        building.until = moment if building.until is None else min(building.until, moment)


def strong_etag(body: bytes) -> bytes:
    return b'"' + hashlib.sha256(body).hexdigest()[:32].encode() + b'"'


def etag_matches(if_none_match: str | None, etag: bytes) -> bool:
    if not if_none_match:
        return False
    tags = {tag.strip() for tag in if_none_match.split(",")}
    return "*" in tags or etag.decode() in tags


class CatalogueCache:
    """One per process. Reads happen on the event loop; writes from any thread (a dict
    assignment or a swap of the whole dict is atomic, so readers never see a torn state)."""

    def __init__(self) -> None:
        self._entries: dict[str, Entry] = {}
        self._values: dict[str, tuple[str, Any]] = {}
        self._version: str | None = None
        self._poller: threading.Thread | None = None
        self._stop = threading.Event()

    @property
    def version(self) -> str | None:
        """The catalogue version this process knows, None while it can't know (no Redis)."""
        if self._poller is None:
            self.start()
        return self._version

    def get(self, key: str, version: str) -> Entry | None:
        entry = self._entries.get(key)
        if entry is None or self._version != version or not entry.fresh():
            return None
        return entry

    def put(self, key: str, version: str, entry: Entry) -> None:
        if self._version != version:
            return  # the catalogue changed while this answer was built: don't keep it
        if len(self._entries) >= MAX_ENTRIES:
            self._entries = {}
        self._entries[key] = entry

    def remembered(self, db: Session, key: str, load: Callable[[], T]) -> T:
        """A value derived from watched tables (e.g. the serviceable cities), kept until the
        catalogue version changes. Loaded afresh, and not kept, while the version is unknown
        or when `db` itself has catalogue writes not yet committed. Keep plain values (no ORM
        objects: they belong to one session)."""
        version = self.version
        known = self._values.get(key)
        if version is not None and known is not None and known[0] == version:
            return known[1]
        value = load()
        if version is not None and self._version == version and not db.info.get(PENDING_KEY):
            self._values[key] = (version, value)
        return value

    def _adopt(self, version: str | None) -> None:
        if version != self._version:
            self._entries = {}
            self._values = {}
            self._version = version

    def refresh(self) -> None:
        """Read the stamp from Redis (a background thread does this every poll interval)."""
        try:
            value = get_redis().get(VERSION_KEY)
        except Exception as exc:  # any failure (not only RedisError) means "version unknown"
            if self._version is not None:
                logger.warning("catalogue cache off: version unreadable (%s)", type(exc).__name__)
            self._adopt(None)
            return
        self._adopt(str(value) if value is not None else "0")

    def bump(self) -> None:
        """After a committed catalogue write: a new version for every replica, and this one's
        entries dropped at once."""
        self._entries = {}
        self._values = {}
        try:
            self._adopt(str(get_redis().incr(VERSION_KEY)))
        except Exception:
            logger.warning("catalogue changed but Redis is unreachable; cache off until it is")
            self._adopt(None)

    def start(self) -> None:
        if self._poller is not None:
            return
        self.refresh()
        self._stop.clear()
        self._poller = threading.Thread(target=self._poll, name="catalogue-cache", daemon=True)
        self._poller.start()

    def _poll(self) -> None:
        # `refresh` catches every failure, so this thread lives as long as the process: a dead
        # poller would leave this replica serving answers from a version it can't see change.
        while not self._stop.wait(VERSION_POLL_SECONDS):
            self.refresh()

    def stop(self) -> None:
        self._stop.set()
        self._poller = None

    def reset(self) -> None:
        """Forget everything and read the stamp again (tests, after swapping Redis)."""
        self._entries = {}
        self._values = {}
        self.refresh()


catalogue_cache = CatalogueCache()


def watch_tables(tables: Iterable[str]) -> None:
    """Bump the catalogue version after any commit that wrote one of `tables`."""
    watched = frozenset(tables)

    def schedule_bump(session: Session) -> None:
        if not session.info.get(PENDING_KEY):
            session.info[PENDING_KEY] = True
            on_commit(session, _bump_after_commit(session))

    @event.listens_for(Session, "after_flush")
    def _rows_written(session: Session, _flush: UOWTransaction) -> None:
        for obj in (*session.new, *session.dirty, *session.deleted):
            table = getattr(getattr(obj, "__table__", None), "name", None)
            if table in watched:
                schedule_bump(session)
                return

    @event.listens_for(Session, "do_orm_execute")
    def _bulk_written(state: ORMExecuteState) -> None:
        if state.is_update or state.is_delete or state.is_insert:
            table = getattr(state.statement, "table", None)
            if getattr(table, "name", None) in watched:
                schedule_bump(state.session)

    @event.listens_for(Session, "after_soft_rollback")
    def _forget(session: Session, _previous: Any) -> None:
        session.info.pop(PENDING_KEY, None)


def _bump_after_commit(session: Session) -> Callable[[], None]:
    def bump() -> None:
        session.info.pop(PENDING_KEY, None)
        catalogue_cache.bump()

    return bump


class CatalogueCacheMiddleware:
    """Serves anonymous GETs of `@public_cache` routes from `catalogue_cache`; fills it on a
    miss. Sits inside CORS (which adds its headers to cached answers too) and inside the
    request-context middleware (request id, security headers, access log, metrics)."""

    def __init__(self, app: Any, routes: Sequence[Any]) -> None:
        self.app = app
        self._all_routes = routes
        self._cached: list[tuple[re.Pattern[str], Any]] | None = None

    def _cached_routes(self) -> list[tuple[re.Pattern[str], Any]]:
        """(full-path pattern, route) of every `@public_cache` endpoint, found once the app's
        routers are all included (the stack is built on the first request)."""
        if self._cached is None:
            self._cached = [
                (compile_path(context.path)[0], context.original_route)
                for context in iter_route_contexts(self._all_routes)
                if context.path
                and getattr(getattr(context.original_route, "endpoint", None), "public_cache", None)
            ]
        return self._cached

    def _route_for(self, path: str) -> Any | None:
        for pattern, route in self._cached_routes():
            if pattern.match(path):
                return route
        return None

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["method"] != "GET":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers", []))
        route = None if b"authorization" in headers else self._route_for(scope["path"])
        if route is None:
            await self.app(scope, receive, send)
            return
        key = scope["path"] + "?" + scope.get("query_string", b"").decode("latin-1")
        if_none_match = headers.get(b"if-none-match", b"").decode("latin-1") or None
        version = catalogue_cache.version
        entry = catalogue_cache.get(key, version) if version is not None else None
        if entry is not None:
            scope["route"] = route  # for the access log's metrics, as the router would
            await _answer(send, entry, if_none_match)
            return
        entry = await _render(self.app, scope, receive, send)
        if entry is None:
            return  # not a 200: already passed through as it was
        if version is not None:
            catalogue_cache.put(key, version, entry)
        await _answer(send, entry, if_none_match)


async def _render(app: Any, scope: Any, receive: Any, send: Any) -> Entry | None:
    """Run the route; a 200 is held back and returned as an Entry, anything else is sent."""
    start: dict[str, Any] = {}
    chunks: list[bytes] = []
    passing = False

    async def capture(message: Any) -> None:
        nonlocal passing
        if message["type"] == "http.response.start":
            if message["status"] != 200:
                passing = True
                await send(message)
                return
            start.update(message)
        elif passing:
            await send(message)
        else:
            chunks.append(message.get("body", b""))

    building = _Freshness()
    token = _building.set(building)
    try:
        await app(scope, receive, capture)
    finally:
        _building.reset(token)
    if passing or not start:
        return None
    body = b"".join(chunks)
    content_type = dict(start.get("headers", [])).get(b"content-type", b"application/json")
    return Entry(
        body=body, content_type=content_type, etag=strong_etag(body), expires_at=building.until
    )


async def _answer(send: Any, entry: Entry, if_none_match: str | None) -> None:
    common = [(b"etag", entry.etag), (b"cache-control", CACHE_CONTROL)]
    if etag_matches(if_none_match, entry.etag):
        await send({"type": "http.response.start", "status": 304, "headers": common})
        await send({"type": "http.response.body", "body": b""})
        return
    headers = [
        (b"content-type", entry.content_type),
        (b"content-length", str(len(entry.body)).encode()),
        *common,
    ]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": entry.body})
