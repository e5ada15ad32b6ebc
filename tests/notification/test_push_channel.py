"""The push channel through the local fake FCM: the real google-auth service-account flow
fetches the access token from the fake's token endpoint, then the message goes to
messages:send."""

import json
import time
from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from Notification_module.channels.push import send_push
from Notification_module.errors import DeliveryError
from Notification_module.models import Channel, Notification, NotificationEvent
from tests.fakes import fcm as fake_fcm
from tests.fakes.fcm import FakeFcm
from tests.fakes.server import FakeResponse
from tests.support.http import free_port
from tests.support.races import all_at_once

TITLE = "Your report is ready"
BODY = "Open the app to read your genetic report."

# The fake's fixtures, registered for this module.


def push(recipient: str = "tok-1", **payload: object) -> Notification:
    return Notification(
        user_id=1,
        event=NotificationEvent.REPORT_READY,
        channel=Channel.PUSH,
        recipient=recipient,
        title=TITLE,
        body=BODY,
        payload=payload or {"order_id": 7},
    )


def failure(message: Notification) -> DeliveryError:
    """The DeliveryError sending `message` raises; its reason gives nothing of it away."""
    with pytest.raises(DeliveryError) as caught:
        send_push(message)
    reason = caught.value.reason
    assert reason and str(caught.value) == reason
    for secret in (message.recipient, TITLE, BODY, "Bearer", "ya29"):
        assert secret and secret not in reason
    return caught.value


def test_a_push_arrives_with_token_title_body_and_string_data(fcm_settings: FakeFcm):
    message = push(order_id=7, link="https://app.nucleotide.example/orders/7", urgent=True)

    name = send_push(message)

    assert name == f"projects/{fake_fcm.PROJECT_ID}/messages/1"
    assert fcm_settings.messages_to("tok-1") == [
        {
            "token": "tok-1",
            "notification": {"title": TITLE, "body": BODY},
            "data": {
                "order_id": "7",
                "link": "https://app.nucleotide.example/orders/7",
                "urgent": "True",
            },
        }
    ]
    assert fcm_settings.messages_to("tok-2") == []


def test_the_bearer_is_the_token_issued_to_the_service_account_and_is_cached(
    fcm_settings: FakeFcm,
):
    names = [send_push(push(f"tok-{n}")) for n in range(3)]

    assert len(set(names)) == 3
    (grant,) = fcm_settings.token_requests()
    form = {k: v[0] for k, v in grant.form().items()}
    assert form["grant_type"] == fake_fcm.JWT_BEARER
    claims = jwt.decode(form["assertion"], options={"verify_signature": False})
    assert claims["iss"] == fake_fcm.CLIENT_EMAIL
    assert claims["aud"] == fake_fcm.GOOGLE_TOKEN_AUDIENCE
    assert fake_fcm.MESSAGING_SCOPE in claims["scope"].split()
    (issued,) = fcm_settings.access_tokens
    assert [d.access_token for d in fcm_settings.deliveries] == [issued] * 3
    assert {r.headers["authorization"] for r in fcm_settings.send_requests()} == {
        f"Bearer {issued}"
    }


def test_concurrent_first_sends_fetch_one_access_token(fcm_settings: FakeFcm):
    names = all_at_once([lambda n=n: send_push(push(f"tok-{n}")) for n in range(6)])

    assert len(set(names)) == 6
    assert len(fcm_settings.token_requests()) == 1


def test_an_unregistered_token_is_a_permanent_failure(fcm_settings: FakeFcm):
    fcm_settings.unregistered_tokens.add("tok-gone")

    error = failure(push("tok-gone"))

    assert error.reason == "unregistered"
    assert error.permanent
    assert fcm_settings.messages_to("tok-gone") == []


def test_a_malformed_token_is_a_permanent_invalid_token(fcm_settings: FakeFcm):
    error = failure(push("not a registration token"))

    assert (error.reason, error.permanent) == ("invalid_token", True)


@pytest.mark.parametrize(
    ("answer", "reason"),
    [(fake_fcm.unavailable(), "fcm_503"), (fake_fcm.quota_exceeded(), "quota_exceeded")],
)
def test_fcm_unavailable_or_over_quota_is_transient(
    fcm_settings: FakeFcm, answer: FakeResponse, reason: str
):
    fcm_settings.fail_send(answer)

    error = failure(push())

    assert (error.reason, error.permanent) == (reason, False)
    assert send_push(push()).startswith(f"projects/{fake_fcm.PROJECT_ID}/messages/")


def test_a_401_is_transient_and_the_next_send_fetches_a_new_access_token(
    fcm_settings: FakeFcm,
):
    send_push(push())
    fcm_settings.expire_access_tokens()

    error = failure(push())

    assert (error.reason, error.permanent) == ("unauthorized", False)
    assert len(fcm_settings.token_requests()) == 1
    send_push(push())
    assert len(fcm_settings.token_requests()) == 2
    first, second = fcm_settings.deliveries
    assert first.access_token != second.access_token


def test_fcm_not_listening_is_transient_and_quick(fcm_settings: FakeFcm, settings, monkeypatch):
    monkeypatch.setattr(settings, "FCM_BASE_URL", f"http://127.0.0.1:{free_port()}")
    monkeypatch.setattr(settings, "FCM_TIMEOUT_SECONDS", 0.5)
    started = time.monotonic()

    error = failure(push())

    assert time.monotonic() - started < 2
    assert (error.reason, error.permanent) == ("connection_failed", False)


def test_fcm_answering_too_slowly_is_a_transient_timeout(
    fcm_settings: FakeFcm, settings, monkeypatch
):
    monkeypatch.setattr(settings, "FCM_TIMEOUT_SECONDS", 0.3)
    fcm_settings.fail_send(FakeResponse(200, {"name": "late"}, delay_seconds=2))
    started = time.monotonic()

    error = failure(push())

    assert time.monotonic() - started < 1.5
    assert (error.reason, error.permanent) == ("timeout", False)


@pytest.mark.parametrize("missing", ["FCM_PROJECT_ID", "FCM_CREDENTIALS_FILE"])
def test_push_not_configured_is_transient(
    fcm_settings: FakeFcm, settings, monkeypatch, missing: str
):
    monkeypatch.setattr(settings, missing, None)

    error = failure(push())

    assert (error.reason, error.permanent) == ("push_not_configured", False)
    assert fcm_settings.requests == []


def test_a_key_the_token_endpoint_does_not_trust_is_a_transient_auth_failure(
    fcm_settings: FakeFcm, settings, monkeypatch, tmp_path: Path
):
    """Same account and key id, another private key: the fake rejects the JWT signature."""
    key = json.loads(Path(fcm_settings.key_file).read_text())
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    key["private_key"] = other.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    forged = tmp_path / "forged.json"
    forged.write_text(json.dumps(key))
    monkeypatch.setattr(settings, "FCM_CREDENTIALS_FILE", str(forged))

    error = failure(push())

    assert (error.reason, error.permanent) == ("auth_failed", False)
    assert len(fcm_settings.token_requests()) == 1
    assert fcm_settings.access_tokens == {}
    assert fcm_settings.send_requests() == []


def test_a_missing_key_file_is_transient(fcm_settings: FakeFcm, settings, monkeypatch, tmp_path):
    monkeypatch.setattr(settings, "FCM_CREDENTIALS_FILE", str(tmp_path / "absent.json"))

    error = failure(push())

    assert (error.reason, error.permanent) == ("bad_credentials_file", False)
