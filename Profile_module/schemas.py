from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    EmailStr,
    Field,
    StringConstraints,
    field_validator,
)

from core.validation import BirthDate, PhoneNumber, SingleLine
from core.validation import ProfileGender as Gender
from Profile_module.photos import photo_url

Name = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=120), SingleLine
]


# Shaped from the user row or its snapshot.
class ProfileOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    phone: str | None
    name: str | None
    email: str | None
    date_of_birth: date | None
    gender: Gender | None
    photo_url: str | None = Field(validation_alias="photo_path")

    @field_validator("photo_url")
    @classmethod
    def _url_of_path(cls, value: str | None) -> str | None:
        return photo_url(value)


class ProfileUpdateIn(BaseModel):
    """Only the fields sent are changed; `null` clears a field."""

    model_config = ConfigDict(extra="forbid")

    name: Name | None = None
    email: Annotated[EmailStr, StringConstraints(max_length=254)] | None = None
    date_of_birth: BirthDate | None = None
    gender: Gender | None = None


OtpCode = Annotated[str, StringConstraints(pattern=r"^[0-9]{6}$")]
Rows = list[dict[str, Any]]


class ExportProfileOut(BaseModel):
    id: int
    phone: str | None
    name: str | None
    email: str | None
    date_of_birth: date | None
    gender: str | None
    photo_url: str | None
    role: str
    is_active: bool
    last_login_at: datetime | None
    deleted_at: datetime | None
    created_at: datetime
    updated_at: datetime


class ExportOut(BaseModel):
    """Everything held about the account holder and their members (GET /profile/export).

    Sections are lists of rows as stored (column name -> value); deleted members and addresses
    are included with `is_deleted`/`deleted_at`, consents with every grant ever made."""

    format_version: int = Field(description="Bumped when the layout changes incompatibly")
    exported_at: datetime
    profile: ExportProfileOut
    members: Rows = Field(description="All my members, deleted ones marked `is_deleted`")
    addresses: Rows = Field(description="All my addresses, deleted ones marked `is_deleted`")
    consents: Rows = Field(
        description="Every grant: member_id, code, version, granted_at, ip_address, "
        "user_agent, withdrawn_at, plus title, current_version, is_current_version, is_withdrawn"
    )
    consent_texts: Rows = Field(
        description="The text of each consent version agreed to: code, version, title, body, "
        "published_at"
    )
    consent_requests: Rows = Field(
        description="Requests that a member confirm their own consents: member_id, consents "
        "(code, version), status, phone_masked, expires_at, decided_at, ip_address, user_agent"
    )
    cart: dict[str, Any] | None = Field(description="The cart with items and their members")
    orders: Rows = Field(
        description="Orders with items (product, member and address snapshots), payments, "
        "refunds and status_history"
    )
    reports: Rows = Field(
        description="Lab report versions of my orders' tests: order_id, item_id, version, "
        "sha256, size_bytes, uploaded_at, note, and `download` (the path that serves the PDF)"
    )
    notifications: Rows = Field(
        description="My in-app inbox: event, title, body, order_id, booking_id, created_at, read_at"
    )
    notification_preferences: dict[str, Any] = Field(
        description="The channels (sms, email, push) I allow for reminders and updates"
    )
    bookings: Rows = Field(description="Counselling bookings")
    sessions: Rows = Field(description="Active device sessions")
    enquiries: Rows = Field(
        description="Website enquiries carrying my login phone or e-mail, as sent, with their "
        "status history (from_status, to_status, note, at)"
    )
    newsletter: Rows = Field(
        description="My newsletter subscription (the one a confirmation linked to my account): "
        "email, status, confirmed_at, consent_ip, consent_text_version, unsubscribed_at"
    )
    privacy_choices: Rows = Field(
        description="The privacy choices (receipts) I made while logged in: visitor_id, "
        "analytics, location, policy_version, recorded_at"
    )
    coupon_offers: Rows = Field(
        description="Targeted coupons whose allow-list names me or my login phone: "
        "coupon_id, coupon_code, phone or user_id, created_at"
    )
    audit_trail: Rows = Field(description="Audit entries of what I did (actor = me)")


class ErasureIn(BaseModel):
    """A fresh login code sent to my phone with POST /auth/send-otp."""

    model_config = ConfigDict(extra="forbid")

    otp: OtpCode


class ErasureOut(BaseModel):
    status: Literal["erased"]
    erased_at: datetime
    orders_kept: int = Field(description="Orders kept, pseudonymised, for the legal period")
    orders_cancelled: int = Field(description="Unpaid orders cancelled")
    members_erased: int
    addresses_erased: int
    bookings_cancelled: int = Field(description="Upcoming counselling sessions cancelled")
    sessions_revoked: int
    audit_entries_scrubbed: int
    notifications_deleted: int = Field(
        description="Inbox entries and queued messages deleted (nothing more is sent)"
    )
    report_files_deleted: int = Field(
        description="Lab report files deleted after the erasure (their metadata is kept, notes "
        "dropped)"
    )
    enquiries_erased: int = Field(
        description="Website enquiries carrying my phone or e-mail deleted, with their e-mails"
    )
    newsletter_subscriptions_erased: int = Field(
        description="My newsletter subscription and the sign-ups I asked for that nobody "
        "confirmed, deleted with their e-mails"
    )
    privacy_receipts_unlinked: int = Field(
        description="My privacy choices' receipts, kept as the proof of consent they are but "
        "no longer linked to me"
    )
    coupon_allow_list_entries_erased: int = Field(
        description="Targeted coupons' allow-list entries naming me or my phone, deleted"
    )
    health_record_links_erased: int = Field(
        description="ABHA link tokens, linked reports, link requests and consent artefacts "
        "deleted (ABDM)"
    )


class PhoneChangeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    new_phone: PhoneNumber


class PhoneChangeStartedOut(BaseModel):
    message: str
    expires_in: int = Field(description="Seconds the codes (and this change) stay valid")


class PhoneConfirmIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    current_otp: OtpCode
    new_otp: OtpCode


class AdminPhoneChangeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    new_phone: PhoneNumber
    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=3, max_length=255)]


class PhoneClaimIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    new_phone: PhoneNumber
    otp: OtpCode


class PhoneChangedOut(BaseModel):
    """The login phone now (masked); other sessions were signed out."""

    model_config = ConfigDict(from_attributes=True)

    phone: str
