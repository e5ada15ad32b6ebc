"""The website's enquiry form as a frontend fills it in."""

from typing import Any

from fastapi.testclient import TestClient


def enquiry_form(**overrides: Any) -> dict[str, Any]:
    """A form a person filled in (the honeypot `website` left out, as a browser sends it)."""
    return {
        "name": "Asha Rao",
        "phone": "+91 98765 43210",
        "email": "Asha.Rao@Example.com",
        "organization": "Acme Labs",
        "number_of_tests": 40,
        "message": "We would like to test our staff.\nPlease call after 5 pm.",
        **overrides,
    }


def send_enquiry(client: TestClient, **overrides: Any) -> dict[str, Any]:
    """POST /enquiries, expected to be taken: its `{id, reference}`."""
    response = client.post("/enquiries", json=enquiry_form(**overrides))
    assert response.status_code == 201, response.text
    return response.json()
