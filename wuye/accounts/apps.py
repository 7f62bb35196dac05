import datetime as dt

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    name = "wuye.accounts"
    label = "accounts"
    verbose_name = _("People and access")

    def ready(self) -> None:
        from wuye.core import scheduler

        from . import tasks

        scheduler.register("accounts.prune_credentials", every=dt.timedelta(hours=1), task=tasks.prune_credentials)
