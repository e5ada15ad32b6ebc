"""The per-user lock every per-user write starts with."""

from typing import TypeVarTuple

from sqlalchemy import Result, Select, select, update
from sqlalchemy.orm import Session

from Login_module.models import User


def lock_user(db: Session, user_id: int) -> None:
    """Take the user's row lock: the first lock of every per-user write (members, addresses,
    cart, sessions, checkout, erasure), so they serialise in one order and never deadlock.

    SQLite has no row locks (FOR UPDATE is dropped): there a no-op UPDATE takes the database's
    write lock instead, so the write waits its turn (busy timeout) rather than failing later to
    upgrade its read lock while another connection (a scheduled job) writes.
    """
    if db.get_bind().dialect.name == "sqlite":
        db.execute(
            update(User)
            .where(User.id == user_id)
            .values(id=User.id, updated_at=User.updated_at)
            .execution_options(synchronize_session=False)
        )
        return
    db.execute(select(User.id).where(User.id == user_id).with_for_update())


Rows = TypeVarTuple("Rows")


def lock_user_reading(db: Session, statement: Select[*Rows], user_id: int) -> Result[*Rows]:
    """lock_user and a locking read of more of the user's rows, in one statement: `statement`
    (built once) reads `FOR UPDATE` from `users`, where `users.id` is the `user_id` bind,
    outer-joined to those rows. The user's row is read, and locked, before the rows joined to
    it, so the lock order is lock_user's. On SQLite lock_user takes the write lock first."""
    if db.get_bind().dialect.name == "sqlite":
        lock_user(db, user_id)
    return db.execute(statement, {"user_id": user_id})
