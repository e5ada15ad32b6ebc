"""A real uvicorn with the dockerfile's flags: a consent link's token, which is in the path of
the member's routes, never reaches the process's log (the app logs the route's template, and
uvicorn's own access log, which prints raw paths, is off)."""

import secrets
from pathlib import Path

from tests.fakes.sms import FakeSmsGateway
from tests.ops.support import prepared_database, replica_env, sms_env, start_replica


def test_a_consent_links_token_stays_out_of_the_server_log(
    tmp_path: Path, sms_gateway: FakeSmsGateway
) -> None:
    token = secrets.token_urlsafe(32)
    with prepared_database(tmp_path, "secret_paths") as (database_url, _engine):
        replica = start_replica(
            "secret-paths",
            replica_env(database_url, tmp_path, **sms_env(sms_gateway.webhook_url)),
            tmp_path,
        )
        try:
            replica.wait_until_up()
            with replica.http() as http:
                viewed = http.get(f"/consent/requests/by-token/{token}")
                confirmed = http.post(
                    f"/consent/requests/by-token/{token}/confirm", json={"otp": "123456"}
                )
                declined = http.post(f"/consent/requests/by-token/{token}/decline")
        finally:
            replica.stop()
    assert [viewed.status_code, confirmed.status_code, declined.status_code] == [404] * 3
    log = replica.log()
    assert "GET /consent/requests/by-token/{token} 404" in log, log[-2000:]
    assert "POST /consent/requests/by-token/{token}/confirm 404" in log
    assert token not in log
