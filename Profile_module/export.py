"""GET /profile/export: everything we hold about the account holder and their members.

Each kind of thing is read with one query (orders with their items, payments, refunds and
history with a fixed handful), through the owning module's query functions where it has one,
so the number of statements does not grow with the number of rows.
Rows are exported column by column (new columns appear without touching this file); only
internal secrets are left out (`refresh_jti`, the idempotency `request_hash`).
"""

from datetime import datetime
from typing import Any, TypedDict

from sqlalchemy import exists, inspect, select
from sqlalchemy.orm import Session

from Address_module.models import Address
from Audit_module.service import audit_query, record_audit
from Cart_module.checkout import allow_list_entries_of, load_cart
from Consent_module.models import ConsentGrant, ConsentType, ConsentTypeVersion
from Consent_module.Request.service import requests_query
from Consent_module.service import grants_query
from core.clock import utcnow
from Enquiry_module.service import export_enquiries
from gmeet_api.bookings import my_bookings_query
from Login_module.Device.service import list_sessions
from Login_module.models import User
from Member_module.models import Member
from Newsletter_module.service import export_rows as newsletter_rows
from Notification_module.service import export_rows, preferences
from Orders_module.service import orders_query, with_details
from Privacy_module.service import receipts_query
from Profile_module.photos import photo_url
from Report_module.service import export_reports

FORMAT_VERSION = 1
Record = dict[str, Any]  # one row as stored: column name -> value
# Never exported: secrets and internal fingerprints, not data about the person.
EXCLUDED_COLUMNS = frozenset({"refresh_jti", "request_hash"})


def row(obj: Any, *, exclude: frozenset[str] = EXCLUDED_COLUMNS) -> dict[str, Any]:
    """Every mapped column of `obj` (by attribute name), less `exclude`."""
    return {
        column.key: getattr(obj, column.key)
        for column in inspect(obj).mapper.column_attrs
        if column.key not in exclude
    }


def profile_section(user: User) -> dict[str, Any]:
    return {
        **row(user, exclude=EXCLUDED_COLUMNS | {"photo_path"}),
        "photo_url": photo_url(user.photo_path),
    }


def members_section(db: Session, user_id: int) -> list[dict[str, Any]]:
    """Deleted members too (`is_deleted`/`deleted_at` mark them): orders still point at them."""
    statement = select(Member).where(Member.user_id == user_id).order_by(Member.id)
    return [row(member) for member in db.scalars(statement)]


def addresses_section(db: Session, user_id: int) -> list[dict[str, Any]]:
    """Deleted addresses too, marked like members."""
    statement = select(Address).where(Address.user_id == user_id).order_by(Address.id)
    return [row(address) for address in db.scalars(statement)]


def consents_section(db: Session, user_id: int) -> list[dict[str, Any]]:
    """Every grant ever made (withdrawn ones keep `withdrawn_at`), with the version current now."""
    statement = (
        grants_query(user_id)
        .join(ConsentType, ConsentType.id == ConsentGrant.consent_type_id)
        .add_columns(ConsentType.title, ConsentType.version)
    )
    sections = []
    for grant, title, current_version in db.execute(statement):
        sections.append(
            {
                **row(grant),
                "title": title,
                "current_version": current_version,
                "is_current_version": grant.version == current_version,
                "is_withdrawn": grant.withdrawn_at is not None,
            }
        )
    return sections


def consent_texts_section(db: Session, user_id: int) -> list[dict[str, Any]]:
    """The exact text of each consent version one of my grants agreed to."""
    agreed = exists().where(
        ConsentGrant.user_id == user_id,
        ConsentGrant.consent_type_id == ConsentTypeVersion.consent_type_id,
        ConsentGrant.version == ConsentTypeVersion.version,
    )
    statement = (
        select(ConsentTypeVersion, ConsentType.code)
        .join(ConsentType, ConsentType.id == ConsentTypeVersion.consent_type_id)
        .where(agreed)
        .order_by(ConsentType.code, ConsentTypeVersion.version)
    )
    return [
        {
            "code": code,
            "version": version.version,
            "title": version.title,
            "body": version.body,
            "published_at": version.published_at,
        }
        for version, code in db.execute(statement)
    ]


def cart_section(db: Session, user_id: int) -> dict[str, Any] | None:
    cart = load_cart(db, user_id)
    if cart is None:
        return None
    return {
        **row(cart),
        "coupon_code": cart.coupon.code if cart.coupon is not None else None,
        "items": [
            {
                **row(item),
                "product_name": item.product.name,
                "members": [row(link) for link in item.members],
            }
            for item in cart.items
        ],
    }


def orders_section(db: Session, user_id: int) -> list[dict[str, Any]]:
    """Orders with items (product, member and address snapshots), payments, refunds and the
    status history."""
    orders = db.scalars(with_details(orders_query(user_id))).all()
    return [
        {
            **row(order),
            "items": [row(item) for item in order.items],
            "payments": [row(payment) for payment in order.payments],
            "refunds": [row(refund) for refund in order.refunds],
            "status_history": [row(entry) for entry in order.history],
        }
        for order in orders
    ]


def bookings_section(db: Session, user_id: int) -> list[dict[str, Any]]:
    return [row(booking) for booking in db.scalars(my_bookings_query(user_id))]


def sessions_section(db: Session, user_id: int) -> list[dict[str, Any]]:
    """Active device sessions (revoked and expired ones are purged by the cleanup job)."""
    return [row(session) for session in list_sessions(db, user_id)]


def coupon_offers_section(db: Session, user: User) -> list[dict[str, Any]]:
    """Targeted coupons' allow-list entries naming me or my login phone, with the code."""
    return [
        {**row(entry), "coupon_code": code}
        for entry, code in allow_list_entries_of(db, user.id, user.phone)
    ]


def audit_section(db: Session, user_id: int) -> list[dict[str, Any]]:
    """What I did, as the audit trail recorded it."""
    return [row(entry) for entry in db.scalars(audit_query(actor_user_id=user_id))]


class Export(TypedDict):
    """GET /profile/export's document (ExportOut)."""

    format_version: int
    exported_at: datetime
    profile: Record
    members: list[Record]
    addresses: list[Record]
    consents: list[Record]
    consent_texts: list[Record]
    consent_requests: list[Record]
    cart: Record | None
    orders: list[Record]
    reports: list[Record]
    notifications: list[Record]
    notification_preferences: Record
    bookings: list[Record]
    sessions: list[Record]
    enquiries: list[Record]
    newsletter: list[Record]
    privacy_choices: list[Record]
    coupon_offers: list[Record]
    audit_trail: list[Record]


def build_export(db: Session, user: User) -> Export:
    document: Export = {
        "format_version": FORMAT_VERSION,
        "exported_at": utcnow(),
        "profile": profile_section(user),
        "members": members_section(db, user.id),
        "addresses": addresses_section(db, user.id),
        "consents": consents_section(db, user.id),
        "consent_texts": consent_texts_section(db, user.id),
        "consent_requests": [
            row(request, exclude=EXCLUDED_COLUMNS | {"token_hash", "phone_key"})
            for request in db.scalars(requests_query(user.id))
        ],
        "cart": cart_section(db, user.id),
        "orders": orders_section(db, user.id),
        "reports": export_reports(db, user.id),
        "notifications": [row(entry) for entry in export_rows(db, user.id)],
        "notification_preferences": row(preferences(db, user.id)),
        "bookings": bookings_section(db, user.id),
        "sessions": sessions_section(db, user.id),
        "enquiries": export_enquiries(db, user.id),
        "newsletter": [row(subscription) for subscription in newsletter_rows(db, user.id)],
        "privacy_choices": [row(receipt) for receipt in db.scalars(receipts_query(user.id))],
        "coupon_offers": coupon_offers_section(db, user),
        "audit_trail": audit_section(db, user.id),
    }
    record_audit(
        db,
        action="profile.exported",
        entity_type="user",
        entity_id=user.id,
        actor_user_id=user.id,
        changes={
            "format_version": FORMAT_VERSION,
            "counts": {
                key: len(value) for key, value in document.items() if isinstance(value, list)
            },
        },
    )
    return document
