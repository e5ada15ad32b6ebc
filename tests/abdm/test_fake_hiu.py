"""tests/fakes/abdm_hiu.py: the local HIU takes a push over HTTP, decrypts it with its own
Fidelius, checks the checksums and the FHIR documents, and reports what is wrong."""

import base64
import hashlib
import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from Abdm_module import fidelius
from tests.fakes.abdm_hiu import (  # noqa: F401 (fixtures)
    FakeAbdmHiu,
    abdm_hiu,
    abdm_hiu_server,
    check_document,
    unresolved_references,
)
from tests.fakes.fidelius_hiu import HiuKeys
from tests.fakes.server import FakeResponse

EXPIRY = datetime.now(UTC) + timedelta(days=1)


def document_bundle(**changes: Any) -> dict[str, Any]:
    """A small FHIR R4 document: Composition, Patient, Practitioner, Organization and a
    DiagnosticReport with its PDF, every reference a `urn:uuid:` of an entry."""
    ids = {name: f"urn:uuid:{uuid.uuid4()}" for name in ("comp", "pat", "doc", "org", "rep")}
    diagnostic = {"coding": [{"system": "http://snomed.info/sct", "code": "721981007"}]}
    resources: list[tuple[str, dict[str, Any]]] = [
        (
            ids["comp"],
            {
                "resourceType": "Composition",
                "status": "final",
                "type": {**diagnostic, "text": "Diagnostic studies report"},
                "subject": {"reference": ids["pat"]},
                "date": "2025-01-02T10:00:00+05:30",
                "author": [{"reference": ids["doc"]}],
                "custodian": {"reference": ids["org"]},
                "attester": [{"mode": "official", "party": {"reference": ids["org"]}}],
                "title": "Diagnostic report",
                "section": [
                    {"title": "Reports", "code": diagnostic, "entry": [{"reference": ids["rep"]}]}
                ],
            },
        ),
        (
            ids["pat"],
            {"resourceType": "Patient", "name": [{"text": "A Patient"}], "gender": "female"},
        ),
        (ids["doc"], {"resourceType": "Practitioner", "name": [{"text": "Dr A Pathologist"}]}),
        (
            ids["org"],
            {
                "resourceType": "Organization",
                "name": "The lab",
                "identifier": [{"system": "https://facility.ndhm.gov.in", "value": "IN0000"}],
            },
        ),
        (
            ids["rep"],
            {
                "resourceType": "DiagnosticReport",
                "status": "final",
                "code": {"text": "Complete blood count"},
                "subject": {"reference": ids["pat"]},
                "issued": "2025-01-02T10:00:00+05:30",
                "performer": [{"reference": ids["org"]}],
                "resultsInterpreter": [{"reference": ids["doc"]}],
                "presentedForm": [
                    {
                        "contentType": "application/pdf",
                        "data": base64.b64encode(b"%PDF-1.7 report").decode(),
                        "title": "CBC",
                    }
                ],
            },
        ),
    ]
    bundle = {
        "resourceType": "Bundle",
        "id": str(uuid.uuid4()),
        "meta": {"versionId": "1", "lastUpdated": "2025-01-02T10:00:00+05:30"},
        "identifier": {"system": "https://example.org/reports", "value": str(uuid.uuid4())},
        "type": "document",
        "timestamp": "2025-01-02T10:00:00+05:30",
        "entry": [{"fullUrl": full_url, "resource": resource} for full_url, resource in resources],
    }
    bundle.update(changes)
    return bundle


def push_body(
    key_material: dict[str, Any],
    transaction_id: str,
    documents: list[bytes],
    *,
    checksums: list[str] | None = None,
) -> dict[str, Any]:
    """What the HIP posts: each document encrypted with a fresh HIP key pair and nonce."""
    hip, hip_nonce = fidelius.generate_key_pair(), fidelius.generate_nonce()
    entries = []
    for index, document in enumerate(documents):
        content = fidelius.encrypt(
            document,
            sender_private_key=hip.private_key,
            sender_nonce=hip_nonce,
            requester_public_key=key_material["dhPublicKey"]["keyValue"],
            requester_nonce=key_material["nonce"],
        )
        checksum = checksums[index] if checksums else hashlib.md5(document).hexdigest()
        entries.append(
            {
                "content": content,
                "media": "application/fhir+json",
                "checksum": checksum,
                "careContextReference": f"CC-{index + 1}",
            }
        )
    return {
        "pageNumber": 1,
        "pageCount": 1,
        "transactionId": transaction_id,
        "entries": entries,
        "keyMaterial": {
            "cryptoAlg": "ECDH",
            "curve": "Curve25519",
            "dhPublicKey": {
                "expiry": (datetime.now(UTC) + timedelta(hours=1)).strftime(
                    "%Y-%m-%dT%H:%M:%S.000Z"
                ),
                "parameters": "Curve25519/32byte random key",
                "keyValue": hip.public_key,
            },
            "nonce": hip_nonce,
        },
    }


def encoded(document: dict[str, Any]) -> bytes:
    return json.dumps(document).encode()


def test_key_material_is_what_a_health_information_request_carries(abdm_hiu: FakeAbdmHiu) -> None:  # noqa: F811
    material = abdm_hiu.expect("t-1", expiry=datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC))
    assert material["cryptoAlg"] == "ECDH" and material["curve"] == "Curve25519"
    assert material["dhPublicKey"]["expiry"] == "2030-01-02T03:04:05.000Z"
    assert material["dhPublicKey"]["parameters"] == "Curve25519/32byte random key"
    assert len(base64.b64decode(material["dhPublicKey"]["keyValue"])) == 309
    assert len(base64.b64decode(material["nonce"])) == 32
    assert abdm_hiu.push_url == abdm_hiu.url + "/data/push"
    # The HIP's implementation reads the HIU's key: a valid point of curve25519.
    hip = fidelius.generate_key_pair()
    assert len(fidelius.shared_secret(hip.private_key, material["dhPublicKey"]["keyValue"])) == 32


def test_a_push_is_decrypted_checked_and_recorded(abdm_hiu: FakeAbdmHiu) -> None:  # noqa: F811
    material = abdm_hiu.expect("t-ok", expiry=EXPIRY)
    documents = [document_bundle(), document_bundle()]
    response = httpx.post(
        abdm_hiu.push_url, json=push_body(material, "t-ok", [encoded(d) for d in documents])
    )
    assert response.status_code == 202, response.text
    (push,) = abdm_hiu.pushes
    assert push.transaction_id == "t-ok"
    assert push.problems == []
    assert push.documents == documents
    assert push.care_context_references == ["CC-1", "CC-2"]
    assert (push.page_number, push.page_count) == (1, 1)
    assert abdm_hiu.pushes_for("t-ok") == [push] and abdm_hiu.pushes_for("t-other") == []


def test_a_wrong_checksum_is_a_problem(abdm_hiu: FakeAbdmHiu) -> None:  # noqa: F811
    material = abdm_hiu.expect("t-sum", expiry=EXPIRY)
    document = encoded(document_bundle())
    for checksum in ("", "string", hashlib.md5(document).hexdigest().upper(), "0" * 32):
        body = push_body(material, "t-sum", [document], checksums=[checksum])
        response = httpx.post(abdm_hiu.push_url, json=body)
        assert response.status_code == 400
        problems = response.json()["problems"]
        assert len(problems) == 1 and "checksum" in problems[0], problems
        assert abdm_hiu.pushes[-1].problems == problems
        # The document itself was read and is fine.
        assert abdm_hiu.pushes[-1].documents == [json.loads(document)]


def test_an_invalid_bundle_is_a_problem(abdm_hiu: FakeAbdmHiu) -> None:  # noqa: F811
    material = abdm_hiu.expect("t-fhir", expiry=EXPIRY)
    good = document_bundle()
    bad_instant = document_bundle(timestamp="yesterday")
    unknown_field = document_bundle(colour="blue")
    no_status = document_bundle()
    del no_status["entry"][0]["resource"]["status"]  # Composition.status is 1..1
    dangling = document_bundle()
    dangling["entry"][0]["resource"]["subject"] = {"reference": "urn:uuid:nobody"}
    documents = [good, bad_instant, unknown_field, no_status, dangling]
    body = push_body(material, "t-fhir", [*map(encoded, documents), b"{not json"])
    response = httpx.post(abdm_hiu.push_url, json=body)
    assert response.status_code == 400
    problems = response.json()["problems"]
    assert problems == [
        "entry 1: invalid Bundle at timestamp: Value error, Instant value string does not match"
        " spec regex.",
        "entry 2: invalid Bundle at colour: Extra inputs are not permitted",
        "entry 3: invalid Bundle at entry.0.resource.status: Value for the field 'status' is"
        " required.",
        "entry 4: unresolved reference 'urn:uuid:nobody'",
        "entry 5: not JSON: Expecting property name enclosed in double quotes: line 1 column 2"
        " (char 1)",
    ]
    push = abdm_hiu.pushes[-1]
    assert push.problems == problems
    assert push.care_context_references == [f"CC-{n}" for n in range(1, 7)]
    assert push.documents == documents


def test_a_document_for_another_key_cannot_be_decrypted(abdm_hiu: FakeAbdmHiu) -> None:  # noqa: F811
    material = abdm_hiu.expect("t-key", expiry=EXPIRY)
    other = HiuKeys.generate(EXPIRY).key_material()  # another request's keys
    body = push_body(other, "t-key", [encoded(document_bundle())])
    response = httpx.post(abdm_hiu.push_url, json=body)
    assert response.status_code == 400
    assert response.json()["problems"] == ["entry 0: cannot be decrypted: the tag does not verify"]
    assert abdm_hiu.pushes[-1].documents == []
    assert material != other


def test_bad_key_material_and_shapes_are_problems(abdm_hiu: FakeAbdmHiu) -> None:  # noqa: F811
    material = abdm_hiu.expect("t-shape", expiry=EXPIRY)
    body = push_body(material, "t-shape", [encoded(document_bundle())])
    body["pageNumber"] = 0
    body["keyMaterial"]["curve"] = "P-256"
    body["keyMaterial"]["dhPublicKey"]["expiry"] = "tomorrow"
    body["entries"][0]["media"] = "application/json"
    response = httpx.post(abdm_hiu.push_url, json=body)
    assert response.status_code == 400
    assert response.json()["problems"] == [
        "pageNumber and pageCount must be positive integers",
        "keyMaterial must be ECDH on Curve25519",
        "dhPublicKey.expiry 'tomorrow' is not an ISO 8601 time",
        "entry 0: media 'application/json' is not application/fhir+json",
    ]
    raw_key = push_body(material, "t-shape", [encoded(document_bundle())])
    x509 = base64.b64decode(raw_key["keyMaterial"]["dhPublicKey"]["keyValue"])
    raw_key["keyMaterial"]["dhPublicKey"]["keyValue"] = base64.b64encode(x509[-65:]).decode()
    response = httpx.post(abdm_hiu.push_url, json=raw_key)
    assert response.status_code == 400
    assert response.json()["problems"] == [
        "dhPublicKey.keyValue is not an X.509 key with explicit parameters"
    ]
    raw_key["keyMaterial"]["dhPublicKey"]["keyValue"] = "A"
    response = httpx.post(abdm_hiu.push_url, json=raw_key)
    assert response.status_code == 400
    assert response.json()["problems"] == [
        "dhPublicKey.keyValue is not an X.509 key with explicit parameters",
        "entry 0: cannot be decrypted: the sender's public key is not base64",
    ]


def test_an_unknown_transaction_is_404_and_a_bad_body_400(abdm_hiu: FakeAbdmHiu) -> None:  # noqa: F811
    material = abdm_hiu.expect("t-known", expiry=EXPIRY)
    response = httpx.post(
        abdm_hiu.push_url, json=push_body(material, "t-unknown", [encoded(document_bundle())])
    )
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "unknown_transaction"
    assert httpx.post(abdm_hiu.push_url, content=b"not json").status_code == 400
    assert httpx.post(abdm_hiu.push_url, json={"entries": []}).status_code == 400
    assert httpx.post(abdm_hiu.url + "/elsewhere", json={}).status_code == 404
    assert abdm_hiu.pushes == []
    assert len(abdm_hiu.requests) == 4


def test_the_fake_can_be_told_to_fail(abdm_hiu: FakeAbdmHiu) -> None:  # noqa: F811
    material = abdm_hiu.expect("t-fail", expiry=EXPIRY)
    abdm_hiu.fail_next.append(FakeResponse(500, {"error": {"code": "ABDM-9999"}}))
    body = push_body(material, "t-fail", [encoded(document_bundle())])
    assert httpx.post(abdm_hiu.push_url, json=body).status_code == 500
    assert abdm_hiu.pushes == []
    assert httpx.post(abdm_hiu.push_url, json=body).status_code == 202
    assert len(abdm_hiu.pushes) == 1


def test_references_resolve_by_full_url_relative_id_or_contained() -> None:
    bundle = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [
            {
                "fullUrl": "https://lab.example/fhir/Patient/p1",
                "resource": {"resourceType": "Patient", "id": "p1"},
            },
            {
                "resource": {
                    "resourceType": "Observation",
                    "id": "o1",
                    "status": "final",
                    "code": {"text": "Hb"},
                    "contained": [{"resourceType": "Practitioner", "id": "pr"}],
                    "subject": {"reference": "Patient/p1"},
                    "performer": [
                        {"reference": "#pr"},
                        {"reference": "https://lab.example/fhir/Patient/p1"},
                        {"reference": "Organization/missing"},
                        {"reference": "#nothing"},
                    ],
                    "specimen": {"reference": "Patient/p1/_history/2"},
                }
            },
        ],
    }
    assert unresolved_references(bundle) == ["Organization/missing", "#nothing"]
    _document, problems = check_document(encoded(bundle))
    assert problems == [
        "unresolved reference 'Organization/missing'",
        "unresolved reference '#nothing'",
    ]


@pytest.mark.parametrize("payload", [b"[]", b'{"resourceType": "Patient"}'])
def test_a_document_that_is_not_a_bundle_is_a_problem(payload: bytes) -> None:
    assert check_document(payload) == (None, ["not a FHIR Bundle"])
