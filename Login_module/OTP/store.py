"""One-time codes in Redis: hashed, expiring, single use, burned after too many wrong tries.

Keys never hold a phone number: they are named by `phone_key(phone)`, an HMAC of the phone,
so a Redis dump or a key listing reveals no customer."""

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


# Compare, count and burn in one step, so concurrent guesses are checked one after another and
# no more than OTP_MAX_VERIFY_ATTEMPTS of them are ever compared. Every comparison walks the
# whole digest (no early exit). HINCRBY only runs on an existing key, so the key keeps the
# expiry `issue` gave it; a key that expired meanwhile is never re-created without one.
CHECK_SCRIPT = """
local key = KEYS[1]
if redis.call('EXISTS', key) == 0 then return 'missing' end
if redis.call('HGET', key, 'burned') == '1' then return 'burned' end
local stored = redis.call('HGET', key, 'digest') or ''
local given = ARGV[1]
local same = #stored == #given
for i = 1, #given do
  if string.byte(stored, i) ~= string.byte(given, i) then same = false end
end
if same then
  redis.call('DEL', key)
  return 'ok'
end
local attempts = redis.call('HINCRBY', key, 'attempts', 1)
if attempts >= tonumber(ARGV[2]) then
  redis.call('HSET', key, 'burned', '1')
  return 'burned'
end
return 'wrong'
"""


def generate_code() -> str:
    return f"{secrets.randbelow(1_000_000):06d}"


def phone_key(phone: str) -> str:
    """A stable, non-reversible name for `phone` in Redis keys (HMAC under SECRET_KEY)."""
    secret = get_settings().SECRET_KEY.get_secret_value().encode()
    return hmac.new(secret, b"phone-key:" + phone.encode(), hashlib.sha256).hexdigest()[:32]


def cooldown_key(phone: str) -> str:
    return f"rl:otp:cooldown:{phone_key(phone)}"


def _key(phone: str) -> str:
    return f"otp:{phone_key(phone)}"


def _digest(phone: str, code: str) -> str:
    secret = get_settings().SECRET_KEY.get_secret_value().encode()
    return hmac.new(secret, f"{phone}:{code}".encode(), hashlib.sha256).hexdigest()


class OtpStore:
    """`otp:<phone key>` is a hash {digest, attempts, burned} living OTP_EXPIRY_SECONDS."""

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
        """One atomic compare-count-burn; a right code is accepted once."""
        outcome = get_redis().eval(
            CHECK_SCRIPT,
            1,
            _key(phone),
            _digest(phone, code),
            get_settings().OTP_MAX_VERIFY_ATTEMPTS,
        )
        return OtpCheck(outcome.decode() if isinstance(outcome, bytes) else outcome)
