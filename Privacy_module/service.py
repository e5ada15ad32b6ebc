"""Visitor privacy choices: receipts recorded, the latest read, and the account's share of
them in its export and erasure.

Receipts are the proof of consent (DPDP Act 2023, s.6(10): the fiduciary must be able to show
the notice and the consent). They are never audited separately: a receipt is already the
record, and an audit entry would keep the visitor's IP address and user agent, which this
feature promises not to store. The client IP is used only for the rate limits, in Redis.
"""

from uuid import UUID

from sqlalchemy import Select, select, update
from sqlalchemy.orm import Session

from config import get_settings
from core.context import current_request
from core.rate_limit import HOUR, hit_sliding_window
from database import rows_changed
from Privacy_module.errors import PrivacyChoiceNotFound
from Privacy_module.models import PrivacyChoice


def _per_ip(kind: str, limit: int) -> None:
    ip = current_request().ip
    if ip:
        hit_sliding_window(f"rl:privacy:{kind}:{ip}", limit, HOUR)


def record_choice(
    db: Session,
    user_id: int | None,
    visitor_id: UUID,
    *,
    analytics: bool,
    location: bool,
    policy_version: str,
) -> PrivacyChoice:
    """A new receipt (never an update of an earlier one), linked to the account when the
    visitor is logged in. 429 rate_limited beyond PRIVACY_CHOICES_PER_IP_PER_HOUR."""
    _per_ip("choices", get_settings().PRIVACY_CHOICES_PER_IP_PER_HOUR)
    receipt = PrivacyChoice(
        visitor_id=str(visitor_id),
        user_id=user_id,
        analytics=analytics,
        location=location,
        policy_version=policy_version,
    )
    db.add(receipt)
    db.flush()
    return receipt


def latest_choice(db: Session, visitor_id: UUID) -> PrivacyChoice:
    """The visitor's latest receipt; 404 privacy_choice_not_found if they made none. 429
    rate_limited beyond PRIVACY_LOOKUPS_PER_IP_PER_HOUR."""
    _per_ip("lookups", get_settings().PRIVACY_LOOKUPS_PER_IP_PER_HOUR)
    receipt = db.scalar(
        select(PrivacyChoice)
        .where(PrivacyChoice.visitor_id == str(visitor_id))
        .order_by(PrivacyChoice.id.desc())
        .limit(1)
    )
    if receipt is None:
        raise PrivacyChoiceNotFound()
    return receipt


def receipts_query(user_id: int) -> Select[PrivacyChoice]:
    """The receipts linked to an account, oldest first (its data export)."""
    return select(PrivacyChoice).where(PrivacyChoice.user_id == user_id).order_by(PrivacyChoice.id)


def erase_user_data(db: Session, user_id: int) -> int:
    """Account erasure: the account's receipts are kept, unlinked from it, as the proof of
    consent they are. What stays (a random visitor id, two booleans, a policy version, a time)
    names nobody once the link is gone. Returns how many were unlinked."""
    result = db.execute(
        update(PrivacyChoice)
        .where(PrivacyChoice.user_id == user_id)
        .values(user_id=None)
        .execution_options(synchronize_session=False)
    )
    return rows_changed(result)
