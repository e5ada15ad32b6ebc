"""Enquiries: the public form (limits, honeypot, the reference, the two e-mails), the admin
pipeline, and what account erasure, the export and the retention job need.

What goes to whom: the sales inbox (`SALES_EMAIL`, staff) gets everything the sender typed.
The sender's acknowledgement carries only the reference and a fixed text, never a word they
typed (not even their name): the address is whatever was typed in the form, so anyone could
enter someone else's, and our form must not carry their words to a third party's inbox."""

import hashlib
import hmac
from datetime import timedelta
from typing import Any

from sqlalchemy import Select, delete, func, or_, select
from sqlalchemy.orm import Session, selectinload

from Audit_module.service import record_audit
from config import get_settings
from core.clock import now_ist, utcnow
from core.context import current_request
from core.rate_limit import hit_sliding_window
from core.sequences import take_next
from database import locked
from Enquiry_module.answers import Received
from Enquiry_module.errors import EnquiryCannotBeNew, EnquiryNotFound
from Enquiry_module.models import Enquiry, EnquiryCounter, EnquiryStatus, EnquiryStatusChange
from Enquiry_module.schemas import EnquiryIn, EnquiryStatusIn
from Login_module.models import User
from Notification_module.models import NotificationEvent
from Notification_module.service import drop_messages, notify_email

HOUR = 3600
DAY = 24 * HOUR


def reference_of(year: int, seq: int) -> str:
    return f"ENQ-{year}-{seq:06d}"


def _limit_key(kind: str, value: str) -> str:
    """A phone or address named in Redis by an HMAC (no personal data in the keys)."""
    secret = get_settings().SECRET_KEY.get_secret_value().encode()
    digest = hmac.new(secret, f"enquiry-{kind}:{value}".encode(), hashlib.sha256).hexdigest()
    return f"rl:enquiry:{kind}:{digest[:32]}"


def _check_limits(phone: str, email: str) -> None:
    """5 an hour from one IP, 3 a day for one phone and for one e-mail address (so the form
    cannot be used to flood someone's inbox with acknowledgements): 429 with Retry-After."""
    settings = get_settings()
    ip = current_request().ip
    if ip:
        hit_sliding_window(f"rl:enquiry:ip:{ip}", settings.ENQUIRY_MAX_PER_IP_PER_HOUR, HOUR)
    hit_sliding_window(_limit_key("phone", phone), settings.ENQUIRY_MAX_PER_PHONE_PER_DAY, DAY)
    hit_sliding_window(_limit_key("email", email), settings.ENQUIRY_MAX_PER_EMAIL_PER_DAY, DAY)


def _decoy(db: Session) -> Received:
    """The answer to a filled honeypot: shaped like the next real enquiry's (the id and the
    reference the next one would get now), nothing taken or stored, nothing sent. The same
    status, shape, limits and number range as a real answer, so a bot learns nothing from
    one answer; a run of decoys repeats the number, which only a sender comparing its own
    answers could notice, and that sender sees nothing it could not see from real ones."""
    year = now_ist().year
    last = db.scalar(select(EnquiryCounter.last_seq).where(EnquiryCounter.year == year)) or 0
    last_id = db.scalar(select(func.max(Enquiry.id))) or 0
    return Received(id=last_id + 1, reference=reference_of(year, last + 1))


def submit(db: Session, data: EnquiryIn) -> Received:
    """Store a website enquiry with the next reference of the year, queue the e-mail to the
    sales inbox and the acknowledgement to the sender, audit it."""
    _check_limits(data.phone, data.email)
    if data.website and data.website.strip():
        return _decoy(db)
    year = now_ist().year
    seq = take_next(db, EnquiryCounter, year=year)
    enquiry = Enquiry(
        reference=reference_of(year, seq),
        year=year,
        seq=seq,
        name=data.name,
        phone=data.phone,
        email=data.email,
        organization=data.organization,
        number_of_tests=data.number_of_tests,
        message=data.message or None,
        status=EnquiryStatus.NEW,
    )
    db.add(enquiry)
    db.flush()
    db.add(EnquiryStatusChange(enquiry_id=enquiry.id, to_status=EnquiryStatus.NEW))
    _send_emails(db, enquiry)
    record_audit(
        db,
        action="enquiry.received",
        entity_type="enquiry",
        entity_id=enquiry.id,
        changes={"reference": enquiry.reference, "number_of_tests": enquiry.number_of_tests},
    )
    return Received(id=enquiry.id, reference=enquiry.reference)


def _messages_key(enquiry_id: int) -> str:
    """The outbox key of an enquiry's e-mails (dropped with it)."""
    return f"enquiry:{enquiry_id}:"


def _send_emails(db: Session, enquiry: Enquiry) -> None:
    key = _messages_key(enquiry.id)
    to_sales = {
        "reference": enquiry.reference,
        "name": enquiry.name,
        "phone": enquiry.phone,
        "email": enquiry.email,
        "organization": enquiry.organization,
        "number_of_tests": enquiry.number_of_tests,
        "message": enquiry.message,
    }
    notify_email(
        db,
        NotificationEvent.ENQUIRY_RECEIVED,
        get_settings().SALES_EMAIL,
        to_sales,
        dedupe_key=f"{key}sales",
        # Staff answer the sender straight from their mail client.
        headers={"Reply-To": enquiry.email},
    )
    # Only the reference: nothing the sender typed goes to the address they typed.
    notify_email(
        db,
        NotificationEvent.ENQUIRY_ACKNOWLEDGED,
        enquiry.email,
        {"reference": enquiry.reference},
        dedupe_key=f"{key}ack",
    )


# --- the admin pipeline ---------------------------------------------------------------------


def admin_query(status: EnquiryStatus | None, q: str | None) -> Select[Enquiry]:
    """Enquiries, newest first, with their history; `q` matches the reference, name, phone,
    e-mail or organisation (any part, any case)."""
    statement = select(Enquiry).options(selectinload(Enquiry.history))
    if status is not None:
        statement = statement.where(Enquiry.status == status)
    if q and q.strip():
        term = q.strip()
        statement = statement.where(
            or_(
                *(
                    column.icontains(term, autoescape=True)
                    for column in (
                        Enquiry.reference,
                        Enquiry.name,
                        Enquiry.phone,
                        Enquiry.email,
                        Enquiry.organization,
                    )
                )
            )
        )
    return statement.order_by(Enquiry.created_at.desc(), Enquiry.id.desc())


def get_enquiry(db: Session, enquiry_id: int) -> Enquiry:
    statement = select(Enquiry).where(Enquiry.id == enquiry_id)
    found = db.scalar(statement.options(selectinload(Enquiry.history)))
    if found is None:
        raise EnquiryNotFound()
    return found


def change_status(db: Session, admin_id: int, enquiry_id: int, body: EnquiryStatusIn) -> Enquiry:
    """Move an enquiry along the pipeline (any step but back to `new`), or note on it with
    its status unchanged; kept in its history and audited (the note stays in the history)."""
    enquiry = db.scalar(locked(select(Enquiry).where(Enquiry.id == enquiry_id)))
    if enquiry is None:
        raise EnquiryNotFound()
    old = enquiry.status
    if body.status == old and not body.note:
        return get_enquiry(db, enquiry_id)
    if body.status == EnquiryStatus.NEW and old != EnquiryStatus.NEW:
        raise EnquiryCannotBeNew()
    now = utcnow()
    if body.status != old:
        enquiry.status = body.status
        enquiry.closed_at = now if body.status == EnquiryStatus.CLOSED else None
    enquiry.updated_at = now
    db.add(
        EnquiryStatusChange(
            enquiry_id=enquiry.id,
            from_status=old,
            to_status=body.status,
            note=body.note or None,
            actor_user_id=admin_id,
            at=now,
        )
    )
    record_audit(
        db,
        action="enquiry.status_changed" if body.status != old else "enquiry.noted",
        entity_type="enquiry",
        entity_id=enquiry.id,
        actor_user_id=admin_id,
        changes={"status": {"old": old, "new": body.status}, "noted": bool(body.note)},
    )
    db.flush()
    db.expire(enquiry, ["history"])
    return get_enquiry(db, enquiry_id)


# --- data rights and retention --------------------------------------------------------------


def _of_account(db: Session, user_id: int) -> Select[Enquiry] | None:
    """The enquiries carrying the account's login phone or its e-mail (None: it has neither)."""
    user = db.get(User, user_id)
    if user is None:
        return None
    matches = []
    if user.phone:
        matches.append(Enquiry.phone == user.phone)
    if user.email:
        matches.append(Enquiry.email == user.email.lower())
    if not matches:
        return None
    return select(Enquiry).where(or_(*matches)).order_by(Enquiry.id)


def export_enquiries(db: Session, user_id: int) -> list[dict[str, Any]]:
    """The account's enquiries as sent, with their pipeline (which admin did a step is left
    out: staff are not the person's data)."""
    statement = _of_account(db, user_id)
    if statement is None:
        return []
    return [
        {
            "reference": enquiry.reference,
            "name": enquiry.name,
            "phone": enquiry.phone,
            "email": enquiry.email,
            "organization": enquiry.organization,
            "number_of_tests": enquiry.number_of_tests,
            "message": enquiry.message,
            "status": enquiry.status,
            "created_at": enquiry.created_at,
            "closed_at": enquiry.closed_at,
            "history": [
                {
                    "from_status": step.from_status,
                    "to_status": step.to_status,
                    "note": step.note,
                    "at": step.at,
                }
                for step in enquiry.history
            ],
        }
        for enquiry in db.scalars(statement.options(selectinload(Enquiry.history)))
    ]


def _delete(db: Session, enquiries: list[Enquiry], reason: str) -> int:
    """Delete enquiries with their history and their e-mails in the outbox (sent or not); the
    audit keeps the id and reference only."""
    for enquiry in enquiries:
        drop_messages(db, _messages_key(enquiry.id))
        record_audit(
            db,
            action="enquiry.deleted",
            entity_type="enquiry",
            entity_id=enquiry.id,
            changes={"reference": enquiry.reference, "reason": reason},
        )
    ids = [enquiry.id for enquiry in enquiries]
    if ids:
        db.execute(delete(EnquiryStatusChange).where(EnquiryStatusChange.enquiry_id.in_(ids)))
        db.execute(delete(Enquiry).where(Enquiry.id.in_(ids)))
    return len(ids)


def erase_user_data(db: Session, user_id: int) -> int:
    """Account erasure: the enquiries carrying its phone or e-mail go (call it before the
    account's phone and e-mail are scrubbed)."""
    statement = _of_account(db, user_id)
    if statement is None:
        return 0
    return _delete(db, list(db.scalars(locked(statement))), "account_erased")


def purge_closed(db: Session, limit: int = 500) -> int:
    """Enquiries closed more than ENQUIRY_RETENTION_DAYS ago, oldest first, up to `limit`."""
    cutoff = utcnow() - timedelta(days=get_settings().ENQUIRY_RETENTION_DAYS)
    due = db.scalars(
        locked(
            select(Enquiry)
            .where(Enquiry.status == EnquiryStatus.CLOSED, Enquiry.closed_at < cutoff)
            .order_by(Enquiry.closed_at, Enquiry.id)
            .limit(limit)
        )
    )
    return _delete(db, list(due), "retention")
