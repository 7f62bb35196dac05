import datetime as dt

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class InspectionsConfig(AppConfig):
    name = "wuye.inspections"
    label = "inspections"
    verbose_name = _("Patrols and inspections")

    def ready(self) -> None:
        from wuye.core import scheduler

        from . import tasks

        scheduler.register("inspections.generate_rounds", every=dt.timedelta(hours=1), task=tasks.generate_rounds)
        scheduler.register("inspections.close_rounds", every=dt.timedelta(minutes=1), task=tasks.close_rounds)
        scheduler.register(
            "inspections.sync_rectifications", every=dt.timedelta(minutes=5), task=tasks.sync_rectifications
        )
