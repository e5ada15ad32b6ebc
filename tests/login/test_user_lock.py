"""lock_user on SQLite (no row locks there): it takes the database write lock at once, so a
per-user write queues behind another writer instead of failing to upgrade a read lock."""

import sqlite3
from pathlib import Path

from sqlalchemy.orm import Session

from database import build_engine
from Login_module.locks import lock_user
from Login_module.models import User


def test_lock_user_on_sqlite_holds_the_write_lock_until_the_end_of_the_transaction(
    tmp_path: Path,
) -> None:
    path = tmp_path / "locks.db"
    engine = build_engine(f"sqlite:///{path}")
    User.__table__.create(engine)
    with Session(engine) as setup:
        user = User(phone="+919876512345")
        setup.add(user)
        setup.commit()
        user_id, updated_at = user.id, user.updated_at
    other = sqlite3.connect(path, timeout=0, isolation_level=None)
    try:
        with Session(engine) as db:
            lock_user(db, user_id)
            # Another writer (a scheduled job, another replica) must wait for this transaction.
            try:
                other.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError as exc:
                assert "locked" in str(exc)
            else:
                raise AssertionError("the user lock did not take SQLite's write lock")
            db.rollback()
        other.execute("BEGIN IMMEDIATE")  # free again once the transaction ends
        other.execute("ROLLBACK")
        with Session(engine) as db:
            lock_user(db, user_id)
            db.commit()
            # The no-op write changes nothing, not even the row's updated_at.
            assert db.get(User, user_id).updated_at == updated_at  # type: ignore[union-attr]
    finally:
        other.close()
        engine.dispose()
