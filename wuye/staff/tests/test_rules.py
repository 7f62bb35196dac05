import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from wuye.staff.rules import certificate_expires_soon, certificate_is_valid, is_within_shift

DAY = dt.time(8, 0), dt.time(17, 0)
NIGHT = dt.time(20, 0), dt.time(8, 0)
WEEKDAYS = [1, 2, 3, 4, 5]


def at(day: int, hour: int, minute: int = 0) -> dt.datetime:
    # 2026-11-23 is a Monday.
    return dt.datetime(2026, 11, 22 + day, hour, minute)  # noqa: DTZ001 - rules take local wall-clock times


@pytest.mark.parametrize(
    ("moment", "expected"),
    [(at(1, 8), True), (at(1, 16, 59), True), (at(1, 17), False), (at(1, 7, 59), False), (at(6, 10), False)],
)
def test_day_shift_covers_weekday_office_hours_only(moment, expected):
    assert is_within_shift(moment, start=DAY[0], end=DAY[1], weekdays=WEEKDAYS) is expected


def test_night_shift_started_on_friday_runs_into_saturday_morning():
    assert is_within_shift(at(6, 7, 59), start=NIGHT[0], end=NIGHT[1], weekdays=WEEKDAYS)
    assert not is_within_shift(at(6, 8), start=NIGHT[0], end=NIGHT[1], weekdays=WEEKDAYS)
    # Sunday evening: no shift starts on Sunday.
    assert not is_within_shift(at(7, 21), start=NIGHT[0], end=NIGHT[1], weekdays=WEEKDAYS)
    # Monday early morning belongs to Sunday's (absent) shift.
    assert not is_within_shift(at(1, 3), start=NIGHT[0], end=NIGHT[1], weekdays=WEEKDAYS)


def test_a_shift_starting_and_ending_at_the_same_time_lasts_24_hours():
    start = dt.time(8, 0)
    assert is_within_shift(at(1, 7, 59), start=start, end=start, weekdays=[7])
    assert not is_within_shift(at(2, 8, 0), start=start, end=start, weekdays=[7])


@given(st.datetimes(min_value=dt.datetime(2020, 1, 1), max_value=dt.datetime(2030, 1, 1)), st.times(), st.times())
def test_every_moment_is_in_a_shift_that_runs_every_day(moment, start, end):
    covered = is_within_shift(moment, start=start, end=end, weekdays=list(range(1, 8)))
    inverse = is_within_shift(moment, start=end, end=start, weekdays=list(range(1, 8)))
    # A daily shift and its complement together cover the whole day, never both at once (unless it is 24 h).
    if start == end:
        assert covered and inverse
    else:
        assert covered != inverse


def test_certificates_are_valid_through_their_expiry_day():
    expires = dt.date(2026, 11, 27)
    assert certificate_is_valid(expires_on=expires, on=expires)
    assert not certificate_is_valid(expires_on=expires, on=expires + dt.timedelta(days=1))
    assert certificate_is_valid(expires_on=None, on=expires)


def test_expiring_soon_means_within_the_window_and_not_yet_expired():
    today = dt.date(2026, 11, 27)
    assert certificate_expires_soon(expires_on=today + dt.timedelta(days=30), on=today)
    assert not certificate_expires_soon(expires_on=today + dt.timedelta(days=31), on=today)
    assert not certificate_expires_soon(expires_on=today - dt.timedelta(days=1), on=today)
