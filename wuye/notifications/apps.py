import datetime as dt

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class NotificationsConfig(AppConfig):
    name = "wuye.notifications"
    label = "notifications"
    verbose_name = _("Notifications")

    def ready(self) -> None:
        from wuye.core import scheduler

        from . import tasks

        scheduler.register("notifications.deliver_outbox", every=dt.timedelta(seconds=30), task=tasks.deliver_outbox)
