"""Read-only consent queries other modules need (the catalogue shows what a product requires)."""

from collections.abc import Iterable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from Consent_module.models import ConsentType, ProductConsent


def required_types(db: Session, product_ids: Iterable[int]) -> dict[int, list[ConsentType]]:
    """product id -> the active consent types it requires (one query for any number)."""
    ids = set(product_ids)
    result: dict[int, list[ConsentType]] = {product_id: [] for product_id in ids}
    if not ids:
        return result
    rows = db.execute(
        select(ProductConsent.product_id, ConsentType)
        .join(ConsentType, ConsentType.id == ProductConsent.consent_type_id)
        .where(ProductConsent.product_id.in_(ids), ConsentType.active.is_(True))
        .order_by(ConsentType.code)
    ).all()
    for product_id, consent_type in rows:
        result[product_id].append(consent_type)
    return result


def required_consents_view(db: Session, product_id: int) -> list[dict[str, Any]]:
    return [
        {"code": t.code, "title": t.title, "version": t.version}
        for t in required_types(db, [product_id])[product_id]
    ]
