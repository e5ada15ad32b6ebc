from core.errors import UnprocessableError


class NewsletterEmailRequired(UnprocessableError):
    code = "newsletter_email_required"
    message = "Give the address to send the newsletter to (your profile has no e-mail address)."
