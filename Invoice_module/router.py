"""Tax invoices and credit notes under the order paths: the customer's (or an admin's) PDFs."""

from typing import Any

from fastapi import Response

from core.routing import APIRouter, DbSession
from core.validation import RowId
from Invoice_module.models import CreditNote
from Invoice_module.schemas import CreditNoteOut
from Invoice_module.service import DocumentFile, credit_note_pdf, credit_notes, invoice_pdf
from Orders_module.deps import ReadableOrder

router = APIRouter(prefix="/orders", tags=["invoices"])

PDF_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {"content": {"application/pdf": {}}, "description": "The document (PDF)"}
}


def _pdf(document: DocumentFile) -> Response:
    return Response(
        content=document.content,
        media_type="application/pdf",
        headers={
            "Content-Disposition": f'attachment; filename="{document.filename}"',
            "Cache-Control": "no-store",
        },
    )


@router.get("/{order_id}/invoice", response_class=Response, responses=PDF_RESPONSE)
def invoice(order: ReadableOrder, db: DbSession) -> Response:
    """The order's invoice PDF, titled by its lines (409 until the order is paid); never changes."""
    return _pdf(invoice_pdf(db, order))


@router.get("/{order_id}/credit-notes", response_model=list[CreditNoteOut])
def list_credit_notes(order: ReadableOrder, db: DbSession) -> list[CreditNote]:
    """The order's credit notes (one per processed refund), oldest first."""
    return credit_notes(db, order)


@router.get(
    "/{order_id}/credit-notes/{credit_note_id}",
    response_class=Response,
    responses=PDF_RESPONSE,
)
def credit_note(order: ReadableOrder, credit_note_id: RowId, db: DbSession) -> Response:
    """A credit note as a PDF."""
    return _pdf(credit_note_pdf(db, order, credit_note_id))
