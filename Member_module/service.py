"""Family members: at most one `self`, a per-user limit, an ABHA shared by no two live members
of an account, soft delete, every change audited."""

from datetime import date
from typing import Any

from sqlalchemy import Select, bindparam, select
from sqlalchemy.orm import Session

from Audit_module.service import diff, personal_changes, record_audit
from config import get_settings
from core.clock import today_ist, utcnow
from core.hooks import Hook
from database import locked, row_select
from Login_module.locks import lock_user
from Member_module.errors import (
    AbhaInUse,
    MemberInUse,
    MemberLimitReached,
    MemberNotFound,
    SelfMemberExists,
)
from Member_module.models import Member
from Member_module.schemas import MemberIn, MemberUpdateIn

ENTITY = "member"
ADULT_AGE = 18
ABHA_FIELDS = ("abha_number", "abha_address")
FIELDS = ("name", "relation", "date_of_birth", "gender", "phone", *ABHA_FIELDS)

# Modules that hold on to members (the cart, unfinished orders) answer `check(db, member_id)
# -> bool`, connected in main.wire_hooks; a member any check reports as in use cannot be
# deleted. A check runs while the member row is locked; it should read with a locking read
# (`with_for_update()` or FOR SHARE) so it sees rows committed after the request's first read.
member_in_use: Hook[[Session, int]] = Hook("member_in_use", required=True)


def lock_live_members(db: Session, user_id: int) -> list[Member]:
    """Lock the user, then lock and read their members that are not deleted (always in this
    order, so concurrent member writes cannot deadlock)."""
    lock_user(db, user_id)
    return list(db.scalars(locked(members_query(user_id))))


def members_query(user_id: int) -> Select[Member]:
    """My members that are not deleted, oldest first."""
    return (
        select(Member)
        .where(Member.user_id == user_id, Member.is_deleted.is_(False))
        .order_by(Member.id)
    )


# `members_query` as rows, built once, for the list (docs/performance.md): bind `user_id`.
MEMBER_ROWS = (
    row_select(Member)
    .where(Member.user_id == bindparam("user_id"), Member.is_deleted.is_(False))
    .order_by(Member.id)
)


def get_member(db: Session, user_id: int, member_id: int) -> Member:
    """One of my members; someone else's or a deleted one is MemberNotFound."""
    member = db.scalar(members_query(user_id).where(Member.id == member_id))
    if member is None:
        raise MemberNotFound()
    return member


def _find(members: list[Member], member_id: int) -> Member:
    for member in members:
        if member.id == member_id:
            return member
    raise MemberNotFound()


def _snapshot(member: Member) -> dict[str, Any]:
    return {field: getattr(member, field) for field in FIELDS}


def _created(member: Member) -> dict[str, Any]:
    """What a member.created entry records: every field, the ABHA only when given (most
    members have none)."""
    return {
        field: value
        for field, value in _snapshot(member).items()
        if value is not None or field not in ABHA_FIELDS
    }


def _has_self(members: list[Member], except_id: int | None = None) -> bool:
    return any(m.relation == "self" and m.id != except_id for m in members)


def _refuse_shared_abha(
    members: list[Member], values: dict[str, Any], except_id: int | None = None
) -> None:
    """An ABHA number or address names one person: two live members of one account cannot
    share it (AbhaInUse). Other accounts may hold the same one (a relative added by each)."""
    for field in ABHA_FIELDS:
        value = values.get(field)
        if value is not None and any(
            getattr(m, field) == value and m.id != except_id for m in members
        ):
            raise AbhaInUse()


def create_member(db: Session, user_id: int, data: MemberIn) -> Member:
    members = lock_live_members(db, user_id)
    if len(members) >= get_settings().MAX_MEMBERS_PER_USER:
        raise MemberLimitReached()
    if data.relation == "self" and _has_self(members):
        raise SelfMemberExists()
    _refuse_shared_abha(members, {field: getattr(data, field) for field in ABHA_FIELDS})
    member = Member(user_id=user_id, **{field: getattr(data, field) for field in FIELDS})
    db.add(member)
    db.flush()
    record_audit(
        db,
        action="member.created",
        entity_type=ENTITY,
        entity_id=member.id,
        actor_user_id=user_id,
        changes=personal_changes(_created(member)),
    )
    return member


def update_member(db: Session, user_id: int, member_id: int, body: MemberUpdateIn) -> Member:
    changes = body.changes()
    members = lock_live_members(db, user_id)
    member = _find(members, member_id)
    if changes.get("relation") == "self" and _has_self(members, except_id=member.id):
        raise SelfMemberExists()
    _refuse_shared_abha(members, changes, except_id=member.id)
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
            changes=personal_changes(changed),
        )
    return member


def is_member_in_use(db: Session, member_id: int) -> bool:
    return any(member_in_use.results(db, member_id))


def delete_member(db: Session, user_id: int, member_id: int) -> None:
    """Soft delete, refused while the cart or an unfinished order holds the member.

    The member row stays locked until commit, so a cart or order that locks the member before
    taking it cannot slip in between the check and the delete.
    """
    member = _find(lock_live_members(db, user_id), member_id)
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
        changes=personal_changes({"name": member.name, "relation": member.relation}),
    )


# --- account erasure ---------------------------------------------------------------------

# What an erased member holds instead (in the row and in order snapshots). members.date_of_birth
# is NOT NULL: a fixed placeholder, not even the year is kept.
ERASED_MEMBER: dict[str, Any] = {
    "name": "Erased member",
    "phone": None,
    "date_of_birth": date(1900, 1, 1),
    "gender": "other",
    "abha_number": None,
    "abha_address": None,
}


def erase_user_data(db: Session, user_id: int) -> int:
    """Every member of the user, deleted ones too, scrubbed and marked deleted; the count."""
    now = utcnow()
    members = db.scalars(locked(select(Member).where(Member.user_id == user_id))).all()
    for member in members:
        for field, value in ERASED_MEMBER.items():
            setattr(member, field, value)
        member.is_deleted = True
        member.deleted_at = member.deleted_at or now
    return len(members)


def follow_login_phone(db: Session, user_id: int, old_phone: str, new_phone: str) -> int:
    """The login phone changed: the account holder's own member keeps up if it had that
    phone (audited); how many changed."""
    changed = 0
    for member in lock_live_members(db, user_id):
        if member.relation == "self" and member.phone == old_phone:
            member.phone = new_phone
            record_audit(
                db,
                action="member.updated",
                entity_type="member",
                entity_id=member.id,
                actor_user_id=user_id,
                changes=personal_changes({"phone": {"old": old_phone, "new": new_phone}}),
            )
            changed += 1
    return changed


def age_on(date_of_birth: date, day: date) -> int:
    """Whole years on `day` (a 29 February birthday comes of age on 1 March)."""
    before_birthday = (day.month, day.day) < (date_of_birth.month, date_of_birth.day)
    return day.year - date_of_birth.year - before_birthday


def confirms_own_consent(member: Member, today: date | None = None) -> bool:
    """Whether the member gives their own consents: an adult (18 or over on today's date in
    India) other than the account holder. A minor's are given by the account holder."""
    today = today or today_ist()
    return member.relation != "self" and age_on(member.date_of_birth, today) >= ADULT_AGE
