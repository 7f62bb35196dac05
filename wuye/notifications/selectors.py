"""Reads of the in-app inbox, always from `notifications_visible(user)`."""

from django.db.models import QuerySet
from django.utils.translation import gettext as _

from wuye.core.errors import NotFound

from .models import Notification
from .permissions import notifications_visible


def notification_list(user, *, unread: bool | None = None) -> QuerySet[Notification]:
    """The user's notifications, newest first; `unread=True` only unread ones, `False` only read ones."""
    notifications = notifications_visible(user).select_related("estate").order_by("-created_at", "-id")
    if unread is not None:
        notifications = notifications.filter(read_at__isnull=unread)
    return notifications


def notification_get(user, notification_id: int) -> Notification:
    """One of the user's notifications; NotFound for anyone else's (its existence is not revealed)."""
    notification = notifications_visible(user).select_related("estate").filter(pk=notification_id).first()
    if notification is None:
        raise NotFound(_("Notification not found."))
    return notification


def unread_count(user) -> int:
    """How many of the user's notifications are unread: the badge. One query."""
    return notifications_visible(user).filter(read_at__isnull=True).count()
