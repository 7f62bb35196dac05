import datetime as dt

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class EquipmentConfig(AppConfig):
    name = "wuye.equipment"
    label = "equipment"
    verbose_name = _("Equipment")

    def ready(self) -> None:
        from wuye.core import scheduler

        from . import tasks

        # Often enough for meter plans to follow their readings; calendar plans open orders days ahead anyway.
        scheduler.register("equipment.run_plans", every=dt.timedelta(minutes=10), task=tasks.run_plans)
