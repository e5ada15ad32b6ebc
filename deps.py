"""Request dependencies shared by every router: the DB session and the authenticated caller."""

import logging
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends
from fastapi.concurrency import run_in_threadpool
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from core.errors import UnauthorizedError, is_connection_error
from database import SessionLocal, run_rollback_actions
from Login_module.dependencies import Auth, authenticate, live_user, require_admin
from Login_module.models import User
from Login_module.snapshot import UserSnapshot

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


async def get_db() -> AsyncIterator[Session]:
    """One session per request: committed after the handler returns, before the response is
    sent; rolled back on any error.

    Opening a session does no I/O, so this runs on the event loop; the commit (or rollback)
    and close run in one threadpool call, as the handler's database work does."""
    db = SessionLocal()
    try:
        yield db
    except Exception:
        await run_in_threadpool(_roll_back, db)
        raise
    except BaseException:
        db.close()  # cancelled (the client went away): hand the connection back right here
        raise
    if db.in_transaction() or db.new or db.dirty or db.deleted or db.info:
        await run_in_threadpool(_commit, db)
    else:
        db.close()  # it never touched the database (e.g. /auth/me answered from Redis)


DbSession = Annotated[Session, Depends(get_db, scope="function")]

bearer = HTTPBearer(auto_error=False, description="The access token from /auth/verify-otp")


def get_auth(
    db: DbSession,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Auth:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise UnauthorizedError()
    return authenticate(db, credentials.credentials)


CurrentAuth = Annotated[Auth, Depends(get_auth)]


# No I/O in these two: `async` keeps them on the event loop instead of a threadpool hop each.
async def get_current_user(auth: CurrentAuth) -> UserSnapshot:
    return auth.user


async def get_admin_user(auth: CurrentAuth) -> UserSnapshot:
    require_admin(auth)
    return auth.user


def get_current_user_row(db: DbSession, auth: CurrentAuth) -> User:
    """The caller's user row itself, for the handlers that change it."""
    return live_user(db, auth.user.id)


CurrentUser = Annotated[UserSnapshot, Depends(get_current_user)]
AdminUser = Annotated[UserSnapshot, Depends(get_admin_user)]
CurrentUserRow = Annotated[User, Depends(get_current_user_row)]
