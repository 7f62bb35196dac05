"""Alarms made to order for API and page tests: each call opens a new alarm on its own rule, so a matrix that acts
once per cast member never finds the alarm already acknowledged by the member before."""

import datetime as dt
import itertools

from wuye.iot import services
from wuye.iot.models import Alarm
from wuye.iot.rules import AlarmChange

from . import factories as f

T0 = dt.datetime(2026, 11, 27, 1, 0, tzinfo=dt.UTC)
_numbers = itertools.count(1)


def fresh_alarm(estate, *, severity: str = "major", device=None) -> Alarm:
    number = next(_numbers)
    if device is None:
        device = getattr(estate, "_test_device", None)
        if device is None:
            device, _credentials = f.device(estate, code=f"dev-{estate.id}")
            estate._test_device = device
    rule = f.rule(estate, device=device, name=f"规则{number}", severity=severity)
    services.alarm_changes_apply(
        changes=[
            AlarmChange(
                rule_id=rule.id,
                device_id=device.id,
                change="raise",
                at=T0,
                severity=severity,
                reason="pressure is 1.5, above the limit of 1",
                reason_code="threshold_above",
                reason_params={"metric": "pressure", "value": "1.5", "limit": "1", "unit": " MPa"},
                value=1.5,
            )
        ],
        now=T0,
    )
    return Alarm.objects.get(rule=rule)
