"""The invariants the database itself keeps: one reading per device, time and metric; one open alarm per rule and
device; a rule targets a device or a category, not both."""

import datetime as dt

import pytest
from django.db import IntegrityError, transaction

from wuye.iot.choices import AlarmStatus
from wuye.iot.models import Alarm, AlarmRule, Reading

from . import factories as f

T0 = dt.datetime(2026, 11, 27, 1, 0, tzinfo=dt.UTC)
pytestmark = pytest.mark.django_db


def test_a_second_reading_of_the_same_device_time_and_metric_is_refused(cast):
    device, _ = f.device(cast.estate)
    Reading.objects.create(device=device, metric="temp", at=T0, value=1)
    Reading.objects.create(device=device, metric="current", at=T0, value=1)
    with pytest.raises(IntegrityError), transaction.atomic():
        Reading.objects.create(device=device, metric="temp", at=T0, value=2)


def _alarm(rule, device, status):
    return Alarm.objects.create(
        estate=device.estate, rule=rule, device=device, status=status, severity="major", reason="x", raised_at=T0
    )


def test_only_one_alarm_per_rule_and_device_may_be_open(cast):
    device, _ = f.device(cast.estate)
    rule = f.rule(cast.estate, device=device)
    _alarm(rule, device, AlarmStatus.CLEARED)
    _alarm(rule, device, AlarmStatus.CLEARED)
    _alarm(rule, device, AlarmStatus.ACKNOWLEDGED)
    with pytest.raises(IntegrityError), transaction.atomic():
        _alarm(rule, device, AlarmStatus.RAISED)


def test_a_rule_names_a_device_or_a_category_not_both(cast):
    device, _ = f.device(cast.estate)
    with pytest.raises(IntegrityError), transaction.atomic():
        f.rule(cast.estate, device=device, equipment_category="lift")
    assert AlarmRule.objects.count() == 0


def test_a_rule_schedule_has_both_ends_or_none(cast):
    with pytest.raises(IntegrityError), transaction.atomic():
        f.rule(cast.estate, schedule_start=dt.time(22, 0))
