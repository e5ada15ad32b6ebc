"""Read-only consent queries other modules need (the catalogue shows what a product requires,
orders stop a test whose consent was withdrawn)."""

from collections.abc import Iterable

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from Consent_module.models import ConsentGrant, ConsentType, ProductConsent
from database import read_rows


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


# The members' grants of the active consent types the products require, oldest first (built
# once: database.read_rows).
LATEST_GRANTS = (
    select(
        ProductConsent.product_id,
        ConsentType.id,
        ConsentType.code,
        ConsentGrant.member_id,
        ConsentGrant.withdrawn_at,
    )
    .join(ConsentType, ConsentType.id == ProductConsent.consent_type_id)
    .join(ConsentGrant, ConsentGrant.consent_type_id == ConsentType.id)
    .where(
        ProductConsent.product_id.in_(bindparam("product_ids", expanding=True)),
        ConsentType.active.is_(True),
        ConsentGrant.member_id.in_(bindparam("member_ids", expanding=True)),
    )
    .order_by(ConsentGrant.id)
)


def withdrawn_consents(
    db: Session, pairs: Iterable[tuple[int, int]], *, locking: bool = False
) -> dict[tuple[int, int], list[str]]:
    """(member id, product id) -> codes of the consents the product requires whose member's
    latest grant is withdrawn (a new grant, always of the current version, lifts it); pairs
    with none are left out. One query for any number of pairs (the order views); `locking`
    reads the grants with a shared lock (the latest committed rows; a withdrawal waits for the
    caller's commit) in a second query, so that only the grants are locked, not the catalogue.
    """
    pairs = set(pairs)
    product_ids = {product_id for _, product_id in pairs}
    member_ids = {member_id for member_id, _ in pairs}
    if not pairs:
        return {}
    # (product id -> [(type id, code)]), and whether each (member, type)'s latest grant is
    # withdrawn.
    required: dict[int, list[tuple[int, str]]] = {product_id: [] for product_id in product_ids}
    latest: dict[tuple[int, int], bool] = {}
    if locking:
        for product_id, types in required_types(db, product_ids).items():
            required[product_id] = [(t.id, t.code) for t in types]
        type_ids = {type_id for types in required.values() for type_id, _ in types}
        if not type_ids:
            return {}
        grants = (
            select(ConsentGrant.member_id, ConsentGrant.consent_type_id, ConsentGrant.withdrawn_at)
            .where(
                ConsentGrant.member_id.in_(member_ids),
                ConsentGrant.consent_type_id.in_(type_ids),
            )
            .order_by(ConsentGrant.id)
            .with_for_update(read=True)
        )
        for member_id, type_id, withdrawn_at in db.execute(grants):
            latest[(member_id, type_id)] = withdrawn_at is not None
    else:
        rows = read_rows(
            db, LATEST_GRANTS, product_ids=sorted(product_ids), member_ids=sorted(member_ids)
        )
        for product_id, type_id, code, member_id, withdrawn_at in rows:
            if (type_id, code) not in required[product_id]:
                required[product_id].append((type_id, code))
            latest[(member_id, type_id)] = withdrawn_at is not None
    result: dict[tuple[int, int], list[str]] = {}
    for member_id, product_id in pairs:
        codes = sorted(
            code for type_id, code in required[product_id] if latest.get((member_id, type_id))
        )
        if codes:
            result[(member_id, product_id)] = codes
    return result


def required_consents(db: Session, product_id: int) -> list[ConsentType]:
    """The active consent types one product requires, by code."""
    return required_types(db, [product_id])[product_id]
