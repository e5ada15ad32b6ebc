"""The newsletter's rules: double opt-in sign-ups, confirmation, unsubscribing, my
subscription, the admin's list, and what erasure and export take.

No enumeration: asking for the newsletter runs the same statements and queues the same e-mail
whatever the address's state (new, waiting, confirmed, unsubscribed), and changes nothing a
caller can read back: the state moves only when the mailbox's owner presses a button behind a
signed link. A sign-up links no account by itself; a confirmation links the account that was
logged in when it was asked for (its id is signed into the link)."""

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Insert, Integer, Select, Table, func, literal, select, update
from sqlalchemy.dialects.mysql import insert as mysql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from Audit_module.service import record_audit
from config import get_settings
from core.clock import utcnow
from core.context import current_request
from core.rate_limit import hit_sliding_window
from database import locked
from Login_module.locks import lock_user
from Login_module.models import User
from Login_module.snapshot import UserSnapshot
from Newsletter_module import links
from Newsletter_module.consent import CONSENT_TEXT_VERSION
from Newsletter_module.errors import NewsletterEmailRequired
from Newsletter_module.links import Purpose
from Newsletter_module.models import NewsletterSubscription, SubscriptionStatus
from Notification_module.models import NotificationEvent
from Notification_module.service import drop_messages, notify_email

ENTITY = "newsletter_subscription"
HOUR, DAY = 3600, 86_400
# Every e-mail about a subscription is queued under this key prefix (plus its id), so erasing
# the subscription can delete them.
MAIL_KEY = "newsletter:"
ONE_CLICK = "List-Unsubscribe=One-Click"


def normalize(email: str) -> str:
    """One row per address, whatever its case."""
    return email.strip().lower()


def _address_key(email: str) -> str:
    """The address in a rate-limit key, not in clear."""
    secret = get_settings().SECRET_KEY.get_secret_value().encode()
    digest = hmac.new(secret, b"newsletter-address:" + email.encode(), hashlib.sha256)
    return digest.hexdigest()[:32]


def _check_limits(email: str) -> None:
    """Per client IP per hour, then per address per day (429 with Retry-After)."""
    settings = get_settings()
    ip = current_request().ip or "unknown"
    hit_sliding_window(
        f"rl:newsletter:ip:{ip}", settings.NEWSLETTER_SUBSCRIBES_PER_IP_PER_HOUR, HOUR
    )
    hit_sliding_window(
        f"rl:newsletter:address:{_address_key(email)}",
        settings.NEWSLETTER_SUBSCRIBES_PER_ADDRESS_PER_DAY,
        DAY,
    )


# --- the links and headers every newsletter e-mail carries ---------------------------------


def unsubscribe_url(subscription: NewsletterSubscription) -> str:
    token = links.sign(Purpose.UNSUBSCRIBE, subscription.id, subscription.email)
    return links.url(Purpose.UNSUBSCRIBE, token)


def unsubscribe_headers(subscription: NewsletterSubscription) -> dict[str, str]:
    """RFC 8058 one-click: mail clients POST `List-Unsubscribe=One-Click` to the URL."""
    return {
        "List-Unsubscribe": f"<{unsubscribe_url(subscription)}>",
        "List-Unsubscribe-Post": ONE_CLICK,
    }


# --- signing up ---------------------------------------------------------------------------


def _upsert(db: Session, email: str, user_id: int | None) -> NewsletterSubscription:
    """The address's row, created if new, its request time bumped: one statement either way
    (and no race between two first sign-ups of one address), the row locked."""
    now = utcnow()
    table = cast(Table, NewsletterSubscription.__table__)
    requester = func.coalesce(literal(user_id, Integer), table.c.requested_by_user_id)
    changes: dict[str, Any] = {
        "requested_at": now,
        "updated_at": now,
        "requested_by_user_id": requester,
    }
    values = {
        "email": email,
        "status": SubscriptionStatus.PENDING,
        "requested_at": now,
        "requested_by_user_id": user_id,
        "created_at": now,
        "updated_at": now,
    }
    upsert: Insert
    if db.get_bind().dialect.name == "mysql":
        upsert = mysql_insert(table).values(**values).on_duplicate_key_update(**changes)
    else:
        upsert = (
            sqlite_insert(table)
            .values(**values)
            .on_conflict_do_update(index_elements=["email"], set_=changes)
        )
    db.execute(upsert)
    row = db.scalar(
        locked(select(NewsletterSubscription).where(NewsletterSubscription.email == email))
    )
    if row is None:  # the upsert just wrote it
        raise RuntimeError("newsletter subscription missing after its upsert")
    return row


def request_confirmation(db: Session, email: str, user_id: int | None) -> None:
    """Queue the double opt-in e-mail to `email` (the same one whatever its state: confirming
    again is harmless, and links the caller's account). `user_id`: the logged-in caller."""
    address = normalize(email)
    _check_limits(address)
    subscription = _upsert(db, address, user_id)
    expires_at = links.confirm_expiry(utcnow())
    token = links.sign(
        Purpose.CONFIRM, subscription.id, address, user_id=user_id, expires_at=expires_at
    )
    notify_email(
        db,
        NotificationEvent.NEWSLETTER_CONFIRMATION,
        address,
        {
            "link": links.url(Purpose.CONFIRM, token),
            "link_text": "Confirm my subscription",
            "unsubscribe_link": unsubscribe_url(subscription),
            "days": links.CONFIRM_LINK_DAYS,
        },
        headers=unsubscribe_headers(subscription),
        dedupe_key=f"{MAIL_KEY}{subscription.id}:{secrets.token_hex(8)}",
    )


# --- the signed links ---------------------------------------------------------------------


def by_token(
    db: Session, purpose: Purpose, token: str, *, lock: bool = False
) -> tuple[NewsletterSubscription, links.Claims] | None:
    """The subscription a valid, unexpired link of `purpose` is for; None for any other."""
    claims = links.read(token)
    if claims is None:
        return None
    statement = select(NewsletterSubscription).where(
        NewsletterSubscription.id == claims.subscription_id
    )
    subscription = db.scalar(locked(statement) if lock else statement)
    if subscription is None or not links.holds(purpose, claims, subscription.email, utcnow()):
        return None
    return subscription, claims


def confirm(db: Session, token: str) -> NewsletterSubscription | None:
    """The button behind the confirm link: the consent recorded (time, IP, the text's version,
    anew at each confirmation), and the account that asked for it linked; None: not a valid
    link. Locks: the account's row first (as every per-user write), then the subscription."""
    found = by_token(db, Purpose.CONFIRM, token)
    if found is None:
        return None
    subscription, claims = found
    if claims.user_id is not None:
        lock_user(db, claims.user_id)
    still = select(NewsletterSubscription).where(NewsletterSubscription.id == subscription.id)
    if db.scalar(locked(still)) is None:  # erased meanwhile
        return None
    account = _link(db, subscription, claims.user_id)
    subscription.status = SubscriptionStatus.CONFIRMED
    subscription.confirmed_at = utcnow()
    subscription.consent_ip = current_request().ip
    subscription.consent_text_version = CONSENT_TEXT_VERSION
    subscription.unsubscribed_at = None
    record_audit(
        db,
        action="newsletter.confirmed",
        entity_type=ENTITY,
        entity_id=subscription.id,
        actor_user_id=account,
        changes={"consent_text_version": CONSENT_TEXT_VERSION, "account_linked": bool(account)},
    )
    return subscription


def _link(db: Session, subscription: NewsletterSubscription, user_id: int | None) -> int | None:
    """Link the account that asked (if it still exists; its row is locked): an account has one
    subscription, so one it had at another address is unsubscribed (the newsletter moves)."""
    if user_id is None or subscription.user_id == user_id:
        return subscription.user_id
    user = db.get(User, user_id)
    if user is None or user.deleted_at is not None:
        return subscription.user_id
    earlier = db.scalar(
        locked(select(NewsletterSubscription).where(NewsletterSubscription.user_id == user_id))
    )
    if earlier is not None:
        earlier.user_id = None
        _unsubscribe(db, earlier, via="moved", actor_user_id=user_id)
        db.flush()  # one subscription per account: the old link goes first
    subscription.user_id = user_id
    return user_id


def unsubscribe(db: Session, token: str) -> NewsletterSubscription | None:
    """The unsubscribe link's button, or a mail client's one-click POST: at once, no login;
    None: not a valid link."""
    found = by_token(db, Purpose.UNSUBSCRIBE, token, lock=True)
    if found is None:
        return None
    subscription, _ = found
    _unsubscribe(db, subscription, via="link", actor_user_id=None)
    return subscription


def _unsubscribe(
    db: Session, subscription: NewsletterSubscription, *, via: str, actor_user_id: int | None
) -> None:
    if subscription.status == SubscriptionStatus.UNSUBSCRIBED:
        return
    subscription.status = SubscriptionStatus.UNSUBSCRIBED
    subscription.unsubscribed_at = utcnow()
    record_audit(
        db,
        action="newsletter.unsubscribed",
        entity_type=ENTITY,
        entity_id=subscription.id,
        actor_user_id=actor_user_id,
        changes={"via": via},
    )


# --- my subscription ----------------------------------------------------------------------


def my_subscription(db: Session, user_id: int) -> NewsletterSubscription | None:
    """The subscription my account confirmed (none until a confirmation linked one)."""
    return db.scalar(
        select(NewsletterSubscription).where(NewsletterSubscription.user_id == user_id)
    )


def set_my_subscription(
    db: Session, user: UserSnapshot, subscribed: bool, email: str | None
) -> tuple[NewsletterSubscription | None, bool]:
    """Off: my subscription ends at once. On: a confirmation e-mail to `email`, else to my
    subscription's address, else to my profile's (nothing when that one is confirmed already).
    My subscription and whether a confirmation e-mail was queued."""
    lock_user(db, user.id)
    mine = db.scalar(
        locked(select(NewsletterSubscription).where(NewsletterSubscription.user_id == user.id))
    )
    if not subscribed:
        if mine is not None:
            _unsubscribe(db, mine, via="account", actor_user_id=user.id)
        return mine, False
    address = email or (mine.email if mine is not None else None) or user.email
    if address is None:
        raise NewsletterEmailRequired()
    if (
        mine is not None
        and mine.email == normalize(address)
        and mine.status == SubscriptionStatus.CONFIRMED
    ):
        return mine, False
    request_confirmation(db, address, user.id)
    return mine, True


# --- admin --------------------------------------------------------------------------------


def subscribers_query(status: SubscriptionStatus | None) -> Select[NewsletterSubscription]:
    statement = select(NewsletterSubscription)
    if status is not None:
        statement = statement.where(NewsletterSubscription.status == status)
    return statement.order_by(NewsletterSubscription.id.desc())


def confirmed_subscribers(db: Session, admin_id: int) -> list[NewsletterSubscription]:
    """Every confirmed subscriber, oldest first, for the mailing export (audited)."""
    rows = list(
        db.scalars(
            select(NewsletterSubscription)
            .where(NewsletterSubscription.status == SubscriptionStatus.CONFIRMED)
            .order_by(NewsletterSubscription.id)
        )
    )
    record_audit(
        db,
        action="newsletter.exported",
        entity_type=ENTITY,
        actor_user_id=admin_id,
        changes={"rows": len(rows)},
    )
    return rows


# --- data rights and retention ------------------------------------------------------------


def export_rows(db: Session, user_id: int) -> list[NewsletterSubscription]:
    """My subscription for the data export. A sign-up nobody confirmed is left out: whether
    it exists would tell about someone else's address (it is erased with the account)."""
    mine = my_subscription(db, user_id)
    return [mine] if mine is not None else []


def _delete(db: Session, subscriptions: list[NewsletterSubscription]) -> int:
    for subscription in subscriptions:
        drop_messages(db, f"{MAIL_KEY}{subscription.id}:")
        db.delete(subscription)
    return len(subscriptions)


def erase_user_data(db: Session, user_id: int) -> int:
    """Account erasure: my subscription, and the sign-ups I asked for that nobody confirmed,
    are deleted with the e-mails queued about them; I am forgotten as the asker of the rest."""
    mine = NewsletterSubscription.user_id == user_id
    unconfirmed = (NewsletterSubscription.requested_by_user_id == user_id) & (
        NewsletterSubscription.confirmed_at.is_(None)
    )
    doomed = list(db.scalars(locked(select(NewsletterSubscription).where(mine | unconfirmed))))
    erased = _delete(db, doomed)
    db.flush()
    db.execute(
        update(NewsletterSubscription)
        .where(NewsletterSubscription.requested_by_user_id == user_id)
        .values(requested_by_user_id=None)
    )
    return erased


def purge_unconfirmed(db: Session, now: datetime, limit: int = 500) -> int:
    """Sign-ups still waiting once their last confirmation link has expired are deleted."""
    cutoff = now - timedelta(days=links.CONFIRM_LINK_DAYS)
    stale = list(
        db.scalars(
            select(NewsletterSubscription)
            .where(
                NewsletterSubscription.status == SubscriptionStatus.PENDING,
                NewsletterSubscription.requested_at < cutoff,
            )
            .order_by(NewsletterSubscription.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    )
    return _delete(db, stale)
