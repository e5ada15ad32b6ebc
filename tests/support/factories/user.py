"""Users straight into the database, for tests that need an account without logging in.

The other factories (tests/support/factories/<module>.py) make the rows that hang off a user.
"""

import itertools
from typing import Any

from sqlalchemy.orm import Session

from Login_module.models import User

# +91 7000 nnnnnn: a range no test logs in with, so a made user never takes a test's phone.
_PHONE_NUMBERS = itertools.count(1)


def unique_phone() -> str:
    """A phone number no other call in this test run has returned."""
    return f"+917000{next(_PHONE_NUMBERS):06d}"


def make_user(
    db: Session,
    *,
    phone: str | None = None,
    role: str = "user",
    name: str | None = None,
    email: str | None = None,
    is_active: bool = True,
    **overrides: Any,
) -> User:
    """An active customer with a phone unique to this call unless told otherwise; flushed."""
    user = User(
        phone=phone or unique_phone(),
        role=role,
        name=name,
        email=email,
        is_active=is_active,
        **overrides,
    )
    db.add(user)
    db.flush()
    return user
