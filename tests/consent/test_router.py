"""`/consent` through HTTP, as the apps and the admin console use it."""

from datetime import date
from typing import Any

import pytest
from sqlalchemy import func, select

from Audit_module.models import AuditLog
from Consent_module.models import ConsentGrant, ConsentType, ProductConsent
from tests.support.database import counting_statements
from tests.support.factories.category import make_category
from tests.support.factories.consent import grant, link_consent, make_consent_type
from tests.support.factories.member import make_member as make_person
from tests.support.factories.product import make_product
from tests.support.http import assert_error
from tests.support.login import login

ME = "+919876500001"
OTHER = "+919876500002"
USER_AGENT = "NucleotideApp/3.1 (Android 14; Pixel 8)"


def make_member(db, user_id, **overrides):
    """A daughter of ten unless told otherwise: the account holder consents as her guardian
    (adults confirm their own: tests/consent/test_requests.py)."""
    values = {"name": "Anu Rao", "relation": "child", "date_of_birth": date(2016, 1, 9)}
    return make_person(db, user_id, **(values | overrides))


@pytest.fixture
def me(client):
    return login(client, ME)


@pytest.fixture
def other(client):
    return login(client, OTHER)


@pytest.fixture
def product(db):
    return make_product(db, make_category(db))


def audit_rows(db, action: str, entity_id: int | None = None) -> list[AuditLog]:
    db.expire_all()
    statement = select(AuditLog).where(AuditLog.action == action)
    if entity_id is not None:
        statement = statement.where(AuditLog.entity_id == str(entity_id))
    return list(db.scalars(statement.order_by(AuditLog.id)))


def grant_body(member_id: int, code: str, version: int = 1, **extra: Any) -> dict[str, Any]:
    return {"member_id": member_id, "code": code, "version": version, **extra}


def give(client, who, member_id: int, code: str, version: int = 1):
    return client.post(
        "/consent",
        json=grant_body(member_id, code, version),
        headers={**who.headers, "User-Agent": USER_AGENT},
    )


def grant_count(db, **filters: Any) -> int:
    db.expire_all()
    statement = select(func.count()).select_from(ConsentGrant)
    for field, value in filters.items():
        statement = statement.where(getattr(ConsentGrant, field) == value)
    return db.scalar(statement)


# --- consent types (public) ------------------------------------------------------------------


def test_types_list_only_active_types_each_at_its_current_version(client, db):
    make_consent_type(db, code="data_processing", title="Data processing", body="We process.")
    make_consent_type(db, code="genetic_testing", title="Genetic test", body="v3 text", version=3)
    make_consent_type(db, code="retired_consent", active=False)

    response = client.get("/consent/types")

    assert response.status_code == 200, response.text
    assert response.json() == [
        {
            "code": "data_processing",
            "title": "Data processing",
            "body": "We process.",
            "version": 1,
            "active": True,
        },
        {
            "code": "genetic_testing",
            "title": "Genetic test",
            "body": "v3 text",
            "version": 3,
            "active": True,
        },
    ]


def test_type_detail_shows_the_current_text_and_every_published_version(client, db):
    make_consent_type(db, code="genetic_testing", title="Genetic test", body="now", version=3)

    response = client.get("/consent/types/genetic_testing")

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["code"] == "genetic_testing"
    assert body["version"] == 3
    assert body["body"] == "now"
    assert body["active"] is True
    assert [v["version"] for v in body["versions"]] == [1, 2, 3]
    assert body["versions"][0]["body"] == "now (version 1)"
    assert body["versions"][-1]["body"] == "now"
    assert all(v["published_at"] and v["title"] == "Genetic test" for v in body["versions"])


def test_type_detail_of_an_unknown_code_is_404(client):
    assert_error(client.get("/consent/types/no_such_consent"), 404, "consent_type_not_found")


def test_type_detail_with_a_malformed_code_is_422(client):
    assert_error(client.get("/consent/types/Not-A-Code"), 422, "validation_error")


# --- product requirements (public) -----------------------------------------------------------


def test_product_consents_lists_the_active_types_it_requires(client, db, product):
    genetic = make_consent_type(db, code="genetic_testing", title="Genetic", version=2)
    data = make_consent_type(db, code="data_processing", title="Data")
    retired = make_consent_type(db, code="retired_consent", active=False)
    unrelated = make_consent_type(db, code="unrelated")
    for consent_type in (genetic, data, retired):
        link_consent(db, product, consent_type)
    link_consent(db, make_product(db, product.category), unrelated)

    response = client.get(f"/consent/products/{product.id}")

    assert response.status_code == 200, response.text
    assert response.json() == [
        {"code": "data_processing", "title": "Data", "version": 1},
        {"code": "genetic_testing", "title": "Genetic", "version": 2},
    ]


def test_product_without_links_requires_nothing(client, product):
    response = client.get(f"/consent/products/{product.id}")
    assert response.status_code == 200, response.text
    assert response.json() == []


def test_product_consents_of_an_unknown_product_is_404(client):
    assert_error(client.get("/consent/products/999999"), 404, "product_not_found")


def test_product_consents_of_an_inactive_product_is_404(client, db):
    hidden = make_product(db, make_category(db), is_active=False)
    link_consent(db, hidden, make_consent_type(db))
    assert_error(client.get(f"/consent/products/{hidden.id}"), 404, "product_not_found")


@pytest.mark.parametrize("product_id", ["0", "-1", "abc", str(2**31)])
def test_product_consents_with_a_bad_id_is_422(client, product_id):
    assert_error(client.get(f"/consent/products/{product_id}"), 422, "validation_error")


# --- granting ----------------------------------------------------------------------------------


def test_grant_routes_need_a_login(client):
    assert_error(client.post("/consent", json=grant_body(1, "abc")), 401, "not_authenticated")
    assert_error(client.get("/consent"), 401, "not_authenticated")
    assert_error(client.post("/consent/1/withdraw"), 401, "not_authenticated")


def test_grant_records_member_version_ip_and_user_agent_and_audits_it(client, db, me):
    member = make_member(db, me.user_id)
    consent_type = make_consent_type(db, code="genetic_testing", version=2)

    response = give(client, me, member.id, "genetic_testing", 2)

    assert response.status_code == 201, response.text
    body = response.json()
    assert body["member_id"] == member.id
    assert body["code"] == "genetic_testing"
    assert body["version"] == 2
    assert body["status"] == "active"
    assert body["withdrawn_at"] is None
    assert body["granted_at"].endswith(("+00:00", "Z"))
    assert body["user_agent"] == USER_AGENT
    assert body["ip_address"]
    db.expire_all()
    row = db.get(ConsentGrant, body["id"])
    assert row.user_id == me.user_id
    assert row.member_id == member.id
    assert row.consent_type_id == consent_type.id
    assert (row.code, row.version) == ("genetic_testing", 2)
    assert row.user_agent == USER_AGENT
    assert row.ip_address == body["ip_address"]
    [entry] = audit_rows(db, "consent.granted", body["id"])
    assert entry.actor_user_id == me.user_id
    assert entry.entity_type == "consent_grant"
    assert entry.changes == {"member_id": member.id, "code": "genetic_testing", "version": 2}


def test_granting_the_same_consent_twice_returns_the_same_grant(client, db, me):
    member = make_member(db, me.user_id)
    make_consent_type(db, code="genetic_testing")

    first = give(client, me, member.id, "genetic_testing")
    second = give(client, me, member.id, "genetic_testing")

    assert first.status_code == 201, first.text
    assert second.status_code == 201, second.text
    assert second.json()["id"] == first.json()["id"]
    assert grant_count(db, member_id=member.id) == 1
    assert len(audit_rows(db, "consent.granted")) == 1


def test_each_member_needs_their_own_grant(client, db, me):
    husband = make_member(db, me.user_id, name="Ravi", relation="self", gender="male")
    wife = make_member(db, me.user_id)
    make_consent_type(db, code="genetic_testing")

    first = give(client, me, husband.id, "genetic_testing")
    second = give(client, me, wife.id, "genetic_testing")

    assert first.json()["id"] != second.json()["id"]
    assert grant_count(db) == 2


def test_granting_again_after_withdrawing_creates_a_new_grant(client, db, me):
    member = make_member(db, me.user_id)
    make_consent_type(db, code="genetic_testing")
    first = give(client, me, member.id, "genetic_testing").json()
    assert client.post(f"/consent/{first['id']}/withdraw", headers=me.headers).status_code == 200

    again = give(client, me, member.id, "genetic_testing")

    assert again.status_code == 201, again.text
    assert again.json()["id"] != first["id"]
    assert again.json()["status"] == "active"
    assert grant_count(db, member_id=member.id) == 2


def test_granting_for_another_users_member_is_404(client, db, me, other):
    theirs = make_member(db, other.user_id)
    make_consent_type(db, code="genetic_testing")

    assert_error(give(client, me, theirs.id, "genetic_testing"), 404, "member_not_found")
    assert grant_count(db) == 0


def test_granting_for_a_deleted_member_is_404(client, db, me):
    gone = make_member(db, me.user_id, is_deleted=True)
    make_consent_type(db, code="genetic_testing")

    assert_error(give(client, me, gone.id, "genetic_testing"), 404, "member_not_found")
    assert grant_count(db) == 0


def test_granting_for_an_unknown_member_is_404(client, db, me):
    make_consent_type(db, code="genetic_testing")
    assert_error(give(client, me, 999_999, "genetic_testing"), 404, "member_not_found")


def test_granting_an_unknown_consent_is_404(client, db, me):
    member = make_member(db, me.user_id)
    assert_error(give(client, me, member.id, "no_such_consent"), 404, "consent_type_not_found")


def test_granting_an_older_version_is_409_and_names_the_current_one(client, db, me):
    member = make_member(db, me.user_id)
    make_consent_type(db, code="genetic_testing", version=3)

    body = assert_error(
        give(client, me, member.id, "genetic_testing", 2), 409, "consent_version_outdated"
    )

    assert body["details"] == [{"code": "genetic_testing", "current_version": 3}]
    assert grant_count(db) == 0


def test_granting_a_version_not_yet_published_is_409(client, db, me):
    member = make_member(db, me.user_id)
    make_consent_type(db, code="genetic_testing")

    body = assert_error(
        give(client, me, member.id, "genetic_testing", 2), 409, "consent_version_outdated"
    )

    assert body["details"] == [{"code": "genetic_testing", "current_version": 1}]


def test_granting_an_inactive_consent_is_409(client, db, me):
    member = make_member(db, me.user_id)
    make_consent_type(db, code="retired_consent", active=False)

    assert_error(give(client, me, member.id, "retired_consent"), 409, "consent_type_inactive")
    assert grant_count(db) == 0


@pytest.mark.parametrize(
    "body",
    [
        {"code": "genetic_testing", "version": 1},
        {"member_id": 1, "version": 1},
        {"member_id": 1, "code": "genetic_testing"},
        {"member_id": 0, "code": "genetic_testing", "version": 1},
        {"member_id": 2**31, "code": "genetic_testing", "version": 1},
        {"member_id": "one", "code": "genetic_testing", "version": 1},
        {"member_id": 1, "code": "Genetic-Testing", "version": 1},
        {"member_id": 1, "code": "g" * 65, "version": 1},
        {"member_id": 1, "code": "genetic_testing", "version": 0},
        {"member_id": 1, "code": "genetic_testing", "version": 1, "ip_address": "1.2.3.4"},
    ],
)
def test_grant_with_bad_input_is_422(client, me, body):
    assert_error(client.post("/consent", json=body, headers=me.headers), 422, "validation_error")


# --- my grants ---------------------------------------------------------------------------------


def test_my_grants_are_the_full_history_with_each_status(client, db, me, admin):
    member = make_member(db, me.user_id)
    make_consent_type(db, code="data_processing")
    make_consent_type(db, code="genetic_testing")
    make_consent_type(db, code="child_simulator")
    data = give(client, me, member.id, "data_processing").json()
    genetic = give(client, me, member.id, "genetic_testing").json()
    child = give(client, me, member.id, "child_simulator").json()
    client.post(f"/consent/{child['id']}/withdraw", headers=me.headers)
    published = client.post(
        "/consent/types/genetic_testing/versions", json={"body": "New text"}, headers=admin.headers
    )
    assert published.status_code == 201, published.text

    response = client.get("/consent", headers=me.headers)

    assert response.status_code == 200, response.text
    page = response.json()
    assert page["total"] == 3
    assert (page["limit"], page["offset"]) == (20, 0)
    statuses = {item["id"]: item["status"] for item in page["items"]}
    assert statuses == {data["id"]: "active", genetic["id"]: "outdated", child["id"]: "withdrawn"}
    # newest first
    assert [item["id"] for item in page["items"]] == [child["id"], genetic["id"], data["id"]]
    withdrawn = next(item for item in page["items"] if item["id"] == child["id"])
    assert withdrawn["withdrawn_at"] is not None
    assert withdrawn["user_agent"] == USER_AGENT


def test_my_grants_filter_by_member(client, db, me):
    first = make_member(db, me.user_id, name="Ravi", relation="self", gender="male")
    second = make_member(db, me.user_id)
    make_consent_type(db, code="genetic_testing")
    give(client, me, first.id, "genetic_testing")
    mine = give(client, me, second.id, "genetic_testing").json()

    page = client.get(f"/consent?member_id={second.id}", headers=me.headers).json()

    assert page["total"] == 1
    assert [item["id"] for item in page["items"]] == [mine["id"]]


def test_my_grants_paginate(client, db, me):
    member = make_member(db, me.user_id)
    ids = []
    for n in range(5):
        make_consent_type(db, code=f"consent_{n}")
        ids.append(give(client, me, member.id, f"consent_{n}").json()["id"])
    newest_first = list(reversed(ids))

    first = client.get("/consent?limit=2", headers=me.headers).json()
    last = client.get("/consent?limit=2&offset=4", headers=me.headers).json()

    assert first["total"] == last["total"] == 5
    assert [item["id"] for item in first["items"]] == newest_first[:2]
    assert (first["limit"], first["offset"]) == (2, 0)
    assert [item["id"] for item in last["items"]] == newest_first[4:]
    assert (last["limit"], last["offset"]) == (2, 4)


def test_my_grants_cost_the_same_statements_for_one_or_many_grants(client, db, me):
    member = make_member(db, me.user_id)
    grant(db, me.user_id, member, make_consent_type(db))
    client.get("/consent", headers=me.headers)  # warms the session cache of the login
    with counting_statements() as one:
        assert client.get("/consent", headers=me.headers).json()["total"] == 1
    for _ in range(10):
        grant(db, me.user_id, make_member(db, me.user_id), make_consent_type(db))
    with counting_statements() as many:
        assert client.get("/consent", headers=me.headers).json()["total"] == 11

    assert len(many) == len(one)


@pytest.mark.parametrize("query", ["limit=0", "limit=101", "offset=-1", "member_id=0"])
def test_my_grants_with_bad_paging_or_filter_is_422(client, me, query):
    assert_error(client.get(f"/consent?{query}", headers=me.headers), 422, "validation_error")


def test_another_users_grants_are_never_shown(client, db, me, other):
    their_member = make_member(db, other.user_id)
    consent_type = make_consent_type(db, code="genetic_testing")
    grant(db, other.user_id, their_member, consent_type)

    everything = client.get("/consent", headers=me.headers).json()
    by_member = client.get(f"/consent?member_id={their_member.id}", headers=me.headers).json()

    assert everything == {"items": [], "total": 0, "limit": 20, "offset": 0}
    assert by_member["items"] == [] and by_member["total"] == 0


# --- withdrawing -----------------------------------------------------------------------------


def test_withdraw_stamps_the_grant_keeps_it_and_audits_it(client, db, me):
    member = make_member(db, me.user_id)
    make_consent_type(db, code="genetic_testing")
    given = give(client, me, member.id, "genetic_testing").json()

    response = client.post(f"/consent/{given['id']}/withdraw", headers=me.headers)

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["id"] == given["id"]
    assert body["status"] == "withdrawn"
    assert body["withdrawn_at"] is not None
    assert body["granted_at"] == given["granted_at"]
    db.expire_all()
    row = db.get(ConsentGrant, given["id"])
    assert row is not None and row.withdrawn_at is not None
    [entry] = audit_rows(db, "consent.withdrawn", given["id"])
    assert entry.actor_user_id == me.user_id
    assert entry.changes == {"member_id": member.id, "code": "genetic_testing", "version": 1}


def test_withdrawing_twice_is_409(client, db, me):
    member = make_member(db, me.user_id)
    make_consent_type(db, code="genetic_testing")
    given = give(client, me, member.id, "genetic_testing").json()
    client.post(f"/consent/{given['id']}/withdraw", headers=me.headers)

    response = client.post(f"/consent/{given['id']}/withdraw", headers=me.headers)

    assert_error(response, 409, "consent_already_withdrawn")
    assert len(audit_rows(db, "consent.withdrawn", given["id"])) == 1


def test_withdrawing_another_users_grant_is_404_and_leaves_it(client, db, me, other):
    their_member = make_member(db, other.user_id)
    theirs = grant(db, other.user_id, their_member, make_consent_type(db))

    assert_error(
        client.post(f"/consent/{theirs.id}/withdraw", headers=me.headers), 404, "consent_not_found"
    )

    db.expire_all()
    assert db.get(ConsentGrant, theirs.id).withdrawn_at is None


def test_withdrawing_an_unknown_grant_is_404(client, me):
    response = client.post("/consent/999999/withdraw", headers=me.headers)
    assert_error(response, 404, "consent_not_found")


# --- admin: consent types ------------------------------------------------------------------


def test_admin_creates_a_type_at_version_1_and_it_is_audited(client, db, admin):
    response = client.post(
        "/consent/types",
        json={"code": "genetic_testing", "title": "  Genetic testing  ", "body": "I agree."},
        headers=admin.headers,
    )

    assert response.status_code == 201, response.text
    assert response.json() == {
        "code": "genetic_testing",
        "title": "Genetic testing",
        "body": "I agree.",
        "version": 1,
        "active": True,
    }
    detail = client.get("/consent/types/genetic_testing").json()
    assert [(v["version"], v["body"]) for v in detail["versions"]] == [(1, "I agree.")]
    db.expire_all()
    created = db.scalar(select(ConsentType).where(ConsentType.code == "genetic_testing"))
    [entry] = audit_rows(db, "consent_type.created", created.id)
    assert entry.actor_user_id == admin.user_id
    assert entry.changes == {"code": "genetic_testing", "title": "Genetic testing", "version": 1}


def test_creating_a_duplicate_code_is_409(client, db, admin):
    make_consent_type(db, code="genetic_testing")
    response = client.post(
        "/consent/types",
        json={"code": "genetic_testing", "title": "Again", "body": "Again."},
        headers=admin.headers,
    )
    assert_error(response, 409, "consent_type_exists")


@pytest.mark.parametrize(
    "body",
    [
        {"code": "Genetic", "title": "T", "body": "B"},
        {"code": "genetic-testing", "title": "T", "body": "B"},
        {"code": "1genetic", "title": "T", "body": "B"},
        {"code": "g", "title": "T", "body": "B"},
        {"code": "g" * 65, "title": "T", "body": "B"},
        {"code": "genetic testing", "title": "T", "body": "B"},
        {"code": "genetic", "title": "   ", "body": "B"},
        {"code": "genetic", "title": "T" * 201, "body": "B"},
        {"code": "genetic", "title": "T", "body": ""},
        {"code": "genetic", "title": "T", "body": "   "},
        {"code": "genetic", "title": "T", "body": "B" * 20_001},
        {"code": "genetic", "title": "T"},
        {"code": "genetic", "title": "T", "body": "B", "version": 4},
    ],
)
def test_creating_a_type_with_bad_input_is_422(client, db, admin, body):
    response = client.post("/consent/types", json=body, headers=admin.headers)
    assert_error(response, 422, "validation_error")
    db.expire_all()
    assert db.scalar(select(func.count()).select_from(ConsentType)) == 0


def test_publishing_a_version_bumps_it_keeps_history_and_outdates_older_grants(
    client, db, me, admin
):
    member = make_member(db, me.user_id)
    consent_type = make_consent_type(db, code="genetic_testing", title="Genetic", body="v1")
    given = give(client, me, member.id, "genetic_testing").json()

    response = client.post(
        "/consent/types/genetic_testing/versions", json={"body": "v2"}, headers=admin.headers
    )

    assert response.status_code == 201, response.text
    assert response.json() == {
        "code": "genetic_testing",
        "title": "Genetic",
        "body": "v2",
        "version": 2,
        "active": True,
    }
    detail = client.get("/consent/types/genetic_testing").json()
    assert [(v["version"], v["body"]) for v in detail["versions"]] == [(1, "v1"), (2, "v2")]
    [mine] = client.get("/consent", headers=me.headers).json()["items"]
    assert (mine["id"], mine["version"], mine["status"]) == (given["id"], 1, "outdated")
    assert_error(give(client, me, member.id, "genetic_testing", 1), 409, "consent_version_outdated")
    renewed = give(client, me, member.id, "genetic_testing", 2)
    assert renewed.status_code == 201 and renewed.json()["status"] == "active"
    [entry] = audit_rows(db, "consent_type.version_published", consent_type.id)
    assert entry.actor_user_id == admin.user_id
    assert entry.changes == {"version": {"old": 1, "new": 2}}


def test_publishing_a_version_can_change_the_title(client, db, admin):
    make_consent_type(db, code="genetic_testing", title="Old title")
    response = client.post(
        "/consent/types/genetic_testing/versions",
        json={"title": "New title", "body": "v2"},
        headers=admin.headers,
    )
    assert response.status_code == 201, response.text
    assert response.json()["title"] == "New title"
    detail = client.get("/consent/types/genetic_testing").json()
    assert [v["title"] for v in detail["versions"]] == ["Old title", "New title"]


def test_publishing_a_version_of_an_unknown_type_is_404(client, admin):
    response = client.post(
        "/consent/types/no_such_consent/versions", json={"body": "x"}, headers=admin.headers
    )
    assert_error(response, 404, "consent_type_not_found")


@pytest.mark.parametrize(
    "body", [{}, {"body": ""}, {"body": "  "}, {"title": "", "body": "x"}, {"body": "x", "v": 3}]
)
def test_publishing_a_version_with_bad_input_is_422(client, db, admin, body):
    make_consent_type(db, code="genetic_testing")
    response = client.post(
        "/consent/types/genetic_testing/versions", json=body, headers=admin.headers
    )
    assert_error(response, 422, "validation_error")


def test_deactivating_a_type_hides_it_everywhere_and_reactivating_restores_it(
    client, db, admin, product
):
    consent_type = make_consent_type(db, code="genetic_testing")
    link_consent(db, product, consent_type)

    response = client.put(
        "/consent/types/genetic_testing", json={"active": False}, headers=admin.headers
    )

    assert response.status_code == 200, response.text
    assert response.json()["active"] is False
    assert client.get("/consent/types").json() == []
    assert client.get(f"/consent/products/{product.id}").json() == []
    assert client.get("/consent/types/genetic_testing").json()["active"] is False
    [entry] = audit_rows(db, "consent_type.updated", consent_type.id)
    assert entry.changes == {"active": {"old": True, "new": False}}
    assert entry.actor_user_id == admin.user_id

    client.put("/consent/types/genetic_testing", json={"active": True}, headers=admin.headers)

    assert [t["code"] for t in client.get("/consent/types").json()] == ["genetic_testing"]
    assert [c["code"] for c in client.get(f"/consent/products/{product.id}").json()] == [
        "genetic_testing"
    ]


def test_setting_the_same_active_flag_writes_no_audit_row(client, db, admin):
    consent_type = make_consent_type(db, code="genetic_testing")
    response = client.put(
        "/consent/types/genetic_testing", json={"active": True}, headers=admin.headers
    )
    assert response.status_code == 200, response.text
    assert audit_rows(db, "consent_type.updated", consent_type.id) == []


def test_updating_an_unknown_type_is_404(client, admin):
    response = client.put("/consent/types/no_such", json={"active": False}, headers=admin.headers)
    assert_error(response, 404, "consent_type_not_found")


@pytest.mark.parametrize("body", [{}, {"active": "maybe"}, {"active": False, "version": 9}])
def test_updating_a_type_with_bad_input_is_422(client, db, admin, body):
    make_consent_type(db, code="genetic_testing")
    response = client.put("/consent/types/genetic_testing", json=body, headers=admin.headers)
    assert_error(response, 422, "validation_error")


# --- admin: product links ------------------------------------------------------------------


def test_linking_a_product_makes_it_require_the_consent_and_is_audited(client, db, admin, product):
    make_consent_type(db, code="data_processing", title="Data")
    make_consent_type(db, code="genetic_testing", title="Genetic")
    client.post(
        f"/consent/products/{product.id}", json={"code": "genetic_testing"}, headers=admin.headers
    )

    response = client.post(
        f"/consent/products/{product.id}", json={"code": "data_processing"}, headers=admin.headers
    )

    assert response.status_code == 201, response.text
    assert response.json() == [
        {"code": "data_processing", "title": "Data", "version": 1},
        {"code": "genetic_testing", "title": "Genetic", "version": 1},
    ]
    assert client.get(f"/consent/products/{product.id}").json() == response.json()
    entries = audit_rows(db, "consent_link.created", product.id)
    assert [e.changes for e in entries] == [
        {"consent_code": "genetic_testing"},
        {"consent_code": "data_processing"},
    ]
    assert {e.actor_user_id for e in entries} == {admin.user_id}


def test_an_inactive_product_can_still_be_linked(client, db, admin):
    hidden = make_product(db, make_category(db), is_active=False)
    make_consent_type(db, code="genetic_testing")
    response = client.post(
        f"/consent/products/{hidden.id}", json={"code": "genetic_testing"}, headers=admin.headers
    )
    assert response.status_code == 201, response.text


def test_linking_the_same_consent_twice_is_409(client, db, admin, product):
    link_consent(db, product, make_consent_type(db, code="genetic_testing"))
    response = client.post(
        f"/consent/products/{product.id}", json={"code": "genetic_testing"}, headers=admin.headers
    )
    assert_error(response, 409, "consent_link_exists")
    db.expire_all()
    assert db.scalar(select(func.count()).select_from(ProductConsent)) == 1


def test_linking_an_unknown_product_or_consent_is_404(client, db, admin, product):
    make_consent_type(db, code="genetic_testing")
    unknown_product = client.post(
        "/consent/products/999999", json={"code": "genetic_testing"}, headers=admin.headers
    )
    unknown_code = client.post(
        f"/consent/products/{product.id}", json={"code": "no_such"}, headers=admin.headers
    )
    assert_error(unknown_product, 404, "product_not_found")
    assert_error(unknown_code, 404, "consent_type_not_found")


@pytest.mark.parametrize("body", [{}, {"code": "Bad Code"}, {"code": "ok_code", "x": 1}])
def test_linking_with_bad_input_is_422(client, admin, product, body):
    response = client.post(f"/consent/products/{product.id}", json=body, headers=admin.headers)
    assert_error(response, 422, "validation_error")


def test_unlinking_stops_requiring_the_consent_and_is_audited(client, db, admin, product):
    link_consent(db, product, make_consent_type(db, code="genetic_testing"))

    response = client.delete(
        f"/consent/products/{product.id}/genetic_testing", headers=admin.headers
    )

    assert response.status_code == 204, response.text
    assert response.content == b""
    assert client.get(f"/consent/products/{product.id}").json() == []
    [entry] = audit_rows(db, "consent_link.deleted", product.id)
    assert entry.changes == {"consent_code": "genetic_testing"}
    assert entry.actor_user_id == admin.user_id


def test_unlinking_a_link_that_does_not_exist_is_404(client, db, admin, product):
    make_consent_type(db, code="genetic_testing")
    not_linked = client.delete(
        f"/consent/products/{product.id}/genetic_testing", headers=admin.headers
    )
    unknown_code = client.delete(f"/consent/products/{product.id}/no_such", headers=admin.headers)
    assert_error(not_linked, 404, "consent_link_not_found")
    assert_error(unknown_code, 404, "consent_type_not_found")


# --- admin: access -----------------------------------------------------------------------------

ADMIN_ROUTES = [
    ("post", "/consent/types", {"code": "genetic_testing", "title": "T", "body": "B"}),
    ("post", "/consent/types/genetic_testing/versions", {"body": "B"}),
    ("put", "/consent/types/genetic_testing", {"active": False}),
    ("post", "/consent/products/{product_id}", {"code": "genetic_testing"}),
    ("delete", "/consent/products/{product_id}/genetic_testing", None),
]


@pytest.mark.parametrize(("method", "path", "body"), ADMIN_ROUTES)
def test_admin_routes_are_403_for_a_customer_and_change_nothing(
    client, db, me, product, method, path, body
):
    consent_type = make_consent_type(db, code="genetic_testing")
    link_consent(db, product, consent_type)
    kwargs = {"headers": me.headers} | ({"json": body} if body is not None else {})

    response = client.request(method.upper(), path.format(product_id=product.id), **kwargs)

    assert_error(response, 403, "admin_required")
    db.expire_all()
    assert db.get(ConsentType, consent_type.id).version == 1
    assert db.get(ConsentType, consent_type.id).active is True
    assert db.scalar(select(func.count()).select_from(ProductConsent)) == 1


@pytest.mark.parametrize(("method", "path", "body"), ADMIN_ROUTES)
def test_admin_routes_are_401_anonymous(client, product, method, path, body):
    kwargs = {"json": body} if body is not None else {}
    response = client.request(method.upper(), path.format(product_id=product.id), **kwargs)
    assert_error(response, 401, "not_authenticated")
