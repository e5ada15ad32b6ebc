"""Invoices (one per paid order: a tax invoice, a bill of supply or both in one, by its lines),
credit notes (one per processed refund) and the counters that number them. The computed content
is kept as issued (JSON); the PDF rendered from it is stored once (core/storage.py, sealed) and
always served from there."""

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from core.clock import utcnow
from database import Base, stored_as_string


class DocumentSeries(StrEnum):
    """A numbering series: each has its own consecutive sequence per financial year."""

    INVOICE = "invoice"
    CREDIT_NOTE = "credit_note"


class DocumentCounter(Base):
    """The last number issued in a series and financial year; locked while a number is taken,
    so numbers are consecutive, and taken in the issuing transaction, so a rollback uses none."""

    __tablename__ = "document_counters"
    __table_args__ = (UniqueConstraint("series", "fy"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    series: Mapped[DocumentSeries] = mapped_column(stored_as_string(DocumentSeries, 16))
    # "2026-27": April to March, India time.
    fy: Mapped[str] = mapped_column(String(7))
    last_seq: Mapped[int] = mapped_column(default=0)


class InvoiceKind(StrEnum):
    """What the document is, by its lines (CGST Act s.31; rules 46, 46A and 49): exempt supplies
    get a bill of supply, taxable ones a tax invoice, a mix of both one invoice-cum-bill of
    supply. All three take their numbers from the one invoice series."""

    TAX_INVOICE = "tax_invoice"
    BILL_OF_SUPPLY = "bill_of_supply"
    INVOICE_CUM_BILL_OF_SUPPLY = "invoice_cum_bill_of_supply"


class Invoice(Base):
    __tablename__ = "invoices"
    __table_args__ = (UniqueConstraint("fy", "seq"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), unique=True)
    number: Mapped[str] = mapped_column(String(40), unique=True)
    fy: Mapped[str] = mapped_column(String(7))
    seq: Mapped[int]
    issued_at: Mapped[datetime] = mapped_column(default=utcnow)
    total_paise: Mapped[int] = mapped_column(BigInteger)
    # Fixed when issued, like the content that carries its title; invoices issued before the
    # kinds existed were all titled "Tax Invoice" and are recorded so.
    kind: Mapped[InvoiceKind] = mapped_column(
        stored_as_string(InvoiceKind, 32), server_default=InvoiceKind.TAX_INVOICE.value
    )
    # Supplier, customer, place of supply, lines, totals and words, as issued.
    content: Mapped[dict[str, Any]] = mapped_column(JSON)
    # Set when the PDF is first asked for; the stored file is then served as it is.
    storage_key: Mapped[str | None] = mapped_column(String(255), unique=True, default=None)
    sha256: Mapped[str | None] = mapped_column(String(64), default=None)
    size_bytes: Mapped[int | None] = mapped_column(default=None)


class CreditNote(Base):
    __tablename__ = "credit_notes"
    __table_args__ = (UniqueConstraint("fy", "seq"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoices.id"))
    refund_id: Mapped[int] = mapped_column(ForeignKey("refunds.id"), unique=True)
    number: Mapped[str] = mapped_column(String(40), unique=True)
    fy: Mapped[str] = mapped_column(String(7))
    seq: Mapped[int]
    issued_at: Mapped[datetime] = mapped_column(default=utcnow)
    amount_paise: Mapped[int] = mapped_column(BigInteger)
    content: Mapped[dict[str, Any]] = mapped_column(JSON)
    storage_key: Mapped[str | None] = mapped_column(String(255), unique=True, default=None)
    sha256: Mapped[str | None] = mapped_column(String(64), default=None)
    size_bytes: Mapped[int | None] = mapped_column(default=None)
