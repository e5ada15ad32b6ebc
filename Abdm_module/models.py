"""What the lab keeps as an ABDM Health Information Provider.

- `AbdmMessage`: every exchange with the gateway, both ways. A callback received (`in`) is
  stored before the 202 and processed by the job; a call to make (`out`) is stored before it is
  sent and sent by the job, retried with backoff. Its `payload` is needed only until then and is
  cleared once done, so what stays for operators is the request id, kind, state, HTTP status and
  ABDM error code: never a token, a code or health content.
- `AbdmLinkToken`: the gateway's link token per member (ABHA and HIP), encrypted, reused for
  about six months; a 24-hour block (ABDM-1027) is kept on it.
- `AbdmCareContext`: one per order item whose report the member's ABHA links to.
- `AbdmLinkRequest`: a user-initiated link, from discovery to the confirmed code.
- `AbdmConsent`: the consent artefacts the gateway notified; `AbdmTransfer`: each request for
  health information under one, and its push.
"""

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from core.clock import utcnow
from database import Base, TimestampMixin, stored_as_string


class Direction(StrEnum):
    IN = "in"
    OUT = "out"


class MessageState(StrEnum):
    PENDING = "pending"
    DONE = "done"
    FAILED = "failed"


class AbdmMessage(Base):
    __tablename__ = "abdm_messages"
    __table_args__ = (
        UniqueConstraint("direction", "request_id"),
        Index("ix_abdm_messages_state_next_attempt_at", "state", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    direction: Mapped[Direction] = mapped_column(stored_as_string(Direction, 3))
    request_id: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(40))
    # The gateway path called (out) or the callback path (in).
    path: Mapped[str] = mapped_column(String(200))
    state: Mapped[MessageState] = mapped_column(
        stored_as_string(MessageState, 10), default=MessageState.PENDING
    )
    payload: Mapped[Any | None] = mapped_column(JSON, default=None)
    # What the call is about: a transaction id, consent id or care context reference.
    subject: Mapped[str | None] = mapped_column(String(64), default=None, index=True)
    # The member a linking call is for (its link token is read when it is sent; erasure).
    member_id: Mapped[int | None] = mapped_column(
        ForeignKey("members.id"), default=None, index=True
    )
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    http_status: Mapped[int | None] = mapped_column(default=None)
    error_code: Mapped[str | None] = mapped_column(String(40), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    done_at: Mapped[datetime | None] = mapped_column(default=None)


class TokenState(StrEnum):
    REQUESTED = "requested"
    VALID = "valid"
    FAILED = "failed"
    BLOCKED = "blocked"


class AbdmLinkToken(Base):
    __tablename__ = "abdm_link_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), unique=True)
    abha_address: Mapped[str | None] = mapped_column(String(64), default=None)
    state: Mapped[TokenState] = mapped_column(stored_as_string(TokenState, 10))
    token_encrypted: Mapped[str | None] = mapped_column(Text, default=None)
    expires_at: Mapped[datetime | None] = mapped_column(default=None)
    # The generate-token call whose callback brings the token.
    request_id: Mapped[str | None] = mapped_column(String(64), default=None, index=True)
    requested_at: Mapped[datetime] = mapped_column(default=utcnow)
    blocked_until: Mapped[datetime | None] = mapped_column(default=None)
    error_code: Mapped[str | None] = mapped_column(String(40), default=None)


class LinkStatus(StrEnum):
    PENDING = "pending"
    LINKED = "linked"
    FAILED = "failed"


class AbdmCareContext(TimestampMixin, Base):
    __tablename__ = "abdm_care_contexts"
    __table_args__ = (Index("ix_abdm_care_contexts_status_id", "status", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"))
    order_item_id: Mapped[int] = mapped_column(ForeignKey("order_items.id"), unique=True)
    status: Mapped[LinkStatus] = mapped_column(stored_as_string(LinkStatus, 10))
    # The link/carecontext call whose callback settles it.
    request_id: Mapped[str | None] = mapped_column(String(64), default=None, index=True)
    error_code: Mapped[str | None] = mapped_column(String(40), default=None)
    linked_at: Mapped[datetime | None] = mapped_column(default=None)


class AbdmLinkRequest(Base):
    """A patient linking from their health app: discovered, then a code sent (init), then
    confirmed. The code itself lives hashed in Redis (`OtpStore`)."""

    __tablename__ = "abdm_link_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    transaction_id: Mapped[str] = mapped_column(String(64), unique=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True)
    matched_by: Mapped[str] = mapped_column(String(20))
    link_ref_number: Mapped[str | None] = mapped_column(String(64), default=None, unique=True)
    # The order item ids the patient chose at init.
    order_item_ids: Mapped[list[int] | None] = mapped_column(JSON, default=None)
    expires_at: Mapped[datetime | None] = mapped_column(default=None)
    confirmed_at: Mapped[datetime | None] = mapped_column(default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ConsentState(StrEnum):
    GRANTED = "GRANTED"
    REVOKED = "REVOKED"
    EXPIRED = "EXPIRED"
    DENIED = "DENIED"


class AbdmConsent(Base):
    __tablename__ = "abdm_consents"

    id: Mapped[int] = mapped_column(primary_key=True)
    consent_id: Mapped[str] = mapped_column(String(64), unique=True)
    status: Mapped[ConsentState] = mapped_column(stored_as_string(ConsentState, 10))
    # The member (one patient per artefact) whose care contexts it names (for erasure).
    member_id: Mapped[int | None] = mapped_column(
        ForeignKey("members.id"), default=None, index=True
    )
    # [{"patientReference", "careContextReference"}], as the artefact lists them.
    care_contexts: Mapped[list[dict[str, str]]] = mapped_column(JSON, default=list)
    hi_types: Mapped[list[str]] = mapped_column(JSON, default=list)
    hiu_id: Mapped[str | None] = mapped_column(String(64), default=None)
    date_from: Mapped[datetime | None] = mapped_column(default=None)
    date_to: Mapped[datetime | None] = mapped_column(default=None)
    data_erase_at: Mapped[datetime | None] = mapped_column(default=None)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class TransferState(StrEnum):
    ACKNOWLEDGED = "acknowledged"
    TRANSFERRED = "transferred"
    FAILED = "failed"
    ERRORED = "errored"


class AbdmTransfer(TimestampMixin, Base):
    __tablename__ = "abdm_transfers"
    __table_args__ = (Index("ix_abdm_transfers_state_next_attempt_at", "state", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    transaction_id: Mapped[str] = mapped_column(String(64), unique=True)
    consent_id: Mapped[str] = mapped_column(String(64), index=True)
    state: Mapped[TransferState] = mapped_column(stored_as_string(TransferState, 12))
    data_push_url: Mapped[str | None] = mapped_column(String(500), default=None)
    # The HIU's key material (public key, nonce, expiry): public values, cleared once done.
    key_material: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    date_from: Mapped[datetime | None] = mapped_column(default=None)
    date_to: Mapped[datetime | None] = mapped_column(default=None)
    # Care context references pushed, each with its status ({"reference", "status"}).
    statuses: Mapped[list[dict[str, str]]] = mapped_column(JSON, default=list)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    deadline_at: Mapped[datetime] = mapped_column(default=utcnow)
    error_code: Mapped[str | None] = mapped_column(String(40), default=None)
    done_at: Mapped[datetime | None] = mapped_column(default=None)
