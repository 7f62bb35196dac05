"""Pure rules about staff: shifts and certificates. No ORM and no clock: callers pass the moment."""

import datetime as dt


def is_within_shift(local_moment: dt.datetime, *, start: dt.time, end: dt.time, weekdays: list[int]) -> bool:
    """Whether a local (Asia/Shanghai) moment falls inside a shift.

    `weekdays` are ISO numbers (1 = Monday) of the days the shift *starts* on. A shift whose end is not after its
    start crosses midnight (a night shift 20:00–08:00): its early-morning hours belong to the previous day's shift.
    A shift whose start equals its end lasts 24 hours.
    """
    clock_time = local_moment.time()
    today = local_moment.isoweekday()
    yesterday = 7 if today == 1 else today - 1
    if start < end:
        return today in weekdays and start <= clock_time < end
    # Crosses midnight, or runs round the clock.
    if today in weekdays and clock_time >= start:
        return True
    return yesterday in weekdays and clock_time < end


def certificate_is_valid(*, expires_on: dt.date | None, on: dt.date) -> bool:
    """A certificate without an expiry date never expires; one expiring today is still valid today."""
    return expires_on is None or on <= expires_on


def certificate_expires_soon(*, expires_on: dt.date | None, on: dt.date, within_days: int = 30) -> bool:
    return expires_on is not None and on <= expires_on <= on + dt.timedelta(days=within_days)
