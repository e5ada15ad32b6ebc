"""How a request runs: one database session per request, committed at its boundary, and the
project's router class. Every module's router is `core.routing.APIRouter`; its routes run
through `one_worker_call`.

Why the machinery: FastAPI alone hops to the threadpool for each synchronous dependency, the
handler, the commit and the response's validation; on a small VM each hop costs about as much
CPU as the rest of a simple request. Here a synchronous handler, the blocking work of its
dependencies (`Deferred`: the caller's session check) and the commit run in one worker-thread
call. docs/request-lifecycle.md has the whole path and the bench figures that keep it."""

import functools
import inspect
import logging
from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Annotated, Any, Generic, TypeVar, get_origin, get_type_hints

from fastapi import APIRouter as FastAPIRouter
from fastapi import Depends
from fastapi import routing as fastapi_routing
from fastapi.concurrency import run_in_threadpool
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import Response

from core.errors import is_connection_error
from database import COMMIT_ACTIONS_KEY, SessionLocal, run_rollback_actions

logger = logging.getLogger("nucleotide.db")


def _commit(db: Session) -> None:
    try:
        db.commit()
    except Exception:
        _roll_back(db)  # a failed commit is an error answer, with the refusal's actions kept
        raise
    db.close()


def _roll_back(db: Session) -> None:
    """Roll back; then the refusal's own after-rollback actions commit."""
    try:
        db.rollback()
        try:
            run_rollback_actions(db)
        except Exception as failure:
            db.rollback()
            if is_connection_error(failure):
                # The request's own answer already says the database is away; no trace needed.
                logger.error(
                    "could not record the consequences of a refused request: database "
                    "unavailable (%s)",
                    type(failure).__name__,
                )
            else:
                logger.exception("could not record the consequences of a refused request")
    finally:
        db.close()


def _has_work(db: Session) -> bool:
    """Whether ending the request needs a commit: a transaction, unflushed changes or actions
    waiting for a commit. A request answered from Redis alone has none."""
    return bool(
        db.in_transaction() or db.new or db.dirty or db.deleted or db.info.get(COMMIT_ACTIONS_KEY)
    )


async def get_db() -> AsyncIterator[Session]:
    """One session per request: committed after the handler returns, before the response is
    sent; rolled back on any error.

    Opening a session does no I/O, so this runs on the event loop. A `RequestRoute` handler
    commits in its own worker-thread call; anything left (an `async` handler's reads) is
    committed here in one threadpool call."""
    db = SessionLocal()
    try:
        yield db
    except Exception:
        await run_in_threadpool(_roll_back, db)
        raise
    except BaseException:
        db.close()  # cancelled (the client went away): hand the connection back right here
        raise
    if _has_work(db):
        await run_in_threadpool(_commit, db)
    else:
        db.close()


DbSession = Annotated[Session, Depends(get_db, scope="function")]

T = TypeVar("T")


class Deferred(Generic[T]):
    """A dependency's value whose blocking work (Redis, the database) is done in the handler's
    own worker-thread call (see `RequestRoute`), not in a threadpool hop of its own. Resolved
    once per request, however many dependencies share it."""

    __slots__ = ("_resolve", "_value", "db")

    def __init__(self, resolve: Callable[[], T], db: Session | None) -> None:
        self._resolve: Callable[[], T] | None = resolve
        self._value: T | None = None
        self.db = db

    def value(self) -> T:
        if self._resolve is not None:
            self._value, self._resolve = self._resolve(), None
        return self._value  # type: ignore[return-value]

    def then(self, step: Callable[[T], Any]) -> "Deferred[Any]":
        return Deferred(lambda: step(self.value()), self.db)


def _resolved(values: dict[str, Any]) -> dict[str, Any]:
    return {k: v.value() if isinstance(v, Deferred) else v for k, v in values.items()}


def _sessions(values: dict[str, Any]) -> set[Session]:
    found = {v for v in values.values() if isinstance(v, Session)}
    return found | {v.db for v in values.values() if isinstance(v, Deferred) and v.db}


# --- the ordinary dependency a newcomer writes --------------------------------------------------
# `def owned_order(order_id: RowId, auth: CurrentAuth, db: DbSession) -> Order` receives the
# caller as declared: a synchronous dependency that takes a deferred value (the caller) is
# itself deferred, run with its arguments resolved in the handler's worker call (no hop of its
# own); an `async` one gets them resolved in one threadpool call first. A dependency that
# declares the `Deferred` itself (deps.PendingAuth) receives it as is.


def _produces_deferred(call: Callable[..., Any] | None) -> bool:
    if call is None or not callable(call):
        return False
    try:
        returned = get_type_hints(call).get("return")
    except Exception:  # a callable class instance, a security scheme: not ours to read
        return False
    return get_origin(returned) is Deferred or returned is Deferred


def _wants_deferred(call: Callable[..., Any], name: str | None) -> bool:
    try:
        declared = get_type_hints(call).get(name or "")
    except Exception:
        return False
    return get_origin(declared) is Deferred or declared is Deferred


_LAZY: dict[Callable[..., Any], Callable[..., Any]] = {}
_DEFERRING: set[Callable[..., Any]] = set()  # the wrappers that answer a Deferred


def _lazily(call: Callable[..., Any]) -> Callable[..., Any]:
    """`call` taking resolved values, itself deferred when synchronous (one wrapper per call,
    so FastAPI's per-request dependency cache still sees one dependency)."""
    if call in _LAZY:
        return _LAZY[call]
    if inspect.iscoroutinefunction(call):

        async def run_async(**values: Any) -> Any:
            if any(isinstance(v, Deferred) for v in values.values()):
                values = await run_in_threadpool(_resolved, values)
            return await call(**values)

        wrapper: Callable[..., Any] = run_async
    else:

        async def defer(**values: Any) -> Deferred[Any]:
            sessions = _sessions(values)
            return Deferred(lambda: call(**_resolved(values)), next(iter(sessions), None))

        wrapper = defer
        _DEFERRING.add(wrapper)
    wrapper.__qualname__ = f"lazily({call.__qualname__})"
    _LAZY[call] = wrapper
    return wrapper


def _defer_consumers(dependant: Dependant) -> bool:
    """Bottom-up over a route's dependencies: wrap each one that receives a deferred value it
    did not ask for as one (see above). Whether `dependant` now answers a deferred value."""
    call = dependant.call
    receives = False
    for sub in dependant.dependencies:
        if _defer_consumers(sub) and call is not None and not _wants_deferred(call, sub.name):
            receives = True
    if call is None or call in _DEFERRING:
        return call is not None
    if receives:
        if inspect.isgeneratorfunction(call) or inspect.isasyncgenfunction(call):
            raise TypeError(
                f"{call.__qualname__}: a dependency with `yield` cannot take the caller "
                "(CurrentUser, CurrentAuth, ...); take deps.PendingAuth and call .value()"
            )
        dependant.call = _lazily(call)
        return dependant.call in _DEFERRING
    return _produces_deferred(call)


def one_worker_call(endpoint: Callable[..., Any]) -> Callable[..., Any]:
    """`endpoint` with its deferred dependencies resolved, and (if synchronous) run and its
    session committed, in one worker-thread call; the response is then validated on the event
    loop. FastAPI alone would hop to the threadpool for each synchronous dependency, the
    handler, the commit and the response's validation: on a small VM each hop costs about as
    much CPU as the rest of a simple request."""
    if inspect.iscoroutinefunction(endpoint):

        @functools.wraps(endpoint)
        async def run_async(**values: Any) -> Any:
            if any(isinstance(v, Deferred) for v in values.values()):
                values = await run_in_threadpool(_resolved, values)
            return await endpoint(**values)

        return run_async

    def in_worker(values: dict[str, Any]) -> Any:
        result = endpoint(**_resolved(values))
        for db in _sessions(values):
            if _has_work(db):
                _commit(db)
        return result

    @functools.wraps(endpoint)
    async def run_sync(**values: Any) -> Any:
        return await run_in_threadpool(in_worker, values)

    return run_sync


class RequestRoute(APIRoute):
    """The route class of every router: handlers run through `one_worker_call`."""

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        super().__init__(path, one_worker_call(endpoint), **kwargs)

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        # FastAPI builds a handler per router inclusion, each from its own dependency tree
        # (the inclusion's context while it runs; wrapping `dependant.call` here is the way
        # FastAPI leaves for it).
        context = fastapi_routing._effective_route_context_var.get()
        dependant = self.dependant
        if context is not None and context.original_route is self:
            dependant = context.dependant
        for sub in dependant.dependencies:
            _defer_consumers(sub)
        return super().get_route_handler()


class APIRouter(FastAPIRouter):
    """The project's router: `APIRouter(prefix=..., tags=[...])`, its routes `RequestRoute`s."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(route_class=RequestRoute, **kwargs)
