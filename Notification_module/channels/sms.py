"""Notifications by SMS through the login's SMS backend (region check and hourly budget
included)."""

from config import get_settings
from Login_module.errors import PhoneRegionNotAllowed, SmsBudgetExhausted, SmsProviderUnavailable
from Login_module.OTP.sms import send_text_sms
from Notification_module.errors import DeliveryError
from Notification_module.models import Notification


def send_sms(message: Notification) -> str | None:
    if not message.recipient:
        raise DeliveryError("no_phone", permanent=True)
    settings = get_settings()
    if settings.SMS_BACKEND == "msg91" and message.event not in settings.MSG91_NOTIFY_TEMPLATES:
        raise DeliveryError("no_dlt_template", permanent=True)
    try:
        send_text_sms(message.recipient, message.body, message.event.value)
    except PhoneRegionNotAllowed as exc:
        raise DeliveryError("phone_region_not_allowed", permanent=True) from exc
    except SmsBudgetExhausted as exc:
        raise DeliveryError("sms_budget_exhausted") from exc
    except SmsProviderUnavailable as exc:
        raise DeliveryError(exc.code) from exc
    return None
