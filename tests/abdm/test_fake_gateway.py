"""The local ABDM gateway the HIP's tests run against, exercised over HTTP on its own."""

import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import jwt
import pytest

from tests.fakes import abdm_gateway as fake
from tests.fakes.abdm_gateway import FakeAbdmGateway

ABHA = "asha.rao@sbx"
ABHA_NUMBER = "91-1234-5678-9012"


@pytest.fixture(scope="module")
def gateway_server() -> Iterator[FakeAbdmGateway]:
    server = FakeAbdmGateway().start()
    yield server
    server.stop()


@pytest.fixture
def gateway(gateway_server: FakeAbdmGateway) -> FakeAbdmGateway:
    gateway_server.reset()
    return gateway_server


@pytest.fixture
def http(gateway: FakeAbdmGateway) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=gateway.url, timeout=5) as client:
        yield client


def open_session(gateway: FakeAbdmGateway, http: httpx.Client) -> str:
    response = http.post(
        fake.SESSIONS,
        json={
            "clientId": fake.CLIENT_ID,
            "clientSecret": fake.CLIENT_SECRET,
            "grantType": "client_credentials",
        },
        headers=gateway.gateway_headers(),
    )
    assert response.status_code == 200, response.text
    return str(response.json()["accessToken"])


def hip_headers(gateway: FakeAbdmGateway, token: str, **extra: str) -> dict[str, str]:
    return gateway.gateway_headers(token, **{"X-HIP-ID": fake.HIP_ID, **extra})


def generate_token_body(abha: str = ABHA) -> dict[str, Any]:
    return {
        "abhaNumber": ABHA_NUMBER,
        "abhaAddress": abha,
        "name": "Asha Rao",
        "gender": "F",
        "yearOfBirth": 1990,
    }


def care_context_body(abha: str = ABHA, *references: str) -> dict[str, Any]:
    contexts = [{"referenceNumber": ref, "display": "Lab visit"} for ref in references or ("R-1",)]
    return {
        "abhaNumber": ABHA_NUMBER,
        "abhaAddress": abha,
        "patient": [
            {
                "referenceNumber": "M-1",
                "display": "Asha Rao",
                "careContexts": contexts,
                "hiType": "DiagnosticReport",
                "count": len(contexts),
            }
        ],
    }


def assert_abdm_error(response: httpx.Response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    assert response.json()["error"]["code"] == code, response.text
    assert response.json()["error"]["message"]


class Recorder:
    """An httpx transport standing in for the HIP's bridge: records and answers 202."""

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return httpx.Response(202)


def bridge() -> tuple[httpx.Client, Recorder]:
    recorder = Recorder()
    return httpx.Client(
        base_url="http://hip.test", transport=httpx.MockTransport(recorder)
    ), recorder


def verify(gateway: FakeAbdmGateway, jwks: dict[str, Any], headers: dict[str, str]) -> Any:
    """What the HIP does with a callback's bearer token: the key by kid, RS256, aud account."""
    token = headers["Authorization"].removeprefix("Bearer ")
    kid = jwt.get_unverified_header(token)["kid"]
    key = jwt.PyJWKSet.from_dict(jwks)[kid]
    return jwt.decode(
        token, key.key, algorithms=["RS256"], audience="account", issuer=gateway.issuer
    )


# --- sessions ------------------------------------------------------------------------------


def test_session_gives_a_bearer_token_that_opens_the_gateway(
    gateway: FakeAbdmGateway, http: httpx.Client
) -> None:
    response = http.post(
        fake.SESSIONS,
        json={
            "clientId": fake.CLIENT_ID,
            "clientSecret": fake.CLIENT_SECRET,
            "grantType": "client_credentials",
        },
        headers=gateway.gateway_headers(),
    )

    assert response.status_code == 200
    body = response.json()
    assert body["tokenType"] == "bearer"
    assert body["expiresIn"] == fake.ACCESS_TOKEN_SECONDS
    assert body["refreshToken"]
    claims = jwt.decode(body["accessToken"], options={"verify_signature": False})
    assert claims["clientId"] == fake.CLIENT_ID
    certs = http.get(fake.CERTS, headers=gateway.gateway_headers(body["accessToken"]))
    assert certs.status_code == 200


def test_session_refuses_wrong_credentials_and_grant_type(
    gateway: FakeAbdmGateway, http: httpx.Client
) -> None:
    wrong = http.post(
        fake.SESSIONS,
        json={
            "clientId": fake.CLIENT_ID,
            "clientSecret": "guess",
            "grantType": "client_credentials",
        },
        headers=gateway.gateway_headers(),
    )
    grant = http.post(
        fake.SESSIONS,
        json={"clientId": fake.CLIENT_ID, "clientSecret": fake.CLIENT_SECRET, "grantType": "pw"},
        headers=gateway.gateway_headers(),
    )
    no_headers = http.post(
        fake.SESSIONS,
        json={
            "clientId": fake.CLIENT_ID,
            "clientSecret": fake.CLIENT_SECRET,
            "grantType": "client_credentials",
        },
    )

    assert wrong.status_code == 401
    assert wrong.json()["code"] == "900901"
    assert_abdm_error(grant, 400, "ABDM-1006")
    assert_abdm_error(no_headers, 400, "ABDM-2404")


def test_revoked_or_expired_tokens_answer_401_and_a_new_session_works(
    gateway: FakeAbdmGateway, http: httpx.Client
) -> None:
    token = open_session(gateway, http)
    gateway.revoke_tokens()

    revoked = http.get(fake.CERTS, headers=gateway.gateway_headers(token))

    assert revoked.status_code == 401
    assert revoked.json()["code"] == "900901"
    gateway.expires_in = 60
    fresh = open_session(gateway, http)
    assert http.get(fake.CERTS, headers=gateway.gateway_headers(fresh)).status_code == 200
    later = datetime.now(UTC) + timedelta(seconds=61)
    gateway.now = lambda: later
    assert http.get(fake.CERTS, headers=gateway.gateway_headers(fresh)).status_code == 401


def test_a_call_without_authorization_is_refused(
    gateway: FakeAbdmGateway, http: httpx.Client
) -> None:
    response = http.post(
        fake.GENERATE_TOKEN,
        json=generate_token_body(),
        headers=gateway.gateway_headers(None, **{"X-HIP-ID": fake.HIP_ID}),
    )

    assert response.status_code == 401
    assert response.json()["code"] == "900902"
    assert gateway.callbacks == []


# --- signing keys and callback tokens ------------------------------------------------------


def test_certs_need_a_session_token_and_the_realm_keys_do_not(
    gateway: FakeAbdmGateway, http: httpx.Client
) -> None:
    token = open_session(gateway, http)

    without = http.get(fake.CERTS, headers=gateway.gateway_headers())
    with_token = http.get(fake.CERTS, headers=gateway.gateway_headers(token))
    realm = http.get(fake.REALM_CERTS)
    gateway.certs_need_token = False
    open_certs = http.get(fake.CERTS, headers=gateway.gateway_headers())

    assert without.status_code == 401
    assert with_token.json() == realm.json() == open_certs.json()
    [key] = realm.json()["keys"]
    assert {key["kty"], key["alg"], key["use"]} == {"RSA", "RS256", "sig"}
    assert key["kid"] and key["n"] and key["e"] == "AQAB"
    config = http.get(fake.OPENID_CONFIGURATION).json()
    assert config == {"issuer": gateway.issuer, "jwks_uri": gateway.realm_certs_url}


def test_the_published_keys_verify_a_signed_callback(
    gateway: FakeAbdmGateway, http: httpx.Client
) -> None:
    jwks = http.get(fake.REALM_CERTS).json()
    request_id = str(uuid.uuid4())

    headers = gateway.signed_headers(request_id)

    claims = verify(gateway, jwks, headers)
    assert claims["aud"] == "account"
    assert claims["azp"] == "gateway"
    assert claims["clientId"] == "gateway"
    assert claims["exp"] - claims["iat"] == 3600
    assert headers["REQUEST-ID"] == request_id
    assert headers["X-CM-ID"] == fake.CM_ID
    assert headers["X-HIP-ID"] == fake.HIP_ID
    sent_at = datetime.strptime(headers["TIMESTAMP"], "%Y-%m-%dT%H:%M:%S.%fZ")
    assert abs(sent_at.replace(tzinfo=UTC) - datetime.now(UTC)) < timedelta(seconds=5)


def test_forged_expired_and_misaddressed_callback_tokens_fail(
    gateway: FakeAbdmGateway, http: httpx.Client
) -> None:
    jwks = http.get(fake.REALM_CERTS).json()

    with pytest.raises(jwt.InvalidSignatureError):
        verify(gateway, jwks, gateway.signed_headers(forged=True))
    with pytest.raises(jwt.ExpiredSignatureError):
        verify(gateway, jwks, gateway.signed_headers(expired=True))
    with pytest.raises(jwt.InvalidAudienceError):
        verify(gateway, jwks, gateway.signed_headers(audience="someone-else"))
    with pytest.raises(KeyError):
        verify(gateway, jwks, gateway.signed_headers(kid="unknown-kid"))


def test_a_rotated_key_is_published_beside_the_old_one(
    gateway: FakeAbdmGateway, http: httpx.Client
) -> None:
    old_kid = gateway.current_kid
    before = gateway.signed_headers()

    new_kid = gateway.rotate_key()

    jwks = http.get(fake.REALM_CERTS).json()
    assert [key["kid"] for key in jwks["keys"]] == [old_kid, new_kid]
    after = gateway.signed_headers()
    assert jwt.get_unverified_header(after["Authorization"][7:])["kid"] == new_kid
    verify(gateway, jwks, before)
    verify(gateway, jwks, after)
    verify(gateway, jwks, gateway.signed_headers(kid=old_kid))
    gateway.reset()
    assert [key["kid"] for key in gateway.jwks()["keys"]] == [old_kid]


# --- the headers on every call -------------------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "code"),
    [
        ({"REQUEST-ID": ""}, "ABDM-2404"),
        ({"REQUEST-ID": "not-a-uuid"}, "ABDM-2404"),
        ({"TIMESTAMP": ""}, "ABDM-2402"),
        ({"TIMESTAMP": "2031-06-02T08:00:00+05:30"}, "ABDM-2402"),
        ({"TIMESTAMP": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")}, "ABDM-2402"),
        ({"X-CM-ID": "abdm"}, "ABDM-2403"),
        ({"X-HIP-ID": ""}, "ABDM-1035"),
    ],
)
def test_calls_with_a_missing_or_malformed_header_are_refused(
    gateway: FakeAbdmGateway, http: httpx.Client, headers: dict[str, str], code: str
) -> None:
    token = open_session(gateway, http)
    sent = {**hip_headers(gateway, token), **headers}

    response = http.post(
        fake.GENERATE_TOKEN,
        json=generate_token_body(),
        headers={k: v for k, v in sent.items() if v},
    )

    assert_abdm_error(response, 400, code)
    assert gateway.callbacks == []


def test_a_timestamp_more_than_five_minutes_off_is_refused(
    gateway: FakeAbdmGateway, http: httpx.Client
) -> None:
    token = open_session(gateway, http)
    stale = fake.timestamp(datetime.now(UTC) - timedelta(minutes=6))
    ahead = fake.timestamp(datetime.now(UTC) + timedelta(minutes=6))
    near = fake.timestamp(datetime.now(UTC) - timedelta(minutes=4))

    answers = [
        http.post(
            fake.GENERATE_TOKEN,
            json=generate_token_body(),
            headers=hip_headers(gateway, token, TIMESTAMP=sent_at),
        )
        for sent_at in (stale, ahead, near)
    ]

    assert_abdm_error(answers[0], 400, "ABDM-2402")
    assert_abdm_error(answers[1], 400, "ABDM-2402")
    assert answers[2].status_code == 202


def test_a_request_id_used_before_is_refused_even_after_a_refusal(
    gateway: FakeAbdmGateway, http: httpx.Client
) -> None:
    token = open_session(gateway, http)
    headers = hip_headers(gateway, token)
    first = http.post(fake.GENERATE_TOKEN, json=generate_token_body(), headers=headers)
    again = http.post(fake.GENERATE_TOKEN, json=generate_token_body(), headers=headers)
    gateway.refuse_next(fake.ON_DISCOVER, "ABDM-1017", "Invalid TransactionId")
    answer = {"transactionId": "t-1", "patient": [], "response": {"requestId": "r-1"}}
    retry_headers = gateway.gateway_headers(token)
    refused = http.post(fake.ON_DISCOVER, json=answer, headers=retry_headers)
    retried = http.post(fake.ON_DISCOVER, json=answer, headers=retry_headers)

    assert first.status_code == 202
    assert_abdm_error(again, 400, "ABDM-1064")
    assert_abdm_error(refused, 400, "ABDM-1017")
    assert_abdm_error(retried, 400, "ABDM-1064")
    assert len(gateway.callbacks) == 1
    assert gateway.answers(fake.ON_DISCOVER) == []


# --- HIP-initiated linking -----------------------------------------------------------------


def test_generate_token_queues_a_link_token_for_the_abha_and_hip(
    gateway: FakeAbdmGateway, http: httpx.Client
) -> None:
    token = open_session(gateway, http)
    headers = hip_headers(gateway, token)

    response = http.post(fake.GENERATE_TOKEN, json=generate_token_body(), headers=headers)

    assert response.status_code == 202
    assert response.content == b""
    [callback] = gateway.callbacks
    assert callback.path == fake.ON_GENERATE_TOKEN_CALLBACK
    assert callback.hip_id == fake.HIP_ID
    assert callback.request_id != headers["REQUEST-ID"]
    assert callback.body == {
        "abhaAddress": ABHA,
        "linkToken": gateway.link_token(ABHA),
        "response": {"requestId": headers["REQUEST-ID"]},
    }
    assert gateway.link_token(ABHA, "OTHER-HIP") is None


def test_deliver_posts_each_callback_signed_and_empties_the_queue(
    gateway: FakeAbdmGateway, http: httpx.Client
) -> None:
    token = open_session(gateway, http)
    http.post(fake.GENERATE_TOKEN, json=generate_token_body(), headers=hip_headers(gateway, token))
    discover_id = gateway.discover({"id": ABHA, "name": "Asha Rao"})
    [first, second] = gateway.callbacks
    client, recorder = bridge()
    jwks = gateway.jwks()

    responses = gateway.deliver(client)

    assert [r.status_code for r in responses] == [202, 202]
    assert [r.url.path for r in recorder.requests] == [
        "/abdm" + fake.ON_GENERATE_TOKEN_CALLBACK,
        "/abdm" + fake.DISCOVER_CALLBACK,
    ]
    assert json.loads(recorder.requests[0].content) == first.body
    assert recorder.requests[0].headers["REQUEST-ID"] == first.request_id
    assert recorder.requests[1].headers["REQUEST-ID"] == second.request_id == discover_id
    for request in recorder.requests:
        verify(gateway, jwks, {"Authorization": request.headers["authorization"]})
        assert request.headers["X-HIP-ID"] == fake.HIP_ID
    assert gateway.callbacks == []
    assert gateway.deliver(client, prefix="") == []


def test_too_many_link_token_requests_block_the_abha(
    gateway: FakeAbdmGateway, http: httpx.Client
) -> None:
    token = open_session(gateway, http)
    gateway.link_token_limit = 2

    for _ in range(3):
        response = http.post(
            fake.GENERATE_TOKEN, json=generate_token_body(), headers=hip_headers(gateway, token)
        )
        assert response.status_code == 202
    http.post(
        fake.GENERATE_TOKEN,
        json=generate_token_body("other@sbx"),
        headers=hip_headers(gateway, token),
    )

    bodies = [c.body for c in gateway.callbacks]
    assert [("linkToken" in b, "error" in b) for b in bodies] == [
        (True, False),
        (True, False),
        (False, True),
        (True, False),
    ]
    assert bodies[2]["error"]["code"] == "ABDM-1027"
    assert "24 hours" in bodies[2]["error"]["message"]
    assert bodies[2]["response"]["requestId"]


def test_generate_token_refuses_a_body_without_the_demographics(
    gateway: FakeAbdmGateway, http: httpx.Client
) -> None:
    token = open_session(gateway, http)
    body = {**generate_token_body(), "gender": "female"}

    response = http.post(fake.GENERATE_TOKEN, json=body, headers=hip_headers(gateway, token))
    empty = http.post(fake.GENERATE_TOKEN, headers=hip_headers(gateway, token))

    assert_abdm_error(response, 400, "ABDM-1006")
    assert_abdm_error(empty, 400, "ABDM-1064")
    assert gateway.callbacks == []


def test_link_care_context_links_once_with_the_abhas_link_token(
    gateway: FakeAbdmGateway, http: httpx.Client
) -> None:
    token = open_session(gateway, http)
    link_token = gateway.issue_link_token(ABHA, ABHA_NUMBER)
    headers = hip_headers(gateway, token, **{"X-LINK-TOKEN": link_token})

    response = http.post(fake.LINK_CARE_CONTEXT, json=care_context_body(), headers=headers)
    again = http.post(
        fake.LINK_CARE_CONTEXT,
        json=care_context_body(),
        headers=hip_headers(gateway, token, **{"X-LINK-TOKEN": link_token}),
    )

    assert response.status_code == again.status_code == 202
    success, duplicate = gateway.callbacks
    assert success.path == fake.ON_CARE_CONTEXT_CALLBACK
    assert success.body == {
        "abhaAddress": ABHA,
        "status": "Successfully Linked care context",
        "response": {"requestId": headers["REQUEST-ID"]},
    }
    assert duplicate.body["error"]["code"] == "ABDM-1056"
    assert gateway.linked_care_contexts(ABHA) == [
        {
            "abhaAddress": ABHA,
            "hipId": fake.HIP_ID,
            "patientReference": "M-1",
            "careContextReference": "R-1",
            "display": "Lab visit",
            "hiTypes": ["DiagnosticReport"],
        }
    ]


def test_link_care_context_with_another_abhas_token_fails_in_the_callback(
    gateway: FakeAbdmGateway, http: httpx.Client
) -> None:
    token = open_session(gateway, http)
    other = gateway.issue_link_token("other@sbx")

    response = http.post(
        fake.LINK_CARE_CONTEXT,
        json=care_context_body(),
        headers=hip_headers(gateway, token, **{"X-LINK-TOKEN": other}),
    )
    missing = http.post(
        fake.LINK_CARE_CONTEXT, json=care_context_body(), headers=hip_headers(gateway, token)
    )
    miscounted = care_context_body(ABHA, "R-1", "R-2")
    miscounted["patient"][0]["count"] = 1
    counted = http.post(
        fake.LINK_CARE_CONTEXT,
        json=miscounted,
        headers=hip_headers(gateway, token, **{"X-LINK-TOKEN": other}),
    )

    assert response.status_code == 202
    [callback] = gateway.callbacks
    assert callback.body["error"]["code"] == "ABDM-1038"
    assert "status" not in callback.body
    assert_abdm_error(missing, 400, "ABDM-1026")
    assert_abdm_error(counted, 400, "ABDM-1037")
    assert gateway.linked_care_contexts() == []


def test_a_link_token_from_generate_token_links(
    gateway: FakeAbdmGateway, http: httpx.Client
) -> None:
    token = open_session(gateway, http)
    http.post(fake.GENERATE_TOKEN, json=generate_token_body(), headers=hip_headers(gateway, token))
    link_token = gateway.callbacks[0].body["linkToken"]

    http.post(
        fake.LINK_CARE_CONTEXT,
        json=care_context_body(ABHA, "R-7"),
        headers=hip_headers(gateway, token, **{"X-LINK-TOKEN": link_token}),
    )

    assert gateway.callbacks[1].body["status"] == "Successfully Linked care context"
    assert [c["careContextReference"] for c in gateway.linked_care_contexts()] == ["R-7"]


# --- the HIP's answers ---------------------------------------------------------------------


def test_the_hips_answers_are_accepted_and_recorded(
    gateway: FakeAbdmGateway, http: httpx.Client
) -> None:
    token = open_session(gateway, http)
    response = {"requestId": str(uuid.uuid4())}
    answers = {
        fake.ON_DISCOVER: {"transactionId": "t-1", "patient": [], "response": response},
        fake.ON_INIT: {"transactionId": "t-1", "link": {}, "response": response},
        fake.ON_CONFIRM: {"patient": [], "response": response},
        fake.CONSENT_ON_NOTIFY: {
            "acknowledgement": {"status": "OK", "consentId": "c-1"},
            "response": response,
        },
        fake.HEALTH_INFORMATION_ON_REQUEST: {
            "hiRequest": {"transactionId": "t-2", "sessionStatus": "ACKNOWLEDGED"},
            "response": response,
        },
        fake.HEALTH_INFORMATION_NOTIFY: {
            "notification": {
                "consentId": "c-1",
                "transactionId": "t-2",
                "doneAt": fake.timestamp(),
                "notifier": {"type": "HIP", "id": fake.HIP_ID},
                "statusNotification": {"sessionStatus": "TRANSFERRED", "hipId": fake.HIP_ID},
            }
        },
        fake.LINK_CONTEXT_NOTIFY: {
            "notification": {
                "patient": {"id": ABHA},
                "careContext": {"patientReference": "M-1", "careContextReference": "R-1"},
                "hiTypes": ["DiagnosticReport"],
                "date": fake.timestamp(),
                "hip": {"id": fake.HIP_ID, "name": fake.HIP_NAME, "type": "HIP"},
            }
        },
    }

    for path, body in answers.items():
        sent = http.post(path, json=body, headers=hip_headers(gateway, token))
        assert sent.status_code == 202, (path, sent.text)
    no_response = http.post(
        fake.ON_DISCOVER,
        json={"transactionId": "t-1", "patient": []},
        headers=hip_headers(gateway, token),
    )

    for path, body in answers.items():
        assert gateway.answers(path) == [body]
    assert gateway.answers("/on-request") == [answers[fake.HEALTH_INFORMATION_ON_REQUEST]]
    assert_abdm_error(no_response, 400, "ABDM-1006")
    assert len(gateway.calls(fake.ON_DISCOVER)) == 2
    assert gateway.callbacks == []


def test_refuse_next_answers_one_call_with_the_error(
    gateway: FakeAbdmGateway, http: httpx.Client
) -> None:
    token = open_session(gateway, http)
    gateway.refuse_next("/generate-token", "ABDM-1022", "Too many requests", status=429)

    refused = http.post(
        fake.GENERATE_TOKEN, json=generate_token_body(), headers=hip_headers(gateway, token)
    )
    accepted = http.post(
        fake.GENERATE_TOKEN, json=generate_token_body(), headers=hip_headers(gateway, token)
    )

    assert_abdm_error(refused, 429, "ABDM-1022")
    assert accepted.status_code == 202
    assert len(gateway.callbacks) == 1


def test_a_gateway_that_is_down_answers_503_with_a_page_until_it_is_back(
    gateway: FakeAbdmGateway, http: httpx.Client
) -> None:
    token = open_session(gateway, http)
    gateway.down = True

    session = http.post(fake.SESSIONS, json={}, headers=gateway.gateway_headers())
    call = http.post(
        fake.GENERATE_TOKEN, json=generate_token_body(), headers=hip_headers(gateway, token)
    )

    assert session.status_code == call.status_code == 503
    assert call.headers["content-type"] == "text/html"
    assert call.text.startswith("<html>")
    gateway.down = False
    back = http.post(
        fake.GENERATE_TOKEN, json=generate_token_body(), headers=hip_headers(gateway, token)
    )
    assert back.status_code == 202


def test_bridge_url_is_recorded(gateway: FakeAbdmGateway, http: httpx.Client) -> None:
    token = open_session(gateway, http)

    response = http.patch(
        fake.BRIDGE_URL,
        json={"url": "https://api.nucleotide.example/abdm"},
        headers=gateway.gateway_headers(token),
    )

    assert response.status_code == 202
    assert gateway.bridge_url == "https://api.nucleotide.example/abdm"


# --- what the gateway relays from patients and HIUs ----------------------------------------


def test_patient_side_requests_are_queued_with_the_abdm_bodies(gateway: FakeAbdmGateway) -> None:
    patient = {
        "id": ABHA,
        "name": "Asha Rao",
        "gender": "F",
        "yearOfBirth": 1990,
        "verifiedIdentifiers": [{"type": "MOBILE", "value": "9999900001"}],
        "unverifiedIdentifiers": [],
    }
    linked = [
        {
            "referenceNumber": "M-1",
            "careContexts": [{"referenceNumber": "R-1"}],
            "hiType": "DiagnosticReport",
            "count": 1,
        }
    ]
    key_material = {
        "cryptoAlg": "ECDH",
        "curve": "Curve25519",
        "dhPublicKey": {"expiry": fake.timestamp(), "parameters": "Curve25519", "keyValue": "k"},
        "nonce": "n",
    }
    start = datetime(2031, 1, 1, tzinfo=UTC)

    ids = [
        gateway.discover(patient, transaction_id="t-discover"),
        gateway.link_init(ABHA, linked, transaction_id="t-link"),
        gateway.link_confirm("ref-1", "123456"),
        gateway.consent_notify(
            "c-1",
            "GRANTED",
            [{"patientReference": "M-1", "careContextReference": "R-1"}],
            ["DiagnosticReport"],
            start,
            "2031-12-31T00:00:00.000Z",
            start + timedelta(days=400),
            "HIU-1",
            abha_address=ABHA,
        ),
        gateway.health_information_request(
            "c-1", start, start + timedelta(days=30), "https://hiu.test/push", key_material
        ),
    ]

    callbacks = gateway.callbacks
    assert [c.request_id for c in callbacks] == ids
    assert len(set(ids)) == 5
    assert [c.path for c in callbacks] == [
        fake.DISCOVER_CALLBACK,
        fake.LINK_INIT_CALLBACK,
        fake.LINK_CONFIRM_CALLBACK,
        fake.CONSENT_NOTIFY_CALLBACK,
        fake.HEALTH_INFORMATION_REQUEST_CALLBACK,
    ]
    assert callbacks[0].body == {"transactionId": "t-discover", "patient": patient}
    assert callbacks[1].body == {"transactionId": "t-link", "abhaAddress": ABHA, "patient": linked}
    assert callbacks[2].body == {"confirmation": {"linkRefNumber": "ref-1", "token": "123456"}}
    notification = callbacks[3].body["notification"]
    assert notification["status"] == "GRANTED"
    assert notification["consentId"] == "c-1"
    assert notification["signature"]
    detail = notification["consentDetail"]
    assert detail["careContexts"] == [{"patientReference": "M-1", "careContextReference": "R-1"}]
    assert detail["hiTypes"] == ["DiagnosticReport"]
    assert detail["hiu"] == {"id": "HIU-1"}
    assert detail["patient"] == {"id": ABHA}
    assert detail["permission"]["dateRange"] == {
        "from": "2031-01-01T00:00:00.000Z",
        "to": "2031-12-31T00:00:00.000Z",
    }
    assert detail["permission"]["dataEraseAt"] == "2032-02-05T00:00:00.000Z"
    assert set(detail["permission"]) == {"accessMode", "dateRange", "dataEraseAt", "frequency"}
    request = callbacks[4].body
    assert uuid.UUID(request["transactionId"])
    assert request["hiRequest"] == {
        "consent": {"id": "c-1"},
        "dateRange": {"from": "2031-01-01T00:00:00.000Z", "to": "2031-01-31T00:00:00.000Z"},
        "dataPushUrl": "https://hiu.test/push",
        "keyMaterial": key_material,
    }


def test_timestamps_have_milliseconds_and_z() -> None:
    moment = datetime(2031, 6, 2, 8, 0, 1, 987654, tzinfo=UTC)

    assert fake.timestamp(moment) == "2031-06-02T08:00:01.987Z"
