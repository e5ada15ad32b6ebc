"""Visitor privacy choices' error codes."""

from core.errors import NotFoundError


class PrivacyChoiceNotFound(NotFoundError):
    code = "privacy_choice_not_found"
    message = "No privacy choice is recorded for this visitor."
