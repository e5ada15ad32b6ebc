"""`/member` through HTTP, as the apps use it."""

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from Audit_module.models import AuditLog
from core.clock import today_ist
from Member_module import service as member_service
from Member_module.models import Member
from tests.support.database import counting_statements
from tests.support.factories.member import make_member
from tests.support.http import assert_error
from tests.support.login import login

ME = "+919876500001"
OTHER = "+919876500002"


def member_body(**overrides: object) -> dict:
    return {
        "name": "Ravi Kumar",
        "relation": "self",
        "date_of_birth": "1988-02-29",
        "gender": "male",
        **overrides,
    }


def audit_rows(db, action: str, entity_id: int) -> list[AuditLog]:
    db.expire_all()
    return list(
        db.scalars(
            select(AuditLog).where(AuditLog.action == action, AuditLog.entity_id == str(entity_id))
        )
    )


@pytest.fixture
def me(client):
    return login(client, ME)


def test_member_routes_need_a_login(client):
    assert_error(client.get("/member"), 401, "not_authenticated")
    assert_error(client.post("/member", json=member_body()), 401, "not_authenticated")
    assert_error(client.get("/member/1"), 401, "not_authenticated")
    assert_error(client.put("/member/1", json={"name": "X"}), 401, "not_authenticated")
    assert_error(client.delete("/member/1"), 401, "not_authenticated")


def test_add_member_returns_it_with_the_phone_in_e164_and_audits_it(client, db, me):
    response = client.post("/member", json=member_body(phone="+91 98765-43210"), headers=me.headers)
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["name"] == "Ravi Kumar"
    assert body["relation"] == "self"
    assert body["date_of_birth"] == "1988-02-29"
    assert body["gender"] == "male"
    assert body["phone"] == "+919876543210"
    assert body["created_at"] and body["updated_at"]
    [entry] = audit_rows(db, "member.created", body["id"])
    assert entry.actor_user_id == me.user_id
    assert entry.entity_type == "member"
    # Personal values stay out of the trail admins read; the phone is masked.
    assert entry.changes == {
        "name": "[redacted]",
        "relation": "self",
        "date_of_birth": "[redacted]",
        "gender": "male",
        "phone": "+91******3210",
    }


def test_add_member_without_phone_stores_null(client, me):
    response = client.post("/member", json=member_body(relation="child"), headers=me.headers)
    assert response.status_code == 201, response.text
    assert response.json()["phone"] is None


@pytest.mark.parametrize("phone", ["12345", "not a phone", "080 2222 3333"])
def test_add_member_with_a_non_mobile_phone_is_invalid_phone(client, me, phone):
    response = client.post("/member", json=member_body(phone=phone), headers=me.headers)
    assert_error(response, 422, "invalid_phone")


@pytest.mark.parametrize(
    "overrides",
    [
        {"relation": "cousin"},
        {"gender": "unknown"},
        {"name": ""},
        {"name": "   "},
        {"name": "x" * 121},
        {"date_of_birth": "not-a-date"},
        {"date_of_birth": "1899-12-31"},
        {"nickname": "Ravi"},
    ],
)
def test_add_member_with_bad_fields_is_a_validation_error(client, me, overrides):
    response = client.post("/member", json=member_body(**overrides), headers=me.headers)
    assert_error(response, 422, "validation_error")


def test_add_member_with_missing_fields_is_a_validation_error(client, me):
    response = client.post("/member", json={"name": "Ravi"}, headers=me.headers)
    body = assert_error(response, 422, "validation_error")
    fields = {detail["field"] for detail in body["details"]}
    assert {"relation", "date_of_birth", "gender"} <= fields


def test_date_of_birth_must_not_be_in_the_future_in_india(client, me):
    today = today_ist()
    tomorrow = today + timedelta(days=1)
    response = client.post(
        "/member", json=member_body(date_of_birth=tomorrow.isoformat()), headers=me.headers
    )
    assert_error(response, 422, "validation_error")
    response = client.post(
        "/member",
        json=member_body(relation="child", date_of_birth=today.isoformat()),
        headers=me.headers,
    )
    assert response.status_code == 201, response.text


def test_only_one_self_member_per_user(client, me):
    assert client.post("/member", json=member_body(), headers=me.headers).status_code == 201
    response = client.post("/member", json=member_body(name="Ravi Again"), headers=me.headers)
    assert_error(response, 409, "self_member_exists")


def test_another_users_self_member_does_not_block_mine(client, db, me):
    other_user = login(client, OTHER)
    make_member(db, other_user.user_id, relation="self")
    assert client.post("/member", json=member_body(), headers=me.headers).status_code == 201


def test_a_deleted_self_member_can_be_replaced(client, me):
    first = client.post("/member", json=member_body(), headers=me.headers).json()
    assert client.delete(f"/member/{first['id']}", headers=me.headers).status_code == 204
    assert client.post("/member", json=member_body(), headers=me.headers).status_code == 201


def test_changing_a_member_to_self_when_i_have_one_is_refused(client, db, me):
    make_member(db, me.user_id, relation="self")
    spouse = make_member(db, me.user_id, relation="spouse")
    response = client.put(f"/member/{spouse.id}", json={"relation": "self"}, headers=me.headers)
    assert_error(response, 409, "self_member_exists")


def test_the_self_member_can_be_saved_as_self_again(client, db, me):
    myself = make_member(db, me.user_id, relation="self")
    response = client.put(
        f"/member/{myself.id}", json={"relation": "self", "name": "Me"}, headers=me.headers
    )
    assert response.status_code == 200, response.text
    assert response.json()["name"] == "Me"


def test_member_limit_is_enforced(client, db, me, settings, monkeypatch):
    monkeypatch.setattr(settings, "MAX_MEMBERS_PER_USER", 2)
    make_member(db, me.user_id)
    make_member(db, me.user_id, relation="child")
    response = client.post("/member", json=member_body(relation="parent"), headers=me.headers)
    assert_error(response, 409, "member_limit_reached")


def test_member_limit_default_is_ten(client, db, me, settings):
    assert settings.MAX_MEMBERS_PER_USER == 10
    for index in range(9):
        make_member(db, me.user_id, relation="other", name=f"Relative {index}")
    assert client.post("/member", json=member_body(), headers=me.headers).status_code == 201
    response = client.post("/member", json=member_body(relation="child"), headers=me.headers)
    assert_error(response, 409, "member_limit_reached")


def test_deleted_members_do_not_count_towards_the_limit(client, db, me, settings, monkeypatch):
    monkeypatch.setattr(settings, "MAX_MEMBERS_PER_USER", 1)
    member = make_member(db, me.user_id)
    assert client.delete(f"/member/{member.id}", headers=me.headers).status_code == 204
    response = client.post("/member", json=member_body(relation="child"), headers=me.headers)
    assert response.status_code == 201, response.text


def test_other_users_members_do_not_count_towards_my_limit(client, db, me, settings, monkeypatch):
    monkeypatch.setattr(settings, "MAX_MEMBERS_PER_USER", 1)
    other_user = login(client, OTHER)
    make_member(db, other_user.user_id)
    assert client.post("/member", json=member_body(), headers=me.headers).status_code == 201


def test_list_shows_only_my_members_that_are_not_deleted(client, db, me):
    other_user = login(client, OTHER)
    mine = make_member(db, me.user_id, name="Mine")
    make_member(db, me.user_id, name="Gone", is_deleted=True)
    make_member(db, other_user.user_id, name="Theirs")
    response = client.get("/member", headers=me.headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["total"] == 1
    assert body["limit"] == 20
    assert body["offset"] == 0
    assert [item["id"] for item in body["items"]] == [mine.id]
    assert body["items"][0]["name"] == "Mine"


def test_list_is_paginated_oldest_first(client, db, me):
    members = [make_member(db, me.user_id, name=f"M{index}") for index in range(3)]
    body = client.get("/member?limit=2&offset=1", headers=me.headers).json()
    assert body["total"] == 3
    assert [item["id"] for item in body["items"]] == [members[1].id, members[2].id]
    assert_error(client.get("/member?limit=101", headers=me.headers), 422, "validation_error")


def test_a_page_counts_its_total_only_when_it_cannot_tell_it(client, db, me):
    for index in range(3):
        make_member(db, me.user_id, name=f"M{index}")
    for query, total, counted in [
        ("limit=20", 3, False),  # short first page: it is the whole list
        ("limit=2&offset=2", 3, False),  # short last page: offset + its items
        ("limit=3", 3, True),  # full page: more may follow
        ("limit=2&offset=5", 3, True),  # empty page past the end
    ]:
        with counting_statements() as statements:
            body = client.get(f"/member?{query}", headers=me.headers).json()
        assert body["total"] == total, query
        assert any(s.lower().startswith("select count(") for s in statements) is counted, query


def test_get_my_member(client, db, me):
    member = make_member(db, me.user_id, phone="+919876543211")
    response = client.get(f"/member/{member.id}", headers=me.headers)
    assert response.status_code == 200, response.text
    assert response.json()["phone"] == "+919876543211"


def test_another_users_member_is_not_found_for_every_route(client, db, me):
    other_user = login(client, OTHER)
    theirs = make_member(db, other_user.user_id)
    url = f"/member/{theirs.id}"
    assert_error(client.get(url, headers=me.headers), 404, "member_not_found")
    assert_error(client.put(url, json={"name": "X"}, headers=me.headers), 404, "member_not_found")
    assert_error(client.delete(url, headers=me.headers), 404, "member_not_found")
    db.expire_all()
    assert db.get(Member, theirs.id).name == "Asha Rao"
    assert db.get(Member, theirs.id).is_deleted is False


def test_a_deleted_member_is_not_found(client, db, me):
    member = make_member(db, me.user_id, is_deleted=True)
    url = f"/member/{member.id}"
    assert_error(client.get(url, headers=me.headers), 404, "member_not_found")
    assert_error(client.put(url, json={"name": "X"}, headers=me.headers), 404, "member_not_found")
    assert_error(client.delete(url, headers=me.headers), 404, "member_not_found")


def test_unknown_or_malformed_member_ids(client, me):
    assert_error(client.get("/member/999999", headers=me.headers), 404, "member_not_found")
    assert_error(client.get("/member/0", headers=me.headers), 422, "validation_error")
    assert_error(client.get("/member/abc", headers=me.headers), 422, "validation_error")
    assert_error(client.get(f"/member/{2**63}", headers=me.headers), 422, "validation_error")


def test_update_changes_only_the_fields_sent_and_audits_the_diff(client, db, me):
    member = make_member(db, me.user_id, phone="+919876543211")
    response = client.put(
        f"/member/{member.id}",
        json={"name": "Asha R", "date_of_birth": "1991-01-02"},
        headers=me.headers,
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["name"] == "Asha R"
    assert body["date_of_birth"] == "1991-01-02"
    assert body["relation"] == "spouse"
    assert body["phone"] == "+919876543211"
    [entry] = audit_rows(db, "member.updated", member.id)
    assert entry.actor_user_id == me.user_id
    assert entry.changes == {
        "name": {"old": "[redacted]", "new": "[redacted]"},
        "date_of_birth": {"old": "[redacted]", "new": "[redacted]"},
    }


def test_update_can_clear_the_phone(client, db, me):
    member = make_member(db, me.user_id, phone="+919876543211")
    response = client.put(f"/member/{member.id}", json={"phone": None}, headers=me.headers)
    assert response.status_code == 200, response.text
    assert response.json()["phone"] is None


def test_update_without_changes_writes_no_audit_row(client, db, me):
    member = make_member(db, me.user_id)
    response = client.put(f"/member/{member.id}", json={"name": "Asha Rao"}, headers=me.headers)
    assert response.status_code == 200, response.text
    assert audit_rows(db, "member.updated", member.id) == []


@pytest.mark.parametrize(
    "body",
    [
        {"name": None},
        {"relation": None},
        {"gender": None},
        {"date_of_birth": None},
        {"relation": "friend"},
        {"date_of_birth": (date.today() + timedelta(days=2)).isoformat()},
        {"user_id": 1},
    ],
)
def test_update_with_bad_fields_is_a_validation_error(client, db, me, body):
    member = make_member(db, me.user_id)
    response = client.put(f"/member/{member.id}", json=body, headers=me.headers)
    assert_error(response, 422, "validation_error")


def test_update_with_a_bad_phone_is_invalid_phone(client, db, me):
    member = make_member(db, me.user_id)
    response = client.put(f"/member/{member.id}", json={"phone": "123"}, headers=me.headers)
    assert_error(response, 422, "invalid_phone")


def test_delete_is_a_soft_delete_and_audited(client, db, me):
    member = make_member(db, me.user_id)
    response = client.delete(f"/member/{member.id}", headers=me.headers)
    assert response.status_code == 204, response.text
    assert response.content == b""
    db.expire_all()
    stored = db.get(Member, member.id)
    assert stored is not None
    assert stored.is_deleted is True
    assert stored.deleted_at is not None
    [entry] = audit_rows(db, "member.deleted", member.id)
    assert entry.actor_user_id == me.user_id
    assert_error(client.get(f"/member/{member.id}", headers=me.headers), 404, "member_not_found")
    assert client.get("/member", headers=me.headers).json()["total"] == 0


def test_a_member_in_use_cannot_be_deleted(client, db, me, monkeypatch):
    """The cart and orders register checks; any check saying 'in use' blocks the delete."""
    busy = make_member(db, me.user_id, name="In cart")
    free = make_member(db, me.user_id, name="Free", relation="child")
    seen: list[int] = []

    def in_cart(session, member_id: int) -> bool:
        seen.append(member_id)
        return member_id == busy.id

    monkeypatch.setattr(member_service.member_in_use, "handlers", [])
    member_service.member_in_use.connect(lambda session, member_id: False)
    member_service.member_in_use.connect(in_cart)

    response = client.delete(f"/member/{busy.id}", headers=me.headers)
    assert_error(response, 409, "member_in_use")
    db.expire_all()
    assert db.get(Member, busy.id).is_deleted is False
    assert audit_rows(db, "member.deleted", busy.id) == []

    assert client.delete(f"/member/{free.id}", headers=me.headers).status_code == 204
    assert seen == [busy.id, free.id]


def test_connecting_the_same_in_use_check_twice_keeps_one(monkeypatch):
    monkeypatch.setattr(member_service.member_in_use, "handlers", [])

    def check(session, member_id: int) -> bool:
        return False

    member_service.member_in_use.connect(check)
    member_service.member_in_use.connect(check)
    assert member_service.member_in_use.handlers == [check]
