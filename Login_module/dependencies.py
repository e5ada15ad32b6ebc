"""Resolving a bearer token to the caller; the FastAPI wiring lives in deps.py."""

from dataclasses import dataclass

from sqlalchemy.orm import Session

from Login_module.Device.service import check_session_active
from Login_module.errors import AdminRequired, TokenInvalid
from Login_module.models import User
from Login_module.roles import role_for_phone
from Login_module.snapshot import UserSnapshot, remember_snapshot, snapshot_key
from Login_module.tokens import TokenClaims, decode_token


@dataclass(frozen=True)
class Auth:
    user: UserSnapshot
    session_id: int
    role: str

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


def access_claims(token: str) -> TokenClaims:
    """The claims of a validly signed, unexpired access token, else 401 (no I/O)."""
    return decode_token(token, "access")


def authenticate(db: Session, claims: TokenClaims) -> Auth:
    """The access token's session is live and its user exists, else 401."""
    snapshot = check_session_active(
        db, claims.session_id, claims.user_id, snapshot_key(claims.user_id)
    )
    user = UserSnapshot.loads(snapshot)
    if user is None or user.id != claims.user_id:
        user = UserSnapshot.of(live_user(db, claims.user_id))
        remember_snapshot(user)
    # The role is re-derived on every request so removing an admin phone takes effect at once.
    return Auth(user=user, session_id=claims.session_id, role=role_for_phone(user.phone))


def live_user(db: Session, user_id: int) -> User:
    """The user row of a caller, if the account still exists; else 401."""
    user = db.get(User, user_id)
    if user is None or not user.is_active or user.deleted_at is not None:
        raise TokenInvalid()
    return user


def require_admin(auth: Auth) -> None:
    if not auth.is_admin:
        raise AdminRequired()
