"""Live dispatch reads: turn an order and the estate's staff into the pure `rules` inputs, and ask the optimiser who
should go and why. The same `rules` code runs the simulator (simulation.py)."""

import datetime as dt

from django.db.models import Count, Prefetch, Q
from django.utils import timezone

from wuye.accounts.models import User
from wuye.core import clock
from wuye.estates.models import Grid
from wuye.staff.models import ShiftAssignment
from wuye.staff.rules import is_within_shift
from wuye.workorders.choices import ASSIGNED, Step
from wuye.workorders.models import WorkOrder, WorkOrderStep

from . import rules

# Expected time on site when nothing better is known (the simulator draws it per category from demand.json).
DEFAULT_SERVICE_MINUTES = 45.0


def _position(order: WorkOrder) -> rules.Position:
    if order.room_id:
        building = order.room.building
        return (building.position_x_m, building.position_y_m)
    if order.public_area_id:
        return (order.public_area.position_x_m, order.public_area.position_y_m)
    return (0, 0)  # the main gate


def job_for(order: WorkOrder, now: dt.datetime) -> rules.Job:
    steps = {row.step: row for row in WorkOrderStep.objects.filter(order=order)}
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


def technicians_for(order: WorkOrder, candidates, now: dt.datetime) -> list[rules.Technician]:
    """The candidates as the rules see them. Grid membership is the grids a person leads or deputises (staff are
    not otherwise attached to grids yet); the position is the building of their last check-in today, else the gate."""
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
    for grid_id, leader_id, deputy_id in Grid.objects.filter(estate_id=order.estate_id).values_list(
        "id", "leader_id", "deputy_id"
    ):
        for person in (leader_id, deputy_id):
            if person:
                grids.setdefault(person, set()).add(grid_id)
    last_seen = _last_check_in_positions([user.pk for user in users], today)
    technicians = []
    for user in users:
        profile = getattr(user, "staff_profile", None)
        skills = frozenset(s.skill for s in profile.skills.all()) if profile else frozenset()
        certificates = {c.kind: c.expires_on for c in profile.certificates.all()} if profile else {}
        on_shift = bool(profile) and any(
            assignment.shift.estate_id == order.estate_id
            and is_within_shift(
                local_now.replace(tzinfo=None),
                start=assignment.shift.start_time,
                end=assignment.shift.end_time,
                weekdays=assignment.shift.weekdays,
            )
            for assignment in profile.shift_assignments.all()
        )
        technicians.append(
            rules.Technician(
                id=user.pk,
                skills=skills,
                certificates=certificates,
                estate_ids=frozenset({order.estate_id}),
                grid_ids=frozenset(grids.get(user.pk, ())),
                position=last_seen.get(user.pk, (0, 0)),
                on_shift=on_shift,
                on_call=bool(profile and profile.is_on_call),
                free_at=now,
                open_orders=user.open_count,
            )
        )
    return technicians


def _last_check_in_positions(user_ids: list[int], today: dt.date) -> dict[int, rules.Position]:
    """Where each person last checked in (到场) today: the building of that order."""
    positions: dict[int, rules.Position] = {}
    arrivals = (
        WorkOrder.objects.filter(events__action="arrive", events__actor_id__in=user_ids, events__at__date=today)
        .select_related("room__building", "public_area")
        .values_list(
            "events__actor_id",
            "events__at",
            "room__building__position_x_m",
            "room__building__position_y_m",
            "public_area__position_x_m",
            "public_area__position_y_m",
        )
        .order_by("events__at")
    )
    for actor_id, _at, bx, by, ax, ay in arrivals:
        positions[actor_id] = (bx, by) if bx is not None else (ax or 0, ay or 0)
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
