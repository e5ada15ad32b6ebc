"""SMS senders: `console` (development), `webhook`, `msg91`. Chosen by SMS_BACKEND."""

import logging
import time
from collections.abc import Callable
from typing import Protocol

import httpx

from config import Settings, get_settings
from core.errors import RateLimitedError
from core.http import http_client
from core.rate_limit import HOUR, claim_hourly, release_hourly
from core.redis import get_redis
from core.validation import mask_phone, phone_region
from Login_module.errors import PhoneRegionNotAllowed, SmsBudgetExhausted, SmsProviderUnavailable
from Login_module.OTP.store import phone_key

logger = logging.getLogger("nucleotide.sms")


def otp_message(code: str, expires_in: int) -> str:
    minutes = max(1, expires_in // 60)
    return (
        f"{code} is your Nucleotide verification code. It expires in {minutes} minutes. "
        "Do not share it with anyone."
    )


class SmsSender(Protocol):
    def send_otp(self, phone: str, code: str) -> None: ...

    def send_text(self, phone: str, text: str, event: str) -> None:
        """A notification (`event` names it: msg91 needs its DLT template)."""
        ...


class ConsoleSender:
    """Development only: writes the code to the log instead of sending it."""

    def send_otp(self, phone: str, code: str) -> None:
        logger.warning("development SMS to %s: code %s", mask_phone(phone), code)

    def send_text(self, phone: str, text: str, event: str) -> None:
        logger.warning("development SMS to %s: %s notification", mask_phone(phone), event)


class WebhookSender:
    """POSTs `{"phone", "message"}` to SMS_WEBHOOK_URL (an in-house gateway)."""

    def __init__(self, settings: Settings) -> None:
        if not settings.SMS_WEBHOOK_URL:
            raise RuntimeError("SMS_BACKEND=webhook needs SMS_WEBHOOK_URL")
        self.url = settings.SMS_WEBHOOK_URL
        self.timeout = settings.SMS_TIMEOUT_SECONDS
        self.expires_in = settings.OTP_EXPIRY_SECONDS

    def send_otp(self, phone: str, code: str) -> None:
        payload = {"phone": phone, "message": otp_message(code, self.expires_in)}
        _post(self.url, timeout=self.timeout, json=payload)

    def send_text(self, phone: str, text: str, event: str) -> None:
        _post(self.url, timeout=self.timeout, json={"phone": phone, "message": text})


class Msg91Sender:
    """MSG91 OTP API: POST /api/v5/otp?template_id=&mobile=&otp= with the `authkey` header."""

    def __init__(self, settings: Settings) -> None:
        if not settings.MSG91_AUTH_KEY or not settings.MSG91_TEMPLATE_ID:
            raise RuntimeError("SMS_BACKEND=msg91 needs MSG91_AUTH_KEY and MSG91_TEMPLATE_ID")
        self.url = settings.MSG91_BASE_URL.rstrip("/") + "/api/v5/otp"
        self.flow_url = settings.MSG91_BASE_URL.rstrip("/") + "/api/v5/flow"
        self.auth_key = settings.MSG91_AUTH_KEY.get_secret_value()
        self.template_id = settings.MSG91_TEMPLATE_ID
        self.notify_templates = settings.MSG91_NOTIFY_TEMPLATES
        self.timeout = settings.SMS_TIMEOUT_SECONDS

    def send_otp(self, phone: str, code: str) -> None:
        params = {"template_id": self.template_id, "mobile": phone.lstrip("+"), "otp": code}
        response = _post(
            self.url, timeout=self.timeout, params=params, headers={"authkey": self.auth_key}
        )
        _check_success(response, "OTP", phone)

    def send_text(self, phone: str, text: str, event: str) -> None:
        """MSG91 Flow API: the event's DLT template, its `message` variable set to `text`."""
        payload = {
            "template_id": self.notify_templates[event],
            "short_url": "0",
            "recipients": [{"mobiles": phone.lstrip("+"), "message": text}],
        }
        response = _post(
            self.flow_url, timeout=self.timeout, json=payload, headers={"authkey": self.auth_key}
        )
        _check_success(response, event, phone)


def _check_success(response: httpx.Response, what: str, phone: str) -> None:
    try:
        body = response.json() if response.content else None
    except ValueError:
        body = None
    # Anything but {"type": "success"} (an error object, HTML from a proxy, ...) is a refusal.
    if not isinstance(body, dict) or body.get("type") != "success":
        logger.error("msg91 refused the %s request for %s", what, mask_phone(phone))
        raise SmsProviderUnavailable()


def _post(url: str, timeout: float, **kwargs: object) -> httpx.Response:
    try:
        response = http_client().post(url, timeout=timeout, **kwargs)  # type: ignore[arg-type]
        response.raise_for_status()
    except httpx.HTTPError as exc:
        logger.error("SMS provider call failed: %s", type(exc).__name__)
        raise SmsProviderUnavailable() from exc
    return response


def check_sms_region(phone: str) -> None:
    """Only numbers of ALLOWED_PHONE_REGIONS get our SMS (or log in): no SMS pumping abroad."""
    if phone_region(phone) not in get_settings().allowed_phone_regions:
        raise PhoneRegionNotAllowed()


# Two hourly budgets (per clock hour, across replicas), so that notifications can never spend
# what login and the other codes need: codes (login, phone change, consent requests, withdrawal)
# draw on SMS_MAX_PER_HOUR; notification SMS on SMS_NOTIFY_MAX_PER_HOUR, and at most
# SMS_NOTIFY_MAX_PER_PHONE_PER_HOUR of them go to one phone.
CODES_BUDGET = "sms:budget"
NOTIFY_BUDGET = "sms:notify-budget"


class NotifyBudgetExhausted(Exception):
    """The notification SMS budget of this hour is spent: the message waits `retry_after`."""

    def __init__(self, retry_after: int) -> None:
        super().__init__("sms_notify_budget_exhausted")
        self.retry_after = retry_after


class PhoneNotifyCapReached(Exception):
    """This phone has had its notification SMS for the hour: the message goes no further."""


def claim_sms_budget() -> str:
    """Count one code SMS against SMS_MAX_PER_HOUR or refuse it (503, one alert an hour)."""
    limit = get_settings().SMS_MAX_PER_HOUR
    try:
        return claim_hourly(CODES_BUDGET, limit)
    except RateLimitedError as exc:
        hour = int(time.time() // HOUR)
        if get_redis().set(f"sms:budget:alerted:{hour}", "1", nx=True, ex=2 * HOUR):
            logger.critical("ALERT: SMS budget of %d per hour exhausted; SMS refused", limit)
        raise SmsBudgetExhausted(retry_after=exc.retry_after) from exc


def claim_notify_budget(phone: str) -> list[str]:
    """Count one notification SMS against its hourly budget and the phone's hourly cap."""
    settings = get_settings()
    try:
        spent = claim_hourly(NOTIFY_BUDGET, settings.SMS_NOTIFY_MAX_PER_HOUR)
    except RateLimitedError as exc:
        raise NotifyBudgetExhausted(exc.retry_after) from exc
    try:
        per_phone = claim_hourly(
            f"sms:notify-phone:{phone_key(phone)}", settings.SMS_NOTIFY_MAX_PER_PHONE_PER_HOUR
        )
    except RateLimitedError as exc:
        release_hourly(spent)
        raise PhoneNotifyCapReached() from exc
    return [spent, per_phone]


def _send_within(claimed: list[str], send: Callable[[], None]) -> None:
    try:
        send()
    except Exception:
        for key in claimed:  # nothing went: the units are given back
            release_hourly(key)
        raise


def send_otp_sms(phone: str, code: str) -> None:
    """The one way a login code leaves by SMS: region checked, codes' budget, then the backend."""
    check_sms_region(phone)
    claimed = [claim_sms_budget()]
    _send_within(claimed, lambda: get_sms_sender().send_otp(phone, code))


def send_text_sms(phone: str, text: str, event: str, *, carries_code: bool) -> None:
    """A text by SMS (from the outbox). One that carries a code (a consent request) spends the
    codes' budget; any other is a notification: its own budget and the phone's hourly cap."""
    check_sms_region(phone)
    claimed = [claim_sms_budget()] if carries_code else claim_notify_budget(phone)
    _send_within(claimed, lambda: get_sms_sender().send_text(phone, text, event))


def get_sms_sender() -> SmsSender:
    settings = get_settings()
    if settings.SMS_BACKEND == "webhook":
        return WebhookSender(settings)
    if settings.SMS_BACKEND == "msg91":
        return Msg91Sender(settings)
    return ConsoleSender()
