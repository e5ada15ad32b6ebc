"""Consent requests as their schemas shape them."""

from dataclasses import dataclass

from Consent_module.Request.models import ConsentRequest, ConsentRequestStatus
from core.answers import ReadsThrough


@dataclass(frozen=True)
class RequestAnswer(ReadsThrough):
    """A request with its status as of now (a pending one past its expiry is `expired`)."""

    request: ConsentRequest
    status: ConsentRequestStatus
    codes: list[str]
