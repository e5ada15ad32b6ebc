"""Members straight into the database, for tests of modules that use them."""

from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from Member_module.models import Member


def make_member(db: Session, user_id: int, **overrides: Any) -> Member:
    """A non-deleted member of `user_id` (a spouse born in 1990 unless told otherwise)."""
    values: dict[str, Any] = {
        "name": "Asha Rao",
        "relation": "spouse",
        "date_of_birth": date(1990, 5, 17),
        "gender": "female",
        "phone": None,
        **overrides,
    }
    member = Member(user_id=user_id, **values)
    db.add(member)
    db.flush()
    return member
