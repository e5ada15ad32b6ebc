"""DELETE /profile: erase the account (DPDP Act 2023), in the request's one transaction.

What happens, in order:
1. The user row, then the cart row, are locked: this user's cart, member, address and session
   writes and checkouts wait. A checkout already holding the cart either commits first or is
   refused by the database's deadlock detection (as may this request): either way no order can
   be placed after the orders are read.
2. Orders that are paid but not finished (samples in flight) refuse the erasure with
   409 `erasure_blocked_by_open_orders` before the code is checked, so the code is not spent.
3. The fresh login code is checked exactly like at login (`verify_code`).
4. Unpaid orders are cancelled (their coupon holds released); every order is kept, with the
   member and address snapshots of its items pseudonymised, the customer's own cancellation
   reasons replaced and every note a person typed on them (staff or customer: status history,
   cancellation reasons, the notes in the orders' audit entries, whoever wrote them) replaced;
   products, prices, statuses, payments and refunds stay as they were.
5. The profile, every member and every address (deleted ones too) are scrubbed; members and
   addresses are marked deleted. The cart is emptied. Consent grants are kept as they are:
   they name member ids, not people, and are the proof of consent we must keep.
6. Counselling bookings: upcoming ones are cancelled and patient details scrubbed
   (`gmeet_api.service.erase_bookings_of_user`, which also removes the Calendar events).
7. Personal values in the user's own audit entries are replaced (`[erased]`); the entries
   themselves, with their actions, ids, times and IP addresses, are the security log.
8. Every session is revoked (tokens refused at once on every replica), device details
   scrubbed, `profile.erased` audited; the photo file is deleted after the commit.
"""

import re
from datetime import date
from typing import Any

from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import Session

from Address_module.models import Address
from Audit_module.models import AuditLog
from Audit_module.service import record_audit, record_rejection
from Cart_module.service import empty_cart, load_cart
from database import on_commit, utcnow
from gmeet_api.service import erase_bookings_of_user
from Login_module.Device.service import revoke_all_sessions
from Login_module.locks import lock_user
from Login_module.models import DeviceSession, User
from Login_module.OTP.service import verify_code
from Member_module.models import Member
from Orders_module.models import Order, OrderItem
from Orders_module.service import cancel_unpaid, orders_query, with_details
from Orders_module.states import FINISHED
from Profile_module.errors import ErasureBlockedByOpenOrders
from Profile_module.photos import delete_photo

ERASED = "[erased]"
ERASED_MEMBER_NAME = "Erased member"
# members.date_of_birth is NOT NULL: a fixed placeholder, not even the year is kept.
ERASED_DATE_OF_BIRTH = date(1900, 1, 1)
ERASED_GENDER = "other"
ERASED_CONTACT_NAME = "Erased"
ERASED_PHONE = ""
ERASED_LINE = "Erased"
ERASED_PINCODE = "000000"
ERASURE_NOTE = "account erased"
CUSTOMER_CANCEL_NOTE = "cancelled by customer"
# Notes the code writes on orders; any other note was typed by a person (staff or the customer)
# and may name the customer, so the erasure replaces it.
SYSTEM_NOTES = frozenset(
    {
        CUSTOMER_CANCEL_NOTE,
        "superseded by a newer checkout",
        ERASURE_NOTE,
        "order placed",
        "nothing to pay",
        "payment not received in time",
        "refund requested",
        "all items reached this step",
        "cancelled by support",
    }
)
# Generated notes that carry a Razorpay id: `payment pay_X (verify)`, `refund rfnd_X reported...`.
SYSTEM_NOTE_PATTERNS = (
    re.compile(r"payment [A-Za-z0-9_]+ \([a-z_ ]+\)"),
    re.compile(r"refund [A-Za-z0-9_]+ reported by Razorpay"),
)

# Address fields: city and state stay (the place of supply on an invoice); the rest goes.
ADDRESS_PLACEHOLDERS: dict[str, Any] = {
    "contact_name": ERASED_CONTACT_NAME,
    "contact_phone": ERASED_PHONE,
    "line1": ERASED_LINE,
    "line2": None,
    "landmark": None,
    "locality": None,
    "pincode": ERASED_PINCODE,
}
MEMBER_PLACEHOLDERS: dict[str, Any] = {
    "name": ERASED_MEMBER_NAME,
    "phone": None,
    "date_of_birth": ERASED_DATE_OF_BIRTH,
    "gender": ERASED_GENDER,
}
# Keys in audit `changes` that hold personal values (the value, or its {old, new}, is replaced).
PERSONAL_AUDIT_KEYS = frozenset(
    {
        "name",
        "email",
        "phone",
        "date_of_birth",
        "gender",
        "photo_path",
        "device_name",
        *ADDRESS_PLACEHOLDERS,
        "patient_name",
        "patient_email",
        "patient_phone",
        "notes",
    }
)
# Entity types whose entries by this user are about this user's own data.
PERSONAL_ENTITY_TYPES = ("user", "member", "address", "device_session", "gmeet_booking", "cart")


def is_system_note(note: str) -> bool:
    return note in SYSTEM_NOTES or any(p.fullmatch(note) for p in SYSTEM_NOTE_PATTERNS)


def _blocking_orders(orders: list[Order]) -> list[dict[str, Any]]:
    return [
        {"order_id": order.id, "order_number": order.order_number, "status": order.status}
        for order in orders
        if order.status != "pending_payment"
    ]


def _pseudonymise_orders(db: Session, user_id: int) -> list[Order]:
    orders = list(db.scalars(with_details(orders_query(user_id)).with_for_update(of=Order)))
    for order in orders:
        for item in order.items:
            # JSON columns: assign new dicts so the change is seen and written.
            member = {**item.member_snapshot, **MEMBER_PLACEHOLDERS}
            member["date_of_birth"] = ERASED_DATE_OF_BIRTH.isoformat()
            item.member_snapshot = member
            item.address_snapshot = {**item.address_snapshot, **ADDRESS_PLACEHOLDERS}
        cancelled_by_customer = any(
            entry.actor_user_id == user_id and entry.status == "cancelled"
            for entry in order.history
        )
        for entry in order.history:
            if entry.note is None or is_system_note(entry.note):
                continue
            by_customer = entry.actor_user_id == user_id and entry.status == "cancelled"
            entry.note = CUSTOMER_CANCEL_NOTE if by_customer else ERASED
        if order.cancel_reason is not None and not is_system_note(order.cancel_reason):
            order.cancel_reason = CUSTOMER_CANCEL_NOTE if cancelled_by_customer else ERASED
    return orders


def _scrub_value(key: str, value: Any) -> Any:
    if key == "note":
        return value if not isinstance(value, str) or is_system_note(value) else ERASED
    if key in PERSONAL_AUDIT_KEYS:
        if isinstance(value, dict) and set(value) <= {"old", "new"}:
            return {part: None if old is None else ERASED for part, old in value.items()}
        return None if value is None else ERASED
    return _scrub(value)


def _scrub(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _scrub_value(key, inner) for key, inner in value.items()}
    if isinstance(value, list):
        return [_scrub(inner) for inner in value]
    return value


def _scrub_audit_trail(db: Session, user_id: int, order_ids: list[int]) -> int:
    """The user's own entries about their data, and every entry about their orders and order
    items whoever wrote it (staff notes on an order may name the customer)."""
    about_me = [
        and_(AuditLog.actor_user_id == user_id, AuditLog.entity_type.in_(PERSONAL_ENTITY_TYPES))
    ]
    if order_ids:
        item_ids = db.scalars(select(OrderItem.id).where(OrderItem.order_id.in_(order_ids)))
        about_me.append(
            and_(
                AuditLog.entity_type == "order",
                AuditLog.entity_id.in_([str(order_id) for order_id in order_ids]),
            )
        )
        about_me.append(
            and_(
                AuditLog.entity_type == "order_item",
                AuditLog.entity_id.in_([str(item_id) for item_id in item_ids]),
            )
        )
    entries = db.scalars(select(AuditLog).where(or_(*about_me)))
    scrubbed = 0
    for entry in entries:
        cleaned = _scrub(entry.changes)
        if cleaned != entry.changes:
            entry.changes = cleaned
            scrubbed += 1
    return scrubbed


def _scrub_members(db: Session, user_id: int) -> int:
    now = utcnow()
    members = db.scalars(select(Member).where(Member.user_id == user_id).with_for_update()).all()
    for member in members:
        for field, value in MEMBER_PLACEHOLDERS.items():
            setattr(member, field, value)
        member.is_deleted = True
        member.deleted_at = member.deleted_at or now
    return len(members)


def _scrub_addresses(db: Session, user_id: int) -> int:
    now = utcnow()
    addresses = db.scalars(
        select(Address).where(Address.user_id == user_id).with_for_update()
    ).all()
    for address in addresses:
        for field, value in ADDRESS_PLACEHOLDERS.items():
            setattr(address, field, value)
        address.is_default = False
        address.is_deleted = True
        address.deleted_at = address.deleted_at or now
    return len(addresses)


def _scrub_user(db: Session, user: User) -> None:
    old_photo = user.photo_path
    user.phone = None
    user.name = None
    user.email = None
    user.date_of_birth = None
    user.gender = None
    user.photo_path = None
    user.role = "user"
    user.is_active = False
    user.deleted_at = utcnow()
    if old_photo:
        on_commit(db, lambda: delete_photo(old_photo))


def erase_account(db: Session, user: User, code: str) -> dict[str, Any]:
    # The user, then the cart (the order cart writes use): no checkout can place an order
    # between the read of the orders below and the commit.
    lock_user(db, user.id)
    load_cart(db, user.id, for_update=True)
    open_orders = list(
        db.scalars(
            with_details(orders_query(user.id).where(Order.status.not_in(FINISHED)))
            .with_for_update(of=Order)
            .execution_options(populate_existing=True)
        )
    )
    blocking = _blocking_orders(open_orders)
    if blocking:
        record_rejection(
            db,
            action="profile.erasure_refused",
            entity_type="user",
            entity_id=user.id,
            actor_user_id=user.id,
            changes={"reason": "open_orders", "order_ids": [b["order_id"] for b in blocking]},
        )
        raise ErasureBlockedByOpenOrders(details=blocking)
    assert user.phone is not None  # an erased account cannot authenticate
    verify_code(db, user.phone, code)

    for order in open_orders:
        cancel_unpaid(db, order, ERASURE_NOTE, user.id)
    orders = _pseudonymise_orders(db, user.id)
    empty_cart(db, user.id)
    members = _scrub_members(db, user.id)
    addresses = _scrub_addresses(db, user.id)
    _scrub_user(db, user)
    db.flush()
    audit_entries = _scrub_audit_trail(db, user.id, [order.id for order in orders])
    # Google is called here (events of upcoming sessions deleted): after every check.
    bookings_cancelled = erase_bookings_of_user(db, user.id)
    # Revocation writes the Redis tombstones at once: the last step before the final audit.
    sessions = revoke_all_sessions(db, user.id, "account_erased")
    db.execute(
        update(DeviceSession)
        .where(DeviceSession.user_id == user.id)
        .values(device_id=None, device_name=None, ip_address=None, user_agent=None)
        .execution_options(synchronize_session=False)
    )
    summary = {
        "orders_kept": len(orders),
        "orders_cancelled": len(open_orders),
        "members_erased": members,
        "addresses_erased": addresses,
        "bookings_cancelled": bookings_cancelled,
        "sessions_revoked": sessions,
        "audit_entries_scrubbed": audit_entries,
    }
    record_audit(
        db,
        action="profile.erased",
        entity_type="user",
        entity_id=user.id,
        actor_user_id=user.id,
        changes=summary,
    )
    db.flush()
    return {"status": "erased", "erased_at": user.deleted_at, **summary}
