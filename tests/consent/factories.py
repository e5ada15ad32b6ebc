"""Consent rows straight into the database, for tests of any module (cart, orders, ...)."""

from itertools import count

from sqlalchemy.orm import Session

from Consent_module.models import ConsentGrant, ConsentType, ConsentTypeVersion, ProductConsent
from Consent_module.queries import required_types
from database import utcnow
from Member_module.models import Member
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


def grant(
    db: Session,
    user_id: int,
    member: Member,
    consent_type: ConsentType,
    *,
    version: int | None = None,
) -> ConsentGrant:
    """A live grant by `user_id` for `member` of the type's current version (or `version`)."""
    row = ConsentGrant(
        user_id=user_id,
        member_id=member.id,
        consent_type_id=consent_type.id,
        code=consent_type.code,
        version=consent_type.version if version is None else version,
        granted_at=utcnow(),
        ip_address="127.0.0.1",
        user_agent="tests",
    )
    db.add(row)
    db.flush()
    return row


def grant_all_required(db: Session, user_id: int, member: Member, product: Product) -> None:
    """Give `member` every active consent `product` currently requires (checkout-ready)."""
    for consent_type in required_types(db, [product.id])[product.id]:
        grant(db, user_id, member, consent_type)
