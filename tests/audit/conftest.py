import pytest
from fastapi.testclient import TestClient

from tests.support.login import ADMIN_PHONE, LoggedIn, login_by_otp


@pytest.fixture
def admin(client: TestClient) -> LoggedIn:
    """The audit tests read the whole trail, so their logins leave all a real one leaves (the
    codes' otp.sent and otp.verified included)."""
    return login_by_otp(client, ADMIN_PHONE)
