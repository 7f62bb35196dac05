from django.db import models
from django.utils.translation import gettext_lazy as _


class ChannelName(models.TextChoices):
    """An external channel a notification may also go out on. The in-app inbox is always written and is not one."""

    SMS = "sms", _("SMS")
    WECHAT = "wechat", _("WeChat template message")


class OutboxStatus(models.TextChoices):
    """Where one outbox message is in its delivery."""

    PENDING = "pending", _("Waiting to be sent")
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Failed, will retry")
    DEAD = "dead", _("Given up")


# Every delivery attempt ends in one of these moves; sent and dead are final.
TRANSITIONS: dict[str, frozenset[str]] = {
    OutboxStatus.PENDING: frozenset({OutboxStatus.SENT, OutboxStatus.FAILED, OutboxStatus.DEAD}),
    OutboxStatus.FAILED: frozenset({OutboxStatus.SENT, OutboxStatus.FAILED, OutboxStatus.DEAD}),
    OutboxStatus.SENT: frozenset(),
    OutboxStatus.DEAD: frozenset(),
}

# Statuses a deliverer picks up once `next_attempt_at` has come.
DUE_STATUSES = (OutboxStatus.PENDING, OutboxStatus.FAILED)
