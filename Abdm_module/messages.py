"""The exchanges with the gateway, kept as `AbdmMessage` rows: the outbox of calls to make and the
inbox of callbacks received, with the same claim, retry and clean-up rules as the notifications'
outbox (`FOR UPDATE SKIP LOCKED`, exponential backoff with jitter, a payload kept only until the
message is done)."""

import logging
import random
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from Abdm_module import gateway
from Abdm_module.models import AbdmMessage, Direction, MessageState
from config import get_settings
from core.clock import utcnow

logger = logging.getLogger("nucleotide.abdm")

# The gateway's endpoints the lab calls (added to ABDM_BASE_URL).
GENERATE_TOKEN = "/api/hiecm/v3/token/generate-token"
LINK_CARE_CONTEXT = "/api/hiecm/hip/v3/link/carecontext"
CONTEXT_NOTIFY = "/api/hiecm/hip/v3/link/context/notify"
SMS_NOTIFY = "/api/hiecm/hip/v3/link/patient/links/sms/notify2"
ON_DISCOVER = "/api/hiecm/user-initiated-linking/v3/patient/care-context/on-discover"
ON_INIT = "/api/hiecm/user-initiated-linking/v3/link/care-context/on-init"
ON_CONFIRM = "/api/hiecm/user-initiated-linking/v3/link/care-context/on-confirm"
ON_NOTIFY = "/api/hiecm/consent/v3/request/hip/on-notify"
ON_REQUEST = "/api/hiecm/data-flow/v3/health-information/hip/on-request"
HI_NOTIFY = "/api/hiecm/data-flow/v3/health-information/notify"

# The callbacks the gateway sends (under the bridge URL, `https://<host>/abdm`) and their kinds.
CALLBACKS = {
    "/api/v3/hip/token/on-generate-token": "on-generate-token",
    "/api/v3/link/on_carecontext": "on-carecontext",
    "/api/v3/hip/patient/care-context/discover": "discover",
    "/api/v3/hip/link/care-context/init": "link-init",
    "/api/v3/hip/link/care-context/confirm": "link-confirm",
    "/api/v3/consent/request/hip/notify": "consent-notify",
    "/api/v3/hip/health-information/request": "health-information-request",
}

Handler = Callable[[Session, AbdmMessage], None]
Refused = Callable[[Session, AbdmMessage, str], None]


def kind_of(path: str) -> str:
    return path.rstrip("/").rsplit("/", 1)[-1]


def queue_call(
    db: Session,
    path: str,
    body: dict[str, Any],
    *,
    subject: str | None = None,
    member_id: int | None = None,
) -> AbdmMessage:
    """A call to the gateway, sent by the job (after this transaction commits). Its REQUEST-ID
    is chosen and stored now; an answer to a callback carries that callback's id in
    `response.requestId`."""
    message = AbdmMessage(
        direction=Direction.OUT,
        request_id=gateway.new_request_id(),
        kind=kind_of(path),
        path=path,
        payload=body,
        subject=subject,
        member_id=member_id,
        next_attempt_at=utcnow(),
    )
    db.add(message)
    db.flush()
    return message


def answer(
    db: Session, callback: AbdmMessage, path: str, body: dict[str, Any], **keys: Any
) -> AbdmMessage:
    """The `on-…` answer to `callback`: `body` plus `response.requestId`."""
    return queue_call(db, path, {**body, "response": {"requestId": callback.request_id}}, **keys)


def store_callback(db: Session, path: str, request_id: str, body: Any) -> bool:
    """Keep a verified callback for the job; False when this REQUEST-ID was stored before
    (the gateway retried it): it is processed once."""
    if db.scalar(
        select(AbdmMessage.id).where(
            AbdmMessage.direction == Direction.IN, AbdmMessage.request_id == request_id
        )
    ):
        return False
    message = AbdmMessage(
        direction=Direction.IN,
        request_id=request_id,
        kind=CALLBACKS[path],
        path=path,
        payload=body,
        subject=_subject(body),
        next_attempt_at=utcnow(),
    )
    try:
        with db.begin_nested():
            db.add(message)
    except IntegrityError:  # the same callback, delivered twice at once
        return False
    return True


def _subject(body: Any) -> str | None:
    if not isinstance(body, dict):
        return None
    for source in (body, body.get("notification") or {}, body.get("hiRequest") or {}):
        if isinstance(source, dict):
            for key in ("transactionId", "consentId"):
                value = source.get(key)
                if isinstance(value, str):
                    return value[:64]
    return None


def retry_delay(attempts: int) -> timedelta:
    base = get_settings().ABDM_RETRY_BASE_SECONDS * 2 ** (attempts - 1)
    return timedelta(seconds=base * (1 + random.random() / 2))


def _claim(db: Session, direction: Direction, now: datetime, limit: int) -> list[AbdmMessage]:
    return list(
        db.scalars(
            select(AbdmMessage)
            .where(
                AbdmMessage.direction == direction,
                AbdmMessage.state == MessageState.PENDING,
                AbdmMessage.next_attempt_at <= now,
            )
            .order_by(AbdmMessage.next_attempt_at, AbdmMessage.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    )


def _finish(message: AbdmMessage, state: MessageState, now: datetime) -> None:
    message.state = state
    message.done_at = now
    message.payload = None  # tokens, codes and patients' details are not kept


def _retry_or_fail(message: AbdmMessage, now: datetime) -> bool:
    """Schedule the next try; False (and failed) when the tries are used up."""
    if message.attempts >= get_settings().ABDM_MAX_ATTEMPTS:
        _finish(message, MessageState.FAILED, now)
        return False
    message.next_attempt_at = now + retry_delay(message.attempts)
    return True


def process_callbacks(
    db: Session, handlers: Mapping[str, Handler], now: datetime, limit: int
) -> int:
    """Process due callbacks, each in a savepoint: one that fails is retried later without
    undoing the others."""
    claimed = _claim(db, Direction.IN, now, limit)
    for message in claimed:
        message.attempts += 1
        try:
            with db.begin_nested():
                handlers[message.kind](db, message)
        except Exception:
            logger.exception("abdm callback %s (%s) failed", message.id, message.kind)
            message.error_code = "processing_failed"
            _retry_or_fail(message, now)
            continue
        _finish(message, MessageState.DONE, now)
    return len(claimed)


def send_calls(
    db: Session,
    headers_for: Callable[[Session, AbdmMessage], dict[str, str] | None],
    refused: Refused,
    now: datetime,
    limit: int,
) -> int:
    """Send due calls. The gateway down or 5xx: retried with backoff up to ABDM_MAX_ATTEMPTS,
    then failed (and `refused` told, code `gateway_unavailable`). A refusal (4xx with an ABDM
    code) is final: `refused` decides what it means for the call's subject."""
    claimed = _claim(db, Direction.OUT, now, limit)
    for message in claimed:
        message.attempts += 1
        headers = headers_for(db, message)
        if headers is None:  # what the call needs is gone (an erased member's token)
            message.error_code = "cancelled"
            _finish(message, MessageState.FAILED, now)
            continue
        try:
            message.http_status = gateway.call(
                message.path, message.payload, message.request_id, headers
            )
        except gateway.GatewayUnavailable as exc:
            message.http_status, message.error_code = exc.status, "gateway_unavailable"
            if not _retry_or_fail(message, now):
                refused(db, message, "gateway_unavailable")
            continue
        except gateway.GatewayRefusal as exc:
            message.http_status, message.error_code = exc.status, exc.code[:40]
            _finish(message, MessageState.FAILED, now)
            refused(db, message, exc.code)
            continue
        message.error_code = None
        _finish(message, MessageState.DONE, now)
    return len(claimed)
