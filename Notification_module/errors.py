from core.errors import ConflictError, NotFoundError


class NotificationNotFound(NotFoundError):
    code = "notification_not_found"
    message = "Notification not found."


class NotificationNotFailed(ConflictError):
    code = "notification_not_failed"
    message = "Only a failed message can be retried."


class PushDeviceNotFound(NotFoundError):
    code = "push_device_not_found"
    message = "This device is not registered for notifications."


class DeliveryError(Exception):
    """A channel could not deliver a message. `permanent`: retrying will not help (a dead
    address or token); `skipped`: by rule this channel does not carry it (the others do);
    `wait_seconds`: try again after that long, the attempt not counted (a budget to wait for);
    otherwise the message is tried again later with backoff. `reason` is short and holds no
    message text, address or token."""

    def __init__(
        self,
        reason: str,
        *,
        permanent: bool = False,
        skipped: bool = False,
        wait_seconds: int | None = None,
    ) -> None:
        super().__init__(reason)
        self.reason = reason[:255]
        self.permanent = permanent
        self.skipped = skipped
        self.wait_seconds = wait_seconds
