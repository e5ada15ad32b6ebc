"""One-time codes in Redis: hashed, expiring, single use, burned after too many wrong tries.

Keys never hold a phone number: they are named by `phone_key(phone)`, an HMAC of the phone,
so a Redis dump or a key listing reveals no customer."""

import hashlib
import hmac
import secrets
from collections.abc import Sequence
from enum import Enum

from config import get_settings
from core.redis import get_redis


class OtpCheck(Enum):
    OK = "ok"
    WRONG = "wrong"
    MISSING = "missing"
    BURNED = "burned"
    # Right, but checked together with a code that was not: still valid, not used up.
    UNUSED = "unused"


# Compare, count and burn in one step, so concurrent guesses are checked one after another and
# no more than OTP_MAX_VERIFY_ATTEMPTS of them are ever compared. Every comparison walks the
# whole digest (no early exit). Several codes (a phone change proves two phones) are checked
# together: only when all are right are they used up; otherwise each wrong one counts one attempt
# against its own code, and the right ones stay valid ('unused'). HINCRBY only runs on an
# existing key, so the key keeps the expiry `issue` gave it; a key that expired meanwhile is
# never re-created without one.
CHECK_SCRIPT = """
local max = tonumber(ARGV[1])
local states = {}
local all = true
for i, key in ipairs(KEYS) do
  local given = ARGV[i + 1]
  if redis.call('EXISTS', key) == 0 then
    states[i] = 'missing'
  elseif redis.call('HGET', key, 'burned') == '1' then
    states[i] = 'burned'
  else
    local stored = redis.call('HGET', key, 'digest') or ''
    local same = #stored == #given
    for j = 1, #given do
      if string.byte(stored, j) ~= string.byte(given, j) then same = false end
    end
    states[i] = same and 'ok' or 'wrong'
  end
  if states[i] ~= 'ok' then all = false end
end
for i, key in ipairs(KEYS) do
  if all then
    redis.call('DEL', key)
  elseif states[i] == 'ok' then
    states[i] = 'unused'
  elseif states[i] == 'wrong' then
    if redis.call('HINCRBY', key, 'attempts', 1) >= max then
      redis.call('HSET', key, 'burned', '1')
      states[i] = 'burned'
    end
  end
end
return states
"""


def generate_code() -> str:
    return f"{secrets.randbelow(1_000_000):06d}"


def phone_key(phone: str) -> str:
    """A stable, non-reversible name for `phone` in Redis keys (HMAC under SECRET_KEY)."""
    secret = get_settings().SECRET_KEY.get_secret_value().encode()
    return hmac.new(secret, b"phone-key:" + phone.encode(), hashlib.sha256).hexdigest()[:32]


def cooldown_key(phone: str, scope: str = "otp") -> str:
    return f"rl:{scope}:cooldown:{phone_key(phone)}"


def _digest(subject: str, code: str) -> str:
    secret = get_settings().SECRET_KEY.get_secret_value().encode()
    return hmac.new(secret, f"{subject}:{code}".encode(), hashlib.sha256).hexdigest()


class OtpStore:
    """`<scope>:<subject key>` is a hash {digest, attempts, burned} living `ttl` seconds.

    The login codes are `OtpStore()`: scope `otp`, one per phone, OTP_EXPIRY_SECONDS. Another
    scope keeps other codes apart (a member's consent request: one per request, 48 hours)."""

    def __init__(self, scope: str = "otp", ttl: int | None = None) -> None:
        self.scope = scope
        self.ttl = ttl

    def _key(self, subject: str) -> str:
        return f"{self.scope}:{phone_key(subject)}"

    def issue(self, subject: str, code: str) -> None:
        """Store a new code for `subject` (a phone, a request), replacing any earlier one."""
        ttl = self.ttl or get_settings().OTP_EXPIRY_SECONDS
        key = self._key(subject)
        pipe = get_redis().pipeline(transaction=True)
        pipe.delete(key)
        pipe.hset(key, mapping={"digest": _digest(subject, code), "attempts": 0, "burned": 0})
        pipe.expire(key, ttl)
        pipe.execute()

    def discard(self, subject: str) -> None:
        get_redis().delete(self._key(subject))

    @staticmethod
    def clear_cooldown(phone: str, scope: str = "otp") -> None:
        get_redis().delete(cooldown_key(phone, scope))

    def check(self, subject: str, code: str) -> OtpCheck:
        """One atomic compare-count-burn; a right code is accepted once."""
        return self.check_all([(subject, code)])[0]

    def check_all(self, pairs: Sequence[tuple[str, str]]) -> list[OtpCheck]:
        """Several (subject, code) pairs in one atomic step: all right -> all used up (OK);
        else nothing is used up, each wrong code counts one attempt against its own subject."""
        outcomes = get_redis().eval(
            CHECK_SCRIPT,
            len(pairs),
            *(self._key(subject) for subject, _ in pairs),
            get_settings().OTP_MAX_VERIFY_ATTEMPTS,
            *(_digest(subject, code) for subject, code in pairs),
        )
        return [OtpCheck(o.decode() if isinstance(o, bytes) else o) for o in outcomes]
