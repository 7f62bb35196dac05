import datetime as dt

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class KpisConfig(AppConfig):
    name = "wuye.kpis"
    label = "kpis"
    verbose_name = _("KPIs")

    def ready(self) -> None:
        from wuye.core import scheduler

        from . import tasks

        scheduler.register("kpis.rollup", every=dt.timedelta(minutes=5), task=tasks.rollup)
        # Insurance against an event that committed so late it fell below the watermark's window: today and
        # yesterday are rebuilt from scratch a few times a day.
        scheduler.register("kpis.rollup_settle", every=dt.timedelta(hours=6), task=tasks.rollup_settle)
        # Satisfaction, patrols, inspections, alarms, equipment: today and yesterday often, the last two months a few
        # times a day (a late inspection lands on the day it was due).
        scheduler.register("kpis.service_rollup", every=dt.timedelta(minutes=5), task=tasks.service_rollup_run)
        scheduler.register("kpis.service_rollup_settle", every=dt.timedelta(hours=6), task=tasks.service_rollup_settle)
