import datetime as dt

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class StaffConfig(AppConfig):
    name = "wuye.staff"
    label = "staff"
    verbose_name = _("Staff")

    def ready(self) -> None:
        from wuye.core import scheduler

        from . import tasks

        # Hourly, so the first run after midnight on the 1st appraises the month just ended; later runs find every
        # estate done and return at once.
        scheduler.register("staff.appraisal_monthly", every=dt.timedelta(hours=1), task=tasks.appraisal_monthly)
        scheduler.register("staff.accountability_scan", every=dt.timedelta(hours=1), task=tasks.accountability_scan)
