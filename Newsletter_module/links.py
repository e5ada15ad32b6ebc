"""The signed links of the newsletter's e-mails: confirm (works CONFIRM_LINK_DAYS) and
unsubscribe (works as long as the subscription exists).

A token is `<subscription id>.<account id or 0>.<expiry, Unix seconds, or 0>.<signature>`; the
signature is HMAC-SHA256, under a key derived from SECRET_KEY for the link's purpose, over those
numbers and the subscription's address. So a token works for one purpose, one address and one
subscription row (erased, the row takes its tokens with it), nothing in it can be changed, and
it never carries the address itself (URLs end up in logs and browser histories)."""

import base64
import hashlib
import hmac
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from urllib.parse import quote

from config import get_settings

CONFIRM_LINK_DAYS = 7
_TOKEN = re.compile(r"^(\d{1,10})\.(\d{1,10})\.(\d{1,12})\.([A-Za-z0-9_-]{43})$", re.ASCII)


class Purpose(StrEnum):
    CONFIRM = "confirm"
    UNSUBSCRIBE = "unsubscribe"


@dataclass(frozen=True)
class Claims:
    """What a well-formed token says (not yet checked against its subscription)."""

    subscription_id: int
    user_id: int | None
    expires_at: int | None
    signature: str

    @property
    def payload(self) -> str:
        return f"{self.subscription_id}.{self.user_id or 0}.{self.expires_at or 0}"


def _signature(purpose: Purpose, payload: str, email: str) -> str:
    secret = get_settings().SECRET_KEY.get_secret_value().encode()
    key = hmac.new(secret, f"newsletter-link:{purpose.value}".encode(), hashlib.sha256).digest()
    digest = hmac.new(key, f"{payload}\n{email}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def sign(
    purpose: Purpose,
    subscription_id: int,
    email: str,
    *,
    user_id: int | None = None,
    expires_at: datetime | None = None,
) -> str:
    expiry = int(expires_at.timestamp()) if expires_at is not None else None
    claims = Claims(subscription_id, user_id, expiry, "")
    return f"{claims.payload}.{_signature(purpose, claims.payload, email)}"


def read(token: str) -> Claims | None:
    """The token's claims if it is well formed (its signature is checked by `holds`)."""
    match = _TOKEN.match(token)
    if match is None:
        return None
    subscription_id, user_id, expires_at, signature = match.groups()
    return Claims(int(subscription_id), int(user_id) or None, int(expires_at) or None, signature)


def holds(purpose: Purpose, claims: Claims, email: str, now: datetime) -> bool:
    """Whether the token was signed for this purpose and address, and has not expired."""
    expected = _signature(purpose, claims.payload, email)
    if not hmac.compare_digest(expected, claims.signature):
        return False
    return claims.expires_at is None or now.timestamp() < claims.expires_at


def confirm_expiry(now: datetime) -> datetime:
    return now + timedelta(days=CONFIRM_LINK_DAYS)


def url(purpose: Purpose, token: str) -> str:
    """The absolute link on the API's public address."""
    return f"{get_settings().public_api_url}/newsletter/{purpose.value}?token={quote(token)}"
