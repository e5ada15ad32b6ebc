from tests.helpers import login


def test_login_smoke(client):
    me = login(client)
    r = client.get("/auth/me", headers=me.headers)
    assert r.status_code == 200, r.text
