"""What the ABDM routes answer, built from the rows (the schemas read them by attribute)."""

from dataclasses import dataclass
from datetime import datetime

from Abdm_module.models import AbdmCareContext, AbdmTransfer, LinkStatus, TransferState
from core.validation import mask_abha_number
from Member_module.models import Member


@dataclass(frozen=True)
class LinkRow:
    id: int
    member_id: int
    order_id: int
    item_id: int
    status: LinkStatus
    error_code: str | None
    linked_at: datetime | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, row: AbdmCareContext) -> "LinkRow":
        return cls(
            row.id,
            row.member_id,
            row.order_id,
            row.order_item_id,
            row.status,
            row.error_code,
            row.linked_at,
            row.created_at,
            row.updated_at,
        )


@dataclass(frozen=True)
class AbhaView:
    abha_number: str | None
    abha_address: str | None
    care_contexts: list[LinkRow]

    @classmethod
    def of(cls, member: Member, rows: list[AbdmCareContext]) -> "AbhaView":
        return cls(
            mask_abha_number(member.abha_number) if member.abha_number else None,
            member.abha_address,
            [LinkRow.of(row) for row in rows],
        )


@dataclass(frozen=True)
class TransferRow:
    id: int
    transaction_id: str
    consent_id: str
    state: TransferState
    care_contexts: list[dict[str, str]]
    attempts: int
    error_code: str | None
    created_at: datetime
    done_at: datetime | None

    @classmethod
    def of(cls, row: AbdmTransfer) -> "TransferRow":
        return cls(
            row.id,
            row.transaction_id,
            row.consent_id,
            row.state,
            row.statuses,
            row.attempts,
            row.error_code,
            row.created_at,
            row.done_at,
        )
