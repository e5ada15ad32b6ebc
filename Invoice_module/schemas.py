from datetime import datetime

from pydantic import BaseModel, ConfigDict


class CreditNoteOut(BaseModel):
    """A credit note of the order (its PDF: `/orders/{order_id}/credit-notes/{id}`)."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    number: str
    refund_id: int
    amount_paise: int
    issued_at: datetime
