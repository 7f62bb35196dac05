import datetime as dt

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DispatchConfig(AppConfig):
    name = "wuye.dispatch"
    label = "dispatch"
    verbose_name = _("Dispatch")

    def ready(self) -> None:
        from wuye.core import scheduler

        from . import tasks

        # Events re-plan at once (workorders.services.REPLAN_AFTER); the sweep catches what no event announces:
        # a shift beginning, a step's warning point passing, a technician coming back on call.
        scheduler.register("dispatch.replan_all", every=dt.timedelta(minutes=1), task=tasks.dispatch_replan_all)
