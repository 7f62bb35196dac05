import datetime as dt

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class StandardsConfig(AppConfig):
    name = "wuye.standards"
    label = "standards"
    verbose_name = _("Service standards")

    def ready(self) -> None:
        from wuye.core import scheduler

        from . import tasks

        scheduler.register("standards.generate_tasks", every=dt.timedelta(hours=1), task=tasks.generate_tasks)
        scheduler.register("standards.close_windows", every=dt.timedelta(minutes=1), task=tasks.close_windows)
        scheduler.register("standards.activate_profiles", every=dt.timedelta(minutes=10), task=tasks.activate_profiles)
