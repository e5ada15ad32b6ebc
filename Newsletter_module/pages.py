"""The small HTML pages behind the e-mails' links: a page with a button for each link (mail
scanners that fetch links must not subscribe or unsubscribe anyone), what the button did, and
one for a link that does not work. Every value is escaped; no script, no external asset, one
inline style allowed by its hash in the Content-Security-Policy; never cached."""

import base64
import hashlib
from html import escape
from urllib.parse import quote

from fastapi.responses import HTMLResponse

from config import get_settings
from Newsletter_module.consent import consent_text
from Newsletter_module.links import CONFIRM_LINK_DAYS

STYLE = (
    "body{font-family:system-ui,sans-serif;max-width:34rem;margin:3rem auto;padding:0 1rem;"
    "color:#1a1a1a;line-height:1.5}"
    "button{font-size:1rem;padding:.6rem 1.2rem;border:0;border-radius:.4rem;"
    "background:#0b5cad;color:#fff;cursor:pointer}"
    ".note{color:#555;font-size:.9rem}"
)
_STYLE_HASH = base64.b64encode(hashlib.sha256(STYLE.encode()).digest()).decode()
CONTENT_SECURITY_POLICY = (
    f"default-src 'none'; style-src 'sha256-{_STYLE_HASH}'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)
HEADERS = {
    "Cache-Control": "no-store",
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Robots-Tag": "noindex",
}


def masked(email: str) -> str:
    """`asha.rao@example.com` -> `a*******@example.com`: enough to recognise, on a page
    anyone holding the link can open."""
    local, _, domain = email.rpartition("@")
    return f"{local[:1]}{'*' * max(len(local) - 1, 1)}@{domain}"


def _page(
    title: str,
    paragraphs: list[str],
    *,
    token: str | None = None,
    button: str | None = None,
    note: str | None = None,
    status_code: int = 200,
    one_click: bool = False,
) -> HTMLResponse:
    brand = escape(get_settings().BRAND_NAME)
    body = "".join(f"<p>{escape(text)}</p>" for text in paragraphs)
    if token is not None and button is not None:
        # Posts back to this very URL (relative: right behind any proxy or path prefix).
        action = escape(f"?token={quote(token)}")
        # The unsubscribe button posts what a mail client's one-click does (RFC 8058).
        marker = '<input type="hidden" name="List-Unsubscribe" value="One-Click">'
        body += (
            f'<form method="post" action="{action}">{marker if one_click else ""}'
            f'<button type="submit">{escape(button)}</button></form>'
        )
    if note:
        body += f'<p class="note">{escape(note)}</p>'
    html = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        '<meta name="referrer" content="no-referrer">'
        f"<title>{escape(title)} · {brand}</title><style>{STYLE}</style></head>"
        f"<body><h1>{escape(title)}</h1>{body}</body></html>"
    )
    return HTMLResponse(html, status_code=status_code, headers=HEADERS)


def confirm_page(email: str, token: str) -> HTMLResponse:
    return _page(
        "Confirm your subscription",
        [f"Address: {masked(email)}", consent_text()],
        token=token,
        button="Confirm my subscription",
        note="Did not ask for it? Close this page: nothing is sent without your confirmation.",
    )


def confirmed_page(email: str) -> HTMLResponse:
    brand = get_settings().BRAND_NAME
    return _page(
        "You are subscribed",
        [
            f"Thank you: the {brand} newsletter will come to {masked(email)}.",
            "Every newsletter has a link to unsubscribe with one click.",
        ],
    )


def unsubscribe_page(email: str, token: str) -> HTMLResponse:
    brand = get_settings().BRAND_NAME
    return _page(
        f"Unsubscribe from the {brand} newsletter",
        [f"No more newsletters will be sent to {masked(email)}."],
        token=token,
        button="Unsubscribe",
        one_click=True,
    )


def unsubscribed_page(email: str) -> HTMLResponse:
    return _page(
        "You are unsubscribed",
        [
            f"No more newsletters will be sent to {masked(email)}.",
            "Changed your mind? Sign up again on our website.",
        ],
    )


def invalid_link_page() -> HTMLResponse:
    return _page(
        "This link does not work",
        [
            "It is not a valid link, or it has expired (a confirmation link works for "
            f"{CONFIRM_LINK_DAYS} days).",
            "To sign up again, use the form on our website.",
        ],
        status_code=400,
    )
