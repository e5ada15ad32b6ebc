"""The confirmed subscribers as CSV, for the tool that sends the newsletter: each row has the
subscriber's own unsubscribe URL, which that tool puts in the e-mail and in its
`List-Unsubscribe` header (with `List-Unsubscribe-Post: List-Unsubscribe=One-Click`), so every
newsletter unsubscribes with one click here.

Safe to open in a spreadsheet: a cell that starts like a formula (`=`, `+`, `-`, `@`, a tab or
a carriage return) is written with a leading `'`, so it stays text (an address may start with
any of the first four)."""

import csv
import io

from sqlalchemy.orm import Session

from core.clock import today_ist
from Newsletter_module.service import confirmed_subscribers, unsubscribe_url

COLUMNS = ("email", "confirmed_at", "consent_text_version", "unsubscribe_url")
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: object) -> str:
    text = "" if value is None else str(value)
    return f"'{text}" if text.startswith(FORMULA_STARTS) else text


def export_filename() -> str:
    return f"newsletter-subscribers-{today_ist().isoformat()}.csv"


def confirmed_subscribers_csv(db: Session, admin_id: int) -> str:
    """The CSV text (the export is audited)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for subscription in confirmed_subscribers(db, admin_id):
        confirmed_at = subscription.confirmed_at
        cells = (
            subscription.email,
            confirmed_at.isoformat() if confirmed_at else None,
            subscription.consent_text_version,
            unsubscribe_url(subscription),
        )
        writer.writerow([safe_cell(cell) for cell in cells])
    return out.getvalue()
