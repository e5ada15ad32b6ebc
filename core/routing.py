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
from collections.abc import AsyncIterator, Callable
from typing import Annotated, Any, Generic, TypeVar

from fastapi import APIRouter as FastAPIRouter
from fastapi import Depends
from fastapi.concurrency import run_in_threadpool
from fastapi.routing import APIRoute
from sqlalchemy.orm import Session

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

    def __init__(self, resolve: Callable[[], T], db: Session) -> None:
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
    return found | {v.db for v in values.values() if isinstance(v, Deferred)}


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


class APIRouter(FastAPIRouter):
    """The project's router: `APIRouter(prefix=..., tags=[...])`, its routes `RequestRoute`s."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(route_class=RequestRoute, **kwargs)
