"""The ABDM tests' servers: the local gateway (tokens, keys, signed callbacks, every call
recorded) and a doctor's system (HIU) that receives and decrypts the pushes; and the app's
settings pointing at them with ABDM enabled."""

from collections.abc import Iterator

import pytest
from pydantic import SecretStr

from Abdm_module.gateway import forget_keys, forget_token
from config import Settings
from tests.fakes import abdm_gateway as fake_gateway
from tests.fakes.abdm_hiu import abdm_hiu, abdm_hiu_server

__all__ = ["abdm_hiu", "abdm_hiu_server"]


@pytest.fixture(scope="session")
def abdm_gateway_server() -> Iterator[fake_gateway.FakeAbdmGateway]:
    server = fake_gateway.FakeAbdmGateway().start()
    yield server
    server.stop()


@pytest.fixture
def abdm_gateway(
    abdm_gateway_server: fake_gateway.FakeAbdmGateway,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[fake_gateway.FakeAbdmGateway]:
    """The gateway, reset, with the app's ABDM settings pointing at it (ABDM enabled)."""
    abdm_gateway_server.reset()
    monkeypatch.setattr(settings, "ABDM_ENABLED", True)
    monkeypatch.setattr(settings, "ABDM_BASE_URL", abdm_gateway_server.url)
    monkeypatch.setattr(settings, "ABDM_CERTS_URL", abdm_gateway_server.certs_url)
    monkeypatch.setattr(settings, "ABDM_CLIENT_ID", fake_gateway.CLIENT_ID)
    monkeypatch.setattr(settings, "ABDM_CLIENT_SECRET", SecretStr(fake_gateway.CLIENT_SECRET))
    monkeypatch.setattr(settings, "ABDM_CM_ID", fake_gateway.CM_ID)
    monkeypatch.setattr(settings, "ABDM_HIP_ID", fake_gateway.HIP_ID)
    forget_token()
    forget_keys()
    yield abdm_gateway_server
    forget_token()
    forget_keys()
