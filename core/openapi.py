"""The OpenAPI schema: the one error shape, each operation's own error answers, stable ids.

Each operation documents the error codes it can answer, per status: an `enum` of `code` on the
error shape and an example per code. They are derived from the code behind the route
(core/error_docs.py) when the schema is first built, never written by hand; a route documents
by hand only what is its own (e.g. a 302, or a 503 with another body). Operation ids are
`<tag>_<handler>`, e.g. `orders_checkout`.
"""

import json
import re
import threading
from collections.abc import Callable, Iterable
from enum import Enum
from itertools import groupby
from typing import Any, Literal

from fastapi import FastAPI
from fastapi.routing import APIRoute, iter_route_contexts
from pydantic import BaseModel, Field
from starlette.routing import BaseRoute

from core.error_docs import Answer, handler_answers, route_answers
from core.errors import error_body
from core.middleware import TOO_LARGE


class ErrorOut(BaseModel):
    """Every error: `{"status": "error", "code", "message", "details"}`."""

    status: Literal["error"]
    code: str = Field(description="Stable snake_case code, e.g. `validation_error`, `not_found`.")
    message: str = Field(description="A human sentence; not meant for parsing.")
    details: list[Any] = Field(
        description="For `validation_error` and coded validation errors: `[{field, message, "
        "type}]`; otherwise usually empty."
    )


RETRY_AFTER = {
    "Retry-After": {
        "description": "Seconds to wait before trying again.",
        "schema": {"type": "integer", "minimum": 0},
    }
}

ERROR_DESCRIPTIONS: dict[int, str] = {
    400: "A rule refused the request, or its body could not be parsed.",
    401: "Missing, invalid, expired or revoked access token.",
    403: "Not allowed.",
    404: "Not found, or not yours.",
    409: "Conflicts with the current state.",
    410: "It existed and is gone for good, e.g. erased with its account.",
    413: "Too large.",
    415: "The upload is not of an accepted type.",
    422: "Validation failed (`details` names the fields).",
    429: "Too many requests; see `Retry-After`.",
    500: "Something went wrong on our side; it has been logged.",
    503: "A dependency is unavailable, or a conflicting request won; nothing was changed. See "
    "`Retry-After`.",
}
ERROR_REF = "#/components/schemas/ErrorOut"

# What the layers around a handler answer, beyond what its own code raises: FastAPI's 400 for a
# body it cannot parse, and the request middleware's cap on the body's size.
UNPARSABLE_BODY = Answer(400, "bad_request", "There was an error parsing the body")
BODY_TOO_LARGE = Answer(413, "payload_too_large", TOO_LARGE)
BODY_METHODS = {"POST", "PUT", "PATCH"}


def operation_id(route: APIRoute) -> str:
    """`<tag>_<handler>`, e.g. `orders_checkout`: readable, and stable while the handler keeps
    its name (unique: tests/core/test_openapi.py)."""
    tag = route.tags[0] if route.tags else route.endpoint.__module__.split(".")[0]
    group = tag.value if isinstance(tag, Enum) else tag
    return re.sub(r"[^a-z0-9]+", "_", f"{group}_{route.name}".lower()).strip("_")


def error_entry(answers: list[Answer]) -> dict[str, Any]:
    """The documented answer for one status: its codes (an enum on the error shape), an
    example of each, and `Retry-After` where the answer carries it."""
    status = answers[0].status
    codes = [answer.code for answer in answers]
    entry: dict[str, Any] = {
        "description": f"{ERROR_DESCRIPTIONS.get(status, 'Error.')} Codes: "
        + ", ".join(f"`{code}`" for code in codes)
        + ".",
        "content": {
            "application/json": {
                "schema": {
                    "allOf": [
                        {"$ref": ERROR_REF},
                        {"type": "object", "properties": {"code": {"enum": codes}}},
                    ]
                },
                "examples": {
                    answer.code: {
                        "summary": answer.message,
                        "value": error_body(answer.code, answer.message),
                    }
                    for answer in answers
                },
            }
        },
    }
    if status in (429, 503):
        entry["headers"] = RETRY_AFTER
    return entry


def _is_error_status(key: str) -> bool:
    return key.isdigit() and int(key) >= 400


def _in_error_shape(entry: dict[str, Any]) -> bool:
    """An entry this module writes over: the error shape or FastAPI's own 422."""
    schema = entry.get("content", {}).get("application/json", {}).get("schema", {})
    return schema.get("$ref") in (ERROR_REF, "#/components/schemas/HTTPValidationError")


def operation_answers(route: Any, generic: set[Answer], method: str) -> list[Answer]:
    """Everything one operation can answer in the error shape, by status then code."""
    answers = route_answers(route.dependant) | generic
    if route.body_field is not None:
        answers |= {UNPARSABLE_BODY, BODY_TOO_LARGE}
    elif method in BODY_METHODS:
        answers.add(BODY_TOO_LARGE)
    return sorted(answers)


def document_errors(
    schema: dict[str, Any], routes: Iterable[BaseRoute], handlers: Iterable[Callable[..., Any]]
) -> None:
    """Replace each operation's error entries in `schema` with the codes it can answer; an
    entry with a body of its own (e.g. readiness' 503 health report) is kept as it is."""
    generic = handler_answers(handlers)
    for route in iter_route_contexts(list(routes)):
        if not isinstance(route.original_route, APIRoute) or not route.include_in_schema:
            continue
        for method in route.methods or ():
            operation = schema["paths"][route.path_format][method.lower()]
            responses: dict[str, Any] = operation["responses"]
            by_status = {
                str(status): list(answers)
                for status, answers in groupby(
                    operation_answers(route, generic, method), key=lambda a: a.status
                )
            }
            for key in [k for k in responses if _is_error_status(k)]:
                if key in by_status and _in_error_shape(responses[key]):
                    del responses[key]
            for key, answers in by_status.items():
                responses.setdefault(key, error_entry(answers))
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    if "HTTPValidationError" not in json.dumps(schema["paths"]):  # FastAPI's 422, replaced
        components.pop("HTTPValidationError", None)
        components.pop("ValidationError", None)
    components.setdefault("ErrorOut", ErrorOut.model_json_schema(mode="serialization"))


def install_openapi(app: FastAPI) -> None:
    """`app.openapi()` documents each operation's own errors: derived once, on the first call
    (the schema is then cached, as FastAPI caches it)."""
    build = app.openapi
    lock = threading.Lock()

    def openapi() -> dict[str, Any]:
        with lock:
            if app.openapi_schema is None:
                schema = build()
                app.openapi_schema = None  # cached only once its errors are documented
                document_errors(schema, app.routes, app.exception_handlers.values())
                app.openapi_schema = schema
            return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
