"""Consent answers as their schemas shape them."""

from dataclasses import dataclass
from enum import StrEnum

from Consent_module.models import ConsentGrant, ConsentType, ConsentTypeVersion
from core.answers import ReadsThrough


class GrantState(StrEnum):
    """A grant's state: withdrawn, outdated (an older version than the current) or active."""

    ACTIVE = "active"
    OUTDATED = "outdated"
    WITHDRAWN = "withdrawn"


@dataclass(frozen=True)
class ConsentTypeWithVersions(ReadsThrough):
    """A consent type and every version ever published; reads through to the type."""

    consent_type: ConsentType
    versions: list[ConsentTypeVersion]


@dataclass(frozen=True)
class GrantWithState(ReadsThrough):
    """A grant and its state against the current versions; reads through to the grant."""

    grant: ConsentGrant
    status: GrantState
