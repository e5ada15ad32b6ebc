"""A targeted coupon's allow-list, as admins manage it: phones (E.164, so a listed phone that
signs up later can use the coupon) and accounts. Who may use a coupon is decided in
Cart_module.coupon_rules; this file only keeps the list.

Every change locks the coupon row first, as checkout's hold does: a hold taken after a removal
commits sees it, and the first entry turns `targeted` on in the same transaction, so the coupon
is never open to everyone between two requests.
"""

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import ColumnElement, Select, delete, select
from sqlalchemy.orm import Session

from Audit_module.service import record_audit
from Cart_module.coupons import ENTITY
from Cart_module.errors import AllowedEntryNotFound, CouponNotFound, InvalidAllowList
from Cart_module.models import Coupon, CouponAllowedEntry
from core.pagination import PageParams, RowPage, paginate
from core.validation import mask_phone
from database import locked, rows_changed
from Login_module.models import User


@dataclass(frozen=True)
class AllowListAdded:
    """The entries for what was sent (new or already there), and how many are new."""

    added: int
    entries: list[CouponAllowedEntry]


def _locked_coupon(db: Session, coupon_id: int) -> Coupon:
    coupon = db.scalar(locked(select(Coupon).where(Coupon.id == coupon_id)))
    if coupon is None:
        raise CouponNotFound()
    return coupon


def _check_users_exist(db: Session, user_ids: set[int]) -> None:
    if not user_ids:
        return
    known = set(db.scalars(select(User.id).where(User.id.in_(user_ids))))
    unknown = sorted(user_ids - known)
    if unknown:
        raise InvalidAllowList(
            details=[
                {
                    "field": "user_ids",
                    "message": f"no account with id {', '.join(map(str, unknown))}",
                    "type": "invalid_allow_list",
                }
            ]
        )


def _listed(
    db: Session, coupon_id: int, phones: set[str], user_ids: set[int]
) -> list[CouponAllowedEntry]:
    statement = select(CouponAllowedEntry).where(
        CouponAllowedEntry.coupon_id == coupon_id,
        CouponAllowedEntry.phone.in_(phones) | CouponAllowedEntry.user_id.in_(user_ids),
    )
    return list(db.scalars(statement.order_by(CouponAllowedEntry.id)))


def add_to_allow_list(
    db: Session,
    admin_id: int | None,
    coupon_id: int,
    phones: Sequence[str],
    user_ids: Sequence[int],
) -> AllowListAdded:
    """List phones (already E.164) and accounts on the coupon, which becomes targeted; what is
    already listed stays as it is. 404 coupon_not_found, 422 invalid_allow_list (an id that
    names no account). Audited with the phones masked."""
    coupon = _locked_coupon(db, coupon_id)
    wanted_phones, wanted_users = set(phones), set(user_ids)
    _check_users_exist(db, wanted_users)
    existing = _listed(db, coupon.id, wanted_phones, wanted_users)
    new_phones = sorted(wanted_phones - {entry.phone for entry in existing})
    new_users = sorted(wanted_users - {entry.user_id for entry in existing})
    new = [CouponAllowedEntry(coupon_id=coupon.id, phone=phone) for phone in new_phones]
    new += [CouponAllowedEntry(coupon_id=coupon.id, user_id=user_id) for user_id in new_users]
    db.add_all(new)
    was_targeted = coupon.targeted
    coupon.targeted = True
    db.flush()
    changes: dict[str, object] = {
        "phones": [mask_phone(phone) for phone in new_phones],
        "user_ids": new_users,
    }
    if not was_targeted:
        changes["targeted"] = {"old": False, "new": True}
    if new or not was_targeted:
        record_audit(
            db,
            action="coupon.allow_list_added",
            entity_type=ENTITY,
            entity_id=coupon.id,
            actor_user_id=admin_id,
            changes=changes,
        )
    return AllowListAdded(len(new), sorted(existing + new, key=lambda entry: entry.id))


def remove_from_allow_list(db: Session, admin_id: int, coupon_id: int, entry_id: int) -> None:
    """Take one entry off the list (the coupon stays targeted: an empty list admits nobody).
    Holds already taken by that account stand. 404 coupon_not_found, allowed_entry_not_found.
    """
    coupon = _locked_coupon(db, coupon_id)
    entry = db.scalar(
        select(CouponAllowedEntry).where(
            CouponAllowedEntry.id == entry_id, CouponAllowedEntry.coupon_id == coupon.id
        )
    )
    if entry is None:
        raise AllowedEntryNotFound()
    db.delete(entry)
    db.flush()
    record_audit(
        db,
        action="coupon.allow_list_removed",
        entity_type=ENTITY,
        entity_id=coupon.id,
        actor_user_id=admin_id,
        changes={
            "phone": mask_phone(entry.phone) if entry.phone else None,
            "user_id": entry.user_id,
        },
    )


def allow_list_query(coupon_id: int) -> Select[CouponAllowedEntry]:
    return (
        select(CouponAllowedEntry)
        .where(CouponAllowedEntry.coupon_id == coupon_id)
        .order_by(CouponAllowedEntry.id)
    )


def allow_list_page(db: Session, coupon_id: int, params: PageParams) -> RowPage[CouponAllowedEntry]:
    """The coupon's allow-list, oldest entry first. 404 coupon_not_found."""
    if db.get(Coupon, coupon_id) is None:
        raise CouponNotFound()
    return paginate(db, allow_list_query(coupon_id), params)


# --- a user's data -------------------------------------------------------------------------------


def _naming(user_id: int, phone: str | None) -> ColumnElement[bool]:
    """Entries naming the account, or the login phone it has now."""
    if phone is None:
        return CouponAllowedEntry.user_id == user_id
    return (CouponAllowedEntry.user_id == user_id) | (CouponAllowedEntry.phone == phone)


def allow_list_entries_of(
    db: Session, user_id: int, phone: str | None
) -> list[tuple[CouponAllowedEntry, str]]:
    """The allow-list entries naming the account or its login phone, with each coupon's code
    (the account's data export)."""
    statement = (
        select(CouponAllowedEntry, Coupon.code)
        .join(Coupon, Coupon.id == CouponAllowedEntry.coupon_id)
        .where(_naming(user_id, phone))
        .order_by(CouponAllowedEntry.id)
    )
    return [(entry, code) for entry, code in db.execute(statement)]


def erase_allow_list_entries(db: Session, user_id: int, phone: str | None) -> int:
    """Account erasure: the entries naming the account or its login phone are deleted (the
    coupons stay targeted; an admin's audit entries keep only masked phones). Call it before
    the phone is scrubbed. Returns how many."""
    result = db.execute(
        delete(CouponAllowedEntry)
        .where(_naming(user_id, phone))
        .execution_options(synchronize_session=False)
    )
    return rows_changed(result)
