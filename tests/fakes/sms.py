"""A local SMS gateway: the webhook receiver and MSG91's OTP endpoint, recording every message."""

import re

from tests.fakes.server import FakeResponse, FakeServer, RecordedRequest

CODE_PATTERN = re.compile(r"\b(\d{6})\b")
ACTIVE: "FakeSmsGateway | None" = None


class FakeSmsGateway(FakeServer):
    webhook_path = "/sms"

    @property
    def webhook_url(self) -> str:
        return self.url + self.webhook_path

    def respond(self, request: RecordedRequest) -> FakeResponse:
        if request.path == self.webhook_path:
            return FakeResponse(200, {"status": "queued"})
        if request.path == "/api/v5/otp":
            if request.headers.get("authkey") != "test-msg91-key":
                return FakeResponse(401, {"type": "error", "message": "invalid authkey"})
            return FakeResponse(200, {"type": "success", "request_id": "fake-req-1"})
        if request.path == "/api/v5/flow":
            if request.headers.get("authkey") != "test-msg91-key":
                return FakeResponse(401, {"type": "error", "message": "invalid authkey"})
            return FakeResponse(200, {"type": "success", "message": "fake-flow-1"})
        return FakeResponse(404, {"error": "no such path"})

    def last_code_for(self, phone: str) -> str:
        """The code in the newest message sent to `phone` (E.164)."""
        for request in reversed(self.requests):
            if request.path == self.webhook_path and request.json().get("phone") == phone:
                match = CODE_PATTERN.search(request.json()["message"])
                if match:
                    return match.group(1)
            if request.path == "/api/v5/otp" and request.query.get("mobile") == [phone.lstrip("+")]:
                return request.query["otp"][0]
        raise AssertionError(f"no SMS was sent to {phone}")

    def messages_to(self, phone: str) -> list[str]:
        return [
            r.json()["message"]
            for r in self.requests
            if r.path == self.webhook_path and r.json().get("phone") == phone
        ]
