"""An independent computation of every KPI straight from the work-order, event, SLA-step, room and residency rows,
for checking the rollups. Written apart from rules.order_contributions on purpose (another shape of code, and the
orders' own status and closed_at fields where rules only read events), so a mistake in one shows as a difference.
"""

import datetime as dt
import math
from collections import defaultdict
from dataclasses import dataclass

from django.db.models import Q

from wuye.accounts.models import Residency
from wuye.core import clock
from wuye.estates.models import Room
from wuye.workorders.models import WorkOrder, WorkOrderEvent, WorkOrderStep

ANY = object()


@dataclass(frozen=True)
class Where:
    """Which orders and which person: estate ids, a grid (None: outside any grid; ANY: every grid) and a person
    (ANY: everyone, including the desk's part)."""

    estate_ids: tuple[int, ...]
    grid: object = ANY
    person: object = ANY


def _exact_quantile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(1, math.ceil(q * len(ordered))) - 1]


def _share(part, whole):
    return None if whole == 0 else 100.0 * part / whole


def _holder(events, index):
    """Who the order is with at events[index]: the assignee named by the latest dispatch, transfer or grab up to
    it (the event itself included), unless a return or reopen came after that (the event itself excluded)."""
    if events[index].action in ("dispatch", "transfer", "grab"):
        return int(events[index].payload["assignee_id"])
    for earlier in reversed(events[:index]):
        if earlier.action in ("dispatch", "transfer", "grab"):
            return int(earlier.payload["assignee_id"])
        if earlier.action in ("return", "reopen"):
            return None
    return None


def _holder_at_moment(events, moment):
    last = None
    for index, event in enumerate(events):
        if event.at <= moment:
            last = index
    if last is None:
        return None
    if events[last].action in ("return", "reopen"):
        return None
    return _holder(events, last)


def kpis(where: Where, start: dt.date, end: dt.date, *, households_day: dt.date) -> dict[str, float | None]:
    tz = clock.local_tz()

    def inside(moment) -> bool:
        return start <= moment.astimezone(tz).date() <= end

    orders = {
        order.id: order
        for order in WorkOrder.objects.filter(estate_id__in=where.estate_ids).select_related("category")
        if where.grid is ANY or order.grid_id == where.grid
    }
    events_of = defaultdict(list)
    for event in WorkOrderEvent.objects.filter(order_id__in=list(orders)).order_by("at", "id"):
        events_of[event.order_id].append(event)
    steps_of = defaultdict(list)
    for step in WorkOrderStep.objects.filter(order_id__in=list(orders)):
        steps_of[step.order_id].append(step)

    def counted(person) -> bool:
        return where.person is ANY or person == where.person

    n = defaultdict(int)
    durations = defaultdict(list)
    for order_id, order in orders.items():
        events = events_of[order_id]
        reopened = any(event.action == "reopen" for event in events)
        firsts = {}
        for index, event in enumerate(events):
            kind = "resolve" if event.action == "answer" else event.action
            if kind in ("accept", "arrive", "resolve") and kind not in firsts:
                firsts[kind] = index
        for index, event in enumerate(events):
            person = None if event.action == "submit" else _holder(events, index)
            if not inside(event.at) or not counted(person):
                continue
            action = event.action
            if action == "submit":
                n["reported"] += 1
                n["online"] += order.channel == "portal"
                n["complaints"] += order.kind == "complaint"
            elif action in ("resolve", "answer"):
                n["resolutions"] += 1
            elif action == "reopen":
                n["reopens"] += 1
            elif action == "rate":
                verdict = event.payload.get("verdict")
                n["rated"] += verdict in ("good", "bad", "returned")
                n["good"] += verdict == "good"
                dimension = _dimension(order)
                n[f"rated:{dimension}"] += verdict in ("good", "bad", "returned")
                n[f"good:{dimension}"] += verdict == "good"
                if event.payload.get("score") is not None:
                    n["scores"] += 1
                    n["score_sum"] += event.payload["score"]
            elif action == "visit":
                n["visits"] += event.payload.get("satisfied") in (True, False)
                n["visits_ok"] += event.payload.get("satisfied") is True
            for kind, name in (("accept", "response"), ("arrive", "arrival"), ("resolve", "resolution")):
                if firsts.get(kind) == index:
                    durations[name].append((event.at - order.submitted_at).total_seconds() / 60)
            if firsts.get("resolve") == index and action == "resolve":
                n["first_resolved"] += 1
                n["first_fixed"] += not reopened
        for step in steps_of[order_id]:
            if step.met_at is not None:
                ended, on_time = step.met_at, step.due_at is None or step.met_at <= step.due_at
            elif step.state == "breached" and order.status in ("closed", "cancelled"):
                ended, on_time = order.closed_at, False
            else:
                continue
            person = _holder_at_moment(events, ended) if step.step in ("arrive", "resolve") else None
            if inside(ended) and counted(person):
                n[f"sla_{step.step}_all"] += 1
                n[f"sla_{step.step}_ok"] += on_time

    households, online = _households(where, households_day)
    days = (end - start).days + 1
    index = None if where.person is not ANY else _satisfaction_index(n, orders, inside)
    result = {
        "satisfaction": index if index is not None else _share(n["good"], n["rated"]),
        "rating_score": None if n["scores"] == 0 else n["score_sum"] / n["scores"],
        "visit_satisfaction": _share(n["visits_ok"], n["visits"]),
        "response_p50": _exact_quantile(durations["response"], 0.5),
        "response_p90": _exact_quantile(durations["response"], 0.9),
        "arrival_p50": _exact_quantile(durations["arrival"], 0.5),
        "arrival_p90": _exact_quantile(durations["arrival"], 0.9),
        "resolution_p50": _exact_quantile(durations["resolution"], 0.5),
        "resolution_p90": _exact_quantile(durations["resolution"], 0.9),
        "first_time_fix": _share(n["first_fixed"], n["first_resolved"]),
        "reopen_rate": _share(n["reopens"], n["resolutions"]),
        "complaint_rate": None if not households else n["complaints"] * 1000 / households * 365 / days,
        "online_share": _share(n["online"], n["reported"]),
        "owner_accounts": None if households is None else _share(online, households),
        "reported": n["reported"],
    }
    for step in ("accept", "dispatch", "arrive", "resolve", "visit"):
        result[f"sla_{step}"] = _share(n[f"sla_{step}_ok"], n[f"sla_{step}_all"])
    return result


def _households(where: Where, day: dt.date) -> tuple[int | None, int]:
    if where.person is not ANY:
        return None, 0
    tz = clock.local_tz()
    since = dt.datetime.combine(day - dt.timedelta(days=365), dt.time(), tzinfo=tz)
    rooms = Room.objects.filter(estate_id__in=where.estate_ids).select_related("building")
    if where.grid is not ANY:
        rooms = rooms.filter(building__grid_id=where.grid)
    households = online = 0
    for room in rooms:
        living = Residency.objects.filter(room=room).filter(
            Q(move_in_on__isnull=True) | Q(move_in_on__lte=day), Q(move_out_on__isnull=True) | Q(move_out_on__gt=day)
        )
        if living.exists():
            households += 1
            online += living.filter(user__is_active=True, user__last_login__gte=since).exists()
    return households, online


# The satisfaction index (docs/engagement.md) read again: the dimension of each catalogue category by its code, and
# customer service for complaints, inquiries, suggestions and praise whatever their category.
CATEGORY_DIMENSIONS = {"cleaning": "cleaning", "greening": "greening", "noise": "security", "parking": "security"}
CATEGORY_DIMENSIONS["security"] = "security"


def _dimension(order) -> str:
    if order.kind in ("complaint", "inquiry", "suggestion", "praise"):
        return "customer_service"
    return CATEGORY_DIMENSIONS.get(order.category.code, "engineering")


def _satisfaction_index(n, orders, inside) -> float | None:
    """Company, estate and grid: the mean over dimensions of satisfied ÷ all, from ratings and the 1-5 answers to
    the surveys after orders (no yearly survey in this history)."""
    from wuye.engagement.models import Answer

    for answer in Answer.objects.filter(question__survey__work_order_id__in=list(orders), number__isnull=False):
        if inside(answer.response.submitted_at):
            dimension = _dimension(orders[answer.question.survey.work_order_id])
            n[f"rated:{dimension}"] += 1
            n[f"good:{dimension}"] += answer.number >= 4
    shares = [
        n[f"good:{dimension}"] / n[f"rated:{dimension}"]
        for dimension in ("cleaning", "greening", "security", "engineering", "customer_service")
        if n[f"rated:{dimension}"]
    ]
    return 100 * sum(shares) / len(shares) if shares else None
