"""Every router's handlers run through `core.routing.RequestRoute`: a synchronous handler and
the commit of its session are one worker-thread call, and the caller's session check is one
more (an ordinary synchronous dependency); nothing else hops to the threadpool."""

from collections.abc import Callable
from typing import Any

from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from core.routing import RequestRoute, get_db
from deps import get_auth
from main import app
from Member_module.models import Member
from tests.support.factories.member import make_member
from tests.support.http import assert_error
from tests.support.login import ADMIN_PHONE, login


def _calls(dependant: Any) -> set[Callable[..., Any]]:
    found = {dependant.call}
    for sub in dependant.dependencies:
        found |= _calls(sub)
    return found


def test_every_route_that_opens_a_session_or_authenticates_is_a_request_route() -> None:
    routes = [c.original_route for c in iter_route_contexts(app.router.routes)]
    api_routes = [r for r in routes if isinstance(r, APIRoute)]
    assert api_routes
    for route in api_routes:
        if _calls(route.dependant) & {get_db, get_auth}:
            assert isinstance(route, RequestRoute), route.path


def test_a_logged_in_read_is_the_callers_check_and_the_handler(
    client: TestClient, db: Session, worker_calls: list[str]
) -> None:
    user = login(client, "+919876500071")
    make_member(db, user.user_id, name="Asha")
    assert client.get("/member", headers=user.headers).status_code == 200  # warms the caches
    worker_calls.clear()
    listed = client.get("/member", headers=user.headers)
    assert listed.status_code == 200 and listed.json()["items"][0]["name"] == "Asha"
    assert worker_calls == ["get_auth", "in_worker"], worker_calls
    worker_calls.clear()
    assert client.get("/auth/me", headers=user.headers).status_code == 200  # an async handler
    assert worker_calls == ["get_auth"], worker_calls


def test_a_write_commits_in_the_handlers_worker_call(
    client: TestClient, db: Session, worker_calls: list[str]
) -> None:
    user = login(client, "+919876500072")
    body = {"name": "Ravi", "relation": "parent", "date_of_birth": "1960-01-02", "gender": "male"}
    assert client.get("/auth/me", headers=user.headers).status_code == 200
    worker_calls.clear()
    added = client.post("/member", headers=user.headers, json=body)
    assert added.status_code == 201, added.text
    assert worker_calls == ["get_auth", "in_worker"], worker_calls  # no hop for the commit
    assert db.get(Member, added.json()["id"]) is not None


def test_a_customer_is_refused_an_admin_route_before_its_body_is_validated(
    client: TestClient,
) -> None:
    """The admin check is the one dependency that takes its own hop, so that a non-admin
    learns nothing of an admin route's shape (403, not 422)."""
    customer = login(client, "+919876500073")
    refused = client.post("/products", headers=customer.headers, json={"name": "X"})
    assert_error(refused, 403, "admin_required")
    admin = login(client, ADMIN_PHONE)
    assert_error(
        client.post("/products", headers=admin.headers, json={"name": "X"}),
        422,
        "validation_error",
    )


def test_a_revoked_session_is_refused_by_a_deferred_check(client: TestClient) -> None:
    user = login(client, "+919876500074")
    assert client.get("/member", headers=user.headers).status_code == 200
    assert client.post("/auth/logout", headers=user.headers).status_code == 204
    assert_error(client.get("/member", headers=user.headers), 401, "session_revoked")
    assert_error(client.get("/auth/me", headers=user.headers), 401, "session_revoked")


def test_routers_neither_commit_nor_choose_their_route_class() -> None:
    """The request boundary commits (core.routing); a handler that must call a provider after
    committing uses `database.call_outside_transaction` inside its service. Every router is
    `core.routing.APIRouter`, which sets the route class itself."""
    import ast
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    routers = [p for p in root.glob("*/**/router.py") if ".venv" not in p.parts]
    assert len(routers) >= 15
    for path in routers:
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
                assert node.func.attr != "commit", f"{path}:{node.lineno} commits"
            if isinstance(node, ast.keyword):
                assert node.arg != "route_class", f"{path}:{node.lineno} passes route_class"
