"""One-time codes in Redis: hashed, expiring, single use, burned after too many wrong tries."""

import hashlib
import hmac
import secrets
from enum import Enum

from config import get_settings
from core.redis import get_redis


class OtpCheck(Enum):
    OK = "ok"
    WRONG = "wrong"
    MISSING = "missing"
    BURNED = "burned"


def generate_code() -> str:
    return f"{secrets.randbelow(1_000_000):06d}"


def cooldown_key(phone: str) -> str:
    return f"rl:otp:cooldown:{phone}"


def _key(phone: str) -> str:
    return f"otp:{phone}"


def _digest(phone: str, code: str) -> str:
    secret = get_settings().SECRET_KEY.get_secret_value().encode()
    return hmac.new(secret, f"{phone}:{code}".encode(), hashlib.sha256).hexdigest()


class OtpStore:
    """`otp:<phone>` is a hash {digest, attempts, burned} living OTP_EXPIRY_SECONDS."""

    def issue(self, phone: str, code: str) -> None:
        """Store a new code for `phone`, replacing any earlier one."""
        settings = get_settings()
        pipe = get_redis().pipeline(transaction=True)
        pipe.delete(_key(phone))
        pipe.hset(_key(phone), mapping={"digest": _digest(phone, code), "attempts": 0, "burned": 0})
        pipe.expire(_key(phone), settings.OTP_EXPIRY_SECONDS)
        pipe.execute()

    def discard(self, phone: str) -> None:
        get_redis().delete(_key(phone))

    @staticmethod
    def clear_cooldown(phone: str) -> None:
        get_redis().delete(cooldown_key(phone))

    def check(self, phone: str, code: str) -> OtpCheck:
        client = get_redis()
        stored = client.hgetall(_key(phone))
        if not stored or "digest" not in stored:
            return OtpCheck.MISSING
        if stored.get("burned") == "1":
            return OtpCheck.BURNED
        if hmac.compare_digest(stored["digest"], _digest(phone, code)):
            # Deleting is the claim: of two simultaneous correct tries only one gets a 1 here.
            return OtpCheck.OK if client.delete(_key(phone)) == 1 else OtpCheck.MISSING
        pipe = client.pipeline(transaction=True)
        pipe.hincrby(_key(phone), "attempts", 1)
        pipe.ttl(_key(phone))
        attempts, ttl = pipe.execute()
        if ttl < 0:
            # The code expired (or was used) since the read, so the count created a stray key
            # with no expiry: remove it and answer as if the code had already gone.
            client.delete(_key(phone))
            return OtpCheck.MISSING
        if attempts >= get_settings().OTP_MAX_VERIFY_ATTEMPTS:
            client.hset(_key(phone), "burned", 1)
            return OtpCheck.BURNED
        return OtpCheck.WRONG
