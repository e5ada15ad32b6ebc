"""A banner as the answers show it: the row, where a tap leads (the target's current slug), the
image's URL, its state and whether the public list shows it."""

from dataclasses import dataclass
from datetime import datetime

from Banner_module.models import ActionType, Banner, BannerState
from core.answers import ReadsThrough
from core.media import public_url


@dataclass(frozen=True)
class BannerAction:
    type: ActionType
    value: str | None = None


@dataclass(frozen=True)
class Target:
    """The product or category a banner points at, as read with it (None: gone)."""

    slug: str | None
    on_sale: bool


def state_of(banner: Banner, now: datetime) -> BannerState:
    if not banner.active:
        return BannerState.INACTIVE
    if banner.starts_at is not None and now < banner.starts_at:
        return BannerState.SCHEDULED
    if banner.ends_at is not None and now >= banner.ends_at:
        return BannerState.EXPIRED
    return BannerState.LIVE


@dataclass(frozen=True)
class BannerView(ReadsThrough):
    banner: Banner
    action: BannerAction
    image_url: str | None
    state: BannerState
    visible: bool

    @classmethod
    def of(cls, banner: Banner, target: Target | None, now: datetime) -> "BannerView":
        if banner.action_type == ActionType.URL:
            action = BannerAction(ActionType.URL, banner.action_url)
        elif banner.action_type in (ActionType.PRODUCT, ActionType.CATEGORY):
            action = BannerAction(banner.action_type, target.slug if target else None)
        else:
            action = BannerAction(ActionType.NONE)
        state = state_of(banner, now)
        target_ok = action.type not in (ActionType.PRODUCT, ActionType.CATEGORY) or bool(
            target and target.on_sale
        )
        visible = state == BannerState.LIVE and banner.image_key is not None and target_ok
        return cls(banner, action, public_url(banner.image_key), state, visible)


@dataclass(frozen=True)
class BannerList:
    """The public carousel's answer."""

    items: list[BannerView]
