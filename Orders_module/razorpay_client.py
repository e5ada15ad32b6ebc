"""The one place that talks to Razorpay, through the official SDK (`RAZORPAY_BASE_URL`)."""

import importlib.metadata
import logging
import threading
from functools import lru_cache
from typing import Any

import razorpay
import razorpay.errors
import requests

from config import get_settings
from Orders_module.errors import PaymentProviderUnavailable

logger = logging.getLogger("nucleotide.razorpay")


_clients = threading.local()


def razorpay_client() -> razorpay.Client:
    """This thread's SDK client for the current settings. Its HTTP session keeps connections to
    Razorpay open between calls (a new client per call was a TCP and TLS set-up each time);
    one per thread, since a requests session is not made to be shared between threads."""
    settings = get_settings()
    config = (
        settings.RAZORPAY_KEY_ID,
        settings.RAZORPAY_KEY_SECRET.get_secret_value(),
        settings.RAZORPAY_BASE_URL.rstrip("/"),
    )
    cached: tuple[tuple[str, str, str], razorpay.Client] | None = getattr(_clients, "client", None)
    if cached is None or cached[0] != config:
        client = razorpay.Client(auth=(config[0], config[1]), base_url=config[2])
        # The SDK reads its own version from the package metadata for the User-Agent of every
        # call (about half a millisecond of CPU each time); it does not change while we run.
        client._get_version = _sdk_version
        cached = _clients.client = (config, client)
    return cached[1]


@lru_cache(maxsize=1)
def _sdk_version() -> str:
    try:
        return importlib.metadata.version("razorpay")
    except importlib.metadata.PackageNotFoundError:
        return ""


def _call(action: str, func: Any, *args: Any, **kwargs: Any) -> dict[str, Any]:
    """Run an SDK call with a bounded timeout; any failure is a clean 503."""
    kwargs["timeout"] = get_settings().RAZORPAY_TIMEOUT_SECONDS
    try:
        return func(*args, **kwargs)
    except (
        requests.RequestException,
        razorpay.errors.BadRequestError,
        razorpay.errors.GatewayError,
        razorpay.errors.ServerError,
        ValueError,
    ) as exc:
        logger.error("razorpay %s failed: %s", action, type(exc).__name__)
        raise PaymentProviderUnavailable() from exc


def create_razorpay_order(amount_paise: int, receipt: str, notes: dict[str, str]) -> dict[str, Any]:
    client = razorpay_client()
    payload = {"amount": amount_paise, "currency": "INR", "receipt": receipt, "notes": notes}
    return _call("order create", client.order.create, payload)


def refund_payment(
    razorpay_payment_id: str, amount_paise: int, idempotency_key: str, notes: dict[str, str]
) -> dict[str, Any]:
    """Refund through the refunds API; the idempotency key makes a retry return the same refund."""
    client = razorpay_client()
    payload = {"amount": amount_paise, "speed": "normal", "notes": notes}
    return _call(
        "refund",
        client.payment.refund,
        razorpay_payment_id,
        payload,
        headers={"X-Refund-Idempotency": idempotency_key},
    )


def payment_signature_is_valid(razorpay_order_id: str, payment_id: str, signature: str) -> bool:
    """HMAC-SHA256(`order_id|payment_id`, key secret), checked by the SDK's utility."""
    try:
        razorpay_client().utility.verify_payment_signature(
            {
                "razorpay_order_id": razorpay_order_id,
                "razorpay_payment_id": payment_id,
                "razorpay_signature": signature,
            }
        )
    except razorpay.errors.SignatureVerificationError:
        return False
    return True


def webhook_signature_is_valid(raw_body: bytes, signature: str) -> bool:
    """HMAC-SHA256 of the raw body with RAZORPAY_WEBHOOK_SECRET, checked by the SDK's utility."""
    secret = get_settings().RAZORPAY_WEBHOOK_SECRET.get_secret_value()
    try:
        razorpay_client().utility.verify_webhook_signature(
            raw_body.decode("utf-8"), signature, secret
        )
    except (razorpay.errors.SignatureVerificationError, UnicodeDecodeError):
        return False
    return True
