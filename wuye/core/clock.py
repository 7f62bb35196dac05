"""The one place wuye asks what time it is, so tests can move it with time-machine and rules can take `now`."""

import datetime as dt
from zoneinfo import ZoneInfo

from django.conf import settings
from django.utils import timezone


def now() -> dt.datetime:
    """The current instant, aware (UTC)."""
    return timezone.now()


def local_tz() -> ZoneInfo:
    return ZoneInfo(settings.TIME_ZONE)


def today() -> dt.date:
    """Today's date in the installation's time zone (Asia/Shanghai), not the server's."""
    return timezone.localdate(now(), local_tz())
