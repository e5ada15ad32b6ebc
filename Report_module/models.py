"""Lab reports: one row per uploaded version of a member's test report. The bytes live in the
private storage (core/storage.py), sealed; the row holds where, what (SHA-256, size) and when."""

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from core.clock import utcnow
from database import Base


class Report(Base):
    __tablename__ = "reports"
    __table_args__ = (UniqueConstraint("order_item_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    order_item_id: Mapped[int] = mapped_column(ForeignKey("order_items.id"))
    # 1 for the first report of the test, then one more per amended report.
    version: Mapped[int]
    storage_key: Mapped[str] = mapped_column(String(255), unique=True)
    # Of the PDF as uploaded (and as downloaded): the file's identity, checked on every read.
    sha256: Mapped[str] = mapped_column(String(64))
    size_bytes: Mapped[int]
    note: Mapped[str | None] = mapped_column(Text, default=None)
    uploaded_by: Mapped[int | None] = mapped_column(default=None)
    uploaded_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Account erasure: the note is dropped and the file deleted after the commit; `purged_at`
    # is set once the storage has confirmed the deletion (the purge job retries until then).
    erased_at: Mapped[datetime | None] = mapped_column(default=None)
    purged_at: Mapped[datetime | None] = mapped_column(default=None, index=True)
