import datetime as dt

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class IotConfig(AppConfig):
    name = "wuye.iot"
    label = "iot"
    verbose_name = _("IoT")

    def ready(self) -> None:
        from wuye.core import scheduler

        from . import tasks

        scheduler.register("iot.rollup", every=dt.timedelta(minutes=5), task=tasks.rollup)
        scheduler.register("iot.tick", every=dt.timedelta(minutes=1), task=tasks.tick)
        scheduler.register("iot.alarms_scan", every=dt.timedelta(minutes=1), task=tasks.alarms_scan)
