"""Categories through HTTP: the public list, admin create/update, bootstrap of the defaults."""

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from Audit_module.models import AuditLog
from Category_module import service as category_service
from Category_module.defaults import DEFAULT_CATEGORIES
from Category_module.errors import CategoryExists
from Category_module.models import Category
from core.response_cache import catalogue_cache
from tests.support.database import counting_statements
from tests.support.factories.category import make_category
from tests.support.factories.product import make_product
from tests.support.http import assert_error


def audit_entries(db: Session, action: str) -> list[AuditLog]:
    db.expire_all()
    return list(db.scalars(select(AuditLog).where(AuditLog.action == action)).all())


# --- GET /categories -----------------------------------------------------------------------


def test_list_shows_active_categories_in_sort_order_with_active_product_counts(client, db):
    genes = make_category(db, name="Genes", slug="genes", sort_order=2)
    gut = make_category(db, name="Gut", slug="gut", sort_order=1, description=None)
    make_category(db, name="Hidden", slug="hidden", is_active=False)
    make_product(db, genes)
    make_product(db, genes)
    make_product(db, genes, is_active=False)

    response = client.get("/categories")

    assert response.status_code == 200, response.text
    assert response.json() == [
        {"id": gut.id, "name": "Gut", "slug": "gut", "description": None, "product_count": 0},
        {
            "id": genes.id,
            "name": "Genes",
            "slug": "genes",
            "description": genes.description,
            "product_count": 2,
        },
    ]


def test_list_breaks_sort_order_ties_by_name(client, db):
    make_category(db, name="Beta", slug="beta")
    make_category(db, name="Alpha", slug="alpha")
    assert [c["slug"] for c in client.get("/categories").json()] == ["alpha", "beta"]


def test_list_is_public_and_empty_without_categories(client):
    response = client.get("/categories")
    assert response.status_code == 200
    assert response.json() == []


def test_list_uses_the_same_number_of_queries_however_many_categories(client, db):
    def statements_for_list() -> int:
        catalogue_cache.bump()  # measure the route itself, not the cached answer
        with counting_statements() as statements:
            assert client.get("/categories").status_code == 200
        return len(statements)

    for _ in range(2):
        make_product(db, make_category(db))
    few = statements_for_list()
    for _ in range(20):
        category = make_category(db)
        make_product(db, category)
        make_product(db, category)
    assert len(client.get("/categories").json()) == 22
    assert statements_for_list() == few


# --- POST /categories ----------------------------------------------------------------------


def test_admin_creates_category_with_slug_derived_from_name(client, db, admin):
    response = client.post(
        "/categories",
        json={"name": "  Reproductive Health & Fertility ", "description": "Plan ahead."},
        headers=admin.headers,
    )

    assert response.status_code == 201, response.text
    body = response.json()
    assert body["name"] == "Reproductive Health & Fertility"
    assert body["slug"] == "reproductive-health-fertility"
    assert body["description"] == "Plan ahead."
    assert body["is_active"] is True
    assert body["sort_order"] == 0
    assert db.get(Category, body["id"]) is not None
    [entry] = audit_entries(db, "category.created")
    assert entry.entity_type == "category"
    assert entry.entity_id == str(body["id"])
    assert entry.actor_user_id == admin.user_id
    assert entry.changes == {
        "name": "Reproductive Health & Fertility",
        "slug": "reproductive-health-fertility",
        "description": "Plan ahead.",
        "is_active": True,
        "sort_order": 0,
    }


def test_admin_creates_category_with_explicit_slug_and_order(client, admin):
    response = client.post(
        "/categories",
        json={"name": "Gut", "slug": "gut-health", "sort_order": 5, "is_active": False},
        headers=admin.headers,
    )
    assert response.status_code == 201, response.text
    assert response.json()["slug"] == "gut-health"
    assert response.json()["sort_order"] == 5
    assert client.get("/categories").json() == []


def test_accented_name_folds_to_ascii_slug(client, admin):
    response = client.post("/categories", json={"name": "Santé génétique"}, headers=admin.headers)
    assert response.status_code == 201, response.text
    assert response.json()["slug"] == "sante-genetique"


def test_duplicate_category_name_is_refused_case_insensitively(client, db, admin):
    make_category(db, name="Gut & microbiome", slug="gut")
    response = client.post(
        "/categories", json={"name": "GUT & MICROBIOME", "slug": "other"}, headers=admin.headers
    )
    assert_error(response, 409, "category_exists")
    assert audit_entries(db, "category.created") == []


def test_duplicate_category_slug_is_refused(client, db, admin):
    make_category(db, name="Gut", slug="gut-microbiome")
    response = client.post("/categories", json={"name": "Gut & microbiome"}, headers=admin.headers)
    assert_error(response, 409, "category_exists")


def test_duplicate_that_slips_past_the_check_is_refused_by_the_unique_key(db, monkeypatch):
    make_category(db, name="Genes", slug="genes")
    monkeypatch.setattr(category_service, "_find_duplicate", lambda *args, **kwargs: None)

    with pytest.raises(CategoryExists):
        category_service.create_category(db, actor_user_id=None, name="Genes")

    # The savepoint was rolled back: the session is still usable and holds only the original.
    assert db.scalars(select(Category.name)).all() == ["Genes"]


@pytest.mark.parametrize("name", ["!!!", "१२३", "2024"])
def test_name_without_usable_slug_needs_an_explicit_slug(client, admin, name):
    assert_error(
        client.post("/categories", json={"name": name}, headers=admin.headers), 422, "invalid_slug"
    )
    response = client.post(
        "/categories", json={"name": name, "slug": "special"}, headers=admin.headers
    )
    assert response.status_code == 201, response.text


@pytest.mark.parametrize("slug", ["Upper", "two words", "double--hyphen", "-edge", "123", "a_b"])
def test_malformed_slug_is_refused(client, admin, slug):
    response = client.post(
        "/categories", json={"name": "Fine", "slug": slug}, headers=admin.headers
    )
    assert_error(response, 422, "invalid_slug")


def test_overlong_slug_is_a_validation_error(client, admin):
    response = client.post(
        "/categories", json={"name": "Fine", "slug": "x" * 141}, headers=admin.headers
    )
    assert_error(response, 422, "validation_error")


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"name": ""},
        {"name": "   "},
        {"name": "x" * 121},
        {"name": "Ok", "description": "x" * 2001},
        {"name": "Ok", "sort_order": 10**7},
        {"name": "Ok", "colour": "red"},
    ],
)
def test_invalid_category_input_is_a_validation_error(client, admin, body):
    assert_error(
        client.post("/categories", json=body, headers=admin.headers), 422, "validation_error"
    )


# --- PUT /categories/{id} ------------------------------------------------------------------


def test_admin_updates_only_the_fields_sent_and_keeps_the_slug_on_rename(client, db, admin):
    category = make_category(db, name="Genes", slug="genes", description="Old", sort_order=3)

    response = client.put(
        f"/categories/{category.id}", json={"name": "Genetic health"}, headers=admin.headers
    )

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["name"] == "Genetic health"
    assert body["slug"] == "genes"
    assert body["description"] == "Old"
    assert body["sort_order"] == 3
    [entry] = audit_entries(db, "category.updated")
    assert entry.entity_id == str(category.id)
    assert entry.actor_user_id == admin.user_id
    assert entry.changes == {"name": {"old": "Genes", "new": "Genetic health"}}


def test_admin_changes_slug_clears_description_and_deactivates(client, db, admin):
    category = make_category(db, name="Genes", slug="genes", description="Old")
    response = client.put(
        f"/categories/{category.id}",
        json={"slug": "genetic-health", "description": None, "is_active": False},
        headers=admin.headers,
    )
    assert response.status_code == 200, response.text
    assert response.json()["slug"] == "genetic-health"
    assert response.json()["description"] is None
    assert client.get("/categories").json() == []
    [entry] = audit_entries(db, "category.updated")
    assert set(entry.changes) == {"slug", "description", "is_active"}


def test_update_that_changes_nothing_writes_no_audit_entry(client, db, admin):
    category = make_category(db, name="Genes", slug="genes")
    response = client.put(
        f"/categories/{category.id}", json={"name": "Genes"}, headers=admin.headers
    )
    assert response.status_code == 200
    assert audit_entries(db, "category.updated") == []


def test_renaming_to_a_taken_name_or_slug_is_refused(client, db, admin):
    make_category(db, name="Genes", slug="genes")
    other = make_category(db, name="Gut", slug="gut")
    for body in ({"name": "genes"}, {"slug": "genes"}):
        response = client.put(f"/categories/{other.id}", json=body, headers=admin.headers)
        assert_error(response, 409, "category_exists")
    db.expire_all()
    assert (other.name, other.slug) == ("Gut", "gut")


def test_renaming_only_the_case_of_its_own_name_is_allowed(client, db, admin):
    category = make_category(db, name="gut", slug="gut")
    response = client.put(f"/categories/{category.id}", json={"name": "Gut"}, headers=admin.headers)
    assert response.status_code == 200, response.text
    assert response.json()["name"] == "Gut"


def test_update_of_unknown_category_is_not_found(client, admin):
    response = client.put("/categories/999999", json={"name": "X"}, headers=admin.headers)
    assert_error(response, 404, "category_not_found")


@pytest.mark.parametrize(
    "body", [{"name": None}, {"slug": None}, {"is_active": None}, {"sort_order": None}]
)
def test_update_refuses_null_for_required_fields(client, db, admin, body):
    category = make_category(db)
    response = client.put(f"/categories/{category.id}", json=body, headers=admin.headers)
    assert_error(response, 422, "validation_error")


def test_update_with_malformed_slug_is_refused(client, db, admin):
    category = make_category(db)
    response = client.put(
        f"/categories/{category.id}", json={"slug": "Not A Slug"}, headers=admin.headers
    )
    assert_error(response, 422, "invalid_slug")


# --- POST /categories/bootstrap ------------------------------------------------------------


def test_bootstrap_creates_the_defaults_once(client, db, admin):
    first = client.post("/categories/bootstrap", headers=admin.headers)
    assert first.status_code == 200, first.text
    assert first.json() == {"created": len(DEFAULT_CATEGORIES), "existing": 0}

    second = client.post("/categories/bootstrap", headers=admin.headers)
    assert second.json() == {"created": 0, "existing": len(DEFAULT_CATEGORIES)}

    listed = client.get("/categories").json()
    assert [c["slug"] for c in listed] == [d["slug"] for d in DEFAULT_CATEGORIES]
    assert all(c["product_count"] == 0 for c in listed)
    entries = audit_entries(db, "category.created")
    assert len(entries) == len(DEFAULT_CATEGORIES)
    assert {e.actor_user_id for e in entries} == {admin.user_id}


def test_bootstrap_counts_categories_that_already_exist_by_name_or_slug(client, db, admin):
    make_category(db, name="genetic HEALTH", slug="my-genes")
    make_category(db, name="Gut", slug="gut-microbiome")
    response = client.post("/categories/bootstrap", headers=admin.headers)
    assert response.json() == {"created": len(DEFAULT_CATEGORIES) - 2, "existing": 2}


# --- who may call what ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("post", "/categories", {"name": "X"}),
        ("put", "/categories/1", {"name": "X"}),
        ("post", "/categories/bootstrap", None),
    ],
)
def test_admin_routes_need_a_login_and_an_admin(client, customer, method, path, body):
    kwargs = {"json": body} if body is not None else {}
    assert_error(client.request(method, path, **kwargs), 401, "not_authenticated")
    assert_error(
        client.request(method, path, headers=customer.headers, **kwargs), 403, "admin_required"
    )
