"""Member-confirmed consent: an adult member other than the account holder confirms their own
consents from their own phone.

The account holder starts a request for some consent codes; the member gets an SMS (through the
notifications outbox) with a link holding a random token and a 6-digit code. The token is kept
as its SHA-256, the code as an HMAC in Redis (compare, count and burn in one step, as for login
codes), so neither can be read back, and neither is in an answer, a log or an audit entry. On
the link the member reads the exact texts and versions, then confirms with the code (the grants
record their masked phone, IP and user agent, and the request) or declines. Later they can
withdraw what they confirmed with a login code sent to the same phone."""

import hashlib
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import Select, select, update
from sqlalchemy.orm import Session

from Audit_module.service import record_audit, record_rejection
from config import get_settings
from Consent_module.errors import ConsentTypeInactive, ConsentVersionOutdated
from Consent_module.models import ConsentGrant, ConsentType, ConsentTypeVersion
from Consent_module.Request.answers import RequestAnswer
from Consent_module.Request.errors import (
    ConsentRequestClosed,
    ConsentRequestExpired,
    ConsentRequestNotFound,
    MemberConfirmationNotNeeded,
    MemberPhoneRequired,
)
from Consent_module.Request.models import ConsentRequest, ConsentRequestStatus
from Consent_module.service import get_type, lock_member, record_grant, record_withdrawal
from core.clock import utcnow
from core.context import current_request
from core.errors import RateLimitedError
from core.validation import mask_phone
from database import locked, on_commit, on_rollback, rows_changed
from Login_module.errors import OtpAttemptsExceeded, OtpExpired, OtpInvalid
from Login_module.models import User
from Login_module.OTP.service import claim_send, limit_verify_attempts, verify_code
from Login_module.OTP.sms import check_sms_region
from Login_module.OTP.store import OtpCheck, OtpStore, generate_code, phone_key
from Member_module.models import Member
from Member_module.service import confirms_own_consent
from Notification_module.models import NotificationEvent
from Notification_module.service import notify

# Rate limits and codes of consent requests are counted apart from login codes.
SCOPE = "consent_request"
OPEN = (ConsentRequestStatus.PENDING, ConsentRequestStatus.BURNED)


@dataclass(frozen=True)
class ConsentText:
    code: str
    title: str
    body: str
    version: int


@dataclass(frozen=True)
class MemberView:
    """What the member sees on the link: who asks, for whom, and the exact texts."""

    requester_name: str
    member_name: str
    consents: list[ConsentText]
    expires_at: datetime
    status: ConsentRequestStatus


def answer(request: ConsentRequest) -> RequestAnswer:
    status = request.status
    if status is ConsentRequestStatus.PENDING and request.expires_at <= utcnow():
        status = ConsentRequestStatus.EXPIRED
    return RequestAnswer(request, status, [entry["code"] for entry in request.consents])


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _codes() -> OtpStore:
    """The request codes: keyed by the request's token hash, living as long as the request."""
    return OtpStore(SCOPE, ttl=int(get_settings().CONSENT_REQUEST_TTL_HOURS * 3600))


def _member_phone(member: Member, requester: User) -> str:
    """The phone the member confirms from: their own, not the account's login phone."""
    if not member.phone or member.phone == requester.phone:
        raise MemberPhoneRequired()
    check_sms_region(member.phone)
    return member.phone


def _send(db: Session, request: ConsentRequest, requester: User, phone: str) -> None:
    """A new link and code for `request`, sent to `phone` through the outbox; the earlier ones
    stop working. The caller has locked the request (or just made it)."""
    settings = get_settings()
    claim_send(phone, current_request().ip, SCOPE)
    token = secrets.token_urlsafe(32)
    code = generate_code()
    request.token_hash = _token_hash(token)
    request.phone_key = phone_key(phone)
    request.phone_masked = mask_phone(phone)
    request.expires_at = utcnow() + timedelta(hours=settings.CONSENT_REQUEST_TTL_HOURS)
    request.status = ConsentRequestStatus.PENDING
    db.flush()
    _codes().issue(request.token_hash, code)
    context = {
        # Never the requester's own words (their name is free text): an SMS to a third party
        # names them by what they cannot shape, their masked login phone.
        "requester": f"A family member ({mask_phone(requester.phone or '')})",
        "link": f"{settings.FRONTEND_CONSENT_URL}?{urlencode({'token': token})}",
        "code": code,
        "hours": f"{settings.CONSENT_REQUEST_TTL_HOURS:g}",
    }
    notify(db, requester.id, NotificationEvent.CONSENT_REQUEST, context, phone=phone)


def _requester(db: Session, user_id: int) -> User:
    user = db.get(User, user_id)
    assert user is not None
    return user


def _current_versions(db: Session, codes: Sequence[str]) -> list[dict[str, Any]]:
    entries = []
    for code in dict.fromkeys(codes):
        consent_type = get_type(db, code)
        if not consent_type.active:
            raise ConsentTypeInactive(details=[{"code": code}])
        entries.append({"code": code, "version": consent_type.version})
    return entries


# --- the account holder ------------------------------------------------------------------------


def requests_query(user_id: int, member_id: int | None = None) -> Select[ConsentRequest]:
    statement = (
        select(ConsentRequest)
        .where(ConsentRequest.user_id == user_id)
        .order_by(ConsentRequest.created_at.desc(), ConsentRequest.id.desc())
    )
    if member_id is not None:
        statement = statement.where(ConsentRequest.member_id == member_id)
    return statement


def create_request(
    db: Session, user_id: int, member_id: int, codes: Sequence[str]
) -> ConsentRequest:
    """Ask the member to confirm these consents (a pending request for them is replaced)."""
    member = lock_member(db, user_id, member_id)
    if not confirms_own_consent(member):
        raise MemberConfirmationNotNeeded()
    requester = _requester(db, user_id)
    phone = _member_phone(member, requester)
    consents = _current_versions(db, codes)
    replaced = rows_changed(
        db.execute(
            update(ConsentRequest)
            .where(
                ConsentRequest.user_id == user_id,
                ConsentRequest.member_id == member.id,
                ConsentRequest.status.in_(OPEN),
            )
            .values(status=ConsentRequestStatus.SUPERSEDED)
        )
    )
    request = ConsentRequest(user_id=user_id, member_id=member.id, consents=consents)
    db.add(request)
    _send(db, request, requester, phone)
    record_audit(
        db,
        action="consent_request.created",
        entity_type="consent_request",
        entity_id=request.id,
        actor_user_id=user_id,
        changes={
            "member_id": member.id,
            "consents": consents,
            "phone": request.phone_masked,
            "replaced": replaced,
        },
    )
    return request


def _owned(db: Session, user_id: int, request_id: int) -> ConsentRequest:
    request = db.scalar(requests_query(user_id).where(ConsentRequest.id == request_id))
    if request is None:
        raise ConsentRequestNotFound()
    return request


def _lock(db: Session, request: ConsentRequest) -> tuple[Member, ConsentRequest]:
    """Lock the member, then the request: the order `create_request` locks them in (it holds
    the member while it replaces pending requests), so no two answers wait on each other."""
    member = lock_member(db, request.user_id, request.member_id)
    current = db.scalar(locked(select(ConsentRequest).where(ConsentRequest.id == request.id)))
    assert current is not None
    return member, current


def resend(db: Session, user_id: int, request_id: int) -> ConsentRequest:
    """A new link and code (the old ones stop working) and a fresh expiry; the cooldown and
    hourly cap of the member's phone apply. A burned or expired request can be sent again."""
    member, request = _lock(db, _owned(db, user_id, request_id))
    if request.status not in OPEN:
        raise ConsentRequestClosed()
    requester = _requester(db, user_id)
    _send(db, request, requester, _member_phone(member, requester))
    request.sent_count += 1
    record_audit(
        db,
        action="consent_request.resent",
        entity_type="consent_request",
        entity_id=request.id,
        actor_user_id=user_id,
        changes={"phone": request.phone_masked, "sent_count": request.sent_count},
    )
    return request


# --- the member, by the link's token -------------------------------------------------------------


def _by_token(db: Session, token: str) -> ConsentRequest:
    """The request a link names (404 if none, or if its account or member is gone; 410 once
    it has expired)."""
    token_hash = _token_hash(token)
    request = db.scalar(select(ConsentRequest).where(ConsentRequest.token_hash == token_hash))
    if request is None:
        raise ConsentRequestNotFound()
    requester = db.get(User, request.user_id)
    member = db.get(Member, request.member_id)
    if requester is None or requester.deleted_at or member is None or member.is_deleted:
        raise ConsentRequestNotFound()
    if request.expires_at <= utcnow():
        raise ConsentRequestExpired()
    return request


def _lock_by_token(db: Session, token: str) -> tuple[Member, ConsentRequest]:
    """`_by_token`, then both rows locked and read again (a resend meanwhile changed the
    token: this link is then unknown)."""
    member, request = _lock(db, _by_token(db, token))
    if request.token_hash != _token_hash(token):
        raise ConsentRequestNotFound()
    if request.expires_at <= utcnow():
        raise ConsentRequestExpired()
    return member, request


def _texts(db: Session, consents: list[dict[str, Any]]) -> list[ConsentText]:
    wanted = {(entry["code"], entry["version"]) for entry in consents}
    rows = db.execute(
        select(ConsentType.code, ConsentTypeVersion)
        .join(ConsentTypeVersion, ConsentTypeVersion.consent_type_id == ConsentType.id)
        .where(ConsentType.code.in_([code for code, _ in wanted]))
    )
    texts = {
        (code, version.version): ConsentText(code, version.title, version.body, version.version)
        for code, version in rows
        if (code, version.version) in wanted
    }
    return [texts[(entry["code"], entry["version"])] for entry in consents]


def member_view(db: Session, token: str) -> MemberView:
    request = _by_token(db, token)
    requester = _requester(db, request.user_id)
    member = db.get(Member, request.member_id)
    assert member is not None
    return MemberView(
        requester_name=requester.name or mask_phone(requester.phone or ""),
        member_name=member.name,
        consents=_texts(db, request.consents),
        expires_at=request.expires_at,
        status=request.status,
    )


def _check_open(request: ConsentRequest) -> None:
    if request.status is ConsentRequestStatus.BURNED:
        raise OtpAttemptsExceeded(retry_after=get_settings().OTP_RESEND_COOLDOWN_SECONDS)
    if request.status is not ConsentRequestStatus.PENDING:
        raise ConsentRequestClosed()


def _reject(db: Session, request: ConsentRequest, reason: str) -> None:
    record_rejection(
        db,
        action="consent_request.code_failed",
        entity_type="consent_request",
        entity_id=request.id,
        changes={"reason": reason, "phone": request.phone_masked},
    )


def _check_code(db: Session, request: ConsentRequest, otp: str) -> None:
    """Accept the code once; five wrong ones burn the request (kept though the answer is an
    error, so the account holder sees it and can resend)."""
    try:
        limit_verify_attempts(current_request().ip)
    except RateLimitedError:
        _reject(db, request, "verify_rate_limited")
        raise
    outcome = _codes().check(request.token_hash, otp)
    if outcome is OtpCheck.OK:
        return
    _reject(db, request, outcome.value)
    if outcome is OtpCheck.BURNED:
        burned = (
            update(ConsentRequest)
            .where(ConsentRequest.id == request.id, ConsentRequest.status.in_(OPEN))
            .values(status=ConsentRequestStatus.BURNED)
        )
        on_rollback(db, lambda session: session.execute(burned))
        raise OtpAttemptsExceeded(retry_after=get_settings().OTP_RESEND_COOLDOWN_SECONDS)
    raise OtpInvalid() if outcome is OtpCheck.WRONG else OtpExpired()


def _still_current(db: Session, request: ConsentRequest) -> list[ConsentType]:
    """The consent types asked for, each still active at the version the member was shown."""
    types = [get_type(db, entry["code"]) for entry in request.consents]
    stale = [
        {"code": t.code, "current_version": t.version}
        for t, entry in zip(types, request.consents, strict=True)
        if not t.active or t.version != entry["version"]
    ]
    if stale:
        raise ConsentVersionOutdated(
            "A consent text changed since this request was sent; ask for a new request.",
            details=stale,
        )
    return types


def confirm(db: Session, token: str, otp: str) -> list[ConsentGrant]:
    """The member agrees: one grant per consent, recorded as theirs. The request row is locked,
    so of simultaneous confirmations one grants and the others find it answered."""
    member, request = _lock_by_token(db, token)
    _check_open(request)
    if member.phone is None or phone_key(member.phone) != request.phone_key:
        # The member's phone changed since it was sent: the code went to another number.
        raise ConsentRequestClosed()
    types = _still_current(db, request)
    _check_code(db, request, otp)
    grants = [
        record_grant(
            db,
            request.user_id,
            member.id,
            consent_type,
            actor_user_id=None,
            request_id=request.id,
            confirmed_by_phone=request.phone_masked,
        )
        for consent_type in types
    ]
    _decide(db, request, ConsentRequestStatus.CONFIRMED)
    return grants


def decline(db: Session, token: str) -> ConsentRequest:
    """The member says no: nothing is granted, the link and code stop working."""
    _, request = _lock_by_token(db, token)
    if request.status not in OPEN:
        raise ConsentRequestClosed()
    token_hash = request.token_hash
    on_commit(db, lambda: _codes().discard(token_hash))
    _decide(db, request, ConsentRequestStatus.DECLINED)
    return request


def _decide(db: Session, request: ConsentRequest, status: ConsentRequestStatus) -> None:
    context = current_request()
    request.status = status
    request.decided_at = utcnow()
    request.ip_address = context.ip
    request.user_agent = context.user_agent
    record_audit(
        db,
        action=f"consent_request.{status.value}",
        entity_type="consent_request",
        entity_id=request.id,
        changes={"member_id": request.member_id, "phone": request.phone_masked},
    )


# --- the member, by their phone --------------------------------------------------------------


def withdraw_by_phone(
    db: Session, phone: str, otp: str, codes: Sequence[str] | None
) -> list[ConsentGrant]:
    """Every live grant confirmed from this phone (or those of `codes`) withdrawn, once the
    login code sent to the phone is proven. None is not an error: the answer lists them."""
    verify_code(db, phone, otp)
    statement = (
        select(ConsentGrant)
        .join(ConsentRequest, ConsentRequest.id == ConsentGrant.consent_request_id)
        .where(ConsentRequest.phone_key == phone_key(phone), ConsentGrant.withdrawn_at.is_(None))
        .order_by(ConsentGrant.id)
        .with_for_update()
    )
    if codes:
        statement = statement.where(ConsentGrant.code.in_(codes))
    grants = list(db.scalars(statement))
    for grant in grants:
        record_withdrawal(db, grant, actor_user_id=None, by="member", phone=mask_phone(phone))
    return grants
