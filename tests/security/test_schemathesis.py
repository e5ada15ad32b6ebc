"""Schemathesis against the app's own OpenAPI schema: every documented operation is called with
generated input, valid and invalid (odd unicode, huge numbers, nulls, empty strings, wrong
types), as a user and as an admin. Every answer must be a documented status whose body and
content type match the schema, and never a 5xx.

In-process: the schema is the app's own `openapi()` and requests go through schemathesis' ASGI
client straight into `main.app`, without a server or the app's lifespan (the harness built the
database already; the lifespan would run the migrations on it).

Each operation is one pytest test inside the usual rolled-back transaction (`db`): the examples
of one operation share a world — the demo shop (`seed_demo`, committed once for the module), a
user with a member, an address, consents, a cart and a placed order, a pending consent request,
an admin, a connected counsellor — and nothing an operation does outlives its test. Half of the
examples are pointed at that world (real ids, a valid phone and pincode) so they get past the
lookups and validation and reach the services and the database; the other half stay as
generated.

Nothing is excluded: operations with side effects (logout, erasure, session revocation, webhooks,
the Google OAuth routes, against the local fakes of Razorpay and Google) are fuzzed like the
rest; a caller whose token stops working (logged out, revoked, erased) logs in again.
"""

import os
import time
import uuid
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import hypothesis
import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck
from schemathesis.checks import not_a_server_error
from schemathesis.python.asgi import get_client
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from Address_module.models import ServiceableLocation
from Banner_module.models import Banner
from Cart_module.models import Coupon, CouponAllowedEntry
from config import Settings
from Consent_module.models import ConsentGrant, ConsentType
from gmeet_api import rate_limits as gmeet_rate_limits
from main import app
from Product_module.models import Product
from scripts.demo_catalogue import TARGETED_COUPON
from scripts.seed_demo import seed_demo
from tests.fakes.google import FakeGoogle
from tests.fakes.razorpay import FakeRazorpay
from tests.support.consent import consent_sms
from tests.support.database import empty_every_table
from tests.support.enquiry import send_enquiry
from tests.support.factories.address import make_address
from tests.support.factories.cart import add_to_cart
from tests.support.factories.consent import grant_all_required
from tests.support.factories.gmeet import make_counsellor
from tests.support.factories.member import make_member
from tests.support.login import login

USER_PHONE = "+919999900001"
ADMIN_PHONE = "+919000000001"  # in ADMIN_PHONES
# Random examples per operation (plus the schema's examples and boundary cases that schemathesis
# always adds); each example is sent twice, as the user and as the admin. Sized so the whole run
# stays within about a minute and a half on MariaDB (108 operations).
MAX_EXAMPLES = int(os.environ.get("SCHEMATHESIS_MAX_EXAMPLES", "10"))
# CI fuzzes once, on its MariaDB pass; its SQLite pass sets SCHEMATHESIS=off (same app, same
# schema: a second run would find nothing new and costs two minutes).
pytestmark = pytest.mark.skipif(
    os.environ.get("SCHEMATHESIS") == "off", reason="SCHEMATHESIS=off (fuzzed on the other pass)"
)
BASE_URL = "http://testserver"

# What "answers as documented" means. Not included: `negative_data_rejection` (invalid input
# must be refused): pydantic's lax mode accepts 0/1 for booleans, Unix times for dates and
# numeric strings for numbers, FastAPI ignores unknown query parameters, and the Authorization
# header the check believes missing is the one this test adds; none of that is unsafe, and
# strict mode is not an option because FastAPI validates decoded JSON in Python mode, where a
# strict date refuses its ISO string. `positive_data_acceptance` and the stateful checks need
# valid business data (a real OTP, a signed payment) that a generator cannot produce.
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]

schema = schemathesis.openapi.from_dict(app.openapi())
schema.config.generation.update(max_examples=MAX_EXAMPLES)
# A fixed seed keeps CI reproducible; SCHEMATHESIS_SEED=<n> explores other inputs locally.
schema.config.seed = int(os.environ.get("SCHEMATHESIS_SEED", "20261125"))


@dataclass
class Tally:
    operations: int = 0
    requests: int = 0
    started: float = 0.0


TALLY = Tally()


@dataclass
class Caller:
    phone: str
    token: str | None = None

    def headers(self, client: TestClient) -> dict[str, str]:
        if self.token is None:
            self.token = login(client, self.phone).access_token
        return {"Authorization": f"Bearer {self.token}"}


@dataclass
class World:
    client: TestClient
    callers: list[Caller]
    # Field or parameter name -> a value that exists in this world (ids of the user's things).
    real: dict[str, Any]


# Values generators cannot guess (they must be consistent with each other or with the country).
PLAUSIBLE: dict[str, Any] = {
    "phone": "+919876500077",
    "contact_phone": "+919876500078",
    "patient_phone": "+919876500079",
    "technician_phone": "+919876500080",
    "city": "BANGALORE",
    "state": "Karnataka",
    "pincode": "560038",
    "date_of_birth": "1990-05-17",
}


def with_real_values(case: schemathesis.Case, real: dict[str, Any]) -> None:
    """Point the case at things that exist: path and query ids, and body fields of the same
    names (also inside lists of objects, e.g. the members of a cart line). Other fields stay as
    generated, so odd text still reaches the database."""

    def overlay(value: Any) -> Any:
        if isinstance(value, dict):
            return {
                key: real[key] if key in real else overlay(inner) for key, inner in value.items()
            }
        if isinstance(value, list):
            return [overlay(inner) for inner in value]
        return value

    for container in (case.path_parameters, case.query):
        if container:
            for key in container:
                if key in real:
                    container[key] = real[key]
    if isinstance(case.body, dict | list):
        case.body = overlay(case.body)


def half_of_the_examples(case: schemathesis.Case) -> bool:
    """Decided by the generated data itself, so a replayed example decides the same way."""
    seen = repr((case.path_parameters, case.query, case.body))
    return zlib.crc32(seen.encode("utf-8", "surrogatepass")) % 2 == 0


def generous_limits(settings_: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    """Fuzzing sends far more than a person would; the limits have their own tests."""
    for name in (
        "OTP_MAX_REQUESTS_PER_HOUR",
        "OTP_MAX_REQUESTS_PER_IP_PER_HOUR",
        "OTP_MAX_VERIFY_PER_IP_PER_HOUR",
        "COUPON_ATTEMPTS_PER_HOUR",
        "ENQUIRY_MAX_PER_IP_PER_HOUR",
        "ENQUIRY_MAX_PER_PHONE_PER_DAY",
        "ENQUIRY_MAX_PER_EMAIL_PER_DAY",
        "NEWSLETTER_SUBSCRIBES_PER_IP_PER_HOUR",
        "NEWSLETTER_SUBSCRIBES_PER_ADDRESS_PER_DAY",
        "PRIVACY_CHOICES_PER_IP_PER_HOUR",
        "PRIVACY_LOOKUPS_PER_IP_PER_HOUR",
    ):
        monkeypatch.setattr(settings_, name, 1_000_000)
    monkeypatch.setattr(settings_, "OTP_RESEND_COOLDOWN_SECONDS", 0)
    monkeypatch.setattr(gmeet_rate_limits, "CONNECT_STARTS_PER_IP_PER_HOUR", 1_000_000)
    monkeypatch.setattr(gmeet_rate_limits, "AVAILABILITY_CHECKS_PER_IP_PER_MINUTE", 1_000_000)


@pytest.fixture(scope="module", autouse=True)
def figures(request: pytest.FixtureRequest) -> Iterator[None]:
    """One line in the test log with what was run: operations, requests, seconds."""
    TALLY.started = time.perf_counter()
    yield
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    if reporter is None or capture is None or not TALLY.operations:
        return
    elapsed = time.perf_counter() - TALLY.started
    with capture.global_and_fixture_disabled():
        reporter.write_line(
            f"\nschemathesis: {TALLY.operations} operations, {TALLY.requests} requests "
            f"(user and admin), {elapsed:.0f} s"
        )


@pytest.fixture(scope="module")
def demo_shop(migrated_database: Engine) -> Iterator[None]:
    """The demo shop, committed once for all operations (what an operation changes in it is
    rolled back with its test, like everything else); every table is emptied afterwards."""
    with Session(migrated_database) as session:
        seed_demo(session)
        session.commit()
    yield
    empty_every_table(migrated_database)


@pytest.fixture
def world(
    demo_shop: None,
    client: TestClient,
    db: Session,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    razorpay: FakeRazorpay,
    google: FakeGoogle,
) -> World:
    generous_limits(settings, monkeypatch)
    user, admin = Caller(USER_PHONE), Caller(ADMIN_PHONE)
    headers = user.headers(client)
    user_id = client.get("/auth/me", headers=headers).json()["id"]
    admin.headers(client)
    product = db.scalars(
        select(Product).where(Product.plan_type == "single").order_by(Product.id)
    ).first()
    assert product is not None
    address = make_address(db, user_id)
    member = make_member(db, user_id, name="Asha", relation="self")
    grant_all_required(db, user_id, member, product)
    add_to_cart(client, headers, product.id, [(member.id, address.id)])
    placed = client.post("/orders", headers=headers)
    assert placed.status_code == 201, placed.text
    counsellor = make_counsellor(db, google)
    cart_item = client.get("/cart", headers=headers).json()["items"][0]["id"]
    session_id = client.get("/sessions", headers=headers).json()["sessions"][0]["id"]
    # A pending consent request to an adult member, and its link's token from the SMS.
    code = db.scalar(select(ConsentType.code).order_by(ConsentType.id))
    spouse = make_member(db, user_id, name="Vikram", phone=PLAUSIBLE["phone"])
    asked = client.post(
        "/consent/requests", json={"member_id": spouse.id, "codes": [code]}, headers=headers
    )
    assert asked.status_code == 201, asked.text
    enquiry = send_enquiry(client)
    # The demo's targeted coupon (its allow-list has an entry) and a visitor's privacy receipt.
    targeted = db.scalar(select(Coupon.id).where(Coupon.code == TARGETED_COUPON["code"]))
    entry = db.scalar(select(CouponAllowedEntry.id).where(CouponAllowedEntry.coupon_id == targeted))
    visitor = str(uuid.uuid4())
    chose = client.post(
        "/privacy/choices",
        json={"visitor_id": visitor, "analytics": True, "location": False, "policy_version": "1"},
    )
    assert chose.status_code == 201, chose.text
    real = {
        **PLAUSIBLE,
        "member_id": member.id,
        "address_id": address.id,
        "item_id": cart_item,
        "order_id": placed.json()["order"]["id"],
        "product_id": product.id,
        "product_ref": product.slug,
        "category_id": product.category_id,
        "grant_id": db.scalar(select(ConsentGrant.id).where(ConsentGrant.user_id == user_id)),
        "code": code,
        "session_id": session_id,
        "coupon_id": targeted,
        "entry_id": entry,
        "visitor_id": visitor,
        "banner_id": db.scalar(select(Banner.id).order_by(Banner.id)),  # the demo's first banner
        "location_id": db.scalar(select(ServiceableLocation.id).order_by(ServiceableLocation.id)),
        "counsellor_id": counsellor.counsellor_id,
        "request_id": asked.json()["id"],
        "enquiry_id": enquiry["id"],
        "token": consent_sms(PLAUSIBLE["phone"]).token,
    }
    TALLY.operations += 1
    return World(client, [user, admin], real)


@schema.parametrize()
@hypothesis.settings(
    suppress_health_check=list(HealthCheck), deadline=timedelta(seconds=10), database=None
)
def test_api_answers_as_documented(case: schemathesis.Case, world: World) -> None:
    if half_of_the_examples(case):
        with_real_values(case, world.real)
    session = get_client(app)
    for caller in world.callers:
        response = case.call_and_validate(
            base_url=BASE_URL,
            session=session,
            headers=caller.headers(world.client),
            checks=CHECKS,
        )
        TALLY.requests += 1
        if response.status_code == 401:
            caller.token = None  # logged out, revoked or erased by an earlier example
