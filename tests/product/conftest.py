import pytest
from fastapi.testclient import TestClient

from tests.support.login import ADMIN_PHONE, LoggedIn, login


@pytest.fixture
def admin(client: TestClient) -> LoggedIn:
    return login(client, ADMIN_PHONE)


@pytest.fixture
def customer(client: TestClient) -> LoggedIn:
    return login(client, "+919876500001")
