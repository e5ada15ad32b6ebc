"""A local Razorpay API: orders and refunds, Basic-auth checked, every request recorded.

Also signs payments and webhooks exactly as Razorpay does, for the tests that play the client.
"""

import base64
import hashlib
import hmac
import json
import secrets
import string
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from tests.fakes.server import FakeResponse, FakeServer, RecordedRequest

KEY_ID = "rzp_test_fake"
KEY_SECRET = "fake-razorpay-key-secret"
WEBHOOK_SECRET = "fake-razorpay-webhook-secret"
ALPHABET = string.ascii_letters + string.digits
# A held order-create answers anyway after this, so a broken test cannot hang the suite.
GATE_LIMIT_SECONDS = 30.0


def _id(prefix: str) -> str:
    return prefix + "_" + "".join(secrets.choice(ALPHABET) for _ in range(14))


def sign_payment(razorpay_order_id: str, payment_id: str, secret: str = KEY_SECRET) -> str:
    """What Razorpay Checkout hands the frontend: HMAC-SHA256(order_id|payment_id, key secret)."""
    message = f"{razorpay_order_id}|{payment_id}".encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def sign_webhook(body: bytes, secret: str = WEBHOOK_SECRET) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def new_payment_id() -> str:
    return _id("pay")


def webhook_body(event: str, **entities: dict[str, Any]) -> bytes:
    """A Razorpay webhook body: `{"entity": "event", "event", "payload": {name: {"entity"}}}`."""
    payload = {name: {"entity": entity} for name, entity in entities.items()}
    return json.dumps(
        {
            "entity": "event",
            "account_id": "acc_fake",
            "event": event,
            "contains": list(entities),
            "payload": payload,
            "created_at": int(time.time()),
        }
    ).encode()


def error(status: int, code: str, description: str) -> FakeResponse:
    return FakeResponse(status, {"error": {"code": code, "description": description}})


@dataclass
class Gate:
    """Holds one order-create call inside the fake: `entered` is set when the call arrives, and
    it answers once `release` is set."""

    entered: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)


class FakeRazorpay(FakeServer):
    def __init__(self) -> None:
        super().__init__()
        self.orders: dict[str, dict[str, Any]] = {}
        self.refunds_by_key: dict[str, dict[str, Any]] = {}
        self.order_gates: list[Gate] = []

    def hold_next_order(self) -> Gate:
        """The next order-create waits in the fake until the test releases it."""
        gate = Gate()
        with self.lock:
            self.order_gates.append(gate)
        return gate

    def reset(self) -> None:
        with self.lock:
            gates, self.order_gates = self.order_gates, []
        for gate in gates:
            gate.release.set()
        super().reset()

    def _authorised(self, request: RecordedRequest) -> bool:
        expected = base64.b64encode(f"{KEY_ID}:{KEY_SECRET}".encode()).decode()
        return request.headers.get("authorization") == f"Basic {expected}"

    def respond(self, request: RecordedRequest) -> FakeResponse:
        if not self._authorised(request):
            return error(401, "BAD_REQUEST_ERROR", "The api key provided is invalid")
        if request.method == "POST" and request.path == "/v1/orders":
            with self.lock:
                gate = self.order_gates.pop(0) if self.order_gates else None
            if gate is not None:
                gate.entered.set()
                gate.release.wait(GATE_LIMIT_SECONDS)
            return self._create_order(request.json())
        parts = request.path.strip("/").split("/")
        if request.method == "POST" and parts[:2] == ["v1", "payments"] and parts[-1] == "refund":
            return self._refund(parts[2], request)
        return error(404, "BAD_REQUEST_ERROR", "The requested URL was not found on the server.")

    def _create_order(self, body: dict[str, Any]) -> FakeResponse:
        amount = body.get("amount")
        if not isinstance(amount, int) or amount < 100:
            return error(400, "BAD_REQUEST_ERROR", "Order amount less than minimum amount allowed")
        if len(str(body.get("receipt", ""))) > 40:
            return error(400, "BAD_REQUEST_ERROR", "receipt: the length must be no more than 40.")
        order = {
            "id": _id("order"),
            "entity": "order",
            "amount": amount,
            "amount_paid": 0,
            "amount_due": amount,
            "currency": body.get("currency", "INR"),
            "receipt": body.get("receipt"),
            "status": "created",
            "attempts": 0,
            "notes": body.get("notes", {}),
            "created_at": int(time.time()),
        }
        self.orders[order["id"]] = order
        return FakeResponse(200, order)

    def _refund(self, payment_id: str, request: RecordedRequest) -> FakeResponse:
        key = request.headers.get("x-refund-idempotency")
        if key and key in self.refunds_by_key:
            return FakeResponse(200, self.refunds_by_key[key])
        body = request.json() or {}
        refund = {
            "id": _id("rfnd"),
            "entity": "refund",
            "amount": body.get("amount"),
            "currency": "INR",
            "payment_id": payment_id,
            "notes": body.get("notes", {}),
            "status": "pending",
            "speed_requested": body.get("speed", "normal"),
            "created_at": int(time.time()),
        }
        if key:
            self.refunds_by_key[key] = refund
        return FakeResponse(200, refund)

    def order_requests(self) -> list[RecordedRequest]:
        return [r for r in self.requests if r.path == "/v1/orders"]

    def refund_requests(self) -> list[RecordedRequest]:
        return [r for r in self.requests if r.path.endswith("/refund")]
