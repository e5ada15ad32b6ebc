"""Every error answer a test receives must be documented for its operation: its status, and its
`code` among those the OpenAPI schema lists for it (derived from the code, core/error_docs.py).

`documented_errors_only` is autouse (imported by tests/conftest.py): it records the error
answers any TestClient gets during a test and fails the test, naming the operation and the
code, when one is not in the schema. So the whole suite checks the documentation against what
the API really answers, and no list of codes is kept by hand anywhere."""

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.testclient import TestClient
from starlette.routing import Match

from main import app

Documented = dict[tuple[str, str], dict[int, set[str]]]


@dataclass(frozen=True)
class ErrorAnswer:
    method: str
    path: str
    status: int
    code: str


def documented_codes() -> Documented:
    """(method, path template) -> status -> the codes the schema lists for it."""
    documented: Documented = {}
    for path, operations in app.openapi()["paths"].items():
        for method, operation in operations.items():
            statuses = documented.setdefault((method.upper(), path), {})
            for status, response in operation["responses"].items():
                schema = response.get("content", {}).get("application/json", {}).get("schema", {})
                for part in schema.get("allOf", []):
                    codes = part.get("properties", {}).get("code", {}).get("enum")
                    if codes is not None:
                        statuses[int(status)] = set(codes)
    return documented


def operation_of(method: str, path: str) -> tuple[str, str] | None:
    """The operation the app routes this request to (as Starlette picks it: the first full
    match), or None for a path that is no operation (an unknown one, the media files)."""
    scope = {"type": "http", "method": method, "path": path, "root_path": "", "path_params": {}}
    for route in iter_route_contexts(app.routes):
        match, _ = route.matches(scope)
        if match is Match.FULL:
            if not isinstance(route.original_route, APIRoute):
                return None
            return method, str(route.path_format)
    return None


def undocumented(answer: ErrorAnswer, documented: Documented) -> str | None:
    """Why `answer` is not documented, or None when it is."""
    operation = operation_of(answer.method, answer.path)
    if operation is None:
        return None
    codes = documented.get(operation, {}).get(answer.status)
    if codes is None:
        return f"{' '.join(operation)}: status {answer.status} ({answer.code}) is not documented"
    if answer.code not in codes:
        return f"{' '.join(operation)}: {answer.status} {answer.code} is not among {sorted(codes)}"
    return None


def error_answer(response: Any) -> ErrorAnswer | None:
    """The answer in the error shape, if `response` is one."""
    if response.status_code < 400:
        return None
    if not response.headers.get("content-type", "").startswith("application/json"):
        return None
    try:
        body = response.json()
    except ValueError:
        return None
    if not isinstance(body, dict) or body.get("status") != "error":
        return None
    request = response.request
    return ErrorAnswer(request.method, request.url.path, response.status_code, str(body["code"]))


@pytest.fixture(scope="session")
def documented_error_codes() -> Documented:
    """Built before any test patches anything the derivation reads."""
    return documented_codes()


@pytest.fixture(autouse=True)
def documented_errors_only(
    documented_error_codes: Documented, monkeypatch: pytest.MonkeyPatch
) -> Iterator[None]:
    seen: list[ErrorAnswer] = []
    send = TestClient.request

    def request(self: TestClient, method: str, url: Any, *args: Any, **kwargs: Any) -> Any:
        response = send(self, method, url, *args, **kwargs)
        answer = error_answer(response)
        if answer is not None:
            seen.append(answer)
        return response

    monkeypatch.setattr(TestClient, "request", request)
    yield
    problems = sorted({p for answer in seen if (p := undocumented(answer, documented_error_codes))})
    if problems:
        pytest.fail(
            "error answers the OpenAPI schema does not document (core/error_docs.py derives "
            "them from the errors a route's code raises):\n" + "\n".join(problems)
        )
