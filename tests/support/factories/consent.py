"""Consent rows straight into the database, for tests of any module (cart, orders, ...)."""

import secrets
from datetime import timedelta
from itertools import count

from sqlalchemy.orm import Session

from Consent_module.models import ConsentGrant, ConsentType, ConsentTypeVersion, ProductConsent
from Consent_module.queries import required_types
from Consent_module.Request.models import ConsentRequest, ConsentRequestStatus
from core.clock import utcnow
from core.validation import mask_phone
from Member_module.models import Member
from Member_module.service import confirms_own_consent
from Product_module.models import Product

_sequence = count(1)


def make_consent_type(
    db: Session,
    code: str | None = None,
    title: str | None = None,
    body: str | None = None,
    version: int = 1,
    active: bool = True,
) -> ConsentType:
    """An active consent type at `version` with the text of every version up to it; flushed."""
    n = next(_sequence)
    code = code or f"test_consent_{n}"
    title = title or f"Test consent {n}"
    body = body or f"I agree to test consent {n}."
    consent_type = ConsentType(code=code, title=title, body=body, version=version, active=active)
    db.add(consent_type)
    db.flush()
    for number in range(1, version + 1):
        db.add(
            ConsentTypeVersion(
                consent_type_id=consent_type.id,
                version=number,
                title=title,
                body=body if number == version else f"{body} (version {number})",
            )
        )
    db.flush()
    return consent_type


def link_consent(db: Session, product: Product, consent_type: ConsentType) -> ProductConsent:
    """Make `product` require `consent_type`; flushed."""
    link = ProductConsent(product_id=product.id, consent_type_id=consent_type.id)
    db.add(link)
    db.flush()
    return link


def confirmed_request(
    db: Session, user_id: int, member: Member, consent_types: list[ConsentType]
) -> ConsentRequest:
    """A request the member has confirmed from their phone (+91 98450 0xxxx unless they
    have one); flushed."""
    phone = member.phone or f"+9198450{member.id % 100_000:05d}"
    now = utcnow()
    request = ConsentRequest(
        user_id=user_id,
        member_id=member.id,
        consents=[{"code": t.code, "version": t.version} for t in consent_types],
        token_hash=secrets.token_hex(32),
        phone_key=secrets.token_hex(16),
        phone_masked=mask_phone(phone),
        status=ConsentRequestStatus.CONFIRMED,
        expires_at=now + timedelta(hours=48),
        decided_at=now,
    )
    db.add(request)
    db.flush()
    return request


def grant(
    db: Session,
    user_id: int,
    member: Member,
    consent_type: ConsentType,
    *,
    version: int | None = None,
    by_account_holder: bool = False,
) -> ConsentGrant:
    """A live grant for `member` of the type's current version (or `version`). An adult
    member other than `self` confirmed it (through a confirmed request) unless
    `by_account_holder` (a grant from before members confirmed their own)."""
    request = None
    if confirms_own_consent(member) and not by_account_holder:
        request = confirmed_request(db, user_id, member, [consent_type])
    row = ConsentGrant(
        user_id=user_id,
        member_id=member.id,
        consent_type_id=consent_type.id,
        code=consent_type.code,
        version=consent_type.version if version is None else version,
        granted_at=utcnow(),
        ip_address="127.0.0.1",
        user_agent="tests",
        consent_request_id=request.id if request else None,
        confirmed_by_phone=request.phone_masked if request else None,
    )
    db.add(row)
    db.flush()
    return row


def grant_all_required(db: Session, user_id: int, member: Member, product: Product) -> None:
    """Give `member` every active consent `product` currently requires (checkout-ready)."""
    for consent_type in required_types(db, [product.id])[product.id]:
        grant(db, user_id, member, consent_type)
