"""Application settings, read once from the environment (and an optional `.env` file)."""

import base64
import binascii
import hashlib
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

APP_NAME = "Nucleotide backend"
APP_VERSION = "3.0.0"
DEV_SECRET_KEY = "development-only-secret-key-do-not-use-in-production"
MIN_SECRET_KEY_LENGTH = 32
FERNET_KEY_BYTES = 32
# Public on purpose (it is in the source): development and tests only; production refuses it.
DEV_REPORT_ENCRYPTION_KEY = base64.urlsafe_b64encode(b"development-only-report-key-0000").decode()
# The development ABDM client and facility: production refuses them when ABDM_ENABLED.
DEV_ABDM_CLIENT_ID = "SBX_DEVELOPMENT"
DEV_ABDM_CLIENT_SECRET = "development-abdm-client-secret"
DEV_ABDM_HIP_ID = "DEV-HIP-0001"
# The development supplier: production refuses it (a real GSTIN must be printed on invoices).
DEV_SUPPLIER_GSTIN = "29AAAAA0000A1Z5"
DEV_SUPPLIER_LEGAL_NAME = "Nucleotide Genomics (development)"
HOUR_MINUTE = r"^([01]\d|2[0-3]):[0-5]\d$"
WEEKDAY_LIST = r"^(?i)\s*(mon|tue|wed|thu|fri|sat|sun)(\s*,\s*(mon|tue|wed|thu|fri|sat|sun))*\s*$"


def split_csv(value: str) -> list[str]:
    """Split a comma-separated setting into its non-empty, stripped parts."""
    return [part.strip() for part in value.split(",") if part.strip()]


def is_fernet_key(value: str) -> bool:
    """32 bytes in url-safe base64, as `cryptography.fernet.Fernet.generate_key()` makes them."""
    try:
        return len(base64.urlsafe_b64decode(value.encode())) == FERNET_KEY_BYTES
    except (ValueError, binascii.Error):
        return False


class Settings(BaseSettings):
    """Every setting the service reads; names match the environment variables."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", case_sensitive=True)

    # No default: a deployment that forgets it must not start on development settings (the
    # public development key, console SMS). The dockerfile sets production; the README's run
    # command opts into development.
    ENVIRONMENT: Literal["development", "test", "production"]
    LOG_LEVEL: str = "INFO"

    # Storage
    DATABASE_URL: str = "sqlite:///./nucleotide.db"
    REDIS_URL: str | None = None
    DB_POOL_SIZE: int = 10
    DB_MAX_OVERFLOW: int = 20
    DB_POOL_TIMEOUT: int = 10
    DB_POOL_RECYCLE: int = 1800
    DB_CONNECT_TIMEOUT: int = 5
    # Seconds a statement may wait for the server's answer: an unreachable (partitioned) database
    # is a 503 after DB_READ_TIMEOUT + DB_CONNECT_TIMEOUT at worst. Migrations have no limit.
    DB_READ_TIMEOUT: int = 10
    # Seconds a statement waits for another transaction's row lock (MySQL/MariaDB
    # innodb_lock_wait_timeout) before giving up with a retryable 503 try_again; kept below
    # DB_READ_TIMEOUT, else the wait would end as a lost connection (503 service_unavailable).
    DB_LOCK_WAIT_TIMEOUT: int = Field(5, ge=1)

    REDIS_SOCKET_TIMEOUT: float = 2.0

    # HTTP
    ALLOWED_ORIGINS: str = "http://localhost:3000,http://localhost:8030"
    TRUST_PROXY_HEADERS: bool = False
    # Proxies in front of the app that each append to X-Forwarded-For (App Runner/ALB: 1); the
    # client address is the entry that many places from the right (the left ones are the client's).
    TRUSTED_PROXY_HOPS: int = Field(1, ge=1, le=10)
    MAX_JSON_BODY_BYTES: int = 1_048_576
    # Addresses or networks (CIDR) allowed to read GET /metrics.
    METRICS_ALLOWED_IPS: str = "127.0.0.1,::1"
    # The API's own public address (scheme and host, and a path prefix if any): links in
    # e-mails to pages the API serves itself (the newsletter's confirm and unsubscribe pages).
    PUBLIC_API_URL: str = Field("http://localhost:8030", pattern=r"^https?://[^\s?#]+$")

    # Tokens and sessions
    SECRET_KEY: SecretStr = SecretStr(DEV_SECRET_KEY)
    ALGORITHM: Literal["HS256"] = "HS256"
    ACCESS_TOKEN_EXPIRE_SECONDS: int = 86_400
    REFRESH_TOKEN_EXPIRE_SECONDS: int = 30 * 86_400
    MAX_ACTIVE_SESSIONS: int = 4
    SESSION_CACHE_SECONDS: int = 300
    # Job intervals are minutes; fractions are allowed (0.05 = every 3 s, for tests).
    SESSION_CLEANUP_INTERVAL_MINUTES: float = 60
    # Seconds between tombstone re-sends for recent revocations (a revocation made by a replica
    # that could not reach Redis reaches the others within about this long).
    SESSION_REVOCATION_SYNC_SECONDS: int = Field(2, ge=1, le=60)
    ADMIN_PHONES: str = ""

    # OTP and SMS
    OTP_EXPIRY_SECONDS: int = 120
    OTP_RESEND_COOLDOWN_SECONDS: int = 30
    OTP_MAX_REQUESTS_PER_HOUR: int = 15
    OTP_MAX_REQUESTS_PER_DAY: int = 30
    OTP_MAX_REQUESTS_PER_IP_PER_HOUR: int = 60
    OTP_MAX_VERIFY_PER_IP_PER_HOUR: int = 120
    OTP_MAX_VERIFY_ATTEMPTS: int = 5
    OTP_TEST_NUMBERS: str = ""
    SMS_BACKEND: Literal["console", "webhook", "msg91"] = "console"
    SMS_WEBHOOK_URL: str | None = None
    SMS_TIMEOUT_SECONDS: float = 5.0
    # ISO regions whose mobiles may log in and receive our SMS (SMS-pumping / toll fraud guard).
    ALLOWED_PHONE_REGIONS: str = "IN"
    # Code SMS (login, phone change, consent requests, withdrawal) per clock hour, across
    # replicas; over it -> 503 sms_budget_exhausted. Notifications cannot spend it.
    SMS_MAX_PER_HOUR: int = Field(1000, ge=1)
    # Notification SMS per clock hour (over it, they wait for the next hour) and per phone per
    # hour (over it, that SMS is skipped; the inbox and push still have the message).
    SMS_NOTIFY_MAX_PER_HOUR: int = Field(1000, ge=1)
    SMS_NOTIFY_MAX_PER_PHONE_PER_HOUR: int = Field(5, ge=1)
    MSG91_BASE_URL: str = "https://control.msg91.com"
    MSG91_AUTH_KEY: SecretStr | None = None
    MSG91_TEMPLATE_ID: str | None = None

    # Media
    MEDIA_ROOT: str = "./media"
    MEDIA_URL: str = "/media"
    MAX_PHOTO_BYTES: int = 5 * 1_048_576
    # Public images (home banners; core/media.py): `local` under MEDIA_ROOT, served at MEDIA_URL;
    # `s3` in MEDIA_S3_BUCKET (public through its bucket policy or a CDN), linked at
    # MEDIA_S3_PUBLIC_URL. The S3 region, endpoint and timeouts are the private storage's.
    PUBLIC_MEDIA_BACKEND: Literal["local", "s3"] = "local"
    MEDIA_S3_BUCKET: str | None = None
    MEDIA_S3_PUBLIC_URL: str | None = Field(None, pattern=r"^https?://[^\s?#]+$")
    MAX_BANNER_IMAGE_BYTES: int = Field(2 * 1_048_576, ge=1)

    # Private files (lab reports, invoices): core/storage.py. Never served, never under MEDIA_ROOT.
    STORAGE_BACKEND: Literal["local", "s3"] = "local"
    PRIVATE_STORAGE_ROOT: str = "./private"
    S3_BUCKET: str | None = None
    # Unset: AWS itself; set for an S3-compatible store (MinIO, a test server).
    S3_ENDPOINT_URL: str | None = None
    S3_REGION: str = "ap-south-1"
    # Short on purpose: an unreachable store is a quick 503, not a hung worker thread.
    S3_CONNECT_TIMEOUT_SECONDS: float = Field(2.0, gt=0)
    S3_READ_TIMEOUT_SECONDS: float = Field(10.0, gt=0)
    S3_MAX_ATTEMPTS: int = Field(2, ge=1, le=10)
    # Comma-separated Fernet keys: the first encrypts, all decrypt (prepend a new key to rotate).
    REPORT_ENCRYPTION_KEY: SecretStr | None = None

    # Lab reports (Report_module)
    MAX_REPORT_BYTES: int = Field(20 * 1_048_576, ge=1)
    REPORT_DOWNLOADS_PER_HOUR: int = Field(30, ge=1)
    # Staff (admins downloading reports for support) have their own, larger hourly allowance.
    REPORT_STAFF_DOWNLOADS_PER_HOUR: int = Field(600, ge=1)
    # How often files of erased accounts still in storage are deleted again (after a failure).
    REPORT_PURGE_INTERVAL_MINUTES: float = 10
    # The practitioner who signs the lab's reports (name, then registration), e.g.
    # "Dr Asha Rao|KMC-12345": named in the FHIR document; empty: the lab alone.
    REPORT_SIGNED_BY: str | None = None

    # Tax invoices (Invoice_module): numbers `{INVOICE_PREFIX}/{FY}/{seq}`; the supplier printed
    # on every invoice (production refuses to start without the GSTIN and the legal name).
    INVOICE_PREFIX: str = Field("NUC", pattern=r"^[A-Z0-9]{1,8}$")
    SUPPLIER_LEGAL_NAME: str = DEV_SUPPLIER_LEGAL_NAME
    SUPPLIER_GSTIN: str = DEV_SUPPLIER_GSTIN
    SUPPLIER_ADDRESS: str = "1, Development Road, Bengaluru 560001"
    SUPPLIER_STATE: str = "Karnataka"

    # Home sample collection (Collection_module), all in Asia/Kolkata
    COLLECTION_SLOTS: str = "07:00-09:00,09:00-11:00,11:00-13:00,16:00-18:00"
    COLLECTION_DAYS: str = "mon,tue,wed,thu,fri,sat,sun"
    COLLECTION_CAPACITY_PER_SLOT: int = Field(8, ge=0)
    COLLECTION_LEAD_HOURS: float = Field(12, ge=0)
    COLLECTION_MAX_DAYS: int = Field(14, ge=1)
    COLLECTION_RESCHEDULE_CUTOFF_HOURS: float = Field(4, ge=0)
    # Moves per visit; one more is 409 reschedule_limit_reached.
    COLLECTION_MAX_RESCHEDULES: int = Field(3, ge=0)

    # Member-confirmed consent (Consent_module/Request): the page the member's SMS links to
    FRONTEND_CONSENT_URL: str = "https://app.nucleotide.example/consent"
    CONSENT_REQUEST_TTL_HOURS: float = Field(48, gt=0, le=24 * 30)

    # Notifications (Notification_module): the outbox delivery job and its channels
    BRAND_NAME: str = "Nucleotide"
    APP_LINK_BASE: str = "https://app.nucleotide.example"
    NOTIFY_INTERVAL_SECONDS: int = Field(10, ge=1)
    NOTIFY_BATCH_SIZE: int = Field(20, ge=1, le=500)
    NOTIFY_MAX_ATTEMPTS: int = Field(6, ge=1)
    # The first retry waits about this long, each next one twice as long (plus jitter).
    NOTIFY_RETRY_BASE_SECONDS: float = Field(30.0, gt=0)
    # msg91: the DLT template id registered for each event's text, as JSON {"order_paid": "..."}.
    MSG91_NOTIFY_TEMPLATES: dict[str, str] = Field(default_factory=dict)
    SMTP_HOST: str | None = None
    SMTP_PORT: int = 587
    SMTP_USERNAME: str | None = None
    SMTP_PASSWORD: SecretStr | None = None
    SMTP_STARTTLS: bool = True
    SMTP_TIMEOUT_SECONDS: float = Field(10.0, gt=0)
    # A CA bundle to trust for the SMTP server's certificate (a private relay); default: system's.
    SMTP_CA_FILE: str | None = None
    EMAIL_FROM: str = "Nucleotide <no-reply@nucleotide.example>"
    FCM_PROJECT_ID: str | None = None
    FCM_CREDENTIALS_FILE: str | None = None
    FCM_BASE_URL: str = "https://fcm.googleapis.com"
    FCM_TIMEOUT_SECONDS: float = Field(10.0, gt=0)

    # ABDM Health Information Provider (Abdm_module), off unless ABDM_ENABLED. ABDM_BASE_URL is the
    # gateway's host (sandbox https://dev.abdm.gov.in); the /api/hiecm/... paths are added to it.
    ABDM_ENABLED: bool = False
    ABDM_BASE_URL: str = "https://dev.abdm.gov.in"
    ABDM_CLIENT_ID: str = DEV_ABDM_CLIENT_ID
    ABDM_CLIENT_SECRET: SecretStr = SecretStr(DEV_ABDM_CLIENT_SECRET)
    ABDM_CM_ID: str = Field("sbx", pattern=r"^[a-z0-9-]{2,20}$")
    ABDM_HIP_ID: str = DEV_ABDM_HIP_ID
    ABDM_HIP_NAME: str = "Nucleotide Genomics Lab"
    # The gateway's public keys (JWKS) that sign its callbacks; default:
    # {ABDM_BASE_URL}/api/hiecm/gateway/v3/certs
    ABDM_CERTS_URL: str | None = None
    ABDM_TIMEOUT_SECONDS: float = Field(10.0, gt=0)
    ABDM_INTERVAL_SECONDS: int = Field(5, ge=1)
    ABDM_MAX_ATTEMPTS: int = Field(8, ge=1)
    # The first retry of a failed gateway call waits about this long, each next one twice as long.
    ABDM_RETRY_BASE_SECONDS: float = Field(30.0, gt=0)

    # Newsletter (Newsletter_module): sign-ups per client IP per rolling hour and per address per
    # rolling day (429 beyond either).
    NEWSLETTER_SUBSCRIBES_PER_IP_PER_HOUR: int = Field(5, ge=1)
    NEWSLETTER_SUBSCRIBES_PER_ADDRESS_PER_DAY: int = Field(3, ge=1)
    # How often sign-ups nobody confirmed within the link's 7 days are deleted.
    NEWSLETTER_PURGE_INTERVAL_MINUTES: float = Field(60, gt=0)

    # Enquiries (Enquiry_module): the public form's limits (429 beyond any), the sales inbox,
    # and how long a closed enquiry is kept (the purge job's interval in minutes).
    ENQUIRY_MAX_PER_IP_PER_HOUR: int = Field(5, ge=1)
    ENQUIRY_MAX_PER_PHONE_PER_DAY: int = Field(3, ge=1)
    ENQUIRY_MAX_PER_EMAIL_PER_DAY: int = Field(3, ge=1)
    SALES_EMAIL: str = Field("sales@nucleotide.example", pattern=r"^[^@\s<>]+@[^@\s<>]+$")
    ENQUIRY_RETENTION_DAYS: int = Field(365, ge=1)
    ENQUIRY_PURGE_INTERVAL_MINUTES: float = Field(60, gt=0)

    # Visitor privacy choices (Privacy_module): receipts recorded and latest choices read per
    # client IP per rolling hour (429 beyond either).
    PRIVACY_CHOICES_PER_IP_PER_HOUR: int = Field(60, ge=1)
    PRIVACY_LOOKUPS_PER_IP_PER_HOUR: int = Field(600, ge=1)

    # Jobs
    SCHEDULER_ENABLED: bool = True

    # Catalogue, members
    MAX_MEMBERS_PER_USER: int = 10

    # Coupons: POST /cart/coupon attempts per user per rolling hour.
    COUPON_ATTEMPTS_PER_HOUR: int = 20

    # Payments
    RAZORPAY_KEY_ID: str = "rzp_test_development"
    RAZORPAY_KEY_SECRET: SecretStr = SecretStr("development-razorpay-key-secret")
    RAZORPAY_WEBHOOK_SECRET: SecretStr = SecretStr("development-razorpay-webhook-secret")
    RAZORPAY_BASE_URL: str = "https://api.razorpay.com"
    RAZORPAY_TIMEOUT_SECONDS: float = 10.0
    ORDER_PAYMENT_TIMEOUT_MINUTES: int = 30
    ORDER_EXPIRY_INTERVAL_MINUTES: float = 5
    # How often refunds Razorpay never confirmed (its call failed or timed out) are asked again.
    REFUND_RETRY_INTERVAL_MINUTES: float = 5

    IDEMPOTENCY_KEY_HOURS: int = 24
    # How old the `total` of a list over a whole table (admin orders, audit search) may be.
    ADMIN_LIST_TOTAL_SECONDS: float = 5
    MAX_ADDRESSES_PER_USER: int = 20

    # Google Meet counselling
    GOOGLE_CLIENT_SECRETS_FILE: str = "credentials.json"
    GOOGLE_OAUTH_REDIRECT_URI: str = "http://localhost:8030/gmeet/auth/callback"
    GOOGLE_API_BASE_URL: str = "https://www.googleapis.com/"
    GOOGLE_TIMEOUT_SECONDS: float = 10.0
    TOKEN_ENCRYPTION_KEY: SecretStr | None = None
    FRONTEND_COUNSELLOR_SUCCESS_URL: str | None = None
    FRONTEND_COUNSELLOR_ERROR_URL: str | None = None
    COUNSELLOR_WORKDAY_START: str = Field("10:00", pattern=HOUR_MINUTE)
    COUNSELLOR_WORKDAY_END: str = Field("18:00", pattern=HOUR_MINUTE)
    COUNSELLOR_WORKING_DAYS: str = Field("mon,tue,wed,thu,fri,sat", pattern=WEEKDAY_LIST)
    SLOT_MINUTES: int = Field(30, ge=5, le=480)
    AVAILABILITY_MAX_DAYS: int = Field(14, ge=1, le=62)
    # Confirmed sessions still to come one account may hold (one account took 30 of 32 slots).
    MAX_UPCOMING_BOOKINGS: int = Field(2, ge=1, le=50)

    @model_validator(mode="before")
    @classmethod
    def environment_is_explicit(cls, values: Any) -> Any:
        if isinstance(values, dict) and not values.get("ENVIRONMENT"):
            raise ValueError("ENVIRONMENT must be set explicitly: production, development or test")
        return values

    @model_validator(mode="after")
    def lock_wait_ends_before_the_read_timeout(self) -> "Settings":
        if self.DB_LOCK_WAIT_TIMEOUT >= self.DB_READ_TIMEOUT:
            raise ValueError("DB_LOCK_WAIT_TIMEOUT must be shorter than DB_READ_TIMEOUT")
        return self

    @model_validator(mode="after")
    def counsellor_day_holds_a_slot(self) -> "Settings":
        start = int(self.COUNSELLOR_WORKDAY_START[:2]) * 60 + int(self.COUNSELLOR_WORKDAY_START[3:])
        end = int(self.COUNSELLOR_WORKDAY_END[:2]) * 60 + int(self.COUNSELLOR_WORKDAY_END[3:])
        if end - start < self.SLOT_MINUTES:
            raise ValueError("COUNSELLOR_WORKDAY_END must leave room for one SLOT_MINUTES slot")
        return self

    @model_validator(mode="after")
    def private_storage_is_usable(self) -> "Settings":
        private = Path(self.PRIVATE_STORAGE_ROOT).resolve()
        media = Path(self.MEDIA_ROOT).resolve()
        if private == media or media in private.parents or private in media.parents:
            raise ValueError("PRIVATE_STORAGE_ROOT must not be inside MEDIA_ROOT (or contain it)")
        if self.STORAGE_BACKEND == "s3" and not self.S3_BUCKET:
            raise ValueError("STORAGE_BACKEND=s3 needs S3_BUCKET")
        if not all(is_fernet_key(key) for key in self.configured_report_keys):
            raise ValueError("REPORT_ENCRYPTION_KEY must be comma-separated Fernet keys")
        return self

    @model_validator(mode="after")
    def public_media_is_usable(self) -> "Settings":
        if self.PUBLIC_MEDIA_BACKEND != "s3":
            return self
        if not (self.MEDIA_S3_BUCKET and self.MEDIA_S3_PUBLIC_URL):
            raise ValueError("PUBLIC_MEDIA_BACKEND=s3 needs MEDIA_S3_BUCKET, MEDIA_S3_PUBLIC_URL")
        if self.MEDIA_S3_BUCKET == self.S3_BUCKET:
            raise ValueError("MEDIA_S3_BUCKET is public: it must not be S3_BUCKET (private files)")
        return self

    @model_validator(mode="after")
    def refuse_unsafe_production(self) -> "Settings":
        """Production must not start with development conveniences switched on."""
        if self.ENVIRONMENT != "production":
            return self
        problems = []
        secret = self.SECRET_KEY.get_secret_value()
        if secret == DEV_SECRET_KEY or len(secret) < MIN_SECRET_KEY_LENGTH:
            problems.append(
                f"SECRET_KEY must be set to at least {MIN_SECRET_KEY_LENGTH} characters"
            )
        if self.SMS_BACKEND == "console":
            problems.append("SMS_BACKEND=console only logs codes; use webhook or msg91")
        if self.SMS_BACKEND == "webhook" and not self.SMS_WEBHOOK_URL:
            problems.append("SMS_BACKEND=webhook needs SMS_WEBHOOK_URL")
        if self.SMS_BACKEND == "msg91" and not (self.MSG91_AUTH_KEY and self.MSG91_TEMPLATE_ID):
            problems.append("SMS_BACKEND=msg91 needs MSG91_AUTH_KEY and MSG91_TEMPLATE_ID")
        if not self.REDIS_URL:
            problems.append("REDIS_URL is required (the in-process Redis is for development)")
        if "*" in split_csv(self.ALLOWED_ORIGINS):
            problems.append("ALLOWED_ORIGINS=* is refused with credentialed CORS")
        if self.DATABASE_URL.startswith("sqlite"):
            problems.append("DATABASE_URL must point at MySQL, not SQLite")
        if self.RAZORPAY_KEY_SECRET.get_secret_value().startswith("development-"):
            problems.append("RAZORPAY_KEY_SECRET must be the live or test key secret")
        if self.RAZORPAY_WEBHOOK_SECRET.get_secret_value().startswith("development-"):
            problems.append("RAZORPAY_WEBHOOK_SECRET must be set")
        token_key = (
            self.TOKEN_ENCRYPTION_KEY.get_secret_value() if self.TOKEN_ENCRYPTION_KEY else ""
        )
        if not token_key:
            problems.append("TOKEN_ENCRYPTION_KEY is required (Fernet key for Google tokens)")
        elif not is_fernet_key(token_key):
            problems.append("TOKEN_ENCRYPTION_KEY must be a Fernet key (Fernet.generate_key())")
        if not self.configured_report_keys:
            problems.append("REPORT_ENCRYPTION_KEY is required (Fernet key for lab reports)")
        elif DEV_REPORT_ENCRYPTION_KEY in self.configured_report_keys:
            problems.append("REPORT_ENCRYPTION_KEY must not include the development key")
        if self.SUPPLIER_GSTIN.strip() in ("", DEV_SUPPLIER_GSTIN):
            problems.append("SUPPLIER_GSTIN must be set (printed on every tax invoice)")
        if self.SUPPLIER_LEGAL_NAME.strip() in ("", DEV_SUPPLIER_LEGAL_NAME):
            problems.append("SUPPLIER_LEGAL_NAME must be set (printed on every tax invoice)")
        if not self.GOOGLE_OAUTH_REDIRECT_URI.startswith("https://"):
            problems.append("GOOGLE_OAUTH_REDIRECT_URI must be an https:// URL")
        if not self.PUBLIC_API_URL.startswith("https://"):
            problems.append("PUBLIC_API_URL must be an https:// URL (links in e-mails)")
        if self.PUBLIC_MEDIA_BACKEND == "s3" and not (self.MEDIA_S3_PUBLIC_URL or "").startswith(
            "https://"
        ):
            problems.append("MEDIA_S3_PUBLIC_URL must be an https:// URL (images in the apps)")
        if self.ABDM_ENABLED:
            if self.ABDM_CLIENT_ID in ("", DEV_ABDM_CLIENT_ID) or self.ABDM_HIP_ID in (
                "",
                DEV_ABDM_HIP_ID,
            ):
                problems.append("ABDM_CLIENT_ID and ABDM_HIP_ID must be the lab's registered ones")
            if self.ABDM_CLIENT_SECRET.get_secret_value() in ("", DEV_ABDM_CLIENT_SECRET):
                problems.append("ABDM_CLIENT_SECRET must be set")
            if not self.ABDM_BASE_URL.startswith("https://") or not self.abdm_certs_url.startswith(
                "https://"
            ):
                problems.append("ABDM_BASE_URL and ABDM_CERTS_URL must be https:// URLs")
        if problems:
            raise ValueError("unsafe production settings: " + "; ".join(problems))
        return self

    @property
    def abdm_certs_url(self) -> str:
        return self.ABDM_CERTS_URL or self.ABDM_BASE_URL.rstrip("/") + "/api/hiecm/gateway/v3/certs"

    @property
    def allowed_origins(self) -> list[str]:
        return split_csv(self.ALLOWED_ORIGINS)

    @property
    def allowed_phone_regions(self) -> set[str]:
        return {region.upper() for region in split_csv(self.ALLOWED_PHONE_REGIONS)}

    @property
    def public_api_url(self) -> str:
        """PUBLIC_API_URL without a trailing slash, for joining paths onto."""
        return self.PUBLIC_API_URL.rstrip("/")

    @property
    def admin_phones(self) -> set[str]:
        return set(split_csv(self.ADMIN_PHONES))

    @property
    def otp_test_numbers(self) -> dict[str, str]:
        """`+919999900001:123456,...` -> {phone: code}."""
        pairs = (item.split(":", 1) for item in split_csv(self.OTP_TEST_NUMBERS))
        return {phone.strip(): code.strip() for phone, code in pairs}

    @property
    def token_encryption_key(self) -> bytes:
        """The Fernet key for Google tokens; outside production, one derived from SECRET_KEY."""
        if self.TOKEN_ENCRYPTION_KEY and self.TOKEN_ENCRYPTION_KEY.get_secret_value():
            return self.TOKEN_ENCRYPTION_KEY.get_secret_value().encode()
        seed = b"gmeet-token-key:" + self.SECRET_KEY.get_secret_value().encode()
        return base64.urlsafe_b64encode(hashlib.sha256(seed).digest())

    @property
    def configured_report_keys(self) -> list[str]:
        raw = self.REPORT_ENCRYPTION_KEY.get_secret_value() if self.REPORT_ENCRYPTION_KEY else ""
        return split_csv(raw)

    @property
    def report_encryption_keys(self) -> list[str]:
        """Report Fernet keys, newest first; outside production the development key if unset."""
        keys = self.configured_report_keys
        if not keys and self.ENVIRONMENT != "production":
            return [DEV_REPORT_ENCRYPTION_KEY]
        return keys


@lru_cache
def get_settings() -> Settings:
    return Settings()
