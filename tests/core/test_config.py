"""Production refuses unsafe settings, at construction and at process start-up."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from pydantic import ValidationError

from config import DEV_REPORT_ENCRYPTION_KEY, Settings
from tests.support.settings import SAFE_PRODUCTION, production

ROOT = Path(__file__).resolve().parents[2]


def test_safe_production_settings_are_accepted() -> None:
    assert production().ENVIRONMENT == "production"


@pytest.mark.parametrize(
    ("override", "fragment"),
    [
        ({"SECRET_KEY": "short"}, "SECRET_KEY"),
        ({"SECRET_KEY": None}, "SECRET_KEY"),
        ({"SMS_BACKEND": "console"}, "SMS_BACKEND=console"),
        ({"REDIS_URL": None}, "REDIS_URL is required"),
        ({"SMS_WEBHOOK_URL": None}, "SMS_BACKEND=webhook needs SMS_WEBHOOK_URL"),
        ({"SMS_BACKEND": "msg91"}, "SMS_BACKEND=msg91 needs MSG91_AUTH_KEY"),
        ({"ALLOWED_ORIGINS": "*"}, "ALLOWED_ORIGINS"),
        ({"DATABASE_URL": "sqlite:///x.db"}, "DATABASE_URL"),
        ({"RAZORPAY_KEY_SECRET": None}, "RAZORPAY_KEY_SECRET"),
        ({"RAZORPAY_WEBHOOK_SECRET": None}, "RAZORPAY_WEBHOOK_SECRET"),
        ({"TOKEN_ENCRYPTION_KEY": None}, "TOKEN_ENCRYPTION_KEY is required"),
        ({"TOKEN_ENCRYPTION_KEY": ""}, "TOKEN_ENCRYPTION_KEY is required"),
        ({"TOKEN_ENCRYPTION_KEY": "not-a-fernet-key"}, "TOKEN_ENCRYPTION_KEY must be a Fernet"),
        ({"REPORT_ENCRYPTION_KEY": None}, "REPORT_ENCRYPTION_KEY is required"),
        ({"REPORT_ENCRYPTION_KEY": ""}, "REPORT_ENCRYPTION_KEY is required"),
        ({"REPORT_ENCRYPTION_KEY": DEV_REPORT_ENCRYPTION_KEY}, "must not include the development"),
        ({"REPORT_ENCRYPTION_KEY": "not-a-fernet-key"}, "REPORT_ENCRYPTION_KEY must be comma"),
        (
            {"GOOGLE_OAUTH_REDIRECT_URI": "http://api.nucleotide.example/gmeet/auth/callback"},
            "GOOGLE_OAUTH_REDIRECT_URI must be an https",
        ),
        ({"PUBLIC_API_URL": "http://api.nucleotide.example"}, "PUBLIC_API_URL must be an https"),
        (
            {
                "PUBLIC_MEDIA_BACKEND": "s3",
                "MEDIA_S3_BUCKET": "nucleotide-media",
                "MEDIA_S3_PUBLIC_URL": "http://media.nucleotide.example",
            },
            "MEDIA_S3_PUBLIC_URL must be an https",
        ),
    ],
)
def test_unsafe_production_settings_are_refused(override: dict, fragment: str) -> None:
    with pytest.raises(ValidationError) as excinfo:
        production(**override)
    assert fragment in str(excinfo.value)


def test_public_media_on_s3_needs_a_bucket_of_its_own_and_its_address() -> None:
    media = {"ENVIRONMENT": "development", "PUBLIC_MEDIA_BACKEND": "s3", "_env_file": None}
    with pytest.raises(ValidationError, match="needs MEDIA_S3_BUCKET, MEDIA_S3_PUBLIC_URL"):
        Settings(**media, MEDIA_S3_BUCKET="nucleotide-media")
    with pytest.raises(ValidationError, match="must not be S3_BUCKET"):
        Settings(
            **media,
            MEDIA_S3_BUCKET="nucleotide-files",
            MEDIA_S3_PUBLIC_URL="https://media.nucleotide.example",
            STORAGE_BACKEND="s3",
            S3_BUCKET="nucleotide-files",
        )
    accepted = production(
        PUBLIC_MEDIA_BACKEND="s3",
        MEDIA_S3_BUCKET="nucleotide-media",
        MEDIA_S3_PUBLIC_URL="https://media.nucleotide.example",
    )
    assert accepted.PUBLIC_MEDIA_BACKEND == "s3"


def test_development_allows_the_conveniences() -> None:
    settings = Settings(ENVIRONMENT="development", _env_file=None)
    assert settings.SMS_BACKEND == "console"
    assert settings.REDIS_URL is None


def test_process_refuses_to_start_with_a_short_secret_in_production(tmp_path: Path) -> None:
    env = {
        "PATH": os.environ.get("PATH", ""),
        **SAFE_PRODUCTION,
        "SECRET_KEY": "too-short",
        "MEDIA_ROOT": str(tmp_path / "media"),
    }
    result = subprocess.run(
        [sys.executable, "-c", "import main"],
        cwd=tmp_path,
        env={**env, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "unsafe production settings" in result.stderr
    assert "SECRET_KEY must be set" in result.stderr
    assert "too-short" not in result.stderr


def test_development_derives_a_fixed_token_key_from_the_secret_key() -> None:
    first = Settings(ENVIRONMENT="development", _env_file=None).token_encryption_key
    again = Settings(ENVIRONMENT="development", _env_file=None).token_encryption_key
    other = Settings(ENVIRONMENT="development", SECRET_KEY="y" * 40, _env_file=None)
    assert first == again
    assert Fernet(first).decrypt(Fernet(again).encrypt(b"token")) == b"token"
    assert other.token_encryption_key != first


def test_a_configured_token_key_is_used_as_given() -> None:
    key = Fernet.generate_key()
    settings = Settings(TOKEN_ENCRYPTION_KEY=key.decode(), _env_file=None)
    assert settings.token_encryption_key == key


@pytest.mark.parametrize(
    "override",
    [
        {"COUNSELLOR_WORKDAY_START": "9am"},
        {"COUNSELLOR_WORKDAY_END": "24:00"},
        {"COUNSELLOR_WORKING_DAYS": "mon,funday"},
        {"COUNSELLOR_WORKING_DAYS": ""},
        {"COUNSELLOR_WORKDAY_START": "18:00", "COUNSELLOR_WORKDAY_END": "10:00"},
        {"COUNSELLOR_WORKDAY_END": "10:15"},
        {"SLOT_MINUTES": 0},
        {"AVAILABILITY_MAX_DAYS": 0},
    ],
)
def test_counsellor_hours_must_make_sense_in_every_environment(override: dict) -> None:
    with pytest.raises(ValidationError):
        Settings(ENVIRONMENT="development", **override, _env_file=None)


def test_settings_parse_lists() -> None:
    settings = Settings(
        ADMIN_PHONES=" +919000000001 , +919000000002,",
        OTP_TEST_NUMBERS="+919999900001:123456, +919999900002:654321",
        ALLOWED_ORIGINS="https://a.example,https://b.example",
        _env_file=None,
    )
    assert settings.admin_phones == {"+919000000001", "+919000000002"}
    assert settings.otp_test_numbers == {"+919999900001": "123456", "+919999900002": "654321"}
    assert settings.allowed_origins == ["https://a.example", "https://b.example"]


def test_settings_refuse_a_missing_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ENVIRONMENT")
    with pytest.raises(ValueError, match="ENVIRONMENT must be set explicitly"):
        Settings(_env_file=None)


def test_the_app_refuses_to_start_without_an_explicit_environment(tmp_path: Path) -> None:
    """No silent fall-back to development (public key, console SMS) in a deployment."""
    env = {
        "PATH": os.environ["PATH"],
        "DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}",
        "MEDIA_ROOT": str(tmp_path / "media"),
    }
    result = subprocess.run(
        [sys.executable, "-c", "import main"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    assert "ENVIRONMENT must be set explicitly" in result.stderr
    explicit = subprocess.run(
        [sys.executable, "-c", "import main"],
        cwd=ROOT,
        env={**env, "ENVIRONMENT": "development"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert explicit.returncode == 0, explicit.stderr
