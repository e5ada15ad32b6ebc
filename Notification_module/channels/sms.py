"""Notifications by SMS through the login's SMS backend. A text carrying a code (a consent
request) spends the codes' budget; any other spends the notifications' own budget (spent: it
waits for the next hour) and the phone's hourly cap (reached: this SMS is skipped, the inbox and
push still have the message)."""

from config import get_settings
from Login_module.errors import PhoneRegionNotAllowed, SmsBudgetExhausted, SmsProviderUnavailable
from Login_module.OTP.sms import NotifyBudgetExhausted, PhoneNotifyCapReached, send_text_sms
from Notification_module.errors import DeliveryError
from Notification_module.models import CODE_EVENTS, Notification


def send_sms(message: Notification) -> str | None:
    if not message.recipient:
        raise DeliveryError("no_phone", permanent=True)
    settings = get_settings()
    if settings.SMS_BACKEND == "msg91" and message.event not in settings.MSG91_NOTIFY_TEMPLATES:
        raise DeliveryError("no_dlt_template", permanent=True)
    try:
        send_text_sms(
            message.recipient,
            message.body,
            message.event.value,
            carries_code=message.event in CODE_EVENTS,
        )
    except PhoneRegionNotAllowed as exc:
        raise DeliveryError("phone_region_not_allowed", permanent=True) from exc
    except SmsBudgetExhausted as exc:
        raise DeliveryError("sms_budget_exhausted") from exc
    except NotifyBudgetExhausted as exc:
        raise DeliveryError("sms_notify_budget_exhausted", wait_seconds=exc.retry_after) from exc
    except PhoneNotifyCapReached as exc:
        raise DeliveryError("sms_phone_cap_reached", skipped=True) from exc
    except SmsProviderUnavailable as exc:
        raise DeliveryError(exc.code) from exc
    return None
