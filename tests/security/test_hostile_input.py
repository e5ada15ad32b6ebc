"""Hostile input: odd text stored verbatim, strict numbers, size caps, no path traversal."""

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.support.http import assert_error
from tests.support.images import PNG, described
from tests.support.login import ADMIN_PHONE, login

ODD_NAMES = [
    "Robert'); DROP TABLE members;--",
    '<script>alert("x")</script>',
    "नमस्ते 👋 Zoë Ünïcödé",
    "a\\b %s %(x)s {0} ${x}",
]


@pytest.mark.parametrize("name", ODD_NAMES)
def test_odd_text_is_stored_and_returned_verbatim(client: TestClient, name: str) -> None:
    me = login(client, "+919876562001")
    created = client.post(
        "/member",
        headers=me.headers,
        json={"name": name, "relation": "child", "date_of_birth": "2015-01-01", "gender": "female"},
    )
    assert created.status_code == 201, created.text
    assert created.headers["content-type"].startswith("application/json")
    fetched = client.get(f"/member/{created.json()['id']}", headers=me.headers).json()
    assert fetched["name"] == name
    assert client.get("/member", headers=me.headers).json()["total"] == 1


def test_overlong_strings_are_refused(client: TestClient) -> None:
    me = login(client, "+919876562002")
    response = client.put("/profile", headers=me.headers, json={"name": "x" * 121})
    assert_error(response, 422, "validation_error")


@pytest.mark.parametrize(
    "body",
    [
        '{"name": "A", "relation": "child", "date_of_birth": "2015-01-01", "gender": "male", '
        '"phone": NaN}',
        '{"name": "A", "relation": "child", "date_of_birth": "2015-01-01", "gender": 12}',
        '{"name": ["A"], "relation": "child", "date_of_birth": "2015-01-01", "gender": "male"}',
    ],
)
def test_wrongly_typed_json_is_422(client: TestClient, body: str) -> None:
    me = login(client, "+919876562003")
    response = client.post(
        "/member", headers={**me.headers, "Content-Type": "application/json"}, content=body
    )
    assert_error(response, 422, "validation_error")


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("price_paise", -1),
        ("price_paise", 2**63),
        ("price_paise", 1.5),
        ("price_paise", "NaN"),
        ("price_paise", float("inf")),
    ],
)
def test_money_must_be_whole_non_negative_and_in_range(
    client: TestClient, field: str, value: object
) -> None:
    admin = login(client, ADMIN_PHONE)
    category = client.post("/categories", headers=admin.headers, json={"name": "Odd values"}).json()
    body = {
        "name": "Odd",
        "category_id": category["id"],
        "plan_type": "single",
        "price_paise": 100_00,
        field: value,
    }
    response = client.post(
        "/products",
        headers={**admin.headers, "Content-Type": "application/json"},
        content=json.dumps(body),
    )
    assert response.status_code == 422, response.text


def test_negative_or_huge_quantities_are_refused(client: TestClient) -> None:
    me = login(client, "+919876562004")
    for quantity in (-1, 0, 10**12):
        response = client.post(
            "/cart/add",
            headers=me.headers,
            json={
                "product_id": 1,
                "members": [{"member_id": 1, "address_id": 1}],
                "quantity": quantity,
            },
        )
        assert response.status_code == 422, response.text


def test_ids_beyond_the_column_range_are_422_not_500(client: TestClient) -> None:
    me = login(client, "+919876562005")
    for path in (f"/member/{2**63}", f"/orders/{2**40}", f"/address/{-5}"):
        response = client.get(path, headers=me.headers)
        assert response.status_code in (404, 422), response.text


@pytest.mark.parametrize(
    "path",
    [
        "/media/../config.py",
        "/media/..%2fconfig.py",
        "/media/%2e%2e/%2e%2e/etc/passwd",
        "/media/profile/../../main.py",
    ],
)
def test_media_paths_cannot_escape_the_media_root(client: TestClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 404
    assert b"SECRET_KEY" not in response.content and b"import" not in response.content


def test_an_uploaded_file_name_never_decides_where_it_is_stored(
    client: TestClient, settings, db: Session
) -> None:
    me = login(client, "+919876562006")
    response = client.post(
        "/profile/photo",
        headers=me.headers,
        files={"file": ("../../../../etc/evil.png", PNG, "image/png")},
    )
    assert response.status_code == 200, response.text
    url = response.json()["photo_url"]
    assert ".." not in url and "evil" not in url
    stored = Path(settings.MEDIA_ROOT) / url.removeprefix(settings.MEDIA_URL).lstrip("/")
    assert stored.resolve().is_relative_to(Path(settings.MEDIA_ROOT).resolve())
    assert described(stored.read_bytes()) == described(PNG)


def test_a_script_named_png_is_refused(client: TestClient) -> None:
    me = login(client, "+919876562007")
    response = client.post(
        "/profile/photo",
        headers=me.headers,
        files={"file": ("photo.png", b"<?php system($_GET['c']); ?>", "image/png")},
    )
    assert_error(response, 415, "unsupported_image_type")


@pytest.mark.parametrize("ref", ["6²", "٣", "9" * 30])
def test_product_refs_that_only_look_numeric_are_not_found(client: TestClient, ref: str) -> None:
    assert_error(client.get(f"/products/{ref}"), 404, "product_not_found")


# --- control characters ------------------------------------------------------------------------

CONTROL_CHARACTERS = [
    "Asha\x00Rao",  # NUL
    "Asha \u202eoaR",  # right-to-left override: shows as "Asha Rao" reversed
    "Asha \u2066Rao\u2069",  # isolates
    "\x1b[31mAsha\x1b[0m",  # ANSI colour escape
    "Asha\x07",  # bell
    "Asha\x85Rao",  # C1 next-line
    "Asha\x7f",  # DEL
]


@pytest.mark.parametrize("value", CONTROL_CHARACTERS)
def test_control_characters_are_refused_in_names(client: TestClient, value: str) -> None:
    me = login(client, "+919876562011")
    member = {"relation": "child", "date_of_birth": "2015-01-01", "gender": "female"}
    assert_error(
        client.post("/member", headers=me.headers, json={**member, "name": value}),
        422,
        "validation_error",
    )
    body = assert_error(
        client.put("/profile", headers=me.headers, json={"name": value}), 422, "validation_error"
    )
    assert body["details"][0]["type"] == "control_characters"
    assert client.get("/member", headers=me.headers).json()["total"] == 0
    assert client.get("/profile", headers=me.headers).json()["name"] is None


@pytest.mark.parametrize("value", [*CONTROL_CHARACTERS, "line one\rline two", "tab\tin a name"])
def test_control_characters_are_refused_in_every_kind_of_free_text(
    client: TestClient, value: str
) -> None:
    me = login(client, "+919876562012")
    admin = login(client, ADMIN_PHONE)
    address = {
        "contact_name": "Ravi",
        "contact_phone": "+919876543210",
        "line1": "12, 4th Cross",
        "city": "Bangalore",
        "state": "Karnataka",
        "pincode": "560038",
    }
    attempts = [
        (me, "POST", "/address", {**address, "line1": value}),
        (me, "POST", "/address", {**address, "landmark": value}),
        (me, "POST", "/cart/coupon", {"code": value}),
        (me, "POST", "/orders/1/cancel", {"reason": value.replace("\t", "\x0b")}),
        (admin, "POST", "/categories", {"name": value}),
        (admin, "PUT", "/orders/1/items/1/status", {"status": "in_lab", "technician_name": value}),
        (admin, "POST", "/consent/types", {"code": "odd_text", "title": value, "body": "Text"}),
        (
            admin,
            "POST",
            "/cart/admin/coupons",
            {"code": "ODD1", "discount_type": "percent", "percent_off": 5, "description": value},
        ),
    ]
    for who, method, path, body in attempts:
        response = client.request(method, path, headers=who.headers, json=body)
        assert_error(response, 422, "validation_error")
    assert client.get("/address", headers=me.headers).json()["total"] == 0
    assert client.get("/categories").json() == []


def test_multi_line_text_keeps_newlines_and_tabs(client: TestClient) -> None:
    admin = login(client, ADMIN_PHONE)
    description = "First line\n\tindented second line\r\nthird line"
    created = client.post(
        "/categories", headers=admin.headers, json={"name": "Multi", "description": description}
    )
    assert created.status_code == 201, created.text
    assert created.json()["description"] == "First line\n\tindented second line\nthird line"
    refused = client.post(
        "/categories",
        headers=admin.headers,
        json={"name": "Multi 2", "description": "bad \x1b[2J escape\n"},
    )
    assert_error(refused, 422, "validation_error")


def test_joiners_that_indic_scripts_need_are_not_control_characters(client: TestClient) -> None:
    me = login(client, "+919876562013")
    name = "क्\u200dष \u0c30\u0c3e\u0c2e\u200c\u0c41"  # zero-width joiner and non-joiner
    response = client.put("/profile", headers=me.headers, json={"name": name})
    assert response.status_code == 200, response.text
    assert response.json()["name"] == name
