"""Every request/response example of the integration guide is replayed, in order, against the
app; an example that drifts from what the API does fails here. The guide is the chapters under
docs/guide/ that FRONTEND_INTEGRATION_GUIDE.md links, read in the order it lists them.

In a chapter, a ```http block (method and path, headers, a blank line, a JSON body) is
followed by a ```json block whose first line is `// <status>`. In the expected JSON:
`"..."` matches anything, `"{{name}}"` matches anything and remembers it as `name`, and
`{{name}}` inside a request is replaced by what was remembered. Objects must have exactly
the keys shown. `<!-- setup: NAME -->` runs the named step of the story below first.
"""

import itertools
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from scripts.seed_demo import seed_demo
from tests.fakes.google import FakeGoogle
from tests.fakes.google_setup import Clock
from tests.fakes.razorpay import FakeRazorpay, sign_payment
from tests.support.consent import consent_sms
from tests.support.factories.gmeet import make_counsellor
from tests.support.login import ADMIN_PHONE, login
from tests.support.report import TO_THE_LAB, move_item, upload

ROOT = Path(__file__).resolve().parents[1]
GUIDE = ROOT / "FRONTEND_INTEGRATION_GUIDE.md"
CHAPTERS = ROOT / "docs" / "guide"
CHAPTER_LINK = re.compile(r"\]\((docs/guide/[\w.-]+\.md)\)")
BLOCK = re.compile(
    r"(<!-- setup: (?P<setup>\w+) -->\s*)?```(?P<kind>http|json)\n(?P<text>.*?)```", re.S
)
VARIABLE = re.compile(r"^\{\{(\w+)\}\}$")


def chapters() -> list[Path]:
    """The guide's chapters, in the order the index lists them."""
    return [ROOT / link for link in CHAPTER_LINK.findall(GUIDE.read_text())]


def examples() -> list[dict[str, Any]]:
    pairs = []
    for chapter in chapters():
        blocks = list(BLOCK.finditer(chapter.read_text()))
        for request, response in itertools.pairwise(blocks):
            if request["kind"] == "http" and response["kind"] == "json":
                pairs.append(
                    {
                        "chapter": chapter.name,
                        "setup": request["setup"],
                        "request": request["text"],
                        "response": response["text"],
                    }
                )
    return pairs


def substitute(text: str, known: dict[str, Any]) -> str:
    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        assert name in known, f"{{{{{name}}}}} is used before it is known"
        return str(known[name])

    return re.sub(r"\{\{(\w+)\}\}", value, text)


def parse_request(text: str) -> tuple[str, str, dict[str, str], str | None]:
    head, _, body = text.partition("\n\n")
    lines = head.strip().splitlines()
    method, path = lines[0].split(" ", 1)
    headers = dict(line.split(": ", 1) for line in lines[1:])
    return method, path.strip(), headers, body.strip() or None


def matches(expected: Any, actual: Any, known: dict[str, Any], where: str) -> None:
    if isinstance(expected, str):
        if expected == "...":
            return
        variable = VARIABLE.match(expected)
        if variable:
            known[variable.group(1)] = actual
            return
    if isinstance(expected, dict):
        assert isinstance(actual, dict), f"{where}: expected an object, got {actual!r}"
        assert set(expected) == set(actual), (
            f"{where}: keys differ: guide {sorted(expected)} vs API {sorted(actual)}"
        )
        for key, value in expected.items():
            matches(value, actual[key], known, f"{where}.{key}")
        return
    if isinstance(expected, list):
        if expected == ["..."]:
            return
        assert isinstance(actual, list) and len(actual) == len(expected), (
            f"{where}: expected {len(expected)} items, got {actual!r}"
        )
        for index, (want, got) in enumerate(zip(expected, actual, strict=True)):
            matches(want, got, known, f"{where}[{index}]")
        return
    assert expected == actual, f"{where}: guide says {expected!r}, API says {actual!r}"


def story_steps(
    client: TestClient, db: Session, google: FakeGoogle
) -> dict[str, Callable[[dict[str, Any]], None]]:
    """Things the guide's reader does outside our API (pay in Razorpay Checkout, ...)."""

    def razorpay_checkout(known: dict[str, Any]) -> None:
        known["razorpay_payment_id"] = "pay_DemoPayment0001"
        known["razorpay_signature"] = sign_payment(
            known["razorpay_order_id"], known["razorpay_payment_id"]
        )

    def partner_reads_sms(known: dict[str, Any]) -> None:
        """Vikram's phone gets the SMS; the link opens the consent page with its token."""
        sms = consent_sms("+919876543210")
        known["consent_token"], known["consent_code"] = sms.token, sms.code

    def remaining_consents(known: dict[str, Any]) -> None:
        headers = {"Authorization": f"Bearer {known['access_token']}"}
        for code in ("partner_consent", "platform_data_processing"):
            response = client.post(
                "/consent",
                headers=headers,
                json={"member_id": known["asha_id"], "code": code, "version": 1},
            )
            assert response.status_code == 201, response.text

    def pick_slot(known: dict[str, Any]) -> None:
        """The app shows the free windows and the user taps the first one."""
        headers = {"Authorization": f"Bearer {known['access_token']}"}
        order = client.get(f"/orders/{known['order_id']}", headers=headers).json()
        known["asha_item_id"], known["vikram_item_id"] = (i["id"] for i in order["items"])
        path = f"/orders/{known['order_id']}/collection-slots"
        [first, *_] = client.get(path, headers=headers).json()["slots"]
        known["slot_date"], known["slot_start"] = first["date"], first["start"]

    def report_uploaded(known: dict[str, Any]) -> None:
        """The lab (an admin) has the samples and uploads the first member's report."""
        admin = login(client, ADMIN_PHONE)
        order = client.get(f"/orders/{known['order_id']}", headers=admin.headers).json()
        first, second = (item["id"] for item in order["items"])
        for item in order["items"]:
            for status in TO_THE_LAB[TO_THE_LAB.index(item["status"]) + 1 :]:
                moved = move_item(client, admin, known["order_id"], item["id"], status)
                assert moved.status_code == 200, moved.text
        uploaded = upload(client, admin, known["order_id"], first)
        assert uploaded.status_code == 201, uploaded.text
        known["report_item_id"], known["pending_item_id"] = first, second

    def connected_counsellor(known: dict[str, Any]) -> None:
        make_counsellor(db, google)
        db.commit()

    return {
        "razorpay_checkout": razorpay_checkout,
        "partner_reads_sms": partner_reads_sms,
        "remaining_consents": remaining_consents,
        "pick_slot": pick_slot,
        "report_uploaded": report_uploaded,
        "connected_counsellor": connected_counsellor,
    }


def test_guide_has_examples() -> None:
    assert len(examples()) >= 10


def test_the_index_lists_every_chapter_once() -> None:
    listed = chapters()
    assert len(listed) == len(set(listed))
    assert sorted(listed) == sorted(CHAPTERS.glob("*.md"))


@pytest.fixture
def demo_shop(db: Session) -> None:
    seed_demo(db)


def test_every_example_in_the_guide_holds(
    client: TestClient,
    db: Session,
    demo_shop: None,
    razorpay: FakeRazorpay,
    google: FakeGoogle,
    clock: Clock,
) -> None:
    known: dict[str, Any] = {}
    steps = story_steps(client, db, google)
    for number, example in enumerate(examples(), start=1):
        if example["setup"]:
            steps[example["setup"]](known)
        method, path, headers, body = parse_request(substitute(example["request"], known))
        status_line, _, expected_text = example["response"].partition("\n")
        expected_status = int(status_line.removeprefix("//").split()[0])
        response = client.request(
            method, path, headers=headers, content=body.encode() if body else None
        )
        where = f"example {number} ({example['chapter']}: {method} {path})"
        assert response.status_code == expected_status, f"{where}: {response.text}"
        if expected_text.strip():
            matches(json.loads(expected_text), response.json(), known, where)
