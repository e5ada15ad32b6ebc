"""Gapless numbers (invoice numbers, enquiry references): the next value of a counter row,
taken in the transaction that uses it.

A counter table has a unique key over some columns (a series and a year) and a `last_seq`
integer. `take_next` bumps the key's row and keeps it locked until the transaction ends, so
the numbers are consecutive, never repeated, and a transaction that rolls back gives its
number back (the next one takes it).

The counter is bumped with one upsert (MariaDB `INSERT ... ON DUPLICATE KEY UPDATE`, SQLite
`ON CONFLICT DO UPDATE`) rather than `SELECT ... FOR UPDATE` then INSERT when missing: on a
missing row InnoDB's locking read takes a gap lock, and two transactions holding it deadlock
on their inserts (as do the shared locks a duplicate-key error leaves behind). The upsert
takes the row's exclusive lock directly, creating the row if it is the key's first number;
the locking read after it returns the value this transaction wrote.
"""

from typing import Any, cast

from sqlalchemy import Insert, Table, select
from sqlalchemy.dialects.mysql import insert as mysql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from database import Base


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
    db.execute(bump)
    seq = db.scalar(
        select(table.c.last_seq)
        .where(*(table.c[column] == value for column, value in key.items()))
        .with_for_update()
    )
    if seq is None:  # the upsert just wrote it
        raise RuntimeError(f"counter {table.name} {key} missing after its upsert")
    return int(seq)
