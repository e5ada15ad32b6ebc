"""Issuing tax invoices and credit notes, and serving their PDFs.

An invoice is issued in the transaction that makes its order paid (Orders' `on_order_paid`
hook): numbered, its content computed and audited there, so a payment that rolls back leaves no
invoice and uses no number. A credit note is issued the same way when a refund of the order's
payment is processed (`on_refund_processed`).

The PDF is rendered the first time it is asked for, under the document's row lock (so two
first requests render once), stored sealed before the commit and deleted if the transaction
rolls back; from then on the stored bytes are served, checked against their SHA-256.
"""

import hashlib
import logging
import uuid
from dataclasses import dataclass
from typing import TypeVar

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from Audit_module.service import record_audit
from core.clock import utcnow
from core.storage import (
    StoredFileUnreadable,
    check_key,
    delete_quietly,
    get_sealed_storage,
    read_verified,
)
from database import locked, on_rollback
from Invoice_module.content import credit_note_content, invoice_content, issued_kind
from Invoice_module.errors import CreditNoteNotFound, InvoiceNotAvailable, InvoiceUnreadable
from Invoice_module.models import CreditNote, DocumentSeries, Invoice
from Invoice_module.numbering import document_number, financial_year, take_sequence
from Invoice_module.pdf import render_pdf
from Login_module.models import User
from Orders_module.models import Order, Refund

logger = logging.getLogger("nucleotide.invoices")

Document = TypeVar("Document", Invoice, CreditNote)


def issue_invoice(db: Session, order: Order) -> Invoice:
    """The order's invoice (titled by its lines), numbered now (the order has just been paid)."""
    existing = db.scalar(select(Invoice).where(Invoice.order_id == order.id))
    if existing is not None:
        return existing
    issued_at = order.paid_at or utcnow()
    fy = financial_year(issued_at)
    seq = take_sequence(db, DocumentSeries.INVOICE, fy)
    number = document_number(DocumentSeries.INVOICE, fy, seq)
    user = db.get(User, order.user_id)
    content = invoice_content(order, user.name if user else None, number, issued_at)
    invoice = Invoice(
        order_id=order.id,
        number=number,
        fy=fy,
        seq=seq,
        issued_at=issued_at,
        total_paise=order.total_paise,
        kind=issued_kind(content),
        content=content,
    )
    db.add(invoice)
    db.flush()
    record_audit(
        db,
        action="invoice.issued",
        entity_type="invoice",
        entity_id=invoice.id,
        changes={
            "order_id": order.id,
            "number": number,
            "kind": invoice.kind.value,
            "total_paise": order.total_paise,
        },
    )
    return invoice


def issue_credit_note(db: Session, order: Order, refund: Refund) -> CreditNote | None:
    """The credit note of a processed refund of the order's own (invoiced) payment; none for a
    stray payment's refund, or an order paid before invoices existed."""
    existing = db.scalar(select(CreditNote).where(CreditNote.refund_id == refund.id))
    if existing is not None:
        return existing
    payment = next((p for p in order.payments if p.id == refund.payment_id), None)
    invoice = db.scalar(select(Invoice).where(Invoice.order_id == order.id))
    if payment is None or payment.stray_reason is not None or invoice is None:
        return None
    credited = db.scalar(
        select(func.coalesce(func.sum(CreditNote.amount_paise), 0)).where(
            CreditNote.invoice_id == invoice.id
        )
    )
    amount = min(refund.amount_paise, invoice.total_paise - int(credited or 0))
    if amount <= 0:
        return None
    issued_at = utcnow()
    fy = financial_year(issued_at)
    seq = take_sequence(db, DocumentSeries.CREDIT_NOTE, fy)
    number = document_number(DocumentSeries.CREDIT_NOTE, fy, seq)
    note = CreditNote(
        order_id=order.id,
        invoice_id=invoice.id,
        refund_id=refund.id,
        number=number,
        fy=fy,
        seq=seq,
        issued_at=issued_at,
        amount_paise=amount,
        content=credit_note_content(
            invoice.content, invoice.number, order, amount, number, issued_at
        ),
    )
    db.add(note)
    db.flush()
    record_audit(
        db,
        action="credit_note.issued",
        entity_type="credit_note",
        entity_id=note.id,
        changes={
            "order_id": order.id,
            "refund_id": refund.id,
            "invoice_number": invoice.number,
            "number": number,
            "amount_paise": amount,
        },
    )
    return note


@dataclass(frozen=True)
class DocumentFile:
    content: bytes
    filename: str


def _filename(number: str) -> str:
    return f"{number.replace('/', '-')}.pdf"


def invoice_pdf(db: Session, order: Order) -> DocumentFile:
    """The order's invoice as PDF (not paid: 409)."""
    invoice = db.scalar(select(Invoice).where(Invoice.order_id == order.id))
    if invoice is None:
        raise InvoiceNotAvailable()
    return DocumentFile(_stored_pdf(db, invoice, "invoices"), _filename(invoice.number))


def credit_notes(db: Session, order: Order) -> list[CreditNote]:
    return list(
        db.scalars(
            select(CreditNote).where(CreditNote.order_id == order.id).order_by(CreditNote.id)
        )
    )


def credit_note_pdf(db: Session, order: Order, credit_note_id: int) -> DocumentFile:
    note = db.scalar(
        select(CreditNote).where(CreditNote.id == credit_note_id, CreditNote.order_id == order.id)
    )
    if note is None:
        raise CreditNoteNotFound()
    return DocumentFile(_stored_pdf(db, note, "credit-notes"), _filename(note.number))


def _locked(db: Session, document: Document) -> Document:
    model = type(document)
    statement: Select[Document] = locked(select(model).where(model.id == document.id))
    return db.scalars(statement).one()


def _stored_pdf(db: Session, document: Document, folder: str) -> bytes:
    """The stored PDF; rendered and stored first if this is the first time it is asked for."""
    if document.storage_key is None:
        # Two first requests at once: the second waits here, then reads the first's file.
        document = _locked(db, document)
    if document.storage_key is not None:
        return _read(document)
    content = render_pdf(document.content)
    key = check_key(f"{folder}/{document.order_id}/{document.id}-{uuid.uuid4().hex}.pdf.sealed")
    get_sealed_storage().put(key, content)
    on_rollback(db, lambda _session: delete_quietly(key))
    document.storage_key = key
    document.sha256 = hashlib.sha256(content).hexdigest()
    document.size_bytes = len(content)
    db.flush()
    return content


def _read(document: Invoice | CreditNote) -> bytes:
    assert document.storage_key is not None and document.sha256 is not None
    try:
        return read_verified(document.storage_key, document.sha256)
    except StoredFileUnreadable as exc:
        logger.error("%s %s unreadable: %s", type(document).__name__, document.id, exc)
        raise InvoiceUnreadable() from exc
