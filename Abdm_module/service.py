"""The lab as an ABDM Health Information Provider: linking reports to the member's ABHA (the lab
starts it when a report is stored, or the patient starts it from their health app), keeping the
consents the gateway notifies, and answering requests for health information by pushing the
encrypted FHIR documents.

Every callback is processed here by the job (`process_callbacks`), in a savepoint of its own;
every answer and call goes out through the outbox (`messages.queue_call`). A patient's records
are identified to ABDM as: patient reference = the member's id, care context reference = the
order item's id, display "<brand> report <order number>/<n>" (never the test's name).
"""

import hashlib
import logging
import secrets
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
from sqlalchemy import and_, delete, func, or_, select
from sqlalchemy.orm import Session

from Abdm_module import fidelius, gateway
from Abdm_module.errors import AbdmBlocked, AbdmDisabled, AbhaMissing
from Abdm_module.messages import (
    CONTEXT_NOTIFY,
    GENERATE_TOKEN,
    HI_NOTIFY,
    LINK_CARE_CONTEXT,
    ON_CONFIRM,
    ON_DISCOVER,
    ON_INIT,
    ON_NOTIFY,
    ON_REQUEST,
    SMS_NOTIFY,
    Handler,
    answer,
    queue_call,
    retry_delay,
)
from Abdm_module.models import (
    AbdmCareContext,
    AbdmConsent,
    AbdmLinkRequest,
    AbdmLinkToken,
    AbdmMessage,
    AbdmTransfer,
    ConsentState,
    LinkStatus,
    MessageState,
    TokenState,
    TransferState,
)
from Audit_module.service import record_audit
from config import get_settings
from core.clock import utcnow
from core.errors import RateLimitedError
from core.sealed_tokens import TokenDecryptionError, decrypt_token, encrypt_token
from core.validation import (
    mask_phone,
    normalize_abha_address,
    normalize_abha_number,
    normalize_phone,
)
from database import locked
from Login_module.models import User
from Login_module.OTP.service import claim_send
from Login_module.OTP.store import OtpCheck, OtpStore, generate_code
from Member_module.models import Member
from Notification_module.models import NotificationEvent
from Notification_module.service import notify
from Orders_module.models import Order, OrderItem
from Orders_module.service import get_order, order_item
from Report_module.errors import ReportNotReady
from Report_module.fhir import FHIR_MEDIA_TYPE, report_document
from Report_module.models import Report

logger = logging.getLogger("nucleotide.abdm")

HI_TYPE = "DiagnosticReport"
LINK_TOKEN_DAYS = 180
# A token asked for whose callback never came is asked for again after this long.
TOKEN_CALLBACK_HOURS = 1
BLOCK_HOURS = 24
# Refusals of generate-token that block the HIP for a day: no more tries until it ends.
BLOCKING_CODES = frozenset({"ABDM-1027", "ABDM-1022", "ABDM-2429"})
# on_carecontext errors saying the link token does not fit the ABHA or HIP: ask for a new one.
TOKEN_MISMATCH_CODES = frozenset({"ABDM-1038", "ABDM-1062", "ABDM-1063"})
ALREADY_LINKED = "ABDM-1056"
NO_MATCH = "ABDM-1010"
# Why a health-information request is refused (the gateway's own codes where it has them).
CONSENT_UNKNOWN = ("ABDM-1112", "Invalid or already expired consent artefact id")
CONSENT_NOT_GRANTED = ("ABDM-1062", "Consent not granted")
CONSENT_EXPIRED = ("ABDM-1061", "Consent artefact expired")
RANGE_INVALID = ("ABDM-1063", "Date range given is invalid")
HI_TYPE_NOT_ALLOWED = ("ABDM-1006", "The consent does not cover DiagnosticReport")
KEY_EXPIRED = ("ABDM-9999", "Key material expired")
KEY_INVALID = ("ABDM-9999", "Key material invalid")
NO_RECORDS = ("ABDM-9999", "No care context of this consent is held")
LINK_CODE_SCOPE = "abdm_link"
LINK_CODE_MINUTES = 10
TRANSFER_MINUTES = 20


def enabled() -> bool:
    return get_settings().ABDM_ENABLED


def require_enabled() -> None:
    if not enabled():
        raise AbdmDisabled()


def _now() -> datetime:
    return utcnow()


def _iso(moment: datetime) -> str:
    return gateway.timestamp(moment)


def _parse_time(value: Any) -> datetime | None:
    """An ABDM date-time (with or without zone, `Z` or not; none means UTC) in UTC; None when
    unreadable."""
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


# --- link tokens (sealed at rest: core.sealed_tokens) -------------------------------------------


def _lock_member(db: Session, member_id: int) -> Member | None:
    """The member's row, locked until commit: every path that changes a member's link token or
    care contexts (an upload, "link now", the gateway's callbacks, the patient's confirmation)
    takes it first, so they run one after another and always lock in the same order (member,
    token, care contexts): no two create the same row, none deadlocks another."""
    return db.scalar(locked(select(Member).where(Member.id == member_id)))


def _token_row(db: Session, member_id: int) -> AbdmLinkToken | None:
    return db.scalar(
        select(AbdmLinkToken).where(AbdmLinkToken.member_id == member_id).with_for_update()
    )


def _usable(token: AbdmLinkToken | None, now: datetime) -> bool:
    return (
        token is not None
        and token.state == TokenState.VALID
        and token.token_encrypted is not None
        and (token.expires_at is None or token.expires_at > now)
    )


def _blocked(token: AbdmLinkToken | None, now: datetime) -> bool:
    return (
        token is not None
        and token.state == TokenState.BLOCKED
        and token.blocked_until is not None
        and token.blocked_until > now
    )


# --- care contexts -------------------------------------------------------------------------------


def has_abha(member: Member) -> bool:
    """Linking needs the ABHA address (the gateway's generate-token asks for it); the number
    alone finds the patient in discovery only."""
    return bool(member.abha_address)


def _display(db: Session, order: Order, item_id: int) -> str:
    """ "<brand> report <order number>/<n>": the item's place in its order, never the test."""
    ids = list(
        db.scalars(
            select(OrderItem.id).where(OrderItem.order_id == order.id).order_by(OrderItem.id)
        )
    )
    position = ids.index(item_id) + 1 if item_id in ids else 1
    return f"{get_settings().BRAND_NAME} report {order.order_number}/{position}"


def _care_context_entry(db: Session, order: Order, item_id: int) -> dict[str, str]:
    return {"referenceNumber": str(item_id), "display": _display(db, order, item_id)}


def _patient_entry(member: Member, care_contexts: list[dict[str, str]]) -> dict[str, Any]:
    return {
        "referenceNumber": str(member.id),
        "display": member.name,
        "careContexts": care_contexts,
        "hiType": HI_TYPE,
        "count": len(care_contexts),
    }


def _gender(member: Member) -> str:
    return {"male": "M", "female": "F"}.get(member.gender, "O")


def _ensure_care_context(db: Session, order: Order, item: OrderItem) -> AbdmCareContext:
    context = db.scalar(
        select(AbdmCareContext).where(AbdmCareContext.order_item_id == item.id).with_for_update()
    )
    if context is None:
        context = AbdmCareContext(
            member_id=item.member_id,
            order_id=order.id,
            order_item_id=item.id,
            status=LinkStatus.PENDING,
        )
        db.add(context)
        db.flush()
    elif context.status == LinkStatus.FAILED:
        context.status, context.error_code, context.request_id = LinkStatus.PENDING, None, None
    return context


def on_report_stored(db: Session, order: Order, report: Report) -> None:
    """Hook of Report_module: a report version was stored. Its member has an ABHA: link the
    item's care context (the first version), or tell the patient's app there is news. No ABHA
    but a phone: the gateway texts the patient a link to an ABHA app (first version only), from
    which they can find the report here and link it themselves."""
    if not enabled():
        return
    item = order_item(order, report.order_item_id)
    member = _lock_member(db, item.member_id)
    if member is None or member.is_deleted:
        return
    if not has_abha(member):
        phone = _member_phone(db, member)
        if phone and report.version == 1:
            _sms_deep_link(db, member, phone)
        return
    existing = db.scalar(select(AbdmCareContext).where(AbdmCareContext.order_item_id == item.id))
    if existing is not None and existing.status == LinkStatus.LINKED:
        _notify_new_version(db, member, order, item.id)
        return
    _ensure_care_context(db, order, item)
    schedule_links(db, member)


def _sms_deep_link(db: Session, member: Member, phone: str) -> None:
    settings = get_settings()
    queue_call(
        db,
        SMS_NOTIFY,
        {
            "notification": {
                "phoneNo": phone[-10:],
                "hip": {"name": settings.ABDM_HIP_NAME, "id": settings.ABDM_HIP_ID},
            }
        },
        subject=f"member:{member.id}",
        member_id=member.id,
    )


def link_now(db: Session, user_id: int | None, order: Order, item_id: int) -> AbdmCareContext:
    """`POST /orders/{id}/items/{item_id}/abha-link`: link this item's report now (again after a
    failure); linked already: as it is."""
    require_enabled()
    item = order_item(order, item_id)
    if item.report_version is None:
        raise ReportNotReady()
    member = _lock_member(db, item.member_id)
    if member is None or member.is_deleted or not has_abha(member):
        raise AbhaMissing()
    now = _now()
    token = _token_row(db, member.id)
    if _blocked(token, now):
        assert token is not None and token.blocked_until is not None
        raise AbdmBlocked(retry_after=int((token.blocked_until - now).total_seconds()) + 1)
    context = _ensure_care_context(db, order, item)
    if context.status == LinkStatus.PENDING:
        schedule_links(db, member)
        record_audit(
            db,
            action="abdm.link_requested",
            entity_type="abdm_care_context",
            entity_id=context.id,
            actor_user_id=user_id,
            changes={"order_id": order.id, "order_item_id": item.id},
        )
    return context


def schedule_links(db: Session, member: Member) -> None:
    """Move the member's pending care contexts on: with a usable link token, one link call for
    those not yet sent; without one, ask for a token (once; its callback comes back here)."""
    now = _now()
    token = _token_row(db, member.id)
    if _blocked(token, now):
        assert token is not None
        _fail_pending(db, member.id, token.error_code or "ABDM-1027")
        return
    waiting = list(
        db.scalars(
            select(AbdmCareContext)
            .where(
                AbdmCareContext.member_id == member.id,
                AbdmCareContext.status == LinkStatus.PENDING,
                AbdmCareContext.request_id.is_(None),
            )
            .order_by(AbdmCareContext.id)
            .with_for_update()
        )
    )
    if not waiting:
        return
    if _usable(token, now):
        entries = []
        for context in waiting:
            order = db.get(Order, context.order_id)
            assert order is not None
            entries.append(_care_context_entry(db, order, context.order_item_id))
        message = queue_call(
            db,
            LINK_CARE_CONTEXT,
            {
                "abhaNumber": member.abha_number,
                "abhaAddress": member.abha_address,
                "patient": [_patient_entry(member, entries)],
            },
            subject=f"member:{member.id}",
            member_id=member.id,
        )
        for context in waiting:
            context.request_id = message.request_id
        return
    if (
        token is not None
        and token.state == TokenState.REQUESTED
        and token.requested_at > now - timedelta(hours=TOKEN_CALLBACK_HOURS)
    ):
        return  # its callback will move them on
    message = queue_call(
        db,
        GENERATE_TOKEN,
        {
            "abhaNumber": member.abha_number,
            "abhaAddress": member.abha_address,
            "name": member.name,
            "gender": _gender(member),
            "yearOfBirth": member.date_of_birth.year,
        },
        subject=f"member:{member.id}",
        member_id=member.id,
    )
    if token is None:
        token = AbdmLinkToken(member_id=member.id, state=TokenState.REQUESTED)
        db.add(token)
    token.state, token.request_id, token.requested_at = (
        TokenState.REQUESTED,
        message.request_id,
        now,
    )
    token.token_encrypted, token.expires_at, token.error_code = None, None, None
    token.abha_address = member.abha_address
    db.flush()


def _fail_pending(db: Session, member_id: int, code: str) -> None:
    for context in db.scalars(
        select(AbdmCareContext).where(
            AbdmCareContext.member_id == member_id,
            AbdmCareContext.status == LinkStatus.PENDING,
        )
    ):
        context.status, context.error_code, context.request_id = LinkStatus.FAILED, code, None


def _notify_new_version(db: Session, member: Member, order: Order, item_id: int) -> None:
    """A linked care context has a new report version: tell the patient's health app."""
    queue_call(
        db,
        CONTEXT_NOTIFY,
        {
            "notification": {
                "patient": {"id": member.abha_address or member.abha_number},
                "careContext": {
                    "patientReference": str(member.id),
                    "careContextReference": str(item_id),
                },
                "hiTypes": [HI_TYPE],
                "date": _iso(_now()),
                "hip": {"id": get_settings().ABDM_HIP_ID},
            }
        },
        subject=f"member:{member.id}",
        member_id=member.id,
    )


def _unseal(sealed: str) -> str | None:
    try:
        return decrypt_token(sealed)
    except TokenDecryptionError:
        return None


def link_headers(db: Session, message: AbdmMessage) -> dict[str, str] | None:
    """Extra headers of an outgoing call: a link call carries the member's link token."""
    if message.path != LINK_CARE_CONTEXT:
        return {}
    token = (
        db.scalar(select(AbdmLinkToken).where(AbdmLinkToken.member_id == message.member_id))
        if message.member_id
        else None
    )
    sealed = token.token_encrypted if token is not None else None
    value = _unseal(sealed) if sealed else None
    return {"X-LINK-TOKEN": value} if value else None


def call_refused(db: Session, message: AbdmMessage, code: str) -> None:
    """A call the gateway refused (or that never got through)."""
    if message.path == GENERATE_TOKEN and message.member_id:
        _token_failed(db, message.member_id, code)
    elif message.path == LINK_CARE_CONTEXT:
        _settle_link(db, message.request_id, code)


def _token_failed(db: Session, member_id: int, code: str) -> None:
    _lock_member(db, member_id)
    token = _token_row(db, member_id)
    if token is not None:
        blocked = code in BLOCKING_CODES
        token.state = TokenState.BLOCKED if blocked else TokenState.FAILED
        token.blocked_until = _now() + timedelta(hours=BLOCK_HOURS) if blocked else None
        token.error_code = code[:40]
        token.token_encrypted = None
    _fail_pending(db, member_id, code[:40])


def _settle_link(db: Session, request_id: str, code: str | None) -> None:
    for member_id in db.scalars(
        select(AbdmCareContext.member_id).where(AbdmCareContext.request_id == request_id).distinct()
    ):
        _lock_member(db, member_id)
    contexts = list(
        db.scalars(
            select(AbdmCareContext)
            .where(AbdmCareContext.request_id == request_id)
            .with_for_update()
        )
    )
    now = _now()
    for context in contexts:
        if code is None or code == ALREADY_LINKED:
            context.status, context.linked_at, context.error_code = LinkStatus.LINKED, now, None
            record_audit(
                db,
                action="abdm.care_context_linked",
                entity_type="abdm_care_context",
                entity_id=context.id,
                changes={"order_id": context.order_id, "order_item_id": context.order_item_id},
            )
        else:
            context.status, context.error_code = LinkStatus.FAILED, code[:40]
    if code in TOKEN_MISMATCH_CODES and contexts:
        token = _token_row(db, contexts[0].member_id)
        if token is not None:
            token.state, token.token_encrypted, token.error_code = TokenState.FAILED, None, code


def _error_code(body: dict[str, Any]) -> str | None:
    error = body.get("error")
    if isinstance(error, dict) and error:
        return str(error.get("code") or "ABDM-9999")[:40]
    return None


def _response_request_id(body: dict[str, Any]) -> str | None:
    response = body.get("response")
    value = response.get("requestId") if isinstance(response, dict) else None
    return value if isinstance(value, str) else None


def handle_on_generate_token(db: Session, message: AbdmMessage) -> None:
    body = message.payload or {}
    request_id = _response_request_id(body)
    member_id = (
        db.scalar(select(AbdmLinkToken.member_id).where(AbdmLinkToken.request_id == request_id))
        if request_id
        else None
    )
    member = _lock_member(db, member_id) if member_id is not None else None
    token = _token_row(db, member_id) if member_id is not None else None
    if token is None or token.request_id != request_id:
        message.error_code = "unknown_request"
        return
    code = _error_code(body)
    if code is not None or not isinstance(body.get("linkToken"), str):
        message.error_code = code or "no_link_token"
        _token_failed(db, token.member_id, message.error_code)
        return
    token.state = TokenState.VALID
    token.token_encrypted = encrypt_token(body["linkToken"])
    token.expires_at = _token_expiry(body["linkToken"])
    token.error_code = None
    if member is not None and not member.is_deleted:
        schedule_links(db, member)


def _token_expiry(link_token: str) -> datetime:
    """When a link token stops working: its own `exp` when it is a JWT (the gateway's are),
    else the six months NHA gives them; a minute early, so it is renewed rather than refused."""
    try:
        exp = jwt.decode(link_token, options={"verify_signature": False}).get("exp")
    except jwt.PyJWTError:
        exp = None
    if isinstance(exp, int | float):
        return datetime.fromtimestamp(exp, UTC) - timedelta(minutes=1)
    return _now() + timedelta(days=LINK_TOKEN_DAYS)


def handle_on_carecontext(db: Session, message: AbdmMessage) -> None:
    body = message.payload or {}
    request_id = _response_request_id(body)
    if request_id is None:
        message.error_code = "unknown_request"
        return
    code = _error_code(body)
    message.error_code = code
    _settle_link(db, request_id, code)


# --- user-initiated linking ----------------------------------------------------------------------


def _identifiers(patient: dict[str, Any]) -> dict[str, str]:
    found: dict[str, str] = {}
    for entry in patient.get("verifiedIdentifiers") or []:
        if isinstance(entry, dict) and isinstance(entry.get("value"), str):
            found[str(entry.get("type", "")).upper()] = entry["value"]
    if isinstance(patient.get("id"), str):
        found.setdefault("ABHA_ADDRESS", patient["id"])
    return found


def _normalised(normalize: Callable[[str], str], value: str) -> str | None:
    """`value` as the members' column holds it (core.validation), None when malformed."""
    try:
        return normalize(value)
    except ValueError:
        return None


def _member_phone(db: Session, member: Member) -> str | None:
    if member.phone:
        return member.phone
    if member.relation == "self":
        user = db.get(User, member.user_id)
        return user.phone if user is not None else None
    return None


def match_patient(db: Session, patient: dict[str, Any]) -> tuple[Member | None, str]:
    """The one live member the patient is: by ABHA first, then mobile + name + gender + year of
    birth. Several candidates are no match (the patient must not see another's records)."""
    ids = _identifiers(patient)
    live = select(Member).where(Member.is_deleted.is_(False))
    conditions = []
    address = _normalised(normalize_abha_address, ids.get("ABHA_ADDRESS", ""))
    if address is not None:
        conditions.append(Member.abha_address == address)
    number = _normalised(normalize_abha_number, ids.get("ABHA_NUMBER", ""))
    if number is not None:
        conditions.append(Member.abha_number == number)
    for condition in conditions:
        found = list(db.scalars(live.where(condition).limit(2)))
        if len(found) == 1:
            return found[0], "ABHA"
    phone = _normalised(normalize_phone, ids.get("MOBILE", ""))
    if phone is None:
        return None, ""
    name = str(patient.get("name") or "").strip().casefold()
    gender = str(patient.get("gender") or "")
    year = patient.get("yearOfBirth")
    # The member's own phone, or the account's for the account holder who has none.
    with_phone = live.join(User, User.id == Member.user_id).where(
        or_(
            Member.phone == phone,
            and_(Member.relation == "self", Member.phone.is_(None), User.phone == phone),
        )
    )
    candidates = [
        member
        for member in db.scalars(with_phone.limit(50))
        if name
        and member.name.strip().casefold() == name
        and _gender(member) == gender
        and member.date_of_birth.year == year
    ]
    if len(candidates) == 1:
        return candidates[0], "MOBILE"
    return None, ""


def _reported_items(db: Session, member_id: int) -> list[tuple[Order, int]]:
    """The member's order items with a report (not erased), oldest first."""
    rows = db.execute(
        select(OrderItem.id, OrderItem.order_id)
        .where(OrderItem.member_id == member_id, OrderItem.report_version.is_not(None))
        .order_by(OrderItem.id)
    ).all()
    found = []
    for item_id, order_id in rows:
        erased = db.scalar(
            select(func.count(Report.id)).where(
                Report.order_item_id == item_id, Report.erased_at.is_not(None)
            )
        )
        order = db.get(Order, order_id)
        if order is not None and not erased:
            found.append((order, item_id))
    return found


def handle_discover(db: Session, message: AbdmMessage) -> None:
    body = message.payload or {}
    transaction_id = str(body.get("transactionId") or "")
    patient = body.get("patient") if isinstance(body.get("patient"), dict) else {}
    member, matched_by = match_patient(db, patient or {})
    if member is None or not transaction_id:
        answer(
            db,
            message,
            ON_DISCOVER,
            {
                "transactionId": transaction_id,
                "error": {"code": NO_MATCH, "message": "No patient found at this facility"},
            },
            subject=transaction_id or None,
        )
        message.error_code = NO_MATCH
        return
    db.add(
        AbdmLinkRequest(
            transaction_id=transaction_id[:64], member_id=member.id, matched_by=matched_by
        )
    )
    entries = [
        _care_context_entry(db, order, item_id) for order, item_id in _reported_items(db, member.id)
    ]
    answer(
        db,
        message,
        ON_DISCOVER,
        {
            "transactionId": transaction_id,
            "patient": [_patient_entry(member, entries)],
            "matchedBy": [matched_by if matched_by == "MOBILE" else "ABHA_NUMBER"],
        },
        subject=transaction_id,
        member_id=member.id,
    )


def _codes() -> OtpStore:
    return OtpStore(LINK_CODE_SCOPE, ttl=LINK_CODE_MINUTES * 60)


def _link_request(db: Session, **where: Any) -> AbdmLinkRequest | None:
    statement = select(AbdmLinkRequest).with_for_update()
    for column, value in where.items():
        statement = statement.where(getattr(AbdmLinkRequest, column) == value)
    return db.scalar(statement)


def handle_link_init(db: Session, message: AbdmMessage) -> None:
    body = message.payload or {}
    transaction_id = str(body.get("transactionId") or "")
    request = _link_request(db, transaction_id=transaction_id) if transaction_id else None
    member = db.get(Member, request.member_id) if request is not None else None

    def refuse(code: str, text: str) -> None:
        message.error_code = code
        answer(
            db,
            message,
            ON_INIT,
            {"transactionId": transaction_id, "error": {"code": code, "message": text}},
            subject=transaction_id or None,
        )

    if request is None or member is None or member.is_deleted:
        return refuse(NO_MATCH, "Unknown transaction: discover first")
    held = {item_id for _order, item_id in _reported_items(db, member.id)}
    chosen: list[int] = []
    for patient in body.get("patient") or []:
        for context in (patient or {}).get("careContexts") or []:
            reference = str((context or {}).get("referenceNumber") or "")
            if not reference.isdigit() or int(reference) not in held:
                return refuse("ABDM-1020", "Care context not found")
            chosen.append(int(reference))
    phone = _member_phone(db, member)
    if not chosen or phone is None:
        return refuse("ABDM-1020", "Nothing to link" if phone else "No mobile to send the code to")
    try:
        claim_send(phone, None, LINK_CODE_SCOPE)
    except RateLimitedError:
        return refuse("ABDM-1100", "Too many codes sent to this mobile; try later")
    code = generate_code()
    request.link_ref_number = secrets.token_hex(16)
    request.order_item_ids = sorted(set(chosen))
    request.expires_at = _now() + timedelta(minutes=LINK_CODE_MINUTES)
    db.flush()
    _codes().issue(request.link_ref_number, code)
    notify(
        db,
        member.user_id,
        NotificationEvent.ABHA_LINK_CODE,
        {"code": code, "minutes": LINK_CODE_MINUTES},
        phone=phone,
    )
    answer(
        db,
        message,
        ON_INIT,
        {
            "transactionId": transaction_id,
            "link": {
                "referenceNumber": request.link_ref_number,
                "authenticationType": "DIRECT",
                "meta": {
                    "communicationMedium": "MOBILE",
                    "communicationHint": mask_phone(phone),
                    "communicationExpiry": _iso(request.expires_at),
                },
            },
        },
        subject=transaction_id,
        member_id=member.id,
    )


def handle_link_confirm(db: Session, message: AbdmMessage) -> None:
    body = message.payload or {}
    confirmation = body.get("confirmation") if isinstance(body.get("confirmation"), dict) else {}
    reference = str((confirmation or {}).get("linkRefNumber") or "")
    code = str((confirmation or {}).get("token") or "")
    request = _link_request(db, link_ref_number=reference) if reference else None

    def refuse(error: str, text: str) -> None:
        message.error_code = error
        answer(db, message, ON_CONFIRM, {"error": {"code": error, "message": text}})

    if request is None or request.confirmed_at is not None or not request.order_item_ids:
        return refuse("ABDM-1020", "Unknown link reference")
    outcome = _codes().check(reference, code)
    if outcome is not OtpCheck.OK:
        return refuse(
            "ABDM-1035" if outcome is OtpCheck.WRONG else "ABDM-1036", "Invalid or expired code"
        )
    member = _lock_member(db, request.member_id)
    if member is None or member.is_deleted:
        return refuse("ABDM-1020", "Unknown link reference")
    request.confirmed_at = _now()
    entries = []
    for item_id in request.order_item_ids:
        item = db.get(OrderItem, item_id)
        order = db.get(Order, item.order_id) if item is not None else None
        if item is None or order is None:
            continue
        context = _ensure_care_context(db, order, item)
        context.status, context.linked_at, context.error_code = LinkStatus.LINKED, _now(), None
        context.request_id = None
        record_audit(
            db,
            action="abdm.care_context_linked",
            entity_type="abdm_care_context",
            entity_id=context.id,
            changes={"order_id": order.id, "order_item_id": item.id, "by": "patient"},
        )
        entries.append(_care_context_entry(db, order, item.id))
    answer(
        db, message, ON_CONFIRM, {"patient": [_patient_entry(member, entries)]}, member_id=member.id
    )


# --- consent and data transfer -------------------------------------------------------------------


def _member_of_references(db: Session, references: list[dict[str, str]]) -> int | None:
    for entry in references:
        reference = str(entry.get("careContextReference") or "")
        if reference.isdigit():
            item = db.get(OrderItem, int(reference))
            if item is not None:
                return item.member_id
    return None


def handle_consent_notify(db: Session, message: AbdmMessage) -> None:
    body = message.payload or {}
    notification = body.get("notification") if isinstance(body.get("notification"), dict) else {}
    notification = notification or {}
    consent_id = str(notification.get("consentId") or "")[:64]
    status = str(notification.get("status") or "")
    if not consent_id or status not in ConsentState.__members__:
        message.error_code = "invalid_notification"
        return
    consent = db.scalar(
        select(AbdmConsent).where(AbdmConsent.consent_id == consent_id).with_for_update()
    )
    detail = notification.get("consentDetail") or {}
    if consent is None:
        consent = AbdmConsent(consent_id=consent_id, status=ConsentState(status))
        db.add(consent)
    consent.status = ConsentState(status)
    if status != ConsentState.GRANTED:
        # Revoked, expired or denied: only the state is kept (to answer why), not what it named.
        consent.care_contexts, consent.hi_types = [], []
        consent.date_from = consent.date_to = consent.data_erase_at = None
    elif isinstance(detail, dict):
        contexts = [
            {
                "patientReference": str(entry.get("patientReference") or ""),
                "careContextReference": str(entry.get("careContextReference") or ""),
            }
            for entry in detail.get("careContexts") or []
            if isinstance(entry, dict)
        ]
        permission = detail.get("permission") or {}
        date_range = permission.get("dateRange") or {}
        consent.care_contexts = contexts
        consent.hi_types = [str(kind) for kind in detail.get("hiTypes") or []]
        consent.hiu_id = str((detail.get("hiu") or {}).get("id") or "")[:64] or None
        consent.date_from = _parse_time(date_range.get("from"))
        consent.date_to = _parse_time(date_range.get("to"))
        consent.data_erase_at = _parse_time(permission.get("dataEraseAt"))
        consent.member_id = _member_of_references(db, contexts)
    db.flush()
    record_audit(
        db,
        action=f"abdm.consent_{status.lower()}",
        entity_type="abdm_consent",
        entity_id=consent.id,
        changes={"consent_id": consent_id, "hiu_id": consent.hiu_id},
    )
    answer(
        db,
        message,
        ON_NOTIFY,
        {"acknowledgement": {"status": "OK", "consentId": consent_id}},
        subject=consent_id,
    )


def _check_request(
    consent: AbdmConsent | None,
    date_from: datetime | None,
    date_to: datetime | None,
    key_material: dict[str, Any],
    now: datetime,
) -> tuple[str, str] | None:
    """Why the request cannot be served, or None."""
    if consent is None:
        return CONSENT_UNKNOWN
    if consent.status == ConsentState.EXPIRED:
        return CONSENT_EXPIRED
    if consent.status != ConsentState.GRANTED:
        return CONSENT_NOT_GRANTED
    if consent.data_erase_at is not None and consent.data_erase_at <= now:
        return CONSENT_EXPIRED
    if (
        date_from is None
        or date_to is None
        or date_from > date_to
        or (consent.date_from is not None and date_from < consent.date_from)
        or (consent.date_to is not None and date_to > consent.date_to)
    ):
        return RANGE_INVALID
    if HI_TYPE not in consent.hi_types:
        return HI_TYPE_NOT_ALLOWED
    public_key = (key_material.get("dhPublicKey") or {}) if isinstance(key_material, dict) else {}
    expiry = _parse_time(public_key.get("expiry"))
    if expiry is None or expiry <= now:
        return KEY_EXPIRED
    if not isinstance(public_key.get("keyValue"), str) or not isinstance(
        key_material.get("nonce"), str
    ):
        return KEY_INVALID
    return None


def handle_health_information_request(db: Session, message: AbdmMessage) -> None:
    body = message.payload or {}
    transaction_id = str(body.get("transactionId") or "")[:64]
    hi_request = body.get("hiRequest") if isinstance(body.get("hiRequest"), dict) else {}
    hi_request = hi_request or {}
    consent_id = str((hi_request.get("consent") or {}).get("id") or "")[:64]
    if not transaction_id or db.scalar(
        select(AbdmTransfer.id).where(AbdmTransfer.transaction_id == transaction_id)
    ):
        message.error_code = "duplicate_transaction" if transaction_id else "no_transaction"
        return
    consent = (
        db.scalar(select(AbdmConsent).where(AbdmConsent.consent_id == consent_id))
        if consent_id
        else None
    )
    date_range = hi_request.get("dateRange") or {}
    date_from, date_to = _parse_time(date_range.get("from")), _parse_time(date_range.get("to"))
    key_material = hi_request.get("keyMaterial") or {}
    now = _now()
    problem = _check_request(consent, date_from, date_to, key_material, now)
    if problem is None and consent is not None and not _records(db, consent, date_from, date_to):
        problem = NO_RECORDS  # nothing the consent names is held here (erased, never linked)
    transfer = AbdmTransfer(
        transaction_id=transaction_id,
        consent_id=consent_id or "-",
        state=TransferState.ERRORED if problem else TransferState.ACKNOWLEDGED,
        data_push_url=None if problem else str(hi_request.get("dataPushUrl") or "")[:500],
        key_material=None if problem else key_material,
        date_from=date_from,
        date_to=date_to,
        next_attempt_at=now,
        deadline_at=now + timedelta(minutes=TRANSFER_MINUTES),
        error_code=problem[0] if problem else None,
        done_at=now if problem else None,
    )
    db.add(transfer)
    db.flush()
    status: dict[str, Any] = {
        "transactionId": transaction_id,
        "sessionStatus": "ERRORED" if problem else "ACKNOWLEDGED",
    }
    extra: dict[str, Any] = {"hiRequest": status}
    if problem:
        message.error_code = problem[0]
        extra["error"] = {"code": problem[0], "message": problem[1]}
    answer(db, message, ON_REQUEST, extra, subject=transaction_id)
    record_audit(
        db,
        action="abdm.data_requested",
        entity_type="abdm_transfer",
        entity_id=transfer.id,
        changes={
            "consent_id": consent_id,
            "accepted": problem is None,
            "error": transfer.error_code,
        },
    )


def _records(
    db: Session, consent: AbdmConsent, date_from: datetime | None, date_to: datetime | None
) -> list[tuple[Order, int]]:
    """The consent's care contexts the lab holds, with a report issued inside the range asked."""
    found = []
    for entry in consent.care_contexts:
        reference = entry.get("careContextReference", "")
        if not reference.isdigit():
            continue
        item = db.get(OrderItem, int(reference))
        if item is None or item.report_version is None or item.member_id != consent.member_id:
            continue
        linked = db.scalar(
            select(AbdmCareContext.id).where(
                AbdmCareContext.order_item_id == item.id,
                AbdmCareContext.status == LinkStatus.LINKED,
            )
        )
        if linked is None:  # never linked to this ABHA here, or erased
            continue
        report = db.scalar(
            select(Report).where(
                Report.order_item_id == item.id, Report.version == item.report_version
            )
        )
        if report is None or report.erased_at is not None:
            continue
        if date_from and report.uploaded_at < date_from:
            continue
        if date_to and report.uploaded_at > date_to:
            continue
        found.append((get_order(db, item.order_id), item.id))
    return found


def _notify_transfer(
    db: Session, transfer: AbdmTransfer, done: bool, statuses: list[dict[str, str]]
) -> None:
    settings = get_settings()
    queue_call(
        db,
        HI_NOTIFY,
        {
            "notification": {
                "consentId": transfer.consent_id,
                "transactionId": transfer.transaction_id,
                "doneAt": _iso(_now()),
                "notifier": {"type": "HIP", "id": settings.ABDM_HIP_ID},
                "statusNotification": {
                    "sessionStatus": "TRANSFERRED" if done else "FAILED",
                    "hipId": settings.ABDM_HIP_ID,
                    "statusResponses": [
                        {
                            "careContextReference": entry["reference"],
                            "hiStatus": entry["status"],
                            "description": entry.get("description", ""),
                        }
                        for entry in statuses
                    ],
                },
            }
        },
        subject=transfer.transaction_id,
    )


def _end_transfer(
    db: Session,
    transfer: AbdmTransfer,
    state: TransferState,
    statuses: list[dict[str, str]],
    code: str | None = None,
) -> None:
    transfer.state, transfer.statuses, transfer.error_code = state, statuses, code
    transfer.done_at, transfer.key_material = _now(), None
    _notify_transfer(db, transfer, state == TransferState.TRANSFERRED, statuses)
    record_audit(
        db,
        action="abdm.data_transferred"
        if state == TransferState.TRANSFERRED
        else "abdm.data_failed",
        entity_type="abdm_transfer",
        entity_id=transfer.id,
        changes={
            "consent_id": transfer.consent_id,
            "care_contexts": [entry["reference"] for entry in statuses],
            "error": code,
        },
    )


def push_transfer(db: Session, transfer: AbdmTransfer) -> None:
    """Encrypt the consent's records for the HIU and push them, then tell the gateway. The
    consent and the HIU's key are checked again first: revoked or expired, nothing is sent."""
    now = _now()
    consent = db.scalar(select(AbdmConsent).where(AbdmConsent.consent_id == transfer.consent_id))
    key_material = transfer.key_material or {}
    problem = _check_request(consent, transfer.date_from, transfer.date_to, key_material, now)
    if problem is None and consent is not None:
        records = _records(db, consent, transfer.date_from, transfer.date_to)
        if not records:
            problem = NO_RECORDS
    if problem is not None or consent is None:
        code, text = problem or CONSENT_UNKNOWN
        references = [
            entry.get("careContextReference", "")
            for entry in (consent.care_contexts if consent else [])
        ]
        _end_transfer(
            db,
            transfer,
            TransferState.FAILED,
            [{"reference": ref, "status": "ERRORED", "description": text} for ref in references],
            code,
        )
        return
    transfer.attempts += 1
    keys = fidelius.generate_key_pair()
    nonce = fidelius.generate_nonce()
    public_key = key_material["dhPublicKey"]["keyValue"]
    entries = []
    try:
        for order, item_id in records:
            document = report_document(db, order, item_id)
            entries.append(
                {
                    "content": fidelius.encrypt(
                        document,
                        sender_private_key=keys.private_key,
                        sender_nonce=nonce,
                        requester_public_key=public_key,
                        requester_nonce=key_material["nonce"],
                    ),
                    "media": FHIR_MEDIA_TYPE,
                    "checksum": hashlib.md5(document, usedforsecurity=False).hexdigest(),
                    "careContextReference": str(item_id),
                }
            )
    except fidelius.InvalidKeyMaterial:
        _end_transfer(db, transfer, TransferState.FAILED, [], KEY_INVALID[0])
        return
    body = {
        "pageNumber": 1,
        "pageCount": 1,
        "transactionId": transfer.transaction_id,
        "entries": entries,
        "keyMaterial": {
            "cryptoAlg": "ECDH",
            "curve": "Curve25519",
            "dhPublicKey": {
                "expiry": _iso(transfer.deadline_at + timedelta(hours=1)),
                "parameters": "Curve25519/32byte random key",
                "keyValue": keys.public_key,
            },
            "nonce": nonce,
        },
    }
    references = [entry["careContextReference"] for entry in entries]
    try:
        gateway.push(transfer.data_push_url or "", body)
    except gateway.GatewayUnavailable:
        transfer.next_attempt_at = now + retry_delay(transfer.attempts)
        if transfer.next_attempt_at > transfer.deadline_at:
            _end_transfer(
                db,
                transfer,
                TransferState.FAILED,
                [
                    {"reference": ref, "status": "ERRORED", "description": "HIU unreachable"}
                    for ref in references
                ],
                "push_failed",
            )
        return
    except gateway.GatewayRefusal as exc:
        _end_transfer(
            db,
            transfer,
            TransferState.FAILED,
            [
                {"reference": ref, "status": "ERRORED", "description": "refused by the HIU"}
                for ref in references
            ],
            exc.code[:40],
        )
        return
    _end_transfer(
        db,
        transfer,
        TransferState.TRANSFERRED,
        [{"reference": ref, "status": "DELIVERED"} for ref in references],
    )


def push_due(db: Session, now: datetime, limit: int) -> int:
    claimed = list(
        db.scalars(
            select(AbdmTransfer)
            .where(
                AbdmTransfer.state == TransferState.ACKNOWLEDGED,
                AbdmTransfer.next_attempt_at <= now,
            )
            .order_by(AbdmTransfer.next_attempt_at, AbdmTransfer.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    )
    for transfer in claimed:
        try:
            with db.begin_nested():
                push_transfer(db, transfer)
        except Exception:
            logger.exception("abdm transfer %s failed", transfer.id)
            transfer.attempts += 1
            transfer.next_attempt_at = now + retry_delay(transfer.attempts)
    return len(claimed)


HANDLERS: dict[str, Handler] = {
    "on-generate-token": handle_on_generate_token,
    "on-carecontext": handle_on_carecontext,
    "discover": handle_discover,
    "link-init": handle_link_init,
    "link-confirm": handle_link_confirm,
    "consent-notify": handle_consent_notify,
    "health-information-request": handle_health_information_request,
}


# --- the customer's view, export and erasure ----------------------------------------------------


def care_contexts_of(db: Session, member_id: int) -> list[AbdmCareContext]:
    return list(
        db.scalars(
            select(AbdmCareContext)
            .where(AbdmCareContext.member_id == member_id)
            .order_by(AbdmCareContext.id)
        )
    )


def erase_user_data(db: Session, user_id: int) -> int:
    """An erased account's members: their link tokens, care contexts, link requests, consent
    artefacts and pending calls go (transfers keep only ids and states). Later requests for
    their care contexts find no consent and are answered as errors."""
    member_ids = list(db.scalars(select(Member.id).where(Member.user_id == user_id)))
    if not member_ids:
        return 0
    removed = 0
    for model in (AbdmLinkToken, AbdmCareContext, AbdmLinkRequest, AbdmConsent):
        result = db.execute(delete(model).where(model.member_id.in_(member_ids)))
        removed += result.rowcount or 0  # type: ignore[attr-defined]
    for message in db.scalars(select(AbdmMessage).where(AbdmMessage.member_id.in_(member_ids))):
        message.payload, message.member_id = None, None
        if message.state == MessageState.PENDING:
            message.state, message.error_code = MessageState.FAILED, "erased"
    return removed
