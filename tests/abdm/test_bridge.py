"""Registering the bridge URL (where the gateway sends its callbacks) with the gateway."""

import pytest

from scripts.abdm_bridge import main
from tests.fakes.abdm_gateway import FakeAbdmGateway


def test_the_bridge_url_is_registered_with_a_session_token_and_the_v3_headers(
    abdm_gateway: FakeAbdmGateway, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["https://api.nucleotide.example/abdm"]) == 0
    assert abdm_gateway.bridge_url == "https://api.nucleotide.example/abdm"
    (call,) = abdm_gateway.calls("/gateway/v3/bridge/url")
    assert call.method == "PATCH" and call.headers["x-cm-id"] == "sbx"
    assert "registered" in capsys.readouterr().out


def test_a_url_that_is_not_the_bridge_prefix_or_a_refusal_is_reported(
    abdm_gateway: FakeAbdmGateway, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["https://api.nucleotide.example/"]) == 2
    abdm_gateway.refuse_next("/gateway/v3/bridge/url", "ABDM-1006", "Invalid url")
    assert main(["https://api.nucleotide.example/abdm"]) == 1
    assert "ABDM-1006" in capsys.readouterr().err
    assert abdm_gateway.bridge_url is None
