"""Invoice and credit-note numbers: `NUC/2026-27/000042`, `NUC/CN/2026-27/000007`.

A number is taken in the transaction that issues the document, from a counter row per series
and financial year held under a row lock until that transaction ends: the numbers are
consecutive, never repeated, and a transaction that rolls back gives its number back.

The counter is bumped with one upsert (MariaDB `INSERT ... ON DUPLICATE KEY UPDATE`, SQLite
`ON CONFLICT DO UPDATE`) rather than `SELECT ... FOR UPDATE` then INSERT when missing: on a
missing row InnoDB's locking read takes a gap lock, and two transactions holding it deadlock
on their inserts (as do the shared locks a duplicate-key error leaves behind). The upsert
takes the row's exclusive lock directly, creating the row if it is the year's first number;
the locking read after it returns the value this transaction wrote.
"""

from datetime import datetime

from sqlalchemy import Insert, select
from sqlalchemy.dialects.mysql import insert as mysql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from config import get_settings
from core.clock import as_ist
from Invoice_module.models import DocumentCounter, DocumentSeries

FY_FIRST_MONTH = 4  # April


def financial_year(moment: datetime) -> str:
    """`2026-27` for any moment from 1 April 2026 00:00 to 31 March 2027 23:59:59 IST."""
    local = as_ist(moment)
    start = local.year if local.month >= FY_FIRST_MONTH else local.year - 1
    return f"{start}-{(start + 1) % 100:02d}"


def take_sequence(db: Session, series: DocumentSeries, fy: str) -> int:
    """The next number of `series` in `fy`, the counter row locked until the transaction ends."""
    next_seq = DocumentCounter.last_seq + 1
    bump: Insert
    if db.get_bind().dialect.name == "mysql":
        bump = (
            mysql_insert(DocumentCounter)
            .values(series=series, fy=fy, last_seq=1)
            .on_duplicate_key_update(last_seq=next_seq)
        )
    else:
        bump = (
            sqlite_insert(DocumentCounter)
            .values(series=series, fy=fy, last_seq=1)
            .on_conflict_do_update(index_elements=["series", "fy"], set_={"last_seq": next_seq})
        )
    db.execute(bump)
    seq = db.scalar(
        select(DocumentCounter.last_seq)
        .where(DocumentCounter.series == series, DocumentCounter.fy == fy)
        .with_for_update()
    )
    if seq is None:  # the upsert just wrote it
        raise RuntimeError(f"document counter {series}/{fy} missing after its upsert")
    return seq


def document_number(series: DocumentSeries, fy: str, seq: int) -> str:
    prefix = get_settings().INVOICE_PREFIX
    if series == DocumentSeries.CREDIT_NOTE:
        return f"{prefix}/CN/{fy}/{seq:06d}"
    return f"{prefix}/{fy}/{seq:06d}"
