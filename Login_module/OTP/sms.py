"""SMS senders: `console` (development), `webhook`, `msg91`. Chosen by SMS_BACKEND."""

import logging
import time
from typing import Protocol

import httpx

from config import Settings, get_settings
from core.http import http_client
from core.redis import get_redis
from core.validation import mask_phone, phone_region
from Login_module.errors import PhoneRegionNotAllowed, SmsBudgetExhausted, SmsProviderUnavailable

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


HOUR = 3600


def check_sms_region(phone: str) -> None:
    """Only numbers of ALLOWED_PHONE_REGIONS get our SMS (or log in): no SMS pumping abroad."""
    if phone_region(phone) not in get_settings().allowed_phone_regions:
        raise PhoneRegionNotAllowed()


def _budget_key(hour: int) -> str:
    return f"sms:budget:{hour}"


def claim_sms_budget() -> None:
    """Count one SMS against SMS_MAX_PER_HOUR (all replicas, per clock hour) or refuse it."""
    limit = get_settings().SMS_MAX_PER_HOUR
    now = time.time()
    hour = int(now // HOUR)
    client = get_redis()
    pipe = client.pipeline(transaction=True)
    pipe.incr(_budget_key(hour))
    pipe.expire(_budget_key(hour), 2 * HOUR)
    count, _ = pipe.execute()
    if count <= limit:
        return
    client.decr(_budget_key(hour))
    if client.set(f"sms:budget:alerted:{hour}", "1", nx=True, ex=2 * HOUR):
        logger.critical("ALERT: SMS budget of %d per hour exhausted; SMS refused", limit)
    raise SmsBudgetExhausted(retry_after=int(HOUR - now % HOUR) + 1)


def release_sms_budget() -> None:
    """Give back the unit of an SMS that was not sent after all."""
    get_redis().decr(_budget_key(int(time.time() // HOUR)))


def send_otp_sms(phone: str, code: str) -> None:
    """The one way a code leaves by SMS: region checked, budget counted, then the backend."""
    check_sms_region(phone)
    claim_sms_budget()
    try:
        get_sms_sender().send_otp(phone, code)
    except Exception:
        release_sms_budget()
        raise


def send_text_sms(phone: str, text: str, event: str) -> None:
    """A notification by SMS: the same region check, budget and backend as the codes."""
    check_sms_region(phone)
    claim_sms_budget()
    try:
        get_sms_sender().send_text(phone, text, event)
    except Exception:
        release_sms_budget()
        raise


def get_sms_sender() -> SmsSender:
    settings = get_settings()
    if settings.SMS_BACKEND == "webhook":
        return WebhookSender(settings)
    if settings.SMS_BACKEND == "msg91":
        return Msg91Sender(settings)
    return ConsoleSender()
