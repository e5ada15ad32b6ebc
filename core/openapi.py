"""The error answers every route documents in the OpenAPI schema, in the one error shape.

`main.py` includes every router with `responses=ERROR_RESPONSES`, so no route writes these by
hand; a route documents only what is its own (e.g. a 302, or a 503 with another body).
"""

from typing import Any, Literal

from pydantic import BaseModel, Field


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
    400: "A rule refused the request (e.g. `otp_invalid`, `bad_request` for unparsable JSON).",
    401: "Missing, invalid, expired or revoked access token (`not_authenticated`).",
    403: "Not allowed, e.g. a user on an admin route (`admin_required`).",
    404: "Not found, or not yours (`not_found` and module codes).",
    409: "Conflicts with the current state (module codes).",
    410: "It existed and is gone for good, e.g. erased with its account (module codes).",
    413: "The request body is too large (`payload_too_large`).",
    415: "The upload is not of an accepted type (module codes).",
    422: "Validation failed (`validation_error`, or a field's own code such as `invalid_phone`).",
    429: "Too many requests (`rate_limited` and module codes); see `Retry-After`.",
    503: "A dependency is unavailable (`service_unavailable`, provider codes) or a conflicting "
    "request won (`try_again`); nothing was changed.",
}


# What any route may answer; the rest (e.g. 415 for uploads) is added by the routes concerned.
STANDARD_ERRORS = (400, 401, 403, 404, 409, 413, 422, 429, 503)


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses=` entries for these error statuses (the standard ones if none named)."""
    chosen = statuses or STANDARD_ERRORS
    responses: dict[int | str, dict[str, Any]] = {}
    for status in chosen:
        entry: dict[str, Any] = {"model": ErrorOut, "description": ERROR_DESCRIPTIONS[status]}
        if status in (429, 503):
            entry["headers"] = RETRY_AFTER
        responses[status] = entry
    return responses


ERROR_RESPONSES = error_responses()
