"""The words a subscriber agrees to on the confirm page, and their version: a confirmation
records the version it was given to (change the text, change the version)."""

from config import get_settings

CONSENT_TEXT_VERSION = "2026-12-v1"


def consent_text() -> str:
    brand = get_settings().BRAND_NAME
    return (
        f"Send me the {brand} newsletter by e-mail: news about our tests, offers, and genetics "
        "explained, a few times a month at most. My address is used only to send it, and I "
        "can unsubscribe at any time with the link in every e-mail."
    )
