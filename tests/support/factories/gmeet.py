"""Counsellors and bookings for the gmeet tests, and the OAuth dance played like a browser."""

from datetime import datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy.orm import Session

from core.clock import IST, wall_utcnow
from gmeet_api import utils
from gmeet_api.models import Counsellor, CounsellorToken
from tests.fakes.google import ALL_SCOPES, FakeGoogle


def make_counsellor(
    db: Session,
    google: FakeGoogle,
    *,
    email: str = "asha.rao@example.com",
    name: str = "Dr. Asha Rao",
    counsellor_id: str = "A3X9K2",
    is_active: bool = True,
    status: str = "connected",
    token_expired: bool = False,
    **fields: Any,
) -> Counsellor:
    """A counsellor who already connected: tokens issued by the fake, stored encrypted."""
    account = google.account(email, name)
    access, refresh = google.issue_tokens(email, expired=token_expired)
    counsellor = Counsellor(
        counsellor_id=counsellor_id,
        name=name,
        email=email,
        google_sub=account.sub,
        is_active=is_active,
        status=status,
        specialization=fields.pop("specialization", "Hereditary cancer"),
        bio=fields.pop("bio", "Ten years of genetic counselling."),
        **fields,
    )
    db.add(counsellor)
    db.flush()
    # google-auth judges expiry by the real clock, not the test's.
    expires_at = wall_utcnow() + (timedelta(minutes=-5) if token_expired else timedelta(hours=1))
    db.add(
        CounsellorToken(
            counsellor_id=counsellor_id,
            access_token=utils.encrypt_token(access),
            refresh_token=utils.encrypt_token(refresh),
            expires_at=expires_at,
            scopes=" ".join(ALL_SCOPES),
        )
    )
    db.flush()
    return counsellor


def authorization_url(client: TestClient) -> str:
    response = client.get("/gmeet/counsellor/connect", follow_redirects=False)
    assert response.status_code == 302, response.text
    return response.headers["location"]


def connect(
    client: TestClient,
    google: FakeGoogle,
    *,
    email: str = "asha.rao@example.com",
    name: str = "Dr. Asha Rao",
    grant: tuple[str, ...] | None = None,
) -> Response:
    """Connect → Google's consent screen (the fake) → our callback, as the browser goes."""
    callback = google.consent(authorization_url(client), email=email, name=name, grant=grant)
    return client.get("/gmeet/auth/callback", params=callback, follow_redirects=False)


def ist(year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=IST)
