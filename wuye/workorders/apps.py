import datetime as dt

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WorkOrdersConfig(AppConfig):
    name = "wuye.workorders"
    label = "workorders"
    verbose_name = _("Work orders")

    def ready(self) -> None:
        from wuye.core import scheduler

        from . import tasks

        scheduler.register("workorders.sla_scan", every=dt.timedelta(minutes=1), task=tasks.sla_scan)
        scheduler.register("workorders.auto_close", every=dt.timedelta(hours=1), task=tasks.auto_close)
