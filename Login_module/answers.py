"""The login answers as their schemas shape them."""

from dataclasses import dataclass

from core.answers import ReadsThrough
from Login_module.models import User
from Login_module.snapshot import UserSnapshot


@dataclass(frozen=True)
class LoginUser(ReadsThrough):
    user: User
    is_new_user: bool


@dataclass(frozen=True)
class Me(ReadsThrough):
    """GET /auth/me: the caller's snapshot and the role their token carries."""

    user: UserSnapshot
    role: str
