"""Counsellor onboarding: /gmeet/counsellor/connect -> Google consent (the fake) -> callback."""

import json
from urllib.parse import parse_qs, urlsplit

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from Audit_module.models import AuditLog
from gmeet_api import utils
from gmeet_api.models import ActivityLog, Counsellor, CounsellorToken
from tests.fakes.google import ALL_SCOPES, TOKEN_PATH, FakeGoogle, api_error, s256
from tests.fakes.google_setup import REDIRECT_URI
from tests.support.factories.gmeet import authorization_url, connect
from tests.support.http import assert_error

EVENTS = "https://www.googleapis.com/auth/calendar.events"
FREEBUSY = "https://www.googleapis.com/auth/calendar.freebusy"


def query_of(url: str) -> dict[str, str]:
    return {key: values[0] for key, values in parse_qs(urlsplit(url).query).items()}


def counsellors(db: Session) -> list[Counsellor]:
    db.expire_all()
    return list(db.scalars(select(Counsellor)))


def activity(db: Session, action: str) -> list[ActivityLog]:
    db.expire_all()
    return list(db.scalars(select(ActivityLog).where(ActivityLog.action == action)))


# --- starting the flow ---------------------------------------------------------------------------


def test_connect_redirects_to_google_consent_with_offline_access_pkce_and_every_scope(
    client: TestClient, google: FakeGoogle, redis_client
) -> None:
    url = authorization_url(client)
    parts = urlsplit(url)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == google.url + "/o/oauth2/auth"
    query = query_of(url)
    assert query["response_type"] == "code"
    assert query["redirect_uri"] == REDIRECT_URI
    assert query["access_type"] == "offline"
    assert query["prompt"] == "consent"
    assert set(query["scope"].split()) == set(ALL_SCOPES)
    assert query["code_challenge_method"] == "S256"
    # The state is random, kept 10 minutes with the PKCE verifier behind the challenge.
    key = f"oauth:state:{query['state']}"
    stored = json.loads(redis_client.get(key))
    assert s256(stored["code_verifier"]) == query["code_challenge"]
    assert 590 <= redis_client.ttl(key) <= 600
    assert len(query["state"]) >= 32
    assert query_of(authorization_url(client))["state"] != query["state"]


def test_connect_can_answer_the_url_as_json(client: TestClient, google: FakeGoogle) -> None:
    response = client.get("/gmeet/counsellor/connect", params={"return_url": "true"})
    assert response.status_code == 200
    body = response.json()
    assert body["redirect_uri"] == REDIRECT_URI
    assert query_of(body["authorization_url"])["prompt"] == "consent"


def test_connect_without_client_secrets_is_a_clean_503(
    client: TestClient, google: FakeGoogle, settings, monkeypatch
) -> None:
    monkeypatch.setattr(settings, "GOOGLE_CLIENT_SECRETS_FILE", "/nonexistent/credentials.json")
    response = client.get("/gmeet/counsellor/connect", follow_redirects=False)
    assert_error(response, 503, "google_not_configured")


def test_connect_starts_are_rate_limited_per_client(client: TestClient, google: FakeGoogle) -> None:
    for _ in range(30):
        assert client.get("/gmeet/counsellor/connect?return_url=true").status_code == 200
    response = client.get("/gmeet/counsellor/connect?return_url=true")
    assert_error(response, 429, "rate_limited")


# --- the callback --------------------------------------------------------------------------------


def test_whole_flow_connects_a_new_counsellor_pending_approval(
    client: TestClient, google: FakeGoogle, db: Session
) -> None:
    url = authorization_url(client)
    callback = google.consent(url, email="Asha.Rao@Example.com", name="Dr. Asha Rao")
    response = client.get("/gmeet/auth/callback", params=callback)

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["name"] == "Dr. Asha Rao"
    assert body["email"] == "asha.rao@example.com"
    assert body["is_new"] is True
    code = body["counsellor_id"]
    assert len(code) == 6 and set(code) <= set(utils.COUNSELLOR_ID_ALPHABET)
    # The code went back to Google with the verifier behind the challenge of the consent URL.
    (exchange,) = google.token_requests("authorization_code")
    form = {k: v[0] for k, v in exchange.form().items()}
    assert form["code"] == callback["code"]
    assert s256(form["code_verifier"]) == query_of(url)["code_challenge"]
    assert form["redirect_uri"] == REDIRECT_URI
    (counsellor,) = counsellors(db)
    assert counsellor.counsellor_id == code
    assert counsellor.is_active is False  # waits for an admin
    assert counsellor.status == "connected"
    assert counsellor.google_sub == google.account("Asha.Rao@Example.com").sub
    # Not offered to customers until approved.
    assert client.get("/gmeet/counsellors").json()["items"] == []
    (log,) = activity(db, "connected")
    assert log.counsellor_id == code and log.detail["is_new"] is True
    audit = db.scalars(select(AuditLog).where(AuditLog.action == "gmeet_counsellor.connected"))
    assert [entry.entity_id for entry in audit] == [code]


def test_tokens_are_encrypted_at_rest(client: TestClient, google: FakeGoogle, db: Session) -> None:
    assert connect(client, google).status_code == 200
    (access,) = google.access_tokens
    (refresh,) = google.grants
    raw = db.execute(text("SELECT * FROM counsellor_gmeet_tokens")).mappings().one()
    dump = json.dumps({key: str(value) for key, value in raw.items()})
    assert access not in dump and refresh not in dump
    assert utils.decrypt_token(raw["access_token"]) == access
    assert utils.decrypt_token(raw["refresh_token"]) == refresh
    assert set(raw["scopes"].split()) == set(ALL_SCOPES)
    token = db.scalar(select(CounsellorToken))
    assert token is not None and token.expires_at is not None


def test_a_state_works_only_once(client: TestClient, google: FakeGoogle, db: Session) -> None:
    callback = google.consent(authorization_url(client), email="asha.rao@example.com")
    assert client.get("/gmeet/auth/callback", params=callback).status_code == 200
    again = client.get("/gmeet/auth/callback", params=callback)
    assert_error(again, 400, "invalid_state")
    assert len(google.token_requests("authorization_code")) == 1


def test_a_forged_state_is_refused_before_talking_to_google(
    client: TestClient, google: FakeGoogle, db: Session
) -> None:
    callback = google.consent(authorization_url(client), email="asha.rao@example.com")
    forged = {**callback, "state": "forged-" + callback["state"]}
    assert_error(client.get("/gmeet/auth/callback", params=forged), 400, "invalid_state")
    no_state = {"code": callback["code"]}
    assert_error(client.get("/gmeet/auth/callback", params=no_state), 400, "invalid_state")
    assert google.token_requests("authorization_code") == []
    assert counsellors(db) == []


def test_an_expired_state_is_refused(
    client: TestClient, google: FakeGoogle, redis_client, db: Session
) -> None:
    callback = google.consent(authorization_url(client), email="asha.rao@example.com")
    redis_client.delete(f"oauth:state:{callback['state']}")  # what the 10-minute TTL does
    assert_error(client.get("/gmeet/auth/callback", params=callback), 400, "invalid_state")


def test_a_google_error_reply_is_refused_and_uses_up_the_state(
    client: TestClient, google: FakeGoogle, db: Session
) -> None:
    state = query_of(authorization_url(client))["state"]
    response = client.get("/gmeet/auth/callback", params={"error": "access_denied", "state": state})
    assert_error(response, 400, "authorization_denied")
    (log,) = activity(db, "connect_failed")
    assert log.detail == {"reason": "authorization_denied", "google_error": "access_denied"}
    retry = client.get("/gmeet/auth/callback", params={"code": "4/anything", "state": state})
    assert_error(retry, 400, "invalid_state")
    assert counsellors(db) == []


@pytest.mark.parametrize("withheld", [FREEBUSY, EVENTS])
def test_a_missing_calendar_scope_is_refused(
    client: TestClient, google: FakeGoogle, db: Session, withheld: str
) -> None:
    granted = tuple(scope for scope in ALL_SCOPES if scope != withheld)
    response = connect(client, google, grant=granted)
    body = assert_error(response, 400, "insufficient_scopes")
    assert body["details"] == [{"missing_scope": withheld}]
    assert counsellors(db) == []
    (log,) = activity(db, "connect_failed")
    assert log.detail == {"reason": "insufficient_scopes", "missing": [withheld]}


def test_a_code_google_does_not_accept_is_refused(
    client: TestClient, google: FakeGoogle, db: Session
) -> None:
    callback = google.consent(authorization_url(client), email="asha.rao@example.com")
    response = client.get(
        "/gmeet/auth/callback", params={**callback, "code": callback["code"] + "-tampered"}
    )
    assert_error(response, 400, "code_exchange_failed")
    assert counsellors(db) == []


def test_google_token_endpoint_down_is_a_clean_503(
    client: TestClient, google: FakeGoogle, db: Session
) -> None:
    google.fail("POST", TOKEN_PATH, api_error(500, "Backend Error"))
    assert_error(connect(client, google), 503, "google_unavailable")
    assert counsellors(db) == []


def test_google_token_endpoint_timeout_is_bounded(
    client: TestClient, google: FakeGoogle, settings, monkeypatch
) -> None:
    monkeypatch.setattr(settings, "GOOGLE_TIMEOUT_SECONDS", 0.5)
    google.time_out("POST", TOKEN_PATH, seconds=3)
    assert_error(connect(client, google), 503, "google_unavailable")


def test_reconnecting_keeps_the_counsellor_and_clears_reconnect_required(
    client: TestClient, google: FakeGoogle, db: Session
) -> None:
    first = connect(client, google).json()
    (counsellor,) = counsellors(db)
    counsellor.is_active = True
    counsellor.status = "reconnect_required"
    counsellor.specialization = "Prenatal genetics"
    db.flush()

    again = connect(client, google, name="Dr. Asha R. Rao")
    assert again.status_code == 200, again.text
    assert again.json() == {
        "counsellor_id": first["counsellor_id"],
        "name": "Dr. Asha R. Rao",
        "email": "asha.rao@example.com",
        "is_new": False,
    }
    (counsellor,) = counsellors(db)
    assert counsellor.is_active is True
    assert counsellor.status == "connected"
    assert counsellor.specialization == "Prenatal genetics"
    newest_access = list(google.access_tokens)[-1]
    token = db.scalar(select(CounsellorToken))
    assert token is not None and utils.decrypt_token(token.access_token) == newest_access
    assert len(db.scalars(select(CounsellorToken)).all()) == 1


def test_success_redirects_to_the_frontend_with_the_counsellor(
    client: TestClient, google: FakeGoogle, settings, monkeypatch
) -> None:
    monkeypatch.setattr(
        settings, "FRONTEND_COUNSELLOR_SUCCESS_URL", "https://counsel.nucleotide.example/ok?src=g"
    )
    response = connect(client, google)
    assert response.status_code == 302
    location = response.headers["location"]
    assert location.startswith("https://counsel.nucleotide.example/ok?")
    query = query_of(location)
    assert query["src"] == "g"
    assert len(query["counsellor_id"]) == 6
    assert query["name"] == "Dr. Asha Rao"
    assert query["email"] == "asha.rao@example.com"
    assert query["is_new"] == "true"


def test_errors_redirect_to_the_frontend_with_code_and_message(
    client: TestClient, google: FakeGoogle, settings, monkeypatch, db: Session
) -> None:
    monkeypatch.setattr(
        settings, "FRONTEND_COUNSELLOR_ERROR_URL", "https://counsel.nucleotide.example/failed"
    )
    forged = client.get(
        "/gmeet/auth/callback", params={"code": "x", "state": "forged"}, follow_redirects=False
    )
    assert forged.status_code == 302
    query = query_of(forged.headers["location"])
    assert query["error"] == "invalid_state"
    assert query["message"]

    granted = tuple(scope for scope in ALL_SCOPES if scope != FREEBUSY)
    refused = connect(client, google, grant=granted)
    assert refused.status_code == 302
    assert query_of(refused.headers["location"])["error"] == "insufficient_scopes"
    assert counsellors(db) == []
    assert len(activity(db, "connect_failed")) == 1
