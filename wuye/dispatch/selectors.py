"""Live dispatch reads: turn orders and the estate's staff into the pure `rules` inputs, and ask the policies who
should go and why. The same `rules` code runs the simulator (simulation.py).

Used by the desk's dispatch form and dispatch board, by the grab pool (抢单) and by automatic dispatch
(dispatch.services). Every function here reads; none writes.
"""

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from django.db.models import Count, Prefetch, Q, QuerySet
from django.utils import timezone

from wuye.accounts.models import User
from wuye.accounts.selectors import roles_by_estate
from wuye.core import clock
from wuye.estates.models import Grid
from wuye.staff.models import ShiftAssignment
from wuye.staff.rules import is_within_shift
from wuye.workorders.choices import ASSIGNED, SHORT_PATH_KINDS, Status, Step
from wuye.workorders.models import DispatchMode, WorkOrder, WorkOrderStep
from wuye.workorders.permissions import FIELD_ROLES

from . import rules

# Expected time on site when nothing better is known (the simulator draws it per category from demand.json).
DEFAULT_SERVICE_MINUTES = 45.0


@dataclass(frozen=True)
class Whereabouts:
    """Where a person was last seen today (the building or area of their last check-in), for the board and the
    walking-time estimate; `label` is empty when they have not checked in anywhere today (assumed at the gate)."""

    position: rules.Position
    label: str


def _position(order: WorkOrder) -> rules.Position:
    if order.room_id:
        building = order.room.building
        return (building.position_x_m, building.position_y_m)
    if order.public_area_id:
        return (order.public_area.position_x_m, order.public_area.position_y_m)
    return (0, 0)  # the main gate


def _steps_of(order: WorkOrder) -> dict[str, WorkOrderStep]:
    """The order's open-or-met step rows by step (uses prefetched `steps` when the caller prefetched them)."""
    return {row.step: row for row in order.steps.all()}


def job_for(order: WorkOrder, now: dt.datetime) -> rules.Job:
    steps = _steps_of(order)
    arrive = steps.get(Step.ARRIVE)
    resolve = steps.get(Step.RESOLVE)
    fallback = now + dt.timedelta(days=1)
    return rules.Job(
        id=order.id,
        estate_id=order.estate_id,
        grid_id=order.grid_id,
        position=_position(order),
        required_skill=order.category.required_skill,
        required_certificate=order.category.required_certificate,
        priority=order.priority,
        submitted_at=order.submitted_at,
        arrive_due_at=(arrive.due_at if arrive and arrive.due_at else fallback),
        resolve_due_at=resolve.due_at if resolve else None,
        service_minutes=DEFAULT_SERVICE_MINUTES,
    )


def waiting_orders(estate_ids: Iterable[int]) -> QuerySet[WorkOrder]:
    """Orders accepted and waiting for someone to be sent (the long path only), with what a plan needs."""
    return (
        WorkOrder.objects.filter(estate_id__in=list(estate_ids), status=Status.ACCEPTED)
        .exclude(kind__in=SHORT_PATH_KINDS)
        .select_related("category", "grid", "room__building", "room__unit", "public_area", "estate")
        .prefetch_related("steps")
        .order_by("submitted_at", "id")
    )


def field_staff(estate_id: int) -> QuerySet[User]:
    """Active front-line staff of the estate: the people dispatch may send."""
    return (
        User.objects.filter(is_active=True, memberships__estate_id=estate_id, memberships__role__in=list(FIELD_ROLES))
        .distinct()
        .order_by("name", "pk")
    )


def technicians_in(estate_id: int, candidates: Iterable[User], now: dt.datetime) -> list[rules.Technician]:
    """The candidates as the rules see them in one estate. Grid membership is the grids a person leads or deputises
    (staff are not otherwise attached to grids yet); the position is the building of their last check-in today, else
    the gate; someone holding orders is expected to be free after the usual time on site for each."""
    return [tech for tech, _user, _where in _roster(estate_id, candidates, now)]


def technicians_for(order: WorkOrder, candidates, now: dt.datetime) -> list[rules.Technician]:
    return technicians_in(order.estate_id, candidates, now)


def _roster(
    estate_id: int, candidates: Iterable[User], now: dt.datetime
) -> list[tuple[rules.Technician, User, Whereabouts]]:
    local_now = timezone.localtime(now, clock.local_tz())
    today = local_now.date()
    users = list(
        User.objects.filter(pk__in=[user.pk for user in candidates])
        .select_related("staff_profile")
        .prefetch_related(
            "staff_profile__skills",
            "staff_profile__certificates",
            Prefetch(
                "staff_profile__shift_assignments",
                queryset=ShiftAssignment.objects.select_related("shift").filter(
                    Q(ends_on__isnull=True) | Q(ends_on__gte=today), starts_on__lte=today
                ),
            ),
        )
        .annotate(open_count=Count("assigned_work_orders", filter=Q(assigned_work_orders__status__in=ASSIGNED)))
        .order_by("pk")
    )
    grids: dict[int, set[int]] = {}
    for grid_id, leader_id, deputy_id in Grid.objects.filter(estate_id=estate_id).values_list(
        "id", "leader_id", "deputy_id"
    ):
        for person in (leader_id, deputy_id):
            if person:
                grids.setdefault(person, set()).add(grid_id)
    last_seen = last_check_ins([user.pk for user in users], today)
    nowhere = Whereabouts((0, 0), "")
    roster = []
    for user in users:
        profile = getattr(user, "staff_profile", None)
        skills = frozenset(s.skill for s in profile.skills.all()) if profile else frozenset()
        certificates = {c.kind: c.expires_on for c in profile.certificates.all()} if profile else {}
        on_shift = bool(profile) and any(
            assignment.shift.estate_id == estate_id
            and is_within_shift(
                local_now.replace(tzinfo=None),
                start=assignment.shift.start_time,
                end=assignment.shift.end_time,
                weekdays=assignment.shift.weekdays,
            )
            for assignment in profile.shift_assignments.all()
        )
        where = last_seen.get(user.pk, nowhere)
        tech = rules.Technician(
            id=user.pk,
            skills=skills,
            certificates=certificates,
            estate_ids=frozenset({estate_id}),
            grid_ids=frozenset(grids.get(user.pk, ())),
            position=where.position,
            on_shift=on_shift,
            on_call=bool(profile and profile.is_on_call),
            free_at=now + dt.timedelta(minutes=DEFAULT_SERVICE_MINUTES * user.open_count),
            open_orders=user.open_count,
        )
        roster.append((tech, user, where))
    return roster


def last_check_ins(user_ids: list[int], today: dt.date) -> dict[int, Whereabouts]:
    """Where each person last checked in (到场) today: the building (or public area) of that order."""
    positions: dict[int, Whereabouts] = {}
    arrivals = (
        WorkOrder.objects.filter(events__action="arrive", events__actor_id__in=user_ids, events__at__date=today)
        .values_list(
            "events__actor_id",
            "events__at",
            "room__building__name",
            "room__building__position_x_m",
            "room__building__position_y_m",
            "public_area__name",
            "public_area__position_x_m",
            "public_area__position_y_m",
        )
        .order_by("events__at")
    )
    for actor_id, _at, building, bx, by, area, ax, ay in arrivals:
        if building is not None:
            positions[actor_id] = Whereabouts((bx, by), building)
        else:
            positions[actor_id] = Whereabouts((ax or 0, ay or 0), area or "")
    return positions


def dispatch_suggestions(order: WorkOrder, candidates, *, now: dt.datetime | None = None) -> dict:
    """For the desk's dispatch form: each candidate's eligibility (every check explained) and the optimiser's choice
    among the eligible ones, with its reasons ("why this person")."""
    now = now or clock.now()
    today = timezone.localdate(now, clock.local_tz())
    job = job_for(order, now)
    technicians = technicians_for(order, candidates, now)
    verdicts = {tech.id: rules.eligibility(job, tech, today=today) for tech in technicians}
    eligible = [tech for tech in technicians if verdicts[tech.id].ok]
    plan = rules.Optimiser().plan([job], eligible, now=now, today=today) if eligible else []
    best = plan[0] if plan else None
    return {
        "eligibility": verdicts,
        "suggested_id": best.tech_id if best else None,
        "reasons": best.reasons if best else (),
    }


# ---------------------------------------------------------------- grab (抢单)


def grab_refusal(order: WorkOrder, user: User, now: dt.datetime) -> str:
    """Why `user` may not grab `order` ("" when they may): the failed eligibility checks, explained."""
    (me,) = technicians_in(order.estate_id, [user], now)
    verdict = rules.eligibility(job_for(order, now), me, today=timezone.localdate(now, clock.local_tz()))
    return " ".join(check.message for check in verdict.failed())


def pool_audience(order: WorkOrder, now: dt.datetime) -> list[User]:
    """The field staff of the order's estate who may grab it now (told when it enters the pool)."""
    staff = list(field_staff(order.estate_id))
    if not staff:
        return []
    job = job_for(order, now)
    today = timezone.localdate(now, clock.local_tz())
    allowed = {
        tech.id for tech in technicians_in(order.estate_id, staff, now) if rules.eligibility(job, tech, today=today).ok
    }
    return [user for user in staff if user.pk in allowed]


def grab_pool(user: User, *, now: dt.datetime) -> list[dict]:
    """The orders `user` may grab now: waiting orders of grab-mode categories in the estates where they are field
    staff, each with the eligibility verdict for this user (orders they may not take are left out, not hidden
    silently: the page says how many and why)."""
    estate_ids = [estate_id for estate_id, roles in roles_by_estate(user).items() if roles & FIELD_ROLES]
    orders = list(waiting_orders(estate_ids).filter(category__dispatch_mode=DispatchMode.GRAB))
    today = timezone.localdate(now, clock.local_tz())
    me_by_estate = {
        estate_id: technicians_in(estate_id, [user], now)[0] for estate_id in {order.estate_id for order in orders}
    }
    pool = []
    for order in orders:
        job = job_for(order, now)
        me = me_by_estate[order.estate_id]
        pool.append(
            {
                "order": order,
                "job": job,
                "eligibility": rules.eligibility(job, me, today=today),
                "walk_minutes": round(rules.walk_minutes(me.position, job.position)),
            }
        )
    pool.sort(key=lambda row: (not row["eligibility"].ok, row["job"].arrive_due_at, row["order"].id))
    return pool


# ---------------------------------------------------------------- the dispatch board


@dataclass(frozen=True)
class BoardTechnician:
    user: User
    tech: rules.Technician
    where: Whereabouts
    current: WorkOrder | None


@dataclass(frozen=True)
class BoardOrder:
    order: WorkOrder
    job: rules.Job
    slack_minutes: int
    suggestion: rules.Assignment | None
    eligible_ids: frozenset[int]


def dispatch_board(estate_id: int, *, now: dt.datetime) -> dict:
    """One estate's dispatch board: the waiting orders grouped by grid with their SLA slack (minutes to the arrival
    due time; negative when already late) and the optimiser's joint suggestion for each, and the field staff with
    their status, last known place, load and current order.

    The suggestions come from one plan over all waiting orders (not one order at a time), so two orders are not both
    suggested to the same free technician."""
    today = timezone.localdate(now, clock.local_tz())
    orders = list(waiting_orders([estate_id]))
    staff = list(field_staff(estate_id))
    roster = _roster(estate_id, staff, now)
    technicians = [tech for tech, _user, _where in roster]
    jobs = [job_for(order, now) for order in orders]
    plan = {a.job_id: a for a in rules.Optimiser().plan(jobs, technicians, now=now, today=today)} if jobs else {}
    eligible = rules.eligibility_matrix(jobs, technicians, today=today) if jobs and technicians else None
    current: dict[int, WorkOrder] = {}
    for order in (
        WorkOrder.objects.filter(estate_id=estate_id, assignee__in=staff, status__in=ASSIGNED)
        .select_related("room__building", "room__unit", "public_area")
        .order_by("submitted_at")
    ):
        current.setdefault(order.assignee_id, order)
    board_orders = []
    for row, (order, job) in enumerate(zip(orders, jobs, strict=True)):
        ids = (
            frozenset(tech.id for column, tech in enumerate(technicians) if eligible[row, column])
            if eligible is not None
            else frozenset()
        )
        board_orders.append(
            BoardOrder(
                order=order,
                job=job,
                slack_minutes=int((job.arrive_due_at - now).total_seconds() // 60),
                suggestion=plan.get(order.id),
                eligible_ids=ids,
            )
        )
    groups: dict[str, list[BoardOrder]] = {}
    for item in sorted(
        board_orders, key=lambda item: (item.order.grid.name if item.order.grid else "", item.slack_minutes)
    ):
        groups.setdefault(item.order.grid.name if item.order.grid else "", []).append(item)
    people = [
        BoardTechnician(user=user, tech=tech, where=where, current=current.get(user.pk)) for tech, user, where in roster
    ]
    return {"groups": groups, "orders": board_orders, "technicians": people, "now": now}


def board_estates(user: User, roles: Sequence[str]) -> list[int]:
    """The estates where `user` holds one of `roles` (the dispatcher roles), in id order."""
    wanted = frozenset(roles)
    return sorted(estate_id for estate_id, held in roles_by_estate(user).items() if held & wanted)
