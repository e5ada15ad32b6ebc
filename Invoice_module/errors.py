from core.errors import AppError, ConflictError, NotFoundError


class InvoiceNotAvailable(ConflictError):
    code = "invoice_not_available"
    message = "This order has no invoice yet: it is issued once the order is paid."


class CreditNoteNotFound(NotFoundError):
    code = "credit_note_not_found"
    message = "Credit note not found."


class InvoiceUnreadable(AppError):
    """The stored PDF is missing, does not open with our keys, or is not the file rendered
    (SHA-256): never served."""

    status_code = 500
    code = "invoice_unreadable"
    message = "The stored invoice could not be read back intact."
