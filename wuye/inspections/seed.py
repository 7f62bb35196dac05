"""Demo data for patrols and inspections: `seed_inspections` gives each estate checkpoints with labels, two patrol
routes, rounds ahead, and — with `history_days` — a played-out past (rounds walked, some late or missed; inspections
with readings and failures, rectification orders worked and re-checked; quality spot checks of the standards tasks
done) so the contracted-vs-achieved report and the quality roll-ups have content.

For the demo seeder only, which runs alone after `seed_demo` (staff, catalogue) and `seed_standards` (profiles,
plans, task history): past rounds are inserted in their final state with the scans and events the live services
would have written; inspections, rectifications and spot checks go through the services with past `now`s.
"""

import datetime as dt
import random
from collections.abc import Sequence

from django.db import transaction

from wuye.accounts.choices import Role
from wuye.accounts.models import User
from wuye.core import clock
from wuye.core.errors import DomainError
from wuye.estates.choices import PublicAreaKind
from wuye.estates.models import Company, Estate, PublicArea
from wuye.standards.models import SopItem
from wuye.standards.selectors import effective_values, estate_profile_at
from wuye.workorders import services as workorder_services

from . import rules, services
from .choices import ItemKind, ItemResult, OrderRule, RoundAction, RoundStatus, ScanMethod
from .models import Checkpoint, Inspection, Round, RoundEvent, Route, Scan

PATROL_ROUTE = "重点部位巡更"
PLANT_ROUTE = "设备房夜巡"
PATROL_KINDS = (PublicAreaKind.GATE, PublicAreaKind.CAR_PARK, PublicAreaKind.GARDEN, PublicAreaKind.PLAYGROUND)
PLANT_KINDS = (PublicAreaKind.PUMP_ROOM, PublicAreaKind.POWER_ROOM, PublicAreaKind.REFUSE)
# Estates whose level contracts no key-area patrol still patrol: every two hours through the night.
NIGHT_EVERY_TWO_HOURS = {"kind": "daily", "windows": [{"start": "20:00", "end": "06:00"}], "every_minutes": 120}
PLANT_SCHEDULE = {"kind": "daily", "windows": [{"start": "21:00", "end": "22:00"}, {"start": "02:00", "end": "03:00"}]}
# The routine engineering inspection of the plant rooms (a reading each, the lights' working share, the lifts).
PLANT_ITEMS = ("eng-pump-room", "eng-power-room", "eng-lights", "eng-lift-check", "eng-drains", "eng-roof")
READINGS = {"eng-pump-room": (0.35, 0.55), "eng-power-room": (380.0, 400.0), "eng-lights": (92.0, 99.5)}
# Items that fail now and then in the demo: their rectifications go to categories needing no licence.
FAILING = {"eng-pump-room": "出水压力偏低，减压阀需调整", "eng-drains": "雨水井盖破损", "eng-roof": "天台门闭门器损坏"}


def _members(estate: Estate, role: str) -> list[User]:
    return list(
        User.objects.filter(memberships__estate=estate, memberships__role=role, is_active=True)
        .order_by("id")
        .distinct()
    )


def _checkpoints(estate: Estate) -> tuple[list[Checkpoint], list[Checkpoint]]:
    patrol, plant = [], []
    areas = list(PublicArea.objects.filter(estate=estate).order_by("name"))
    for kinds, bucket in ((PATROL_KINDS, patrol), (PLANT_KINDS, plant)):
        for area in (a for a in areas if a.kind in kinds):
            existing = Checkpoint.objects.filter(estate=estate, name=f"{area.name}巡更点").first()
            bucket.append(
                existing
                or services.checkpoint_create(
                    actor=None,
                    new=services.NewCheckpoint(
                        estate=estate, name=f"{area.name}巡更点", public_area=area, position="入口右侧墙面，离地 1.5 米"
                    ),
                )
            )
    return patrol[:6], plant[:4]


def _routes(estate: Estate, now: dt.datetime, history_start: dt.datetime) -> list[Route]:
    patrol_points, plant_points = _checkpoints(estate)
    values = effective_values(estate_profile_at(estate.id, now)) or {}
    contracted = (values.get("frequencies") or {}).get("key_area_patrol") is not None
    grid = estate.grids.order_by("name").first()
    made = []
    for name, points, extra in (
        (
            PATROL_ROUTE,
            patrol_points,
            {"profile_dimension": "key_area_patrol"} if contracted else {"schedule": NIGHT_EVERY_TWO_HOURS},
        ),
        (PLANT_ROUTE, plant_points, {"schedule": PLANT_SCHEDULE, "order_rule": OrderRule.ANY}),
    ):
        existing = Route.objects.filter(estate=estate, name=name).first()
        if existing is not None:
            made.append(existing)
            continue
        if not points:
            continue
        offsets = [index * 8 for index in range(len(points))] if name == PATROL_ROUTE else [None] * len(points)
        made.append(
            services.route_create(
                actor=None,
                new=services.NewRoute(
                    estate=estate,
                    name=name,
                    stops=list(zip(points, offsets, strict=True)),
                    grid=grid,
                    assignee_role=Role.GUARD,
                    **extra,
                ),
                now=history_start,
            )
        )
    return made


def _round_history(estate: Estate, routes: Sequence[Route], *, start, now, rng: random.Random) -> int:
    """Past rounds played out: most complete (a few checkpoints late), some incomplete, some missed."""
    guards = [user.id for user in _members(estate, Role.GUARD)]
    rounds, scans, events = [], [], []
    for route in routes:
        for round_ in services.missing_rounds(route, start=start, end=now, keep_after=start):
            if round_.window_end > now:
                continue
            stops = rules.stops_from(round_.stops)
            luck = rng.random()
            walked = len(stops)
            if luck >= 0.96:
                walked = rng.randint(1, len(stops) - 1) if luck < 0.98 and len(stops) > 1 else 0
            guard = rng.choice(guards) if guards else None
            if guard is None:
                walked = 0
            at = round_.window_start + dt.timedelta(minutes=rng.uniform(0, 3))
            on_time: dict[int, bool] = {}
            for sequence, stop in enumerate(stops[:walked], start=1):
                planned = rules.planned_at(round_.window_start, stop)
                step = dt.timedelta(minutes=rng.uniform(2, 6))
                at = max(at + step, planned + dt.timedelta(minutes=rng.uniform(-2, 6))) if planned else at + step
                if rng.random() < 0.02:
                    at += dt.timedelta(minutes=15)  # held up: late at this checkpoint
                at = min(at, round_.window_end - dt.timedelta(minutes=1))
                late = rules.is_late(
                    window_start=round_.window_start, stop=stop, tolerance_minutes=round_.tolerance_minutes, at=at
                )
                on_time[stop.checkpoint_id] = not late
                scans.append(
                    Scan(
                        round=round_,
                        checkpoint_id=stop.checkpoint_id,
                        at=at,
                        by_id=guard,
                        method=ScanMethod.QR if rng.random() < 0.9 else ScanMethod.MANUAL,
                        sequence=sequence,
                        on_time=not late,
                        planned_at=planned,
                    )
                )
                if sequence == 1:
                    round_.started_at = at
                    round_.assignee_id = guard
                    events.append(
                        _event(round_, RoundAction.START, at, RoundStatus.PENDING, RoundStatus.IN_PROGRESS, guard)
                    )
            status = RoundStatus.PENDING if walked == 0 else RoundStatus.IN_PROGRESS
            if walked == len(stops):
                events.append(_event(round_, RoundAction.COMPLETE, at, status, RoundStatus.COMPLETE, guard))
                status, round_.completed_at = RoundStatus.COMPLETE, at
            outcome = rules.round_outcome(status=status, stops=stops, on_time=on_time)
            events.append(
                _event(
                    round_,
                    RoundAction.CLOSE,
                    round_.window_end,
                    status,
                    outcome.status,
                    None,
                    missed=list(outcome.missed),
                    late=list(outcome.late),
                )
            )
            round_.status, round_.closed_at = outcome.status, round_.window_end
            round_.scanned_count, round_.missed_count, round_.late_count = (
                walked,
                len(outcome.missed),
                len(outcome.late),
            )
            rounds.append(round_)
    Round.objects.bulk_create(rounds, batch_size=500)
    Scan.objects.bulk_create(scans, batch_size=1000)
    RoundEvent.objects.bulk_create(events, batch_size=1000)
    return len(rounds)


def _event(round_, action, at, source, target, actor, **payload) -> RoundEvent:
    return RoundEvent(
        round=round_, action=action, actor_id=actor, at=at, from_status=source, to_status=target, payload=payload
    )


def _answer(item, rng: random.Random, *, fail_share: float, any_item: bool) -> dict:
    """A plausible answer: readings in their normal range; with `any_item` any item may fail, else only those
    in FAILING (whose rectification categories need no licence, so the demo's orders can be worked)."""
    answer: dict = {"result": ItemResult.PASS}
    if item.kind == ItemKind.READING:
        low, high = READINGS.get(item.code, (1.0, 2.0))
        answer["reading"] = round(rng.uniform(low, high), 2)
    if (any_item or item.code in FAILING) and rng.random() < fail_share:
        answer.update(result=ItemResult.FAIL, note=FAILING.get(item.code, "核查发现未达到作业标准"))
    return answer


def _photo():
    from io import BytesIO

    from PIL import Image

    from wuye.core.images import clean_image

    buffer = BytesIO()
    Image.new("RGB", (64, 48), (120, 130, 140)).save(buffer, "PNG")
    return clean_image(buffer.getvalue())


def _submit(
    inspection: Inspection, actor: User, at: dt.datetime, rng: random.Random, *, fail_share: float, any_item=False
) -> None:
    answers, photos = {}, {}
    for item in inspection.items.all():
        answers[item.id] = _answer(item, rng, fail_share=fail_share, any_item=any_item)
        if item.kind == ItemKind.PHOTO:
            photos[item.id] = [_photo()]
    services.inspection_submit(actor=actor, inspection_id=inspection.id, answers=answers, photos=photos, now=at)


def _work_rectifications(estate: Estate, technicians: list[User], *, until: dt.datetime, rng: random.Random) -> int:
    """Rectification orders of the past worked to resolved (most within their deadline), each re-checked."""
    worked = 0
    for inspection in Inspection.objects.filter(estate=estate, status="submitted").order_by("submitted_at"):
        for item in inspection.items.filter(work_order__isnull=False, rectified_at__isnull=True):
            if not technicians:
                return worked
            hours = item.rectify_hours * rng.uniform(0.2, 1.1)
            done_at = inspection.submitted_at + dt.timedelta(hours=hours)
            if done_at >= until:
                continue  # still being rectified
            try:
                for action, params, at in (
                    ("accept", {}, inspection.submitted_at + dt.timedelta(minutes=10)),
                    (
                        "dispatch",
                        {"assignee_id": rng.choice(technicians).id},
                        inspection.submitted_at + dt.timedelta(minutes=20),
                    ),
                    ("take", {}, inspection.submitted_at + dt.timedelta(minutes=30)),
                    ("arrive", {}, done_at - dt.timedelta(minutes=40)),
                    ("start", {}, done_at - dt.timedelta(minutes=35)),
                    ("resolve", {"resolution": "已整改完毕"}, done_at),
                ):
                    workorder_services.workorder_act(
                        actor=None, order_id=item.work_order_id, action=action, params=params, now=at
                    )
            except DomainError:
                continue
            # The resolve's work-order hook created the re-check; the call stands in for it only if it did not.
            services.rectification_resolved(order=item.work_order, now=done_at)
            recheck = Inspection.objects.filter(items__recheck_of=item).select_related("inspector").first()
            worked += 1
            if recheck is not None and recheck.inspector is not None:
                recheck_at = done_at + dt.timedelta(hours=rng.uniform(1, 20))
                if recheck_at < until:
                    _submit(recheck, recheck.inspector, recheck_at, rng, fail_share=0.1)
    return worked


def _inspection_history(estate: Estate, *, start, now, rng: random.Random) -> dict[str, int]:
    counts = {"inspections": 0, "spot_checks": 0, "rectified": 0}
    technicians = _members(estate, Role.TECHNICIAN)
    checkers = _members(estate, Role.SUPERVISOR) or _members(estate, Role.GRID_LEADER) or _members(estate, Role.MANAGER)
    items = list(SopItem.objects.filter(company_id=estate.company_id, code__in=PLANT_ITEMS, is_active=True))
    pump_room = PublicArea.objects.filter(estate=estate, kind=PublicAreaKind.PUMP_ROOM).first()
    day = start.replace(hour=10, minute=0, second=0, microsecond=0) + dt.timedelta(days=1)
    while day < now - dt.timedelta(hours=2):
        if technicians and items and (day - start).days % 2 == 0:
            inspector = rng.choice(technicians)
            inspection = services.inspection_create(
                actor=inspector,
                new=services.NewInspection(
                    estate=estate, discipline="engineering", sop_items=items, public_area=pump_room, inspector=inspector
                ),
                now=day,
            )
            _submit(inspection, inspector, day + dt.timedelta(minutes=40), rng, fail_share=0.25)
            counts["inspections"] += 1
        if checkers and day.weekday() in (1, 4):
            checker = rng.choice(checkers)
            for check in services.spot_checks_sample(
                actor=checker, estate=estate, now=day, count=3, days=4, seed=f"{estate.id}:{day:%Y%m%d}"
            ):
                _submit(check, checker, day + dt.timedelta(hours=1), rng, fail_share=0.15, any_item=True)
                counts["spot_checks"] += 1
        day += dt.timedelta(days=1)
    counts["rectified"] = _work_rectifications(estate, technicians, until=now, rng=rng)
    return counts


@transaction.atomic
def seed_inspections(
    *,
    company: Company,
    estates: Sequence[Estate],
    now: dt.datetime | None = None,
    history_days: int = 30,
    seed: int = 20261127,
) -> dict[str, int]:
    """For the demo seeder: per estate, checkpoints at its gates, car park, garden, playground and plant rooms; a
    key-area patrol route (following the service level's frequency where it is contracted, else every two hours
    at night) and a plant-room route; rounds two days ahead; and with `history_days`, a played-out past: rounds
    walked, routine engineering inspections every other day with readings and a few failures whose rectification
    orders were worked and re-checked, and spot checks of tasks done twice a week. Idempotent for routes and
    checkpoints (by name); run once for the history. Run after `seed_standards`."""
    now = now or clock.now()
    rng = random.Random(seed)
    history_start = now - dt.timedelta(days=history_days)
    counts = {"checkpoints": 0, "routes": 0, "rounds": 0, "history_rounds": 0, "inspections": 0, "spot_checks": 0}
    counts["rectified"] = 0
    for estate in estates:
        if estate.company_id != company.id:
            continue
        routes = _routes(estate, now, history_start)
        counts["routes"] += len(routes)
        counts["checkpoints"] += Checkpoint.objects.filter(estate=estate).count()
        if history_days and not Round.objects.filter(estate=estate, closed_at__isnull=False).exists():
            # The rounds route_create generated from history_start are replaced by the played-out past.
            Round.objects.filter(route__in=routes, window_start__lt=now, status=RoundStatus.PENDING).delete()
            counts["history_rounds"] += _round_history(estate, routes, start=history_start, now=now, rng=rng)
            history = _inspection_history(estate, start=history_start, now=now, rng=rng)
            for key, value in history.items():
                counts[key] += value
        counts["rounds"] += services.rounds_generate(now=now, estate=estate)
    return counts
