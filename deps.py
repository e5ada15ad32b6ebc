"""The caller of a request: its bearer token, live session and user (snapshot or row), and
the admin check. The request machinery itself (the session, the router class) is
`core/routing.py`.

These are ordinary FastAPI dependencies, and a dependency of your own takes them as declared:
`def owned_thing(thing_id: RowId, user: CurrentUser, db: DbSession) -> Thing`."""

from typing import Annotated

from fastapi import Depends
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from core.errors import UnauthorizedError
from core.routing import DbSession
from Login_module.dependencies import Auth, access_claims, authenticate, live_user, require_admin
from Login_module.models import User
from Login_module.snapshot import UserSnapshot

bearer = HTTPBearer(auto_error=False, description="The access token from /auth/verify-otp")


def get_auth(
    db: DbSession,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Auth:
    """The caller: a validly signed, unexpired token (no I/O) whose session is live (Redis,
    else the database). Synchronous: FastAPI runs it in a worker thread, before the route's
    body or parameters are validated."""
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise UnauthorizedError()
    return authenticate(db, access_claims(credentials.credentials))


CurrentAuth = Annotated[Auth, Depends(get_auth)]


async def get_current_user(auth: CurrentAuth) -> UserSnapshot:
    return auth.user


async def get_admin_user(auth: CurrentAuth) -> UserSnapshot:
    """Resolved with the caller, before the body or parameters are validated: a non-admin is
    refused (403) and learns nothing of an admin route's shape."""
    require_admin(auth)
    return auth.user


def get_current_user_row(auth: CurrentAuth, db: DbSession) -> User:
    """The caller's user row itself, for the handlers that change it."""
    return live_user(db, auth.user.id)


def get_optional_user(
    db: DbSession,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> UserSnapshot | None:
    """The caller on a public route: None without a token; with one, checked like any other
    (a bad, expired or revoked token is still 401, so a client learns to refresh it)."""
    if credentials is None or credentials.scheme.lower() != "bearer":
        return None
    return authenticate(db, access_claims(credentials.credentials)).user


CurrentUser = Annotated[UserSnapshot, Depends(get_current_user)]
AdminUser = Annotated[UserSnapshot, Depends(get_admin_user)]
CurrentUserRow = Annotated[User, Depends(get_current_user_row)]
# A public route that links what it records to the caller when there is one.
OptionalUser = Annotated[UserSnapshot | None, Depends(get_optional_user)]
