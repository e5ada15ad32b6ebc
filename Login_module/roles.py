"""Roles come from configuration: a phone listed in ADMIN_PHONES is an admin."""

from functools import lru_cache

from config import get_settings
from core.validation import InvalidPhone, normalize_phone


@lru_cache(maxsize=8)
def _admin_phones(raw: str) -> frozenset[str]:
    phones = set()
    for entry in raw.split(","):
        try:
            phones.add(normalize_phone(entry.strip()))
        except InvalidPhone:
            continue
    return frozenset(phones)


def role_for_phone(phone: str | None) -> str:
    if phone and phone in _admin_phones(get_settings().ADMIN_PHONES):
        return "admin"
    return "user"
