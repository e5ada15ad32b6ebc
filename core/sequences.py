"""Gapless numbers (invoice numbers, enquiry references): the next value of a counter row,
taken in the transaction that uses it.

A counter table has a unique key over some columns (a series and a year) and a `last_seq`
integer. `take_next` bumps the key's row and keeps it locked until the transaction ends, so
the numbers are consecutive, never repeated, and a transaction that rolls back gives its
number back (the next one takes it).

The counter is bumped with an `UPDATE` (the row's exclusive lock at once), and only when the
key has no row yet (its first number) with an upsert (MariaDB `INSERT ... ON DUPLICATE KEY
UPDATE`, SQLite `ON CONFLICT DO UPDATE`), never `SELECT ... FOR UPDATE` then INSERT: on a
missing row InnoDB's locking read takes a gap lock, and two transactions holding it deadlock
on their inserts. An upsert on an existing row is avoided too: it takes a shared lock before
the exclusive one, and waiters that all get the shared lock when a holder rolls back deadlock
on the upgrade. The locking read after it returns the value this transaction wrote.
"""

from typing import Any, cast

from sqlalchemy import Insert, Table, select, update
from sqlalchemy.dialects.mysql import insert as mysql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from database import Base, rows_changed


def take_next(db: Session, counter: type[Base], **key: Any) -> int:
    """The next number of `counter`'s row at `key` (its unique columns and their values: the
    first is 1), the row locked until the transaction ends."""
    table = cast(Table, counter.__table__)
    next_seq = table.c.last_seq + 1
    bump: Insert
    if db.get_bind().dialect.name == "mysql":
        bump = (
            mysql_insert(table).values(**key, last_seq=1).on_duplicate_key_update(last_seq=next_seq)
        )
    else:
        bump = (
            sqlite_insert(table)
            .values(**key, last_seq=1)
            .on_conflict_do_update(index_elements=list(key), set_={"last_seq": next_seq})
        )
    where = [table.c[column] == value for column, value in key.items()]
    # The usual case, the key's row exists: a plain UPDATE takes its exclusive lock at once. An
    # upsert on an existing row first takes a shared lock and then asks for the exclusive one,
    # so transactions queued behind one that rolls back can all get the shared lock together
    # and deadlock asking for the exclusive one (seen with 27 enquiries at once).
    if not rows_changed(db.execute(update(table).where(*where).values(last_seq=next_seq))):
        db.execute(bump)  # the key's first number: create its row
    seq = db.scalar(select(table.c.last_seq).where(*where).with_for_update())
    if seq is None:  # the upsert just wrote it
        raise RuntimeError(f"counter {table.name} {key} missing after its upsert")
    return int(seq)
