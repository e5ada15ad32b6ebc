"""A member confirming their own consents the way it really happens: the account holder asks,
the SMS goes out through the outbox, the member opens the link and types the code."""

import re
from dataclasses import dataclass
from typing import Any

from fastapi.testclient import TestClient

from tests.support.login import gateway
from tests.support.notification import deliver

LINK = re.compile(r"\?token=([A-Za-z0-9_-]+)")
CODE = re.compile(r"code (\d{6})")


@dataclass(frozen=True)
class ConsentSms:
    text: str
    token: str
    code: str


def ask(client: TestClient, headers: dict[str, str], member_id: int, codes: list[str]) -> Any:
    return client.post(
        "/consent/requests", json={"member_id": member_id, "codes": codes}, headers=headers
    )


def consent_sms(phone: str) -> ConsentSms:
    """Send what the outbox holds, then read the newest consent request SMS the phone got."""
    deliver()
    texts = [text for text in gateway().messages_to(phone) if "?token=" in text]
    assert texts, f"no consent request SMS reached {phone}"
    text = texts[-1]
    token, code = LINK.search(text), CODE.search(text)
    assert token and code, text
    return ConsentSms(text, token.group(1), code.group(1))


def confirm(client: TestClient, token: str, otp: str, **headers: str) -> Any:
    return client.post(
        f"/consent/requests/by-token/{token}/confirm", json={"otp": otp}, headers=headers
    )


def confirmed_by_member(
    client: TestClient, headers: dict[str, str], member_id: int, phone: str, codes: list[str]
) -> list[dict[str, Any]]:
    """The whole round: ask, the member reads the SMS and confirms; the grants it made."""
    asked = ask(client, headers, member_id, codes)
    assert asked.status_code == 201, asked.text
    sms = consent_sms(phone)
    confirmed = confirm(client, sms.token, sms.code)
    assert confirmed.status_code == 200, confirmed.text
    grants = client.get(f"/consent?member_id={member_id}", headers=headers).json()["items"]
    return [g for g in grants if g["consent_request_id"] == asked.json()["id"]]
