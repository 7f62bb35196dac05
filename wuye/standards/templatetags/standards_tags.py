"""How the standards pages say a schedule, a profile value and a task status in the reader's language."""

from django import template
from django.utils.translation import gettext as _

from wuye.standards import rules
from wuye.standards.choices import TASK_STATUS_BADGES, Dimension, Evidence, TaskStatus

register = template.Library()


def _weekday(number: int) -> str:
    return [_("Mon"), _("Tue"), _("Wed"), _("Thu"), _("Fri"), _("Sat"), _("Sun")][number - 1]


def _clock(minutes: int) -> str:
    if minutes == 24 * 60:
        return "24:00"
    minutes %= 24 * 60  # a window running into the next day shows its end as a time of day
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _windows(schedule: rules.Schedule) -> str:
    text = "、".join(f"{_clock(start)}–{_clock(end)}" for start, end in schedule.windows)
    if schedule.every_minutes:
        text += " " + _("every %(n)s min") % {"n": schedule.every_minutes}
    return text


@register.filter
def schedule_text(spec) -> str:
    """A schedule spec as people say it, e.g. 每天 07:00–09:00、16:00–18:00; '—' for none."""
    if spec is None:
        return "—"
    try:
        schedule = rules.parse_schedule(spec)
    except rules.ScheduleInvalid:
        return _("(invalid schedule)")
    if schedule.kind == "daily":
        when = _("Every day")
    elif schedule.kind == "weekly":
        when = _("Every week on %(days)s") % {"days": "、".join(_weekday(d) for d in sorted(schedule.weekdays))}
    elif schedule.kind == "every_n_days":
        when = _("Every %(n)s days from %(anchor)s") % {"n": schedule.every_days, "anchor": schedule.anchor}
    else:
        days = "、".join(_("the last day") if d == -1 else _("day %(n)s") % {"n": d} for d in schedule.month_days)
        when = _("Every month: %(days)s") % {"days": days}
        if schedule.months != frozenset(range(1, 13)):
            months = "、".join(str(m) for m in sorted(schedule.months))
            when = _("In months %(months)s: %(days)s") % {"months": months, "days": days}
    return f"{when} {_windows(schedule)}"


@register.filter
def dimension_label(code: str) -> str:
    return str(Dimension(code).label) if code in Dimension.values else code


@register.filter
def frequency_of(profile_values: dict, dimension: str):
    return (profile_values.get("frequencies") or {}).get(dimension)


@register.filter
def task_badge(status: str) -> str:
    return TASK_STATUS_BADGES.get(status, "text-bg-secondary")


@register.filter
def task_status_label(status: str) -> str:
    return str(TaskStatus(status).label) if status in TaskStatus.values else status


@register.simple_tag
def dimensions():
    return Dimension.choices


@register.filter
def evidence_label(code: str) -> str:
    return str(Evidence(code).label) if code in Evidence.values else code
