"""Reads about service standards, always starting from the permission-scoped querysets in permissions.py: the
profile in force in an estate at a moment, the SOP library, plans, and a person's tasks of a day."""

import datetime as dt
from dataclasses import dataclass

from django.db.models import Prefetch, Q, QuerySet
from django.http import Http404
from django.shortcuts import get_object_or_404

from wuye.accounts.selectors import roles_by_estate
from wuye.core import clock
from wuye.estates.models import Estate

from . import rules
from .choices import Evidence, TaskAction
from .models import EstateProfile, Plan, ServiceLevelProfile, SopItem, Task, TaskPhoto
from .permissions import (
    TASK_OVERSIGHT_ROLES,
    can_act,
    plans_visible,
    sop_items_visible,
    standards_estates,
    tasks_visible,
)

# Work on a task may begin this long before its window opens.
WORK_LEAD = dt.timedelta(minutes=30)

# ---------------------------------------------------------------- profiles


def estate_profile_at(estate_id: int, at: dt.datetime) -> EstateProfile | None:
    """The assignment in force in an estate at a moment (the latest that started by then)."""
    return (
        EstateProfile.objects.filter(estate_id=estate_id, valid_from__lte=at)
        .select_related("profile")
        .order_by("-valid_from")
        .first()
    )


def estate_profile_history(estate_id: int) -> QuerySet[EstateProfile]:
    return EstateProfile.objects.filter(estate_id=estate_id).select_related("profile", "created_by")


def effective_values(assignment: EstateProfile | None) -> dict | None:
    """The values in force under an assignment: its profile's (as they were then, when the profile has been edited
    since) with the contract's overrides on top."""
    if assignment is None:
        return None
    values = assignment.profile_values or assignment.profile.values()
    return rules.effective_profile(values, assignment.overrides or {})


def standards_estate_get(user, estate_id: int) -> Estate:
    return get_object_or_404(standards_estates(user).select_related("company"), pk=estate_id)


def profiles_overview(user, *, now: dt.datetime) -> list[dict]:
    """Per company the user works for: its profiles; per estate: the assignment in force, its effective values and
    what is coming next. Three queries whatever the number of estates."""
    estates = list(standards_estates(user).select_related("company").order_by("company__name", "name"))
    company_ids = {estate.company_id for estate in estates}
    profiles = list(ServiceLevelProfile.objects.filter(company_id__in=company_ids).order_by("company_id", "code"))
    assignments: dict[int, list[EstateProfile]] = {}
    for row in EstateProfile.objects.filter(estate__in=[e.id for e in estates]).select_related("profile"):
        assignments.setdefault(row.estate_id, []).append(row)
    companies = []
    for company_id in sorted(company_ids, key=lambda cid: next(e.company.name for e in estates if e.company_id == cid)):
        company = next(e.company for e in estates if e.company_id == company_id)
        rows = []
        for estate in (e for e in estates if e.company_id == company_id):
            history = sorted(assignments.get(estate.id, []), key=lambda row: row.valid_from, reverse=True)
            current = next((row for row in history if row.valid_from <= now), None)
            upcoming = [row for row in history if row.valid_from > now]
            rows.append(
                {
                    "estate": estate,
                    "current": current,
                    "values": effective_values(current),
                    "upcoming": upcoming,
                    "history": history,
                }
            )
        companies.append(
            {"company": company, "profiles": [p for p in profiles if p.company_id == company_id], "estates": rows}
        )
    return companies


# ---------------------------------------------------------------- SOP library and plans


def sop_list(user, *, discipline: str | None = None, company_id: int | None = None) -> QuerySet[SopItem]:
    items = sop_items_visible(user).filter(is_active=True).select_related("company")
    if discipline:
        items = items.filter(discipline=discipline)
    if company_id:
        items = items.filter(company_id=company_id)
    return items.order_by("company__name", "discipline", "position", "code")


def plan_list(user, *, estate_id: int | None = None, discipline: str | None = None) -> QuerySet[Plan]:
    plans = (
        plans_visible(user)
        .filter(is_active=True)
        .select_related("estate", "grid", "building", "public_area", "equipment", "assignee")
        .prefetch_related(Prefetch("sop_items", queryset=SopItem.objects.order_by("position")))
    )
    if estate_id:
        plans = plans.filter(estate_id=estate_id)
    if discipline:
        plans = plans.filter(discipline=discipline)
    return plans.order_by("estate__name", "discipline", "name")


# ---------------------------------------------------------------- tasks


@dataclass(frozen=True)
class TaskItem:
    """One thing to do in a task, with the evidence that proves it."""

    key: str
    title: str
    standard: str
    evidence: str
    reading_unit: str = ""


def required_items(plan: Plan) -> list[TaskItem]:
    """What a task of this plan asks for: its SOP items (by code), then its own checklist entries."""
    items = [
        TaskItem(
            key=item.code,
            title=item.title,
            standard=item.standard,
            evidence=item.evidence,
            reading_unit=item.reading_unit,
        )
        for item in plan.sop_items.all()
    ]
    for entry in plan.checklist or []:
        items.append(
            TaskItem(
                key=entry["code"],
                title=entry["title"],
                standard=entry.get("standard", ""),
                evidence=entry.get("evidence", Evidence.TICK),
                reading_unit=entry.get("reading_unit", ""),
            )
        )
    return items


def _with_plan(queryset: QuerySet[Task]) -> QuerySet[Task]:
    return queryset.select_related(
        "plan__estate", "plan__grid", "plan__building", "plan__public_area", "estate", "assignee", "done_by"
    ).prefetch_related(Prefetch("plan__sop_items", queryset=SopItem.objects.order_by("position")))


def task_get(user, task_id: int) -> Task:
    task = _with_plan(tasks_visible(user)).filter(pk=task_id).first()
    if task is None:
        raise Http404
    return task


def day_bounds(day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    tz = clock.local_tz()
    start = dt.datetime.combine(day, dt.time(0), tzinfo=tz)
    return start, start + dt.timedelta(days=1)


def tasks_of_day(user, *, day: dt.date, mine: bool = True, estate_id: int | None = None, status: str | None = None):
    """The tasks whose window starts on a local day: with `mine`, the user's own and their roles' open pools (never
    another person's); otherwise everything the user may see. Open, then soonest window first."""
    start, end = day_bounds(day)
    tasks = tasks_visible(user).filter(window_start__gte=start, window_start__lt=end)
    if mine:
        condition = Q(assignee=user)
        for visible_estate_id, roles in roles_by_estate(user).items():
            condition |= Q(estate_id=visible_estate_id, assignee__isnull=True, assignee_role__in=sorted(roles))
        tasks = tasks.filter(condition)
    if estate_id:
        tasks = tasks.filter(estate_id=estate_id)
    if status:
        tasks = tasks.filter(status=status)
    return _with_plan(tasks).order_by("window_start", "id")


def task_photos(task: Task) -> QuerySet[TaskPhoto]:
    return TaskPhoto.objects.filter(task=task).order_by("uploaded_at", "id")


def task_photo_get(user, task_id: int, photo_id: int) -> TaskPhoto:
    task = task_get(user, task_id)
    return get_object_or_404(TaskPhoto, pk=photo_id, task=task)


def allowed_task_actions(user, task: Task, now: dt.datetime) -> list[str]:
    lead_ok = rules.may_work_on_window(window_start=task.window_start, now=now, lead=WORK_LEAD)
    return [
        action
        for action in (TaskAction.START, TaskAction.FINISH)
        if lead_ok and rules.task_move(task.status, action) is not None and can_act(user, task, action)
    ]


def oversees(user, estate_id: int) -> bool:
    return bool(roles_by_estate(user).get(estate_id, frozenset()) & TASK_OVERSIGHT_ROLES)
