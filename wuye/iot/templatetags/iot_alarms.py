"""`{% order_alarms order %}`: the alarms behind an alarm work order, for the order's desk page (one query, only for
orders of kind alarm)."""

from django import template

from wuye.iot.models import Alarm
from wuye.iot.selectors import alarm_reason

register = template.Library()


@register.inclusion_tag("iot/_order_alarms.html")
def order_alarms(order) -> dict:
    alarms = []
    if order.kind == "alarm":
        alarms = list(
            Alarm.objects.filter(work_order=order).select_related("rule", "device__equipment").order_by("raised_at")
        )
    return {"alarms": [{"alarm": alarm, "reason": alarm_reason(alarm)} for alarm in alarms]}
