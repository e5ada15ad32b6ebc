"""Consent types and versions, product links, grants and withdrawals, and the checkout check."""

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, and_, bindparam, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from Audit_module.service import record_audit
from Consent_module.answers import ConsentTypeWithVersions, GrantState, GrantWithState
from Consent_module.errors import (
    ConsentAlreadyWithdrawn,
    ConsentLinkExists,
    ConsentLinkNotFound,
    ConsentNotFound,
    ConsentTypeExists,
    ConsentTypeInactive,
    ConsentTypeNotFound,
    ConsentVersionOutdated,
    MemberConfirmationRequired,
)
from Consent_module.models import ConsentGrant, ConsentType, ConsentTypeVersion, ProductConsent
from core.clock import utcnow
from core.context import current_request
from database import locked, read_rows
from Member_module.errors import MemberNotFound
from Member_module.models import Member
from Member_module.service import confirms_own_consent, members_query


@dataclass(frozen=True)
class CheckoutLine:
    """A product and the members it is bought for, as checkout sees a cart item."""

    product_id: int
    member_ids: tuple[int, ...]


# --- types and versions ----------------------------------------------------------------------


def list_types(db: Session, *, include_inactive: bool = False) -> list[ConsentType]:
    statement = select(ConsentType).order_by(ConsentType.code)
    if not include_inactive:
        statement = statement.where(ConsentType.active.is_(True))
    return list(db.scalars(statement))


def get_type(db: Session, code: str, *, for_update: bool = False) -> ConsentType:
    statement = select(ConsentType).where(ConsentType.code == code)
    if for_update:
        # The latest committed row, also over a copy this session already holds.
        statement = locked(statement)
    consent_type = db.scalar(statement)
    if consent_type is None:
        raise ConsentTypeNotFound()
    return consent_type


def create_type(
    db: Session, code: str, title: str, body: str, actor_user_id: int | None
) -> ConsentType:
    if db.scalar(select(ConsentType.id).where(ConsentType.code == code)) is not None:
        raise ConsentTypeExists()
    consent_type = ConsentType(code=code, title=title, body=body, version=1, active=True)
    db.add(consent_type)
    try:
        db.flush()
    except IntegrityError as exc:
        raise ConsentTypeExists() from exc
    db.add(ConsentTypeVersion(consent_type_id=consent_type.id, version=1, title=title, body=body))
    record_audit(
        db,
        action="consent_type.created",
        entity_type="consent_type",
        entity_id=consent_type.id,
        actor_user_id=actor_user_id,
        changes={"code": code, "title": title, "version": 1},
    )
    return consent_type


def publish_version(
    db: Session, code: str, title: str | None, body: str, actor_user_id: int
) -> ConsentType:
    """A new text becomes current; grants of older versions stop counting at checkout."""
    consent_type = get_type(db, code, for_update=True)
    old_version = consent_type.version
    consent_type.version = old_version + 1
    consent_type.title = title or consent_type.title
    consent_type.body = body
    db.add(
        ConsentTypeVersion(
            consent_type_id=consent_type.id,
            version=consent_type.version,
            title=consent_type.title,
            body=body,
        )
    )
    record_audit(
        db,
        action="consent_type.version_published",
        entity_type="consent_type",
        entity_id=consent_type.id,
        actor_user_id=actor_user_id,
        changes={"version": {"old": old_version, "new": consent_type.version}},
    )
    return consent_type


def set_type_active(db: Session, code: str, active: bool, actor_user_id: int) -> ConsentType:
    consent_type = get_type(db, code, for_update=True)
    if consent_type.active != active:
        record_audit(
            db,
            action="consent_type.updated",
            entity_type="consent_type",
            entity_id=consent_type.id,
            actor_user_id=actor_user_id,
            changes={"active": {"old": consent_type.active, "new": active}},
        )
        consent_type.active = active
    return consent_type


def type_with_versions(db: Session, code: str) -> ConsentTypeWithVersions:
    """A consent type with the text of every version ever published."""
    consent_type = get_type(db, code)
    return ConsentTypeWithVersions(consent_type, type_versions(db, consent_type))


def type_versions(db: Session, consent_type: ConsentType) -> list[ConsentTypeVersion]:
    return list(
        db.scalars(
            select(ConsentTypeVersion)
            .where(ConsentTypeVersion.consent_type_id == consent_type.id)
            .order_by(ConsentTypeVersion.version)
        )
    )


# --- product links -----------------------------------------------------------------------------


def link_product(
    db: Session, product_id: int, code: str, actor_user_id: int | None
) -> ProductConsent:
    """Make the product require the consent; the caller has checked that the product exists."""
    consent_type = get_type(db, code)
    existing = db.scalar(
        select(ProductConsent).where(
            ProductConsent.product_id == product_id,
            ProductConsent.consent_type_id == consent_type.id,
        )
    )
    if existing is not None:
        raise ConsentLinkExists()
    link = ProductConsent(product_id=product_id, consent_type_id=consent_type.id)
    db.add(link)
    try:
        db.flush()
    except IntegrityError as exc:
        raise ConsentLinkExists() from exc
    record_audit(
        db,
        action="consent_link.created",
        entity_type="product",
        entity_id=product_id,
        actor_user_id=actor_user_id,
        changes={"consent_code": code},
    )
    return link


def unlink_product(db: Session, product_id: int, code: str, actor_user_id: int) -> None:
    """Remove a link; a locking read, so of simultaneous unlinks only one deletes and audits."""
    consent_type = get_type(db, code)
    link = db.scalar(
        select(ProductConsent)
        .where(
            ProductConsent.product_id == product_id,
            ProductConsent.consent_type_id == consent_type.id,
        )
        .with_for_update()
    )
    if link is None:
        raise ConsentLinkNotFound()
    db.delete(link)
    record_audit(
        db,
        action="consent_link.deleted",
        entity_type="product",
        entity_id=product_id,
        actor_user_id=actor_user_id,
        changes={"consent_code": code},
    )


# --- grants ------------------------------------------------------------------------------------


def grants_query(user_id: int, member_id: int | None = None) -> Select[ConsentGrant]:
    statement = (
        select(ConsentGrant)
        .where(ConsentGrant.user_id == user_id)
        .order_by(ConsentGrant.granted_at.desc(), ConsentGrant.id.desc())
    )
    if member_id is not None:
        statement = statement.where(ConsentGrant.member_id == member_id)
    return statement


def lock_member(db: Session, user_id: int, member_id: int) -> Member:
    """One of my live members, row-locked until commit (someone else's or deleted: 404)."""
    member = db.scalar(members_query(user_id).where(Member.id == member_id).with_for_update())
    if member is None:
        raise MemberNotFound()
    return member


def grant_consent(
    db: Session, user_id: int, member_id: int, code: str, version: int
) -> ConsentGrant:
    """Record a member's consent to the current version (an identical live grant is reused).

    The member row is locked and the live grant read with a locking read (the latest committed
    rows, not the transaction's snapshot), so simultaneous identical grants make one row."""
    member = lock_member(db, user_id, member_id)
    if confirms_own_consent(member):
        raise MemberConfirmationRequired()
    consent_type = get_type(db, code)
    if not consent_type.active:
        raise ConsentTypeInactive()
    if version != consent_type.version:
        raise ConsentVersionOutdated(
            details=[{"code": code, "current_version": consent_type.version}]
        )
    existing = db.scalar(
        grants_query(user_id, member.id)
        .where(
            ConsentGrant.consent_type_id == consent_type.id,
            ConsentGrant.version == version,
            ConsentGrant.withdrawn_at.is_(None),
        )
        .limit(1)
        .with_for_update()
    )
    if existing is not None:
        return existing
    return record_grant(db, user_id, member.id, consent_type, actor_user_id=user_id)


def record_grant(
    db: Session,
    user_id: int,
    member_id: int,
    consent_type: ConsentType,
    *,
    actor_user_id: int | None,
    request_id: int | None = None,
    confirmed_by_phone: str | None = None,
) -> ConsentGrant:
    """A new grant of the type's current version, with the caller's IP and user agent, audited.
    `request_id`/`confirmed_by_phone`: the member confirmed it themselves (no actor)."""
    context = current_request()
    grant = ConsentGrant(
        user_id=user_id,
        member_id=member_id,
        consent_type_id=consent_type.id,
        code=consent_type.code,
        version=consent_type.version,
        granted_at=utcnow(),
        ip_address=context.ip,
        user_agent=context.user_agent,
        consent_request_id=request_id,
        confirmed_by_phone=confirmed_by_phone,
    )
    db.add(grant)
    db.flush()
    changes: dict[str, Any] = {"member_id": member_id, "code": grant.code, "version": grant.version}
    if request_id is not None:
        changes |= {"consent_request_id": request_id, "confirmed_by": confirmed_by_phone}
    record_audit(
        db,
        action="consent.granted",
        entity_type="consent_grant",
        entity_id=grant.id,
        actor_user_id=actor_user_id,
        changes=changes,
    )
    return grant


def withdraw_consent(db: Session, user_id: int, grant_id: int) -> ConsentGrant:
    grant = db.scalar(grants_query(user_id).where(ConsentGrant.id == grant_id).with_for_update())
    if grant is None:
        raise ConsentNotFound()
    if grant.withdrawn_at is not None:
        raise ConsentAlreadyWithdrawn()
    record_withdrawal(db, grant, actor_user_id=user_id)
    return grant


def record_withdrawal(
    db: Session, grant: ConsentGrant, *, actor_user_id: int | None, **extra: Any
) -> None:
    """Stamp a live grant (locked by the caller) withdrawn, audited; `extra` goes in the entry."""
    grant.withdrawn_at = utcnow()
    record_audit(
        db,
        action="consent.withdrawn",
        entity_type="consent_grant",
        entity_id=grant.id,
        actor_user_id=actor_user_id,
        changes={
            "member_id": grant.member_id,
            "code": grant.code,
            "version": grant.version,
            **extra,
        },
    )


def current_versions(db: Session, type_ids: Iterable[int]) -> dict[int, int]:
    ids = set(type_ids)
    if not ids:
        return {}
    rows = db.execute(select(ConsentType.id, ConsentType.version).where(ConsentType.id.in_(ids)))
    return {type_id: version for type_id, version in rows}


def grant_state(grant: ConsentGrant, current_versions: dict[int, int]) -> GrantState:
    if grant.withdrawn_at is not None:
        return GrantState.WITHDRAWN
    if current_versions.get(grant.consent_type_id) != grant.version:
        return GrantState.OUTDATED
    return GrantState.ACTIVE


def with_states(db: Session, grants: Iterable[ConsentGrant]) -> list[GrantWithState]:
    """Each grant with its state (one query for the current versions, any number of grants)."""
    grants = list(grants)
    versions = current_versions(db, {grant.consent_type_id for grant in grants})
    return [GrantWithState(grant, grant_state(grant, versions)) for grant in grants]


@dataclass(frozen=True)
class RequiredType:
    id: int
    code: str
    version: int


# The consent types the products require (active ones), each with the user's live grants of
# its current version for the given members; by code.
REQUIRED_WITH_GRANTS = (
    select(
        ProductConsent.product_id,
        ConsentType.id.label("type_id"),
        ConsentType.code,
        ConsentType.version,
        ConsentGrant.member_id,
        ConsentGrant.consent_request_id,
    )
    .join(ConsentType, ConsentType.id == ProductConsent.consent_type_id)
    .outerjoin(
        ConsentGrant,
        and_(
            ConsentGrant.consent_type_id == ConsentType.id,
            ConsentGrant.version == ConsentType.version,
            ConsentGrant.user_id == bindparam("user_id"),
            ConsentGrant.member_id.in_(bindparam("member_ids", expanding=True)),
            ConsentGrant.withdrawn_at.is_(None),
        ),
    )
    .where(
        ProductConsent.product_id.in_(bindparam("product_ids", expanding=True)),
        ConsentType.active.is_(True),
    )
    .order_by(ConsentType.code)
)


def missing_consents(
    db: Session,
    user_id: int,
    lines: Iterable[CheckoutLine],
    confirming: Collection[int] = frozenset(),
) -> list[dict[str, Any]]:
    """Every `{member_id, product_id, code}` lacking a live grant of the current version, in
    cart order, each once; one query whatever the number of lines and members. A member in
    `confirming` (an adult other than the account holder) needs a grant they confirmed
    themselves; theirs are marked `reason: member_confirmation_required`."""
    lines = list(lines)
    product_ids = {line.product_id for line in lines}
    member_ids = {member_id for line in lines for member_id in line.member_ids}
    required: dict[int, list[RequiredType]] = {product_id: [] for product_id in product_ids}
    granted: set[tuple[int, int, int]] = set()
    if not product_ids:
        return []
    # The required types with this user's live grants of their current version, in one query
    # (built once: database.read_rows).
    rows = read_rows(
        db,
        REQUIRED_WITH_GRANTS,
        user_id=user_id,
        member_ids=sorted(member_ids),
        product_ids=sorted(product_ids),
    )
    for row in rows:
        consent_type = RequiredType(row.type_id, row.code, row.version)
        if consent_type not in required[row.product_id]:
            required[row.product_id].append(consent_type)
        if row.member_id is not None and (
            row.member_id not in confirming or row.consent_request_id is not None
        ):
            granted.add((row.member_id, consent_type.id, consent_type.version))
    missing: list[dict[str, Any]] = []
    seen: set[tuple[int, int, int]] = set()
    for line in lines:
        for member_id in line.member_ids:
            for consent_type in required[line.product_id]:
                key = (member_id, line.product_id, consent_type.id)
                if key in seen:
                    continue
                seen.add(key)
                if (member_id, consent_type.id, consent_type.version) not in granted:
                    entry = {
                        "member_id": member_id,
                        "product_id": line.product_id,
                        "code": consent_type.code,
                    }
                    if member_id in confirming:
                        entry["reason"] = "member_confirmation_required"
                    missing.append(entry)
    return missing
