"""The demo seed builds a working shop, and running it again changes nothing."""

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from Address_module.locations import read_locations_csv
from Address_module.models import ServiceableLocation
from Consent_module.queries import required_consents
from Product_module.models import PLAN_MEMBER_RANGES, Product
from scripts.demo_catalogue import DEMO_BANNERS, DEMO_PRODUCTS
from scripts.seed_demo import seed_demo
from tests.support.login import login

EXPECTED_NAMES = {
    "My genes",
    "Gut",
    "Biomarkers",
    "Multi-modal",
    "Donate sperm",
    "Donate egg",
    "Receive sperm",
    "Receive egg",
    "Family tree",
    "Family planning",
    "Child simulator",
    "IVF",
    "Life",
    "Health",
    "Fitness",
    "Nutrition",
    "Food",
}


def test_seed_creates_the_product_line_with_consents(db: Session) -> None:
    summary = seed_demo(db)
    assert summary["products_created"] == len(EXPECTED_NAMES)
    assert {p.name for p in db.scalars(select(Product))} == EXPECTED_NAMES
    # 375 rows in the source data; BEGUSARAI and Begusarai are one city.
    unique_cities = {row.key for row in read_locations_csv()}
    assert len(unique_cities) == 374
    assert db.scalar(select(func.count()).select_from(ServiceableLocation)) == len(unique_cities)
    for product in db.scalars(select(Product)):
        low, high = PLAN_MEMBER_RANGES[product.plan_type]
        assert low <= product.min_members <= product.max_members <= high
        assert 0 < product.price_paise <= product.mrp_paise
        codes = {t.code for t in required_consents(db, product.id)}
        assert "platform_data_processing" in codes
        if product.plan_type == "couple":
            assert {"genetic_testing", "partner_consent"} <= codes


def test_seed_is_idempotent(db: Session) -> None:
    seed_demo(db)
    again = seed_demo(db)
    assert again == {
        "categories_created": 0,
        "locations_created": 0,
        "consent_types_created": 0,
        "products_created": 0,
        "consent_links_created": 0,
        "coupons_created": 0,
        "banners_created": 0,
    }
    assert db.scalar(select(func.count()).select_from(Product)) == len(DEMO_PRODUCTS)


def test_a_new_user_sees_a_working_shop(client: TestClient, db: Session) -> None:
    seed_demo(db)
    listing = client.get("/products", params={"limit": 100}).json()
    assert listing["total"] == len(EXPECTED_NAMES)
    simulator = client.get("/products/child-simulator").json()
    assert simulator["plan_type"] == "couple"
    assert {c["code"] for c in simulator["required_consents"]} == {
        "platform_data_processing",
        "genetic_testing",
        "partner_consent",
    }
    categories = client.get("/categories").json()
    assert sum(c["product_count"] for c in categories) == len(EXPECTED_NAMES)
    assert client.get("/address/serviceability", params={"city": "bangalore"}).json()["serviceable"]
    me = login(client, "+919876599999")
    coupons = client.get("/cart/coupons", headers=me.headers).json()
    assert [c["code"] for c in coupons] == ["WELCOME10"]


def test_the_demo_login_phone_also_sees_its_targeted_coupon(
    client: TestClient, db: Session
) -> None:
    seed_demo(db)
    assert client.post("/auth/send-otp", json={"phone": "9999900001"}).status_code == 200
    verified = client.post("/auth/verify-otp", json={"phone": "9999900001", "otp": "123456"})
    headers = {"Authorization": f"Bearer {verified.json()['access_token']}"}
    coupons = client.get("/cart/coupons", headers=headers).json()
    assert [c["code"] for c in coupons] == ["FAMILY15", "WELCOME10"]


def test_a_new_user_sees_two_home_banners_leading_into_the_shop(
    client: TestClient, db: Session
) -> None:
    assert seed_demo(db)["banners_created"] == len(DEMO_BANNERS) == 2
    banners = client.get("/banners", params={"platform": "app"}).json()["items"]
    assert [b["action"] for b in banners] == [
        {"type": "product", "value": "child-simulator"},
        {"type": "category", "value": "wellness-lifestyle"},
    ]
    for banner in banners:
        picture = client.get(banner["image_url"])
        assert picture.status_code == 200
        assert picture.headers["content-type"] == "image/png"
    assert client.get("/products/child-simulator").status_code == 200
    shelves = {c["slug"]: c["product_count"] for c in client.get("/categories").json()}
    assert shelves["wellness-lifestyle"] > 0


def test_seed_keeps_what_an_admin_changed(db: Session) -> None:
    seed_demo(db)
    location = db.scalar(select(ServiceableLocation).where(ServiceableLocation.city == "DELHI"))
    location.home_collection = False
    product = db.scalar(select(Product).where(Product.slug == "gut"))
    product.price_paise = 100_00
    db.flush()
    seed_demo(db)
    db.refresh(location)
    db.refresh(product)
    assert location.home_collection is False
    assert product.price_paise == 100_00
