"""How a request runs: one database session per request, committed at its boundary, and the
project's router class. Every module's router is `core.routing.APIRouter`; its routes are
`RequestRoute`s, which run a synchronous handler and the commit of its session in one
worker-thread call (the auto-commit route class). Dependencies are ordinary FastAPI ones: a
synchronous dependency runs in a worker thread of its own, an `async` one on the event loop.
docs/request-lifecycle.md has the whole path, and docs/performance.md why it is this plain."""

import functools
import inspect
import logging
from collections.abc import AsyncIterator, Callable
from typing import Annotated, Any

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


def auto_commit(endpoint: Callable[..., Any]) -> Callable[..., Any]:
    """A synchronous `endpoint` run, and its session committed, in one worker-thread call, so
    the answer is validated only once the request's writes are durable; an `async` one as is
    (the request boundary, `get_db`, commits what it leaves)."""
    if inspect.iscoroutinefunction(endpoint):
        return endpoint

    def in_worker(values: dict[str, Any]) -> Any:
        result = endpoint(**values)
        for db in {v for v in values.values() if isinstance(v, Session)}:
            if _has_work(db):
                _commit(db)
        return result

    @functools.wraps(endpoint)
    async def run_sync(**values: Any) -> Any:
        return await run_in_threadpool(in_worker, values)

    return run_sync


class RequestRoute(APIRoute):
    """The route class of every router: handlers run through `auto_commit`."""

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        super().__init__(path, auto_commit(endpoint), **kwargs)


class APIRouter(FastAPIRouter):
    """The project's router: `APIRouter(prefix=..., tags=[...])`, its routes `RequestRoute`s."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(route_class=RequestRoute, **kwargs)
