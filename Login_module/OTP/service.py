"""Sending and checking login codes, with the per-phone and per-IP limits."""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from Audit_module.service import record_audit, record_rejection
from config import get_settings
from core.context import current_request
from core.errors import RateLimitedError
from core.rate_limit import hit_cooldown, hit_sliding_window
from core.validation import InvalidPhone, mask_phone, normalize_phone
from Login_module.errors import OtpAttemptsExceeded, OtpExpired, OtpInvalid, PhoneRegionNotAllowed
from Login_module.OTP.sms import check_sms_region, send_otp_sms
from Login_module.OTP.store import OtpCheck, OtpStore, cooldown_key, generate_code, phone_key

HOUR = 3600
DAY = 24 * HOUR


def test_number_code(phone: str) -> str | None:
    """The fixed code of a store-review/demo number, if `phone` is one."""
    for raw, code in get_settings().otp_test_numbers.items():
        try:
            if normalize_phone(raw) == phone:
                return code
        except InvalidPhone:
            continue
    return None


def _audit_phone(db: Session, action: str, phone: str, **changes: Any) -> None:
    masked = mask_phone(phone)
    record_audit(
        db,
        action=action,
        entity_type="phone",
        entity_id=masked,
        changes={"phone": masked, **changes},
    )


def _reject_phone(db: Session, action: str, phone: str, **changes: Any) -> None:
    masked = mask_phone(phone)
    record_rejection(
        db,
        action=action,
        entity_type="phone",
        entity_id=masked,
        changes={"phone": masked, **changes},
    )


def claim_send(phone: str, ip: str | None, scope: str = "otp") -> None:
    """Apply the resend cooldown, then the hourly cap per IP, then the phone's hourly and daily
    caps. The cooldown and the IP cap are per `scope` (a consent request's resend does not wait
    on a login code's); the phone's caps are one for every code SMS to that phone (login, phone
    change, consent request, withdrawal), whoever asks.

    The cooldown goes first so that a resend it refuses does not use up the hourly quota; a
    send refused by a cap gives the cooldown back (nothing was sent)."""
    settings = get_settings()
    if settings.OTP_RESEND_COOLDOWN_SECONDS > 0:
        hit_cooldown(cooldown_key(phone, scope), settings.OTP_RESEND_COOLDOWN_SECONDS)
    named = phone_key(phone)
    try:
        if ip:
            hit_sliding_window(
                f"rl:{scope}:ip:{ip}", settings.OTP_MAX_REQUESTS_PER_IP_PER_HOUR, HOUR
            )
        hit_sliding_window(f"rl:otp:phone:{named}", settings.OTP_MAX_REQUESTS_PER_HOUR, HOUR)
        hit_sliding_window(f"rl:otp:phone-day:{named}", settings.OTP_MAX_REQUESTS_PER_DAY, DAY)
    except RateLimitedError:
        OtpStore.clear_cooldown(phone, scope)
        raise


def limit_verify_attempts(ip: str | None) -> None:
    """The hourly cap on codes checked from one IP (login codes and consent codes alike)."""
    if ip:
        hit_sliding_window(
            f"rl:otp:verify-ip:{ip}", get_settings().OTP_MAX_VERIFY_PER_IP_PER_HOUR, HOUR
        )


@dataclass(frozen=True)
class CodeSent:
    message: str
    expires_in: int
    resend_after: int


def send_otp(db: Session, phone: str) -> CodeSent:
    settings = get_settings()
    try:
        check_sms_region(phone)
    except PhoneRegionNotAllowed:
        _reject_phone(db, "otp.blocked", phone, reason="region_not_allowed")
        raise
    try:
        claim_send(phone, current_request().ip)
    except RateLimitedError as exc:
        _reject_phone(
            db, "otp.blocked", phone, reason="send_rate_limited", retry_after=exc.retry_after
        )
        raise

    fixed_code = test_number_code(phone)
    code = fixed_code or generate_code()
    store = OtpStore()
    store.issue(phone, code)
    if fixed_code is None:
        try:
            send_otp_sms(phone, code)
        except Exception:
            # No SMS went out: forget the code and let the user ask again at once.
            store.discard(phone)
            OtpStore.clear_cooldown(phone)
            raise
    _audit_phone(db, "otp.sent", phone, test_number=fixed_code is not None)
    return CodeSent(
        message="A verification code has been sent.",
        expires_in=settings.OTP_EXPIRY_SECONDS,
        resend_after=settings.OTP_RESEND_COOLDOWN_SECONDS,
    )


def verify_code(db: Session, phone: str, code: str) -> None:
    """Accept the code once, or raise the matching error (each failure audited)."""
    verify_codes(db, [(phone, code)])


def verify_codes(db: Session, pairs: Sequence[tuple[str, str]]) -> None:
    """Accept every (phone, code) at once, or raise the first failure's error (each failure
    audited). Nothing is used up unless all are right: a wrong code counts one attempt against
    the code it was for, and the right ones still work when the user tries again."""
    settings = get_settings()
    for phone, _ in pairs:
        try:
            limit_verify_attempts(current_request().ip)
        except RateLimitedError as exc:
            _reject_phone(
                db, "otp.blocked", phone, reason="verify_rate_limited", retry_after=exc.retry_after
            )
            raise
    outcomes = OtpStore().check_all(pairs)
    failures = [
        (phone, outcome)
        for (phone, _), outcome in zip(pairs, outcomes, strict=True)
        if outcome not in (OtpCheck.OK, OtpCheck.UNUSED)
    ]
    if not failures:
        for phone, _ in pairs:
            _audit_phone(db, "otp.verified", phone)
        return
    for phone, outcome in failures:
        if outcome is OtpCheck.BURNED:
            _reject_phone(db, "otp.blocked", phone, reason="attempts_exceeded")
        else:
            _reject_phone(db, "otp.failed", phone, reason=outcome.value)
    outcome = failures[0][1]
    if outcome is OtpCheck.BURNED:
        raise OtpAttemptsExceeded(retry_after=settings.OTP_RESEND_COOLDOWN_SECONDS)
    raise OtpInvalid() if outcome is OtpCheck.WRONG else OtpExpired()
