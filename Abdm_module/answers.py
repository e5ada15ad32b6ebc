"""What the ABDM routes answer beyond their rows (the schemas read rows by attribute)."""

from dataclasses import dataclass

from Abdm_module.models import AbdmCareContext
from core.validation import mask_abha_number
from Member_module.models import Member


@dataclass(frozen=True)
class AbhaView:
    abha_number: str | None
    abha_address: str | None
    care_contexts: list[AbdmCareContext]

    @classmethod
    def of(cls, member: Member, rows: list[AbdmCareContext]) -> "AbhaView":
        return cls(
            mask_abha_number(member.abha_number) if member.abha_number else None,
            member.abha_address,
            rows,
        )
