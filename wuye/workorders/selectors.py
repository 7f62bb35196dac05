"""Reads about work orders, always starting from `workorders_visible(user)`: one order with its clocks and timeline,
the filtered queue, the actions a person may take now, and the catalogue an estate reports from."""

import datetime as dt

from django.db.models import Exists, F, OuterRef, Prefetch, Q, QuerySet, Subquery
from django.shortcuts import get_object_or_404

from wuye.estates.models import Estate

from .choices import (
    LONG_PATH_ONLY,
    OPEN,
    OWNER_KINDS,
    SHORT_PATH_KINDS,
    SHORT_PATH_ONLY,
    TERMINAL,
    TRANSITIONS,
    USER_ACTIONS,
    Action,
    Status,
    Step,
    StepState,
)
from .models import Category, WorkOrder, WorkOrderEvent, WorkOrderPhoto, WorkOrderStep
from .permissions import can_act, can_create_for_others, workorders_visible

# The order the steps happen in, for showing them.
STEP_ORDER = {step: position for position, step in enumerate(Step.values)}
SLA_FILTERS = ("breached", "warning", "ok")


def _with_place(queryset: QuerySet[WorkOrder]) -> QuerySet[WorkOrder]:
    """Everything `place_label`, the category name and the people's names need, in the same query."""
    return queryset.select_related(
        "estate", "category", "room__building", "room__unit", "public_area", "reporter", "assignee"
    )


def workorder_get(user, order_id: int) -> WorkOrder:
    """One order the user may see, with its clocks, events (and their actors) and photos; 404 otherwise."""
    queryset = _with_place(workorders_visible(user)).prefetch_related(
        "steps",
        Prefetch("events", queryset=WorkOrderEvent.objects.select_related("actor").order_by("at", "id")),
        Prefetch("photos", queryset=WorkOrderPhoto.objects.order_by("uploaded_at", "id")),
    )
    return get_object_or_404(queryset, pk=order_id)


def _parse_assignee(user, assignee: str | int | None) -> Q | None:
    if assignee is None or assignee == "":
        return None
    if assignee == "me":
        return Q(assignee_id=user.id)
    if assignee == "none":
        return Q(assignee__isnull=True)
    return Q(assignee_id=int(assignee))


def _sla_condition(sla_state: str, now: dt.datetime) -> Q:
    """breached: a step was met late, or an open order has a step past its due time; warning: not breached, and an
    open step has passed its warning point; ok: neither."""
    open_steps = WorkOrderStep.objects.filter(order=OuterRef("pk"), met_at__isnull=True, due_at__isnull=False)
    late_now = Exists(open_steps.filter(due_at__lt=now))
    met_late = Exists(WorkOrderStep.objects.filter(order=OuterRef("pk"), state=StepState.BREACHED))
    breached = met_late | (Q(status__in=OPEN) & late_now)
    warned = Q(status__in=OPEN) & Exists(open_steps.filter(warn_at__lte=now, due_at__gte=now))
    if sla_state == "breached":
        return breached
    if sla_state == "warning":
        return warned & ~breached
    return ~breached & ~warned


def workorder_list(
    user,
    *,
    status: str | None = None,
    kind: str | None = None,
    estate_id: int | None = None,
    grid_id: int | None = None,
    category: int | None = None,
    priority: str | None = None,
    sla_state: str | None = None,
    assignee: str | int | None = None,
    q: str | None = None,
    now: dt.datetime,
) -> QuerySet[WorkOrder]:
    """The orders the user may see, newest first, narrowed by the filters. `status="open"` means not closed or
    cancelled; `assignee` is "me", "none" or a user id; `q` matches the number or the description. The steps are
    prefetched, so listing a page costs the same few queries whatever its length."""
    queryset = workorders_visible(user)
    if status == "open":
        queryset = queryset.exclude(status__in=TERMINAL)
    elif status:
        queryset = queryset.filter(status=status)
    filters = {"kind": kind, "estate_id": estate_id, "grid_id": grid_id, "category_id": category, "priority": priority}
    queryset = queryset.filter(**{name: value for name, value in filters.items() if value not in (None, "")})
    assignee_q = _parse_assignee(user, assignee)
    if assignee_q is not None:
        queryset = queryset.filter(assignee_q)
    if q and q.strip():
        text = q.strip()
        queryset = queryset.filter(Q(number__icontains=text) | Q(description__icontains=text))
    if sla_state:
        queryset = queryset.filter(_sla_condition(sla_state, now))
    return _with_place(queryset).prefetch_related("steps").order_by("-submitted_at", "-id")


def _step_state(order: WorkOrder, row: WorkOrderStep, now: dt.datetime) -> str:
    if row.met_at is not None:
        return StepState.MET if row.due_at is None or row.met_at <= row.due_at else StepState.BREACHED
    if order.status in TERMINAL:
        # Closing froze the clock: the service marked it breached if it was late then.
        return row.state
    if row.due_at is None:
        return StepState.PAUSED
    return StepState.BREACHED if now > row.due_at else StepState.PENDING


def _sorted_steps(order: WorkOrder) -> list[WorkOrderStep]:
    return sorted(order.steps.all(), key=lambda row: STEP_ORDER.get(row.step, len(STEP_ORDER)))


def workorder_sla(order: WorkOrder, now: dt.datetime) -> list[dict]:
    """Every SLA step of the order from its stored clock (due times already follow calendars, pauses and
    appointments): pending, met, breached or paused, whether its warning point has passed, and how many wall-clock
    minutes it is (or was) late."""
    result = []
    for row in _sorted_steps(order):
        state = _step_state(order, row, now)
        overdue_minutes = None
        if state == StepState.BREACHED and row.due_at is not None:
            end = row.met_at or (order.closed_at if order.status in TERMINAL else None) or now
            overdue_minutes = max(0, int((end - row.due_at).total_seconds() // 60))
        result.append(
            {
                "step": row.step,
                "label": str(Step(row.step).label),
                "started_at": row.started_at,
                "due_at": row.due_at,
                "warn_at": row.warn_at,
                "met_at": row.met_at,
                "state": str(state),
                "state_label": str(StepState(state).label),
                "warning": state == StepState.PENDING and row.warn_at is not None and now >= row.warn_at,
                "overdue_minutes": overdue_minutes,
                "limit_minutes": row.limit_minutes,
            }
        )
    return result


def workorder_urgent_step(order: WorkOrder, now: dt.datetime) -> dict | None:
    """The open step due soonest, for the queue: {"step", "due_at", "state"} with state "breached", "warning", "ok"
    or "paused" (every open clock is stopped); None when no clock is running (closed, or every step met)."""
    if order.status in TERMINAL:
        return None
    open_rows = [row for row in order.steps.all() if row.met_at is None]
    running = [row for row in open_rows if row.due_at is not None]
    if not running:
        return {"step": open_rows[0].step, "due_at": None, "state": "paused"} if open_rows else None
    row = min(running, key=lambda r: r.due_at)
    if now > row.due_at:
        state = "breached"
    elif row.warn_at is not None and now >= row.warn_at:
        state = "warning"
    else:
        state = "ok"
    return {"step": row.step, "due_at": row.due_at, "state": state}


def workorder_timeline(order: WorkOrder) -> list[WorkOrderEvent]:
    """The order's events, oldest first, with their actors (one query, or none when prefetched by workorder_get)."""
    cache = getattr(order, "_prefetched_objects_cache", {})
    if "events" in cache:
        return list(cache["events"])
    return list(WorkOrderEvent.objects.filter(order=order).select_related("actor").order_by("at", "id"))


def move_possible(order: WorkOrder, action: str) -> bool:
    """Whether the TRANSITIONS table allows `action` from the order's status and for its kind (never raises)."""
    if action not in TRANSITIONS:
        return False
    sources, _target = TRANSITIONS[action]
    short = order.kind in SHORT_PATH_KINDS
    if (short and action in LONG_PATH_ONLY) or (not short and action in SHORT_PATH_ONLY):
        return False
    return order.status in sources


def allowed_actions(user, order: WorkOrder) -> list[str]:
    """The actions `user` may take on the order now: both the role and the state machine allow them. (A refusal the
    service decides from history, such as urging twice within 30 minutes, still answers when tried.)"""
    return [
        action
        for action in Action.values
        if action in USER_ACTIONS and move_possible(order, action) and can_act(user, order, action)
    ]


def categories_for(user, estate: Estate, kind: str | None = None) -> list[Category]:
    """The active categories of the estate's company a user may report under: staff any kind, owners and residents
    only the kinds the portal offers. Filtered in Python because SQLite cannot search inside a JSON list."""
    kinds = None if can_create_for_others(user, estate) else set(OWNER_KINDS)
    result = []
    for category in Category.objects.filter(company_id=estate.company_id, is_active=True).order_by("position", "code"):
        applies = set(category.kinds)
        if kinds is not None:
            applies &= kinds
        if kind:
            applies &= {kind}
        if applies:
            result.append(category)
    return result


def overdue_steps(user, *, estate_ids: list[int], now: dt.datetime, limit: int) -> list[WorkOrderStep]:
    """The overdue board: every open step of a visible, open order past its due time, by estate and grid, the
    longest overdue first (one query)."""
    open_orders = workorders_visible(user).filter(estate_id__in=estate_ids).exclude(status__in=TERMINAL)
    return list(
        WorkOrderStep.objects.filter(order__in=open_orders, met_at__isnull=True, due_at__lt=now)
        .select_related(
            "order__estate",
            "order__grid",
            "order__category",
            "order__assignee",
            "order__room__building",
            "order__room__unit",
            "order__public_area",
        )
        .order_by("order__estate__name", F("order__grid__name").asc(nulls_last=True), "due_at", "id")[:limit]
    )


def awaiting_return_visit(user, *, estate_ids: list[int], now: dt.datetime) -> QuerySet[WorkOrder]:
    """回访 list: finished repairs and complaints waiting for customer service to call the owner, the visit due
    soonest first."""
    visit_due = WorkOrderStep.objects.filter(order=OuterRef("pk"), step=Step.VISIT, met_at__isnull=True)
    return (
        workorder_list(user, now=now)
        .filter(estate_id__in=estate_ids, status__in=[Status.RESOLVED, Status.RATED])
        .exclude(kind__in=SHORT_PATH_KINDS)
        .annotate(visit_due_at=Subquery(visit_due.values("due_at")[:1]))
        .order_by(F("visit_due_at").asc(nulls_last=True), "submitted_at", "id")
    )
