"""DELETE /profile: erase the account (DPDP Act 2023), in the request's one transaction.

Each module erases its own rows (`erase_user_data` in Orders, Member, Address, Audit and the
sessions, `erase_bookings_of_user` in gmeet_api); this file orders the steps and scrubs the
profile itself.

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
   Their lab reports keep their metadata (version, size, SHA-256, times) without the lab's
   note; the report files are deleted once the erasure commits (`Report_module`; the purge
   job retries a deletion the storage refused).
5. The profile, every member and every address (deleted ones too) are scrubbed; members and
   addresses are marked deleted. Website enquiries carrying the login phone or the e-mail are
   deleted with their history and their e-mails in the outbox (`Enquiry_module`, before the
   phone and e-mail are scrubbed). The cart is emptied. Consent grants are kept as they are:
   they name member ids, not people, and are the proof of consent we must keep.
6. Counselling bookings: upcoming ones are cancelled and patient details scrubbed
   (`gmeet_api.bookings.erase_bookings_of_user`, which also removes the Calendar events).
7. Personal values in the user's own audit entries are replaced (`[erased]`); the entries
   themselves, with their actions, ids, times and IP addresses, are the security log.
8. Every session is revoked (tokens refused at once on every replica), device details
   scrubbed, `profile.erased` audited; the photo file is deleted after the commit.
9. The inbox and every queued message, push devices and channel preferences are deleted
   (`Notification_module`); nothing more is sent to the account.
10. The newsletter subscription the account confirmed, and the sign-ups it asked for that
   nobody confirmed, are deleted with their e-mails in the outbox (`Newsletter_module`).
11. Targeted coupons' allow-list entries naming the account or its login phone are deleted
   (`Cart_module`, before the phone is scrubbed). The receipts of the visitor privacy choices
   made while logged in are kept, unlinked from the account (`Privacy_module`): they are the
   proof of consent, and once unlinked they name nobody (a random visitor id, two booleans, a
   policy version and a time).
"""

from datetime import datetime
from typing import Any, Literal, TypedDict

from sqlalchemy.orm import Session

from Abdm_module.service import erase_user_data as erase_health_record_links
from Address_module.service import ERASED_ADDRESS
from Address_module.service import erase_user_data as erase_addresses
from Audit_module.erasure import erase_user_data as erase_audit_values
from Audit_module.service import record_audit, record_rejection
from Cart_module.checkout import empty_cart, erase_allow_list_entries, load_cart
from core.clock import utcnow
from database import on_commit
from Enquiry_module.service import erase_user_data as erase_enquiries
from gmeet_api.bookings import erase_bookings_of_user
from Login_module.Device.service import erase_user_data as erase_sessions
from Login_module.locks import lock_user
from Login_module.models import User
from Login_module.OTP.service import verify_code
from Member_module.service import erase_user_data as erase_members
from Newsletter_module.service import erase_user_data as erase_newsletter
from Notification_module.service import erase_user_data as erase_notifications
from Orders_module.erasure import erase_user_data as erase_orders
from Orders_module.erasure import is_system_note, lock_open_orders, orders_blocking_erasure
from Privacy_module.service import erase_user_data as unlink_privacy_receipts
from Profile_module.errors import ErasureBlockedByOpenOrders
from Profile_module.photos import delete_photo
from Report_module.service import erase_user_data as erase_reports

# Keys in audit `changes` that hold personal values (the value, or its {old, new}, is replaced).
PERSONAL_AUDIT_KEYS = frozenset(
    {
        "name",
        "email",
        "phone",
        "abha_number",
        "abha_address",
        "date_of_birth",
        "gender",
        "photo_path",
        "device_name",
        *ERASED_ADDRESS,
        "patient_name",
        "patient_email",
        "patient_phone",
        "notes",
    }
)
# Entity types whose entries by this user are about this user's own data.
PERSONAL_ENTITY_TYPES = ("user", "member", "address", "device_session", "gmeet_booking", "cart")


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


def _refuse_if_blocked(db: Session, user: User, blocking: list[dict[str, Any]]) -> None:
    if not blocking:
        return
    record_rejection(
        db,
        action="profile.erasure_refused",
        entity_type="user",
        entity_id=user.id,
        actor_user_id=user.id,
        changes={"reason": "open_orders", "order_ids": [b["order_id"] for b in blocking]},
    )
    raise ErasureBlockedByOpenOrders(details=blocking)


class ErasureCounts(TypedDict):
    orders_kept: int
    orders_cancelled: int
    members_erased: int
    addresses_erased: int
    bookings_cancelled: int
    sessions_revoked: int
    audit_entries_scrubbed: int
    report_files_deleted: int
    notifications_deleted: int
    enquiries_erased: int
    newsletter_subscriptions_erased: int
    privacy_receipts_unlinked: int
    coupon_allow_list_entries_erased: int
    health_record_links_erased: int


class Erasure(ErasureCounts):
    """DELETE /profile's answer (ErasureOut)."""

    status: Literal["erased"]
    erased_at: datetime | None


def erase_account(db: Session, user: User, code: str) -> Erasure:
    # The user, then the cart (the order cart writes use): no checkout can place an order
    # between the read of the orders below and the commit.
    lock_user(db, user.id)
    load_cart(db, user.id, for_update=True)
    open_orders = lock_open_orders(db, user.id)
    _refuse_if_blocked(db, user, orders_blocking_erasure(open_orders))
    assert user.phone is not None  # an erased account cannot authenticate
    verify_code(db, user.phone, code)

    orders = erase_orders(db, user.id, open_orders)
    report_files = erase_reports(db, orders.order_ids)
    empty_cart(db, user.id)
    # ABHA link tokens, care contexts and consent artefacts: before the members are scrubbed.
    health_links = erase_health_record_links(db, user.id)
    members = erase_members(db, user.id)
    addresses = erase_addresses(db, user.id)
    # Found by the login phone and e-mail: before they are scrubbed.
    enquiries = erase_enquiries(db, user.id)
    newsletter = erase_newsletter(db, user.id)
    coupon_offers = erase_allow_list_entries(db, user.id, user.phone)
    privacy_receipts = unlink_privacy_receipts(db, user.id)
    _scrub_user(db, user)
    db.flush()
    audit_entries = erase_audit_values(
        db,
        user.id,
        own_entity_types=PERSONAL_ENTITY_TYPES,
        about={"order": orders.order_ids, "order_item": orders.item_ids},
        personal_keys=PERSONAL_AUDIT_KEYS,
        keep_note=is_system_note,
    )
    # Google is called here (events of upcoming sessions deleted): after every check.
    bookings_cancelled = erase_bookings_of_user(db, user.id)
    # Revocation writes the Redis tombstones at once: the last step before the final audit.
    sessions = erase_sessions(db, user.id)
    notifications = erase_notifications(db, user.id)
    summary: ErasureCounts = {
        "orders_kept": len(orders.order_ids),
        "orders_cancelled": orders.cancelled,
        "members_erased": members,
        "addresses_erased": addresses,
        "bookings_cancelled": bookings_cancelled,
        "sessions_revoked": sessions,
        "audit_entries_scrubbed": audit_entries,
        "report_files_deleted": report_files,
        "notifications_deleted": notifications,
        "enquiries_erased": enquiries,
        "newsletter_subscriptions_erased": newsletter,
        "privacy_receipts_unlinked": privacy_receipts,
        "coupon_allow_list_entries_erased": coupon_offers,
        "health_record_links_erased": health_links,
    }
    record_audit(
        db,
        action="profile.erased",
        entity_type="user",
        entity_id=user.id,
        actor_user_id=user.id,
        changes=dict(summary),
    )
    db.flush()
    return {"status": "erased", "erased_at": user.deleted_at, **summary}
