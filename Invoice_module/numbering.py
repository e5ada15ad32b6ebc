"""Invoice and credit-note numbers: `NUC/2026-27/000042`, `NUC/CN/2026-27/000007`.

A number is taken in the transaction that issues the document, from a counter row per series
and financial year held under a row lock until that transaction ends (`core.sequences`): the
numbers are consecutive, never repeated, and a transaction that rolls back gives its number
back.
"""

from datetime import datetime

from sqlalchemy.orm import Session

from config import get_settings
from core.clock import as_ist
from core.sequences import take_next
from Invoice_module.models import DocumentCounter, DocumentSeries

FY_FIRST_MONTH = 4  # April


def financial_year(moment: datetime) -> str:
    """`2026-27` for any moment from 1 April 2026 00:00 to 31 March 2027 23:59:59 IST."""
    local = as_ist(moment)
    start = local.year if local.month >= FY_FIRST_MONTH else local.year - 1
    return f"{start}-{(start + 1) % 100:02d}"


def take_sequence(db: Session, series: DocumentSeries, fy: str) -> int:
    """The next number of `series` in `fy`, the counter row locked until the transaction ends."""
    return take_next(db, DocumentCounter, series=series, fy=fy)


def document_number(series: DocumentSeries, fy: str, seq: int) -> str:
    prefix = get_settings().INVOICE_PREFIX
    if series == DocumentSeries.CREDIT_NOTE:
        return f"{prefix}/CN/{fy}/{seq:06d}"
    return f"{prefix}/{fy}/{seq:06d}"
