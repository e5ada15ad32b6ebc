"""The caller of a request: its bearer token, live session and user (snapshot or row), and
the admin check. The request machinery itself (the session, the router class) is
`core/routing.py`."""

from typing import Annotated, Any

from fastapi import Depends
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from core.errors import UnauthorizedError
from core.routing import DbSession, Deferred
from Login_module.dependencies import Auth, access_claims, authenticate, live_user, require_admin
from Login_module.models import User
from Login_module.snapshot import UserSnapshot

bearer = HTTPBearer(auto_error=False, description="The access token from /auth/verify-otp")


# No I/O in these: the token's signature and expiry are checked here, on the event loop; the
# session, the user's snapshot and the admin check wait for the handler's worker-thread call.
async def get_auth(
    db: DbSession,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Deferred[Auth]:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise UnauthorizedError()
    claims = access_claims(credentials.credentials)
    return Deferred(lambda: authenticate(db, claims), db)


# Handlers take `CurrentAuth` (resolved by the time they run); dependencies take `PendingAuth`.
CurrentAuth = Annotated[Auth, Depends(get_auth)]
PendingAuth = Annotated[Deferred[Auth], Depends(get_auth)]


async def get_current_user(auth: PendingAuth) -> Deferred[Any]:
    return auth.then(lambda a: a.user)


def get_admin_user(auth: PendingAuth) -> UserSnapshot:
    """Synchronous on purpose: its threadpool hop runs while FastAPI resolves dependencies, so
    a non-admin is refused (403) before the request's body or parameters are even validated,
    and learns nothing of an admin route's shape."""
    resolved = auth.value()
    require_admin(resolved)
    return resolved.user


async def get_current_user_row(auth: PendingAuth, db: DbSession) -> Deferred[Any]:
    """The caller's user row itself, for the handlers that change it."""
    return auth.then(lambda a: live_user(db, a.user.id))


async def get_optional_user(
    db: DbSession,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Deferred[Any]:
    """The caller on a public route: None without a token; with one, checked like any other
    (a bad, expired or revoked token is still 401, so a client learns to refresh it)."""
    if credentials is None or credentials.scheme.lower() != "bearer":
        return Deferred(lambda: None, None)
    claims = access_claims(credentials.credentials)
    return Deferred(lambda: authenticate(db, claims).user, db)


CurrentUser = Annotated[UserSnapshot, Depends(get_current_user)]
AdminUser = Annotated[UserSnapshot, Depends(get_admin_user)]
CurrentUserRow = Annotated[User, Depends(get_current_user_row)]
# A public route that links what it records to the caller when there is one.
OptionalUser = Annotated[UserSnapshot | None, Depends(get_optional_user)]
