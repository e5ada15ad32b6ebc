"""Family members: at most one `self`, a per-user limit, soft delete, every change audited."""

from collections.abc import Callable
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from Audit_module.service import diff, record_audit
from config import get_settings
from database import utcnow
from Login_module.models import User
from Member_module.errors import MemberInUse, MemberLimitReached, MemberNotFound, SelfMemberExists
from Member_module.models import Member

ENTITY = "member"
FIELDS = ("name", "relation", "date_of_birth", "gender", "phone")

MemberInUseCheck = Callable[[Session, int], bool]

# Modules that hold on to members (the cart, unfinished orders) register a check here; a member
# any check reports as in use (given the session and the member id) cannot be deleted.
MEMBER_IN_USE_CHECKS: list[MemberInUseCheck] = []


def register_member_in_use_check(check: MemberInUseCheck) -> MemberInUseCheck:
    """Register `check(db, member_id) -> bool`; usable as a decorator, idempotent."""
    if check not in MEMBER_IN_USE_CHECKS:
        MEMBER_IN_USE_CHECKS.append(check)
    return check


def lock_user(db: Session, user_id: int) -> None:
    """Serialise a user's member changes: counts and the single `self` hold under concurrency."""
    db.execute(select(User.id).where(User.id == user_id).with_for_update())


def members_query(user_id: int) -> Select[tuple[Member]]:
    """My members that are not deleted, oldest first."""
    return (
        select(Member)
        .where(Member.user_id == user_id, Member.is_deleted.is_(False))
        .order_by(Member.id)
    )


def get_member(db: Session, user_id: int, member_id: int, *, for_update: bool = False) -> Member:
    """One of my members; someone else's or a deleted one is MemberNotFound."""
    statement = members_query(user_id).where(Member.id == member_id)
    if for_update:
        statement = statement.with_for_update()
    member = db.scalar(statement)
    if member is None:
        raise MemberNotFound()
    return member


def _snapshot(member: Member) -> dict[str, Any]:
    return {field: getattr(member, field) for field in FIELDS}


def _has_self(db: Session, user_id: int, except_id: int | None = None) -> bool:
    statement = members_query(user_id).where(Member.relation == "self")
    if except_id is not None:
        statement = statement.where(Member.id != except_id)
    return db.scalar(statement.limit(1)) is not None


def create_member(db: Session, user_id: int, data: dict[str, Any]) -> Member:
    lock_user(db, user_id)
    count = db.scalar(
        select(func.count())
        .select_from(Member)
        .where(Member.user_id == user_id, Member.is_deleted.is_(False))
    )
    if (count or 0) >= get_settings().MAX_MEMBERS_PER_USER:
        raise MemberLimitReached()
    if data["relation"] == "self" and _has_self(db, user_id):
        raise SelfMemberExists()
    member = Member(user_id=user_id, **{field: data.get(field) for field in FIELDS})
    db.add(member)
    db.flush()
    record_audit(
        db,
        action="member.created",
        entity_type=ENTITY,
        entity_id=member.id,
        actor_user_id=user_id,
        changes=_snapshot(member),
    )
    return member


def update_member(db: Session, user_id: int, member_id: int, changes: dict[str, Any]) -> Member:
    if changes.get("relation") == "self":
        lock_user(db, user_id)
    member = get_member(db, user_id, member_id)
    if changes.get("relation") == "self" and _has_self(db, user_id, except_id=member.id):
        raise SelfMemberExists()
    old = _snapshot(member)
    for field, value in changes.items():
        setattr(member, field, value)
    changed = diff(old, _snapshot(member))
    if changed:
        db.flush()
        record_audit(
            db,
            action="member.updated",
            entity_type=ENTITY,
            entity_id=member.id,
            actor_user_id=user_id,
            changes=changed,
        )
    return member


def is_member_in_use(db: Session, member_id: int) -> bool:
    return any(check(db, member_id) for check in MEMBER_IN_USE_CHECKS)


def delete_member(db: Session, user_id: int, member_id: int) -> None:
    """Soft delete, refused while the cart or an unfinished order holds the member.

    The member row stays locked until commit, so a cart or order that locks the member before
    taking it cannot slip in between the check and the delete.
    """
    member = get_member(db, user_id, member_id, for_update=True)
    if is_member_in_use(db, member.id):
        raise MemberInUse()
    member.is_deleted = True
    member.deleted_at = utcnow()
    db.flush()
    record_audit(
        db,
        action="member.deleted",
        entity_type=ENTITY,
        entity_id=member.id,
        actor_user_id=user_id,
        changes={"name": member.name, "relation": member.relation},
    )
