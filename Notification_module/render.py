"""Message texts from the templates folder: `<event>.txt` is the title (first line) and the body
(after a blank line), used by every channel; `email.html` wraps them for e-mail (autoescaped).

Texts name the order or the session, never a test, a result or a diagnosis."""

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from config import get_settings
from Notification_module.models import NotificationEvent

TEMPLATES = Path(__file__).resolve().parent / "templates"


@dataclass(frozen=True)
class Rendered:
    title: str
    body: str
    html: str


@lru_cache
def environment() -> Environment:
    return Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        keep_trailing_newline=False,
    )


def render(event: NotificationEvent, context: dict[str, Any]) -> Rendered:
    """The event's texts with `context` (a missing variable is an error, not a blank)."""
    # `link_text` labels the link (default: open the app); `unsubscribe_link` adds one.
    defaults = {"link": None, "link_text": None, "unsubscribe_link": None}
    values = {"brand": get_settings().BRAND_NAME, **defaults, **context}
    text = environment().get_template(f"{event.value}.txt").render(values)
    title, _, body = text.partition("\n\n")
    title, body = title.strip(), " ".join(body.split())
    html = environment().get_template("email.html").render({**values, "title": title, "body": body})
    return Rendered(title, body, html)
