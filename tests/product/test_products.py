"""Products through HTTP: search, filters, sorts, detail, admin writes and their audit trail."""

from datetime import UTC, datetime, timedelta

import pytest
from httpx import Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from Audit_module.models import AuditLog
from Category_module.models import Category
from Product_module.models import Product, discount_percent
from tests.support.database import counting_statements
from tests.support.factories.category import make_category
from tests.support.factories.product import make_product
from tests.support.http import assert_error

LIST_FIELDS = {
    "id",
    "name",
    "slug",
    "short_description",
    "category",
    "plan_type",
    "min_members",
    "max_members",
    "price_paise",
    "mrp_paise",
    "discount_percent",
    "images",
    "sample_type",
    "turnaround_days",
}


def audit_entries(db: Session, action: str) -> list[AuditLog]:
    db.expire_all()
    return list(db.scalars(select(AuditLog).where(AuditLog.action == action)).all())


def slugs(response: Response) -> list[str]:
    assert response.status_code == 200, response.text
    return [item["slug"] for item in response.json()["items"]]


@pytest.fixture
def category(db: Session) -> Category:
    return make_category(db, name="Genetic health", slug="genetic-health")


# --- listing -------------------------------------------------------------------------------


def test_list_shows_active_products_with_their_category(client, db, category):
    product = make_product(
        db,
        category,
        name="My genes",
        slug="my-genes",
        short_description="Your DNA, decoded",
        price_paise=750_000,
        mrp_paise=1_000_000,
        images=["https://cdn.example/my-genes.jpg"],
        sample_type="saliva",
        turnaround_days=28,
    )
    make_product(db, category, is_active=False)

    response = client.get("/products")

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["total"] == 1
    assert (body["limit"], body["offset"]) == (20, 0)
    [item] = body["items"]
    assert set(item) == LIST_FIELDS
    assert item == {
        "id": product.id,
        "name": "My genes",
        "slug": "my-genes",
        "short_description": "Your DNA, decoded",
        "category": {"id": category.id, "slug": "genetic-health", "name": "Genetic health"},
        "plan_type": "single",
        "min_members": 1,
        "max_members": 1,
        "price_paise": 750_000,
        "mrp_paise": 1_000_000,
        "discount_percent": 25,
        "images": ["https://cdn.example/my-genes.jpg"],
        "sample_type": "saliva",
        "turnaround_days": 28,
    }


def test_list_is_public_and_empty_without_products(client):
    response = client.get("/products")
    assert response.status_code == 200
    assert response.json() == {"items": [], "total": 0, "limit": 20, "offset": 0}


def test_list_pages_with_limit_and_offset(client, db, category):
    for i in range(5):
        make_product(db, category, name=f"P{i}", slug=f"p{i}")
    first = client.get("/products", params={"limit": 2}).json()
    assert [p["slug"] for p in first["items"]] == ["p0", "p1"]
    assert (first["total"], first["limit"], first["offset"]) == (5, 2, 0)
    last = client.get("/products", params={"limit": 2, "offset": 4}).json()
    assert [p["slug"] for p in last["items"]] == ["p4"]
    assert last["total"] == 5
    assert client.get("/products", params={"offset": 10}).json()["items"] == []


@pytest.mark.parametrize(
    "params",
    [
        {"limit": 0},
        {"limit": 101},
        {"offset": -1},
        {"plan_type": "group"},
        {"sort": "popular"},
        {"min_price_paise": -1},
        {"max_price_paise": "cheap"},
        {"q": "x" * 101},
    ],
)
def test_bad_list_parameters_are_validation_errors(client, params):
    assert_error(client.get("/products", params=params), 422, "validation_error")


def test_filter_by_category_slug(client, db, category):
    gut = make_category(db, name="Gut", slug="gut")
    make_product(db, category, slug="genes-a")
    make_product(db, gut, slug="gut-a")
    make_product(db, gut, slug="gut-b")
    assert sorted(slugs(client.get("/products", params={"category": "gut"}))) == [
        "gut-a",
        "gut-b",
    ]
    assert slugs(client.get("/products", params={"category": "genetic-health"})) == ["genes-a"]


def test_unknown_category_slug_gives_an_empty_list(client, db, category):
    make_product(db, category)
    response = client.get("/products", params={"category": "no-such-shelf"})
    assert response.json() == {"items": [], "total": 0, "limit": 20, "offset": 0}


def test_filter_by_plan_type(client, db, category):
    make_product(db, category, slug="solo", plan_type="single")
    make_product(db, category, slug="pair", plan_type="couple")
    make_product(db, category, slug="clan", plan_type="family")
    assert slugs(client.get("/products", params={"plan_type": "couple"})) == ["pair"]
    assert slugs(client.get("/products", params={"plan_type": "family"})) == ["clan"]


def test_filter_by_price_range_is_inclusive(client, db, category):
    for price in (100_000, 200_000, 300_000):
        make_product(db, category, slug=f"p-{price}", price_paise=price)
    by_price = {"sort": "price_asc"}
    assert slugs(client.get("/products", params={**by_price, "min_price_paise": 200_000})) == [
        "p-200000",
        "p-300000",
    ]
    assert slugs(client.get("/products", params={**by_price, "max_price_paise": 200_000})) == [
        "p-100000",
        "p-200000",
    ]
    both = {"min_price_paise": 200_000, "max_price_paise": 200_000}
    assert slugs(client.get("/products", params=both)) == ["p-200000"]


def test_min_price_above_max_price_is_refused(client):
    response = client.get("/products", params={"min_price_paise": 5, "max_price_paise": 4})
    assert_error(response, 422, "invalid_price_range")


def test_filters_combine(client, db, category):
    gut = make_category(db, name="Gut", slug="gut")
    make_product(db, gut, slug="gut-cheap-couple", plan_type="couple", price_paise=100_000)
    make_product(db, gut, slug="gut-dear-couple", plan_type="couple", price_paise=900_000)
    make_product(db, gut, slug="gut-cheap-single", price_paise=100_000)
    make_product(db, category, slug="genes-cheap-couple", plan_type="couple", price_paise=100_000)
    params = {"category": "gut", "plan_type": "couple", "max_price_paise": 500_000}
    assert slugs(client.get("/products", params=params)) == ["gut-cheap-couple"]


# --- search --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("name", "Fertility Check"),
        ("short_description", "Know your FERTILITY early"),
        ("description", "A long text about fertility markers."),
        ("tags", ["ivf", "Fertility"]),
    ],
)
def test_q_matches_each_searchable_field_case_insensitively(client, db, category, field, value):
    make_product(db, category, slug="match", **{field: value})
    make_product(db, category, slug="other", name="Gut health")
    for q in ("fertility", "FERTILITY", "FeRtIl"):
        assert slugs(client.get("/products", params={"q": q})) == ["match"], q


def test_q_does_not_match_json_punctuation_of_tags(client, db, category):
    make_product(db, category, slug="tagged", tags=["ivf", "pcos"])
    assert slugs(client.get("/products", params={"q": '", "'})) == []
    assert slugs(client.get("/products", params={"q": "["})) == []


def test_q_treats_percent_and_underscore_literally(client, db, category):
    make_product(db, category, slug="percent", name="Save 50% on genes")
    make_product(db, category, slug="underscore", name="gene_panel")
    make_product(db, category, slug="plain", name="Gene panel 50 off")
    assert slugs(client.get("/products", params={"q": "50%"})) == ["percent"]
    assert slugs(client.get("/products", params={"q": "%"})) == ["percent"]
    assert slugs(client.get("/products", params={"q": "e_p"})) == ["underscore"]
    assert slugs(client.get("/products", params={"q": "!"})) == []


def test_q_matches_the_escape_character_literally(client, db, category):
    make_product(db, category, slug="bang", name="Genes!")
    make_product(db, category, slug="quiet", name="Genes")
    assert slugs(client.get("/products", params={"q": "s!"})) == ["bang"]


def test_blank_q_is_ignored(client, db, category):
    make_product(db, category, slug="a")
    make_product(db, category, slug="b")
    assert len(slugs(client.get("/products", params={"q": "   "}))) == 2


def test_relevance_puts_name_matches_first_then_others_ties_by_name(client, db, category):
    make_product(db, category, slug="desc-b", name="Bravo", description="gut flora")
    make_product(db, category, slug="name-z", name="Zulu gut test")
    make_product(db, category, slug="tag-a", name="Alpha", tags=["gut"])
    make_product(db, category, slug="name-g", name="gut basics")
    make_product(db, category, slug="none", name="Genes")
    expected = ["name-g", "name-z", "tag-a", "desc-b"]
    assert slugs(client.get("/products", params={"q": "Gut"})) == expected
    assert slugs(client.get("/products", params={"q": "gut", "sort": "relevance"})) == expected


def test_relevance_without_q_follows_sort_order_then_name(client, db, category):
    make_product(db, category, slug="second-b", name="Bravo", sort_order=2)
    make_product(db, category, slug="second-a", name="alpha", sort_order=2)
    make_product(db, category, slug="first", name="Zulu", sort_order=1)
    assert slugs(client.get("/products")) == ["first", "second-a", "second-b"]


def test_sort_by_price_both_ways(client, db, category):
    for slug, price in (("mid", 200_000), ("low", 100_000), ("high", 300_000)):
        make_product(db, category, slug=slug, price_paise=price)
    assert slugs(client.get("/products", params={"sort": "price_asc"})) == ["low", "mid", "high"]
    assert slugs(client.get("/products", params={"sort": "price_desc"})) == ["high", "mid", "low"]


def test_sort_newest_first(client, db, category):
    now = datetime.now(UTC)
    make_product(db, category, slug="old", created_at=now - timedelta(days=3))
    make_product(db, category, slug="new", created_at=now - timedelta(hours=1))
    make_product(db, category, slug="mid", created_at=now - timedelta(days=1))
    assert slugs(client.get("/products", params={"sort": "newest"})) == ["new", "mid", "old"]


def test_sort_and_search_combine_with_paging(client, db, category):
    for i, price in enumerate((500, 100, 400, 200, 300)):
        make_product(db, category, slug=f"kit-{i}", name=f"Gut kit {i}", price_paise=price)
    make_product(db, category, slug="genes", name="Genes", price_paise=50)
    params = {"q": "gut", "sort": "price_asc", "limit": 2, "offset": 1}
    body = client.get("/products", params=params).json()
    assert body["total"] == 5
    assert [p["price_paise"] for p in body["items"]] == [200, 300]


def test_listing_takes_the_same_number_of_queries_for_5_and_100_products(client, db, category):
    def statements_for_listing() -> int:
        with counting_statements() as statements:
            response = client.get("/products", params={"limit": 100})
        assert response.status_code == 200
        return len(statements)

    other = make_category(db)
    for i in range(5):
        make_product(db, category if i % 2 else other)
    assert len(client.get("/products", params={"limit": 100}).json()["items"]) == 5
    with_five = statements_for_listing()

    for i in range(95):
        make_product(db, make_category(db) if i % 10 == 0 else category)
    assert len(client.get("/products", params={"limit": 100}).json()["items"]) == 100
    assert statements_for_listing() == with_five


# --- discount ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("price", "mrp", "percent"),
    [
        (750, 1000, 25),
        (1000, 1000, 0),
        (0, 0, 0),
        (0, 1000, 100),
        (875, 1000, 13),  # 12.5 rounds half up
        (874, 1000, 13),
        (876, 1000, 12),
        (2, 3, 33),
    ],
)
def test_discount_percent_is_rounded_half_up(price, mrp, percent):
    assert discount_percent(price, mrp) == percent


# --- detail --------------------------------------------------------------------------------


def test_detail_by_id_and_by_slug(client, db, category):
    product = make_product(
        db,
        category,
        slug="gut-check",
        description="All about your microbiome.",
        tags=["gut", "microbiome"],
        price_paise=300_000,
        mrp_paise=400_000,
    )
    by_id = client.get(f"/products/{product.id}")
    by_slug = client.get("/products/gut-check")
    assert by_id.status_code == 200, by_id.text
    assert by_id.json() == by_slug.json()
    body = by_id.json()
    assert set(body) == LIST_FIELDS | {"description", "tags", "required_consents"}
    assert body["description"] == "All about your microbiome."
    assert body["tags"] == ["gut", "microbiome"]
    assert body["required_consents"] == []
    assert body["discount_percent"] == 25
    assert body["category"] == {"id": category.id, "slug": category.slug, "name": category.name}


def test_inactive_product_is_not_found_by_id_or_slug(client, db, category):
    product = make_product(db, category, slug="retired", is_active=False)
    assert_error(client.get(f"/products/{product.id}"), 404, "product_not_found")
    assert_error(client.get("/products/retired"), 404, "product_not_found")


@pytest.mark.parametrize("ref", ["999999", "no-such-test", "99999999999999999999", "0"])
def test_unknown_product_is_not_found(client, ref):
    assert_error(client.get(f"/products/{ref}"), 404, "product_not_found")


# --- admin create --------------------------------------------------------------------------


def product_body(category_id: int, /, **overrides: object) -> dict:
    body = {
        "name": "Family Planning Couple",
        "category_id": category_id,
        "plan_type": "couple",
        "price_paise": 1_500_000,
        "mrp_paise": 2_000_000,
        "short_description": "Carrier screening for two",
        "description": "Screens both partners for 300 conditions.",
        "images": ["https://cdn.example/fp.jpg", "/media/products/fp.png"],
        "tags": ["carrier", "IVF"],
        "sample_type": "saliva",
        "turnaround_days": 30,
    }
    body.update(overrides)
    return body


def test_admin_creates_a_product(client, db, admin, category):
    response = client.post("/products", json=product_body(category.id), headers=admin.headers)

    assert response.status_code == 201, response.text
    body = response.json()
    assert body["slug"] == "family-planning-couple"
    assert (body["min_members"], body["max_members"]) == (2, 2)
    assert body["discount_percent"] == 25
    assert body["category"] == {"id": category.id, "slug": category.slug, "name": category.name}
    assert body["category_id"] == category.id
    assert body["is_active"] is True
    assert body["tags"] == ["carrier", "IVF"]
    assert body["required_consents"] == []
    assert body["created_at"] and body["updated_at"]

    assert slugs(client.get("/products", params={"q": "ivf"})) == ["family-planning-couple"]
    [entry] = audit_entries(db, "product.created")
    assert entry.entity_type == "product"
    assert entry.entity_id == str(body["id"])
    assert entry.actor_user_id == admin.user_id
    assert entry.changes["name"] == "Family Planning Couple"
    assert entry.changes["price_paise"] == 1_500_000
    assert entry.changes["category_id"] == category.id
    assert entry.changes["tags"] == ["carrier", "IVF"]


def test_create_defaults_members_to_the_plan_and_mrp_to_the_price(client, admin, category):
    body = product_body(category.id, plan_type="family", slug="fam")
    del body["mrp_paise"]
    response = client.post("/products", json=body, headers=admin.headers)
    assert response.status_code == 201, response.text
    created = response.json()
    assert (created["min_members"], created["max_members"]) == (3, 4)
    assert created["mrp_paise"] == created["price_paise"]
    assert created["discount_percent"] == 0


def test_create_allows_a_free_product_and_a_narrowed_family_plan(client, admin, category):
    body = product_body(
        category.id, plan_type="family", min_members=4, max_members=4, price_paise=0, mrp_paise=0
    )
    response = client.post("/products", json=body, headers=admin.headers)
    assert response.status_code == 201, response.text
    assert (response.json()["min_members"], response.json()["max_members"]) == (4, 4)


def test_inactive_product_can_be_created_and_stays_hidden(client, admin, category):
    body = product_body(category.id, is_active=False)
    response = client.post("/products", json=body, headers=admin.headers)
    assert response.status_code == 201
    assert client.get("/products").json()["total"] == 0


def test_create_with_unknown_category_is_invalid_category(client, db, admin):
    response = client.post("/products", json=product_body(999_999), headers=admin.headers)
    assert_error(response, 422, "invalid_category")
    assert audit_entries(db, "product.created") == []


@pytest.mark.parametrize(
    ("plan_type", "min_members", "max_members"),
    [
        ("single", 1, 2),
        ("single", 2, 2),
        ("couple", 1, 2),
        ("couple", 2, 3),
        ("family", 2, 4),
        ("family", 3, 5),
        ("family", 4, 3),
        ("family", 0, 3),
        ("single", -1, 1),
    ],
)
def test_members_outside_the_plan_are_refused(
    client, admin, category, plan_type, min_members, max_members
):
    body = product_body(
        category.id, plan_type=plan_type, min_members=min_members, max_members=max_members
    )
    response = client.post("/products", json=body, headers=admin.headers)
    assert_error(response, 422, "invalid_plan_members")


def test_only_one_bound_given_is_checked_against_the_plan(client, admin, category):
    body = product_body(category.id, plan_type="family", max_members=3)
    response = client.post("/products", json=body, headers=admin.headers)
    assert response.status_code == 201, response.text
    assert (response.json()["min_members"], response.json()["max_members"]) == (3, 3)
    body = product_body(category.id, slug="other", plan_type="couple", min_members=1)
    assert_error(
        client.post("/products", json=body, headers=admin.headers), 422, "invalid_plan_members"
    )


@pytest.mark.parametrize(
    "prices",
    [
        {"price_paise": 2_000_000, "mrp_paise": 1_999_999},
        {"price_paise": -1},
        {"price_paise": 100, "mrp_paise": -5},
        {"price_paise": 10**12},
    ],
)
def test_bad_prices_are_refused(client, admin, category, prices):
    body = product_body(category.id, **prices)
    assert_error(client.post("/products", json=body, headers=admin.headers), 422, "invalid_price")


def test_duplicate_slug_is_refused(client, db, admin, category):
    make_product(db, category, slug="family-planning-couple")
    response = client.post("/products", json=product_body(category.id), headers=admin.headers)
    assert_error(response, 409, "product_exists")


@pytest.mark.parametrize(("field", "value"), [("slug", "Bad Slug"), ("name", "!!!")])
def test_unusable_slug_is_refused(client, admin, category, field, value):
    body = product_body(category.id, **{field: value})
    assert_error(client.post("/products", json=body, headers=admin.headers), 422, "invalid_slug")


@pytest.mark.parametrize(
    "overrides",
    [
        {"name": ""},
        {"name": "x" * 201},
        {"plan_type": "group"},
        {"sample_type": "hair"},
        {"turnaround_days": 0},
        {"images": ["ftp://cdn.example/x.jpg"]},
        {"images": ["https://cdn.example/x.jpg"] * 11},
        {"tags": ["x" * 41]},
        {"short_description": "x" * 301},
        {"category_id": 0},
        {"colour": "blue"},
    ],
)
def test_invalid_product_input_is_a_validation_error(client, admin, category, overrides):
    body = product_body(category.id, **overrides)
    assert_error(
        client.post("/products", json=body, headers=admin.headers), 422, "validation_error"
    )


# --- admin update --------------------------------------------------------------------------


def test_admin_updates_only_the_fields_sent(client, db, admin, category):
    product = make_product(db, category, name="Gut", slug="gut", price_paise=100, mrp_paise=200)
    old_description = product.description
    response = client.put(
        f"/products/{product.id}",
        json={"price_paise": 150, "tags": ["microbiome"], "description": None},
        headers=admin.headers,
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["name"], body["slug"], body["mrp_paise"]) == ("Gut", "gut", 200)
    assert body["price_paise"] == 150
    assert body["discount_percent"] == 25
    assert body["description"] is None
    assert slugs(client.get("/products", params={"q": "MICROBIOME"})) == ["gut"]

    [entry] = audit_entries(db, "product.updated")
    assert entry.entity_id == str(product.id)
    assert entry.actor_user_id == admin.user_id
    assert entry.changes == {
        "price_paise": {"old": 100, "new": 150},
        "tags": {"old": [], "new": ["microbiome"]},
        "description": {"old": old_description, "new": None},
    }


def test_update_revalidates_prices_against_the_stored_values(client, db, admin, category):
    product = make_product(db, category, price_paise=100, mrp_paise=200)
    response = client.put(
        f"/products/{product.id}", json={"price_paise": 201}, headers=admin.headers
    )
    assert_error(response, 422, "invalid_price")
    response = client.put(f"/products/{product.id}", json={"mrp_paise": 99}, headers=admin.headers)
    assert_error(response, 422, "invalid_price")
    both = {"price_paise": 300, "mrp_paise": 300}
    assert (
        client.put(f"/products/{product.id}", json=both, headers=admin.headers).status_code == 200
    )


def test_update_revalidates_members_against_the_stored_plan(client, db, admin, category):
    product = make_product(db, category, plan_type="family")
    response = client.put(f"/products/{product.id}", json={"min_members": 2}, headers=admin.headers)
    assert_error(response, 422, "invalid_plan_members")
    response = client.put(f"/products/{product.id}", json={"min_members": 4}, headers=admin.headers)
    assert response.status_code == 200, response.text
    assert (response.json()["min_members"], response.json()["max_members"]) == (4, 4)


def test_changing_the_plan_resets_members_unless_given(client, db, admin, category):
    product = make_product(db, category, plan_type="single")
    response = client.put(
        f"/products/{product.id}", json={"plan_type": "family"}, headers=admin.headers
    )
    assert response.status_code == 200, response.text
    assert (response.json()["min_members"], response.json()["max_members"]) == (3, 4)
    response = client.put(
        f"/products/{product.id}",
        json={"plan_type": "couple", "min_members": 1},
        headers=admin.headers,
    )
    assert_error(response, 422, "invalid_plan_members")


def test_update_moves_a_product_to_another_category(client, db, admin, category):
    gut = make_category(db, name="Gut", slug="gut")
    product = make_product(db, category)
    response = client.put(
        f"/products/{product.id}", json={"category_id": gut.id}, headers=admin.headers
    )
    assert response.status_code == 200, response.text
    assert response.json()["category"] == {"id": gut.id, "slug": "gut", "name": "Gut"}
    assert slugs(client.get("/products", params={"category": "gut"})) == [product.slug]
    [entry] = audit_entries(db, "product.updated")
    assert entry.changes == {"category_id": {"old": category.id, "new": gut.id}}


def test_update_to_unknown_category_is_invalid_category(client, db, admin, category):
    product = make_product(db, category)
    response = client.put(
        f"/products/{product.id}", json={"category_id": 999_999}, headers=admin.headers
    )
    assert_error(response, 422, "invalid_category")


def test_update_to_a_taken_slug_is_refused(client, db, admin, category):
    make_product(db, category, slug="taken")
    product = make_product(db, category, slug="mine")
    response = client.put(f"/products/{product.id}", json={"slug": "taken"}, headers=admin.headers)
    assert_error(response, 409, "product_exists")


def test_update_can_reactivate_an_inactive_product(client, db, admin, category):
    product = make_product(db, category, is_active=False)
    response = client.put(
        f"/products/{product.id}", json={"is_active": True}, headers=admin.headers
    )
    assert response.status_code == 200, response.text
    assert client.get(f"/products/{product.id}").status_code == 200


def test_update_that_changes_nothing_writes_no_audit_entry(client, db, admin, category):
    product = make_product(db, category, name="Same")
    response = client.put(f"/products/{product.id}", json={"name": "Same"}, headers=admin.headers)
    assert response.status_code == 200
    assert audit_entries(db, "product.updated") == []


def test_update_of_unknown_product_is_not_found(client, admin):
    response = client.put("/products/999999", json={"name": "X"}, headers=admin.headers)
    assert_error(response, 404, "product_not_found")


@pytest.mark.parametrize(
    "body",
    [{"name": None}, {"price_paise": None}, {"plan_type": None}, {"images": None}, {"x": 1}],
)
def test_update_refuses_null_for_required_fields_and_unknown_fields(
    client, db, admin, category, body
):
    product = make_product(db, category)
    response = client.put(f"/products/{product.id}", json=body, headers=admin.headers)
    assert_error(response, 422, "validation_error")


# --- admin deactivate ----------------------------------------------------------------------


def test_delete_deactivates_and_hides_the_product(client, db, admin, category):
    product = make_product(db, category, slug="going")
    response = client.delete(f"/products/{product.id}", headers=admin.headers)
    assert response.status_code == 204
    assert response.content == b""

    db.expire_all()
    assert db.get(Product, product.id).is_active is False
    assert client.get("/products").json()["total"] == 0
    assert_error(client.get("/products/going"), 404, "product_not_found")
    [entry] = audit_entries(db, "product.deactivated")
    assert entry.entity_id == str(product.id)
    assert entry.actor_user_id == admin.user_id
    assert entry.changes == {"is_active": {"old": True, "new": False}}


def test_deactivated_product_no_longer_counts_in_its_category(client, db, admin, category):
    product = make_product(db, category)
    make_product(db, category)
    client.delete(f"/products/{product.id}", headers=admin.headers)
    [listed] = client.get("/categories").json()
    assert listed["product_count"] == 1


def test_delete_twice_is_harmless_and_audited_once(client, db, admin, category):
    product = make_product(db, category)
    assert client.delete(f"/products/{product.id}", headers=admin.headers).status_code == 204
    assert client.delete(f"/products/{product.id}", headers=admin.headers).status_code == 204
    assert len(audit_entries(db, "product.deactivated")) == 1


def test_delete_of_unknown_product_is_not_found(client, admin):
    assert_error(client.delete("/products/999999", headers=admin.headers), 404, "product_not_found")


# --- who may call what ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("post", "/products", {"name": "X"}),
        ("put", "/products/1", {"name": "X"}),
        ("delete", "/products/1", None),
    ],
)
def test_admin_routes_need_a_login_and_an_admin(client, db, customer, method, path, body):
    kwargs = {"json": body} if body is not None else {}
    assert_error(client.request(method, path, **kwargs), 401, "not_authenticated")
    assert_error(
        client.request(method, path, headers=customer.headers, **kwargs), 403, "admin_required"
    )
