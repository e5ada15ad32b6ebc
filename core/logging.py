"""Logging set-up: every line carries the request id; nothing else about the request."""

import logging

from core.context import current_request


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = current_request().request_id or "-"
        return True


def configure_logging(level: str) -> None:
    handler = logging.StreamHandler()
    handler.addFilter(RequestIdFilter())
    handler.setFormatter(
        logging.Formatter("%(asctime)s %(levelname)s [%(request_id)s] %(name)s: %(message)s")
    )
    root = logging.getLogger("nucleotide")
    root.handlers = [handler]
    root.setLevel(level.upper())
    root.propagate = False
