"""Request dependencies shared by every router: the DB session and the authenticated caller."""

import logging
from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from core.errors import UnauthorizedError, is_connection_error
from database import SessionLocal, run_rollback_actions
from Login_module.dependencies import Auth, authenticate, require_admin
from Login_module.models import User

logger = logging.getLogger("nucleotide.db")


def get_db() -> Iterator[Session]:
    """One session per request: committed after the handler returns, before the response is
    sent; rolled back on any error (then the refusal's own after-rollback actions commit)."""
    db = SessionLocal()
    try:
        yield db
        db.commit()
    except Exception:
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
        raise
    finally:
        db.close()


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
async def get_current_user(auth: CurrentAuth) -> User:
    return auth.user


async def get_admin_user(auth: CurrentAuth) -> User:
    require_admin(auth)
    return auth.user


CurrentUser = Annotated[User, Depends(get_current_user)]
AdminUser = Annotated[User, Depends(get_admin_user)]
