"""Small pieces the work-order desk pages repeat: status and priority badges, and the live SLA countdown badge."""

import datetime as dt

from django import template
from django.utils import timezone

from wuye.accounts.selectors import roles_by_estate
from wuye.core import clock
from wuye.core.validators import mask_phone
from wuye.engagement.permissions import SATISFACTION_ROLES, SURVEY_VIEW_ROLES, may_follow_up
from wuye.kpis.permissions import KPI_ROLES
from wuye.workorders.choices import STATUS_BADGES, Priority, Status
from wuye.workorders.permissions import DISPATCH_ROLES, FIELD_ROLES, VISIT_ROLES

register = template.Library()

PRIORITY_CLASSES = {
    Priority.EMERGENCY: "text-bg-danger",
    Priority.URGENT: "text-bg-warning",
    Priority.NORMAL: "text-bg-light border",
    Priority.LOW: "text-bg-light border",
}
# Countdown state → badge colour; the same classes countdown.js switches between.
COUNTDOWN_CLASSES = {"ok": "text-bg-secondary", "warning": "text-bg-warning", "breached": "text-bg-danger"}


@register.inclusion_tag("desk/orders/_badge.html")
def status_badge(status: str) -> dict:
    return {
        "css": STATUS_BADGES.get(status, "text-bg-secondary"),
        "label": Status(status).label,
        "testid": "order-status",
        "value": status,
    }


@register.inclusion_tag("desk/orders/_badge.html")
def priority_badge(priority: str) -> dict:
    return {
        "css": PRIORITY_CLASSES.get(priority, "text-bg-light border"),
        "label": Priority(priority).label,
        "testid": "order-priority",
        "value": priority,
    }


def countdown_state(due_at: dt.datetime, warn_at: dt.datetime | None, now: dt.datetime) -> str:
    if now >= due_at:
        return "breached"
    if warn_at is not None and now >= warn_at:
        return "warning"
    return "ok"


@register.inclusion_tag("desk/orders/_countdown.html")
def countdown(due_at: dt.datetime | None, warn_at: dt.datetime | None = None, now: dt.datetime | None = None) -> dict:
    """A badge countdown.js keeps live. Rendered with the due time, so it says something useful without script."""
    if due_at is None:
        return {"due_at": None}
    state = countdown_state(due_at, warn_at, now or clock.now())
    return {
        "due_at": due_at,
        "due_iso": due_at.isoformat(),
        "warn_iso": warn_at.isoformat() if warn_at else "",
        "local_due": timezone.localtime(due_at, clock.local_tz()),
        "state": state,
        "css": COUNTDOWN_CLASSES[state],
    }


@register.filter
def phone_for(phone: str, show_full: bool) -> str:
    """The contact phone in full for those whose job is to call (desk roles, the assignee), masked for the rest."""
    return phone if show_full else mask_phone(phone)


@register.simple_tag(takes_context=True)
def can_visit(context) -> bool:
    """Whether the signed-in user does return visits (回访) somewhere: customer service and those above."""
    roles = roles_by_estate(context["request"].user)
    return any(held & VISIT_ROLES for held in roles.values())


@register.simple_tag(takes_context=True)
def desk_menu(context) -> dict:
    """Which of the desk's other rooms the signed-in user works in (one role lookup for the whole menu)."""
    held = frozenset().union(*roles_by_estate(context["request"].user).values())
    return {
        "dispatch": bool(held & DISPATCH_ROLES),
        "pool": bool(held & FIELD_ROLES),
        "surveys": bool(held & SURVEY_VIEW_ROLES),
        "satisfaction": bool(held & SATISFACTION_ROLES),
        "kpis": bool(held & KPI_ROLES),
        "follow_ups": may_follow_up(context["request"].user),
    }
