"""What `/newsletter/me` answers: my subscription, or that there is none."""

from dataclasses import dataclass
from datetime import datetime

from Newsletter_module.models import NewsletterSubscription, SubscriptionStatus


@dataclass(frozen=True)
class MySubscription:
    subscribed: bool
    email: str | None
    confirmed_at: datetime | None
    unsubscribed_at: datetime | None
    consent_text_version: str | None
    confirmation_sent: bool = False

    @classmethod
    def of(
        cls, subscription: NewsletterSubscription | None, *, confirmation_sent: bool = False
    ) -> "MySubscription":
        if subscription is None:
            return cls(False, None, None, None, None, confirmation_sent)
        return cls(
            subscription.status == SubscriptionStatus.CONFIRMED,
            subscription.email,
            subscription.confirmed_at,
            subscription.unsubscribed_at,
            subscription.consent_text_version,
            confirmation_sent,
        )
