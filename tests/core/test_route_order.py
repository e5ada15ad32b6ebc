"""The routers are included hottest first (main.ROUTERS: matching walks the routes in order,
and a customer's request should not be compared with every admin route before its own). Order
may only change speed, never which route answers: each route answers its own path."""

import re

from fastapi import FastAPI
from starlette.routing import compile_path

from core.routing import APIRouter
from main import app


def _routes(application: FastAPI) -> list[tuple[str, set[str], re.Pattern[str]]]:
    """(path, methods, regex) of every API route, in the order a request is matched."""
    routes = []
    for route in application.routes:
        contexts = getattr(route, "effective_route_contexts", None)
        if contexts is None:
            continue  # the documentation's own routes
        for context in contexts():
            methods = set(getattr(context.original_route, "methods", None) or ())
            regex, _, _ = compile_path(context.path_format)
            routes.append((context.path_format, methods, regex))
    return routes


def _answering(routes: list[tuple[str, set[str], re.Pattern[str]]], method: str, path: str) -> str:
    return next(p for p, methods, regex in routes if method in methods and regex.fullmatch(path))


def test_each_route_answers_its_own_path() -> None:
    routes = _routes(app)
    assert len(routes) > 100
    shadowed = [
        f"{method} {path} is answered by {answering}"
        for path, methods, _ in routes
        for method in methods
        if (answering := _answering(routes, method, re.sub(r"{[^}]+}", "1", path))) != path
    ]
    assert not shadowed, shadowed


def test_a_shadowed_route_is_found() -> None:
    """The check above can fail: a parameter route before a literal one shadows it."""
    router = APIRouter(prefix="/things")
    router.get("/{thing_id}")(lambda thing_id: thing_id)
    router.get("/mine")(lambda: "mine")
    probe = FastAPI()
    probe.include_router(router)
    assert _answering(_routes(probe), "GET", "/things/mine") == "/things/{thing_id}"
