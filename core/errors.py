"""The error hierarchy every module raises, and the one JSON shape every error is rendered in."""

import logging
from typing import Any

import redis.exceptions
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from starlette.exceptions import HTTPException as StarletteHTTPException

logger = logging.getLogger("nucleotide.errors")


class AppError(Exception):
    """Base of every expected failure: a status, a stable code, a human message."""

    status_code = 400
    code = "bad_request"
    message = "The request could not be processed."
    headers: dict[str, str] | None = None

    def __init__(self, message: str | None = None, details: list[Any] | None = None) -> None:
        self.message = message or self.message
        self.details = details or []
        super().__init__(self.message)


class BadRequestError(AppError):
    status_code = 400


class UnauthorizedError(AppError):
    status_code = 401
    code = "not_authenticated"
    message = "Authentication is required."

    def __init__(self, message: str | None = None, details: list[Any] | None = None) -> None:
        super().__init__(message, details)
        self.headers = {"WWW-Authenticate": "Bearer"}


class ForbiddenError(AppError):
    status_code = 403
    code = "forbidden"
    message = "You are not allowed to do this."


class NotFoundError(AppError):
    status_code = 404
    code = "not_found"
    message = "Not found."


class ConflictError(AppError):
    status_code = 409
    code = "conflict"


class UnprocessableError(AppError):
    status_code = 422
    code = "validation_error"


class RateLimitedError(AppError):
    status_code = 429
    code = "rate_limited"
    message = "Too many requests; try again later."

    def __init__(self, retry_after: int, message: str | None = None) -> None:
        super().__init__(message)
        self.retry_after = max(1, int(retry_after))
        self.headers = {"Retry-After": str(self.retry_after)}


# Every 503 tells the client when to come back (the OpenAPI promises the header).
RETRY_AFTER_SECONDS = 5


class ServiceUnavailableError(AppError):
    status_code = 503
    code = "service_unavailable"
    message = "The service is temporarily unavailable; try again shortly."
    headers = {"Retry-After": str(RETRY_AFTER_SECONDS)}


# Validation failures whose pydantic error type is itself a product error code (e.g. a custom
# `invalid_phone` raised by core.validation) keep that code instead of `validation_error`.
CODED_VALIDATION_TYPES: set[str] = set()

HTTP_STATUS_CODES = {
    400: "bad_request",
    401: "not_authenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    415: "unsupported_media_type",
}


def error_body(code: str, message: str, details: list[Any] | None = None) -> dict[str, Any]:
    return {"status": "error", "code": code, "message": message, "details": details or []}


def error_response(
    status_code: int,
    code: str,
    message: str,
    details: list[Any] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    return JSONResponse(
        error_body(code, message, details), status_code=status_code, headers=headers
    )


def _field_name(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header", "cookie")]
    return ".".join(parts) or str(loc[-1] if loc else "")


def validation_details(exc: RequestValidationError) -> list[dict[str, str]]:
    return [
        {
            "field": _field_name(tuple(err.get("loc", ()))),
            "message": err["msg"],
            "type": err["type"],
        }
        for err in exc.errors()
    ]


async def handle_app_error(_request: Request, exc: AppError) -> JSONResponse:
    return error_response(exc.status_code, exc.code, exc.message, exc.details, exc.headers)


async def handle_validation_error(_request: Request, exc: RequestValidationError) -> JSONResponse:
    details = validation_details(exc)
    coded = [d["type"] for d in details if d["type"] in CODED_VALIDATION_TYPES]
    code = coded[0] if coded else "validation_error"
    message = details[0]["message"] if coded else "The request is not valid."
    return error_response(422, code, message, details)


async def handle_http_error(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
    code = HTTP_STATUS_CODES.get(exc.status_code, "http_error")
    message = exc.detail if isinstance(exc.detail, str) else "The request could not be processed."
    return error_response(exc.status_code, code, message, headers=getattr(exc, "headers", None))


async def handle_dependency_down(request: Request, exc: Exception) -> JSONResponse:
    logger.error(
        "dependency unavailable on %s %s: %s", request.method, request.url.path, type(exc).__name__
    )
    return error_response(
        503,
        ServiceUnavailableError.code,
        ServiceUnavailableError.message,
        headers=ServiceUnavailableError.headers,
    )


async def handle_unexpected(request: Request, exc: Exception) -> JSONResponse:
    logger.exception("unhandled error on %s %s", request.method, request.url.path)
    return error_response(500, "internal_error", "Something went wrong; it has been logged.")


def is_connection_error(exc: BaseException) -> bool:
    """A database error that means 'the database is unreachable', not 'the query is wrong'."""
    if isinstance(exc, PoolTimeoutError):
        return True
    return isinstance(exc, DBAPIError) and bool(exc.connection_invalidated or _is_disconnect(exc))


def _is_disconnect(exc: DBAPIError) -> bool:
    orig = getattr(exc, "orig", None)
    code = orig.args[0] if orig is not None and orig.args else None
    # 2002/2003/2006/2013: cannot connect / server gone away / lost connection (MySQL, MariaDB).
    return code in (2002, 2003, 2006, 2013) or "unable to open database" in str(orig)


RETRYABLE_DB_ERRORS = (1205, 1213)  # lock wait timeout, deadlock: nothing was committed


def _error_number(exc: DBAPIError) -> object:
    """The driver's error number (1213 deadlock, 1205 lock wait timeout), for the log."""
    orig = getattr(exc, "orig", None)
    return orig.args[0] if orig is not None and orig.args else None


def _is_retryable(exc: DBAPIError) -> bool:
    orig = getattr(exc, "orig", None)
    return bool(orig is not None and orig.args and orig.args[0] in RETRYABLE_DB_ERRORS)


async def handle_database_error(request: Request, exc: DBAPIError) -> JSONResponse:
    if is_connection_error(exc):
        return await handle_dependency_down(request, exc)
    if _is_retryable(exc):
        logger.warning(
            "transaction conflict (%s) on %s %s, answered 503",
            _error_number(exc),
            request.method,
            request.url.path,
        )
        return error_response(
            503,
            "try_again",
            "A conflicting request was being processed; nothing was changed. Try again.",
            headers={"Retry-After": "1"},
        )
    return await handle_unexpected(request, exc)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(AppError, handle_app_error)  # type: ignore[arg-type]
    app.add_exception_handler(RequestValidationError, handle_validation_error)  # type: ignore[arg-type]
    app.add_exception_handler(StarletteHTTPException, handle_http_error)  # type: ignore[arg-type]
    app.add_exception_handler(redis.exceptions.ConnectionError, handle_dependency_down)
    app.add_exception_handler(redis.exceptions.TimeoutError, handle_dependency_down)
    app.add_exception_handler(PoolTimeoutError, handle_dependency_down)
    app.add_exception_handler(DBAPIError, handle_database_error)  # type: ignore[arg-type]
    app.add_exception_handler(Exception, handle_unexpected)
