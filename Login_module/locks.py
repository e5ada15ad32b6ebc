"""The per-user lock every per-user write starts with."""

from sqlalchemy import select
from sqlalchemy.orm import Session

from Login_module.models import User


def lock_user(db: Session, user_id: int) -> None:
    """Take the user's row lock: the first lock of every per-user write (members, addresses,
    cart, sessions, checkout, erasure), so they serialise in one order and never deadlock."""
    db.execute(select(User.id).where(User.id == user_id).with_for_update())
