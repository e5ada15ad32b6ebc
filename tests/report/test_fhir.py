"""The lab report as a FHIR R4 document through HTTP: the NRCeS profiles and codes, references
that resolve inside the bundle, the stored PDF inside it byte for byte, versions, and the
download's access rules, shared rate limit, audit and headers."""

import base64
import json
from typing import Any

import pytest
from fastapi.testclient import TestClient
from fhir.resources.R4B.bundle import Bundle
from sqlalchemy import select
from sqlalchemy.orm import Session

from Audit_module.models import AuditLog
from config import Settings
from Member_module.models import Member
from Orders_module.service import get_order
from Report_module.fhir import FHIR_MEDIA_TYPE, report_document
from Report_module.models import Report
from tests.support.http import assert_error
from tests.support.login import LoggedIn, login
from tests.support.report import Stored, download, in_lab, paid_order, pdf, upload

PHONE = "+919876570101"
OTHER_PHONE = "+919876570102"
PROFILE = "https://nrces.in/ndhm/fhir/r4/StructureDefinition/"

pytestmark = pytest.mark.usefixtures("razorpay")


def fhir(client: TestClient, who: Any, order_id: int, item_id: int, version: int | None = None):
    query = "" if version is None else f"?version={version}"
    return client.get(f"/orders/{order_id}/items/{item_id}/report/fhir{query}", headers=who.headers)


def document(response: Any) -> dict[str, Any]:
    """The answer's bundle, checked as a whole against the FHIR R4 (R4B) Bundle model."""
    assert response.status_code == 200, response.text
    Bundle.model_validate_json(response.content)
    return json.loads(response.content)


def resources(bundle: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """fullUrl -> resource."""
    return {entry["fullUrl"]: entry["resource"] for entry in bundle["entry"]}


def of_type(bundle: dict[str, Any], resource_type: str) -> list[dict[str, Any]]:
    return [r for r in resources(bundle).values() if r["resourceType"] == resource_type]


def references(value: Any) -> list[str]:
    """Every `reference` anywhere inside `value`."""
    if isinstance(value, dict):
        found = [value["reference"]] if isinstance(value.get("reference"), str) else []
        return found + [ref for child in value.values() for ref in references(child)]
    if isinstance(value, list):
        return [ref for child in value for ref in references(child)]
    return []


def audit_entries(db: Session) -> list[AuditLog]:
    db.expire_all()
    return list(
        db.scalars(
            select(AuditLog).where(AuditLog.action == "report.downloaded").order_by(AuditLog.id)
        )
    )


# --- the document -----------------------------------------------------------------------------


def test_the_owner_gets_a_fhir_document_carrying_the_exact_pdf(
    client: TestClient, db: Session, admin: LoggedIn, settings: Settings, stored: Stored
) -> None:
    lab = in_lab(client, db, admin, PHONE)
    [item_id] = lab.item_ids
    content = pdf("Asha's genome")
    report_id = upload(client, admin, lab.order["id"], item_id, content).json()["id"]

    got = fhir(client, lab.buyer, lab.order["id"], item_id)

    assert got.headers["content-type"] == FHIR_MEDIA_TYPE
    assert got.headers["cache-control"] == "no-store"
    assert got.headers["content-disposition"].endswith('-report-v1.fhir.json"')
    bundle = document(got)
    assert bundle["resourceType"] == "Bundle" and bundle["type"] == "document"
    assert bundle["meta"]["profile"] == [PROFILE + "DocumentBundle"]
    assert bundle["meta"]["versionId"] == "1"
    assert bundle["meta"]["security"] == [
        {
            "system": "http://terminology.hl7.org/CodeSystem/v3-Confidentiality",
            "code": "V",
            "display": "very restricted",
        }
    ]
    assert bundle["identifier"] == {
        "system": settings.public_api_url,
        "value": f"report-{report_id}",
    }
    assert bundle["timestamp"]
    # Every entry is a urn:uuid whose id is the resource's; every reference resolves inside.
    entries = resources(bundle)
    assert all(url == f"urn:uuid:{r['id']}" for url, r in entries.items())
    assert set(references(bundle)) <= set(entries)

    composition, report = bundle["entry"][0]["resource"], of_type(bundle, "DiagnosticReport")[0]
    snomed = {"system": "http://snomed.info/sct", "code": "721981007"}
    assert composition["resourceType"] == "Composition"
    assert composition["meta"]["profile"] == [PROFILE + "DiagnosticReportRecord"]
    assert composition["status"] == "final"
    assert composition["type"]["coding"][0].items() >= snomed.items()
    [section] = composition["section"]
    assert section["code"]["coding"][0].items() >= snomed.items()
    [section_entry] = section["entry"]
    assert entries[section_entry["reference"]] is report
    [patient], [lab_org] = of_type(bundle, "Patient"), of_type(bundle, "Organization")
    assert entries[composition["subject"]["reference"]] is patient
    # No practitioner signs unless REPORT_SIGNED_BY names one: the lab is the author.
    assert of_type(bundle, "Practitioner") == []
    assert [entries[a["reference"]] for a in composition["author"]] == [lab_org]
    assert entries[composition["custodian"]["reference"]] is lab_org
    assert [(a["mode"], entries[a["party"]["reference"]]) for a in composition["attester"]] == [
        ("official", lab_org)
    ]

    assert report["meta"]["profile"] == [PROFILE + "DiagnosticReportLab"]
    assert report["status"] == "final"
    assert {c["coding"][0]["code"] for c in report["category"]} == {"LAB", "GE"}
    assert report["code"]["text"] == "My genes"
    assert report["code"]["coding"] == [
        {"system": "http://loinc.org", "code": "51969-4", "display": "Genetic analysis report"}
    ]
    assert entries[report["subject"]["reference"]] is patient
    assert [entries[p["reference"]] for p in report["performer"]] == [lab_org]
    assert "resultsInterpreter" not in report
    [form] = report["presentedForm"]
    assert form["contentType"] == "application/pdf"
    assert form["title"].endswith("-report-v1.pdf")
    served = download(client, lab.buyer, lab.order["id"], item_id).content
    assert base64.b64decode(form["data"]) == served == content
    assert form["size"] == len(content)

    member = db.get(Member, lab.buyer.members[0].id)
    assert patient["meta"]["profile"] == [PROFILE + "Patient"]
    assert patient["name"] == [{"text": member.name}]
    assert patient["gender"] == member.gender
    assert patient["birthDate"] == member.date_of_birth.isoformat()
    # The lab's own record of the member; no ABHA given, none named.
    assert [(i["type"]["coding"][0]["code"], i["value"]) for i in patient["identifier"]] == [
        ("MR", str(member.id))
    ]
    assert lab_org["meta"]["profile"] == [PROFILE + "Organization"]
    assert lab_org["name"] == settings.ABDM_HIP_NAME
    [facility] = lab_org["identifier"]
    assert (facility["system"], facility["value"]) == (
        "https://facility.ndhm.gov.in",
        settings.ABDM_HIP_ID,
    )


def test_the_signing_practitioner_authors_and_interprets_when_set(
    client: TestClient,
    db: Session,
    admin: LoggedIn,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    lab = in_lab(client, db, admin, PHONE)
    [item_id] = lab.item_ids
    assert upload(client, admin, lab.order["id"], item_id).status_code == 201
    monkeypatch.setattr(settings, "REPORT_SIGNED_BY", "Dr Asha Rao|KMC-12345")

    bundle = document(fhir(client, lab.buyer, lab.order["id"], item_id))

    entries = resources(bundle)
    assert set(references(bundle)) <= set(entries)
    [doctor] = of_type(bundle, "Practitioner")
    assert doctor["meta"]["profile"] == [PROFILE + "Practitioner"]
    assert doctor["name"] == [{"text": "Dr Asha Rao"}]
    [registration] = doctor["identifier"]
    assert (registration["system"], registration["value"]) == (
        "https://doctor.ndhm.gov.in",
        "KMC-12345",
    )
    composition, [report] = bundle["entry"][0]["resource"], of_type(bundle, "DiagnosticReport")
    assert [entries[a["reference"]] for a in composition["author"]] == [doctor]
    assert [entries[r["reference"]] for r in report["resultsInterpreter"]] == [doctor]
    # The lab still keeps and attests the document, and performed the test.
    [lab_org] = of_type(bundle, "Organization")
    assert entries[composition["custodian"]["reference"]] is lab_org
    assert [entries[p["reference"]] for p in report["performer"]] == [lab_org]

    # The registration is optional.
    monkeypatch.setattr(settings, "REPORT_SIGNED_BY", "Dr Asha Rao")
    [doctor] = of_type(document(fhir(client, lab.buyer, lab.order["id"], item_id)), "Practitioner")
    assert doctor["name"] == [{"text": "Dr Asha Rao"}] and "identifier" not in doctor


def test_the_patient_carries_the_members_abha_number_and_address(
    client: TestClient, db: Session, admin: LoggedIn
) -> None:
    lab = in_lab(client, db, admin, PHONE)
    [item_id] = lab.item_ids
    assert upload(client, admin, lab.order["id"], item_id).status_code == 201
    member = db.get(Member, lab.buyer.members[0].id)
    member.abha_number, member.abha_address = "91-1234-5678-9012", "asha.rao@sbx"
    db.flush()

    [patient] = of_type(document(fhir(client, lab.buyer, lab.order["id"], item_id)), "Patient")

    abha = [
        (i["type"]["text"], i["system"], i["value"])
        for i in patient["identifier"]
        if i["system"] == "https://healthid.ndhm.gov.in"
    ]
    assert abha == [
        ("ABHA number", "https://healthid.ndhm.gov.in", "91-1234-5678-9012"),
        ("ABHA address", "https://healthid.ndhm.gov.in", "asha.rao@sbx"),
    ]

    member.abha_number = None
    db.flush()
    [patient] = of_type(document(fhir(client, lab.buyer, lab.order["id"], item_id)), "Patient")
    assert [i["value"] for i in patient["identifier"]][1:] == ["asha.rao@sbx"]


def test_version_picks_a_version_and_the_same_version_is_the_same_document(
    client: TestClient, db: Session, admin: LoggedIn
) -> None:
    lab = in_lab(client, db, admin, PHONE)
    [item_id] = lab.item_ids
    first, amended = pdf("first reading"), pdf("amended reading")
    assert upload(client, admin, lab.order["id"], item_id, first).status_code == 201
    assert upload(client, admin, lab.order["id"], item_id, amended).status_code == 201

    def pdf_in(bundle: dict[str, Any]) -> bytes:
        [report] = of_type(bundle, "DiagnosticReport")
        return base64.b64decode(report["presentedForm"][0]["data"])

    latest = fhir(client, lab.buyer, lab.order["id"], item_id)
    older = fhir(client, lab.buyer, lab.order["id"], item_id, version=1)
    assert (document(latest)["meta"]["versionId"], pdf_in(document(latest))) == ("2", amended)
    assert (document(older)["meta"]["versionId"], pdf_in(document(older))) == ("1", first)
    assert document(older)["identifier"] != document(latest)["identifier"]
    # Nothing random: the same version gives the same document, byte for byte.
    assert fhir(client, admin, lab.order["id"], item_id, version=1).content == older.content
    assert fhir(client, lab.buyer, lab.order["id"], item_id, version=2).content == latest.content
    assert_error(
        fhir(client, lab.buyer, lab.order["id"], item_id, version=3), 404, "report_not_found"
    )


def test_report_document_is_the_routes_document_without_counting_or_auditing(
    client: TestClient,
    db: Session,
    admin: LoggedIn,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(settings, "REPORT_DOWNLOADS_PER_HOUR", 1)
    lab = in_lab(client, db, admin, PHONE)
    [item_id] = lab.item_ids
    assert upload(client, admin, lab.order["id"], item_id).status_code == 201
    order = get_order(db, lab.order["id"])

    built = report_document(db, order, item_id)
    assert report_document(db, order, item_id, version=1) == built
    Bundle.model_validate_json(built)
    assert audit_entries(db) == []
    # The one download of the hour is still there, and answers the same bytes.
    assert fhir(client, lab.buyer, lab.order["id"], item_id).content == built


# --- access, limits, audit ----------------------------------------------------------------------


def test_someone_elses_report_is_404_anonymous_401_and_an_admin_reads_any(
    client: TestClient, db: Session, admin: LoggedIn
) -> None:
    lab = in_lab(client, db, admin, PHONE)
    [item_id] = lab.item_ids
    assert upload(client, admin, lab.order["id"], item_id).status_code == 201
    intruder = login(client, OTHER_PHONE)
    path = f"/orders/{lab.order['id']}/items/{item_id}/report/fhir"

    assert_error(client.get(path, headers=intruder.headers), 404, "order_not_found")
    assert_error(client.get(path), 401, "not_authenticated")
    assert audit_entries(db) == []
    assert document(fhir(client, admin, lab.order["id"], item_id))["type"] == "document"


def test_an_item_of_another_order_is_404(client: TestClient, db: Session, admin: LoggedIn) -> None:
    lab = in_lab(client, db, admin, PHONE)
    _, other = paid_order(client, db, OTHER_PHONE)
    refused = fhir(client, lab.buyer, lab.order["id"], other["items"][0]["id"])
    assert_error(refused, 404, "order_item_not_found")


def test_before_the_report_it_is_not_ready_like_the_pdf(
    client: TestClient, db: Session, admin: LoggedIn
) -> None:
    buyer, order = paid_order(client, db, PHONE)
    [item_id] = [item["id"] for item in order["items"]]
    assert_error(download(client, buyer, order["id"], item_id), 409, "report_not_ready")
    assert_error(fhir(client, buyer, order["id"], item_id), 409, "report_not_ready")


def test_an_erased_report_is_gone_like_the_pdf(
    client: TestClient, db: Session, admin: LoggedIn
) -> None:
    lab = in_lab(client, db, admin, PHONE)
    [item_id] = lab.item_ids
    assert upload(client, admin, lab.order["id"], item_id).status_code == 201
    report = db.scalars(select(Report)).one()
    report.erased_at = report.uploaded_at
    db.flush()
    assert_error(fhir(client, admin, lab.order["id"], item_id), 410, "report_erased")
    assert_error(download(client, admin, lab.order["id"], item_id), 410, "report_erased")


def test_every_download_is_audited_with_its_format(
    client: TestClient, db: Session, admin: LoggedIn
) -> None:
    lab = in_lab(client, db, admin, PHONE)
    [item_id] = lab.item_ids
    report_id = upload(client, admin, lab.order["id"], item_id).json()["id"]
    assert fhir(client, lab.buyer, lab.order["id"], item_id).status_code == 200
    assert download(client, lab.buyer, lab.order["id"], item_id).status_code == 200
    assert fhir(client, admin, lab.order["id"], item_id, version=1).status_code == 200

    entries = audit_entries(db)
    assert [(e.actor_user_id, e.entity_id, e.changes["format"]) for e in entries] == [
        (lab.buyer.me.user_id, str(report_id), "fhir"),
        (lab.buyer.me.user_id, str(report_id), "pdf"),
        (admin.user_id, str(report_id), "fhir"),
    ]
    assert entries[0].changes == {
        "order_id": lab.order["id"],
        "order_item_id": item_id,
        "version": 1,
        "format": "fhir",
    }
    assert all(e.ip == "testclient" for e in entries)


def test_the_rate_limit_is_shared_with_the_pdf(
    client: TestClient,
    db: Session,
    admin: LoggedIn,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(settings, "REPORT_DOWNLOADS_PER_HOUR", 2)
    lab = in_lab(client, db, admin, PHONE)
    [item_id] = lab.item_ids
    assert upload(client, admin, lab.order["id"], item_id).status_code == 201
    assert download(client, lab.buyer, lab.order["id"], item_id).status_code == 200
    assert fhir(client, lab.buyer, lab.order["id"], item_id).status_code == 200

    for limited in (
        fhir(client, lab.buyer, lab.order["id"], item_id),
        download(client, lab.buyer, lab.order["id"], item_id),
    ):
        assert_error(limited, 429, "rate_limited")
        assert int(limited.headers["retry-after"]) > 0
    assert len(audit_entries(db)) == 2
    # Staff have their own allowance.
    assert fhir(client, admin, lab.order["id"], item_id).status_code == 200


def test_the_document_is_documented_as_fhir_json(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    operation = schema["paths"]["/orders/{order_id}/items/{item_id}/report/fhir"]["get"]
    assert list(operation["responses"]["200"]["content"]) == [FHIR_MEDIA_TYPE]
    assert {"409", "404", "410", "429"} <= set(operation["responses"])
