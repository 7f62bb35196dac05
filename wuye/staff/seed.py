"""Demo data for the appraisal: a played-out last month of repairs in the first estate — walked through the real
work-order services by the estate's technicians, some quick, some late, a reopen and a complaint — then last month's
scores of every estate, an accountability scan, and the first estate's 服务之星 confirmed by its project manager.

For the demo seeder only, after `seed_demo` (staff, catalogue), `seed_standards` (task history) and the demo orders.
Idempotent: a month that already has the played-out repairs is not played again.
"""

import datetime as dt
import random

from django.db import transaction

from wuye.accounts.choices import Relation, Role
from wuye.accounts.models import Residency, User
from wuye.core import clock
from wuye.estates.models import Company, Estate
from wuye.workorders import services as wo
from wuye.workorders.choices import Action, Channel, Kind, Priority
from wuye.workorders.models import Category, WorkOrder

from . import rules, services

SEED = 20261001
SOURCE = "demo_appraisal"  # marks the played-out orders (source_type), so a second run finds them
# (category, description)
JOBS = [
    ("plumbing", "卫生间地漏返水"),
    ("plumbing", "厨房水龙头滴水不止"),
    ("doors_locks", "入户门把手松动"),
    ("walls", "客厅墙面起皮脱落"),
    ("plumbing", "热水器进水阀漏水"),
    ("doors_locks", "阳台推拉门卡轨"),
]
# username (or the n-th other technician) → (orders, chance an arrival is late, ratings to draw from)
PROFILES = [
    ("tech", 11, 0.05, (5, 5, 5, 4)),
    ("tech2", 8, 0.0, (4, 5, 4, 3)),
    (0, 7, 0.15, (4, 4, 5, 3)),
    (1, 5, 0.2, (3, 4, 4, 5)),
]


def _technicians(estate: Estate) -> dict:
    people = list(
        User.objects.filter(memberships__estate=estate, memberships__role=Role.TECHNICIAN, is_active=True)
        .distinct()
        .order_by("id")
    )
    named = {user.username: user for user in people if user.username in ("tech", "tech2")}
    others = [user for user in people if user.username not in ("tech", "tech2")]
    return {**named, **dict(enumerate(others))}


def _first(estate: Estate, role: str) -> User | None:
    return (
        User.objects.filter(memberships__estate=estate, memberships__role=role, is_active=True).order_by("id").first()
    )


def _moment(month: dt.date, rng: random.Random, *, first_day: int = 1, last_day: int = 28) -> dt.datetime:
    day = rng.randint(first_day, last_day)
    local = dt.datetime(month.year, month.month, day, rng.randint(8, 15), rng.randint(0, 59), tzinfo=clock.local_tz())
    return local


def _walk(order: WorkOrder, path: list[tuple[str, User, dict, int]], start: dt.datetime) -> dt.datetime:
    moment = start
    for action, actor, params, gap in path:
        moment += dt.timedelta(minutes=gap)
        wo.workorder_act(actor=actor, order_id=order.id, action=action, params=params, now=moment)
    return moment


@transaction.atomic
def play_last_month(*, estate: Estate, month: dt.date) -> int:
    """About thirty repairs of `month` in `estate`, done by its technicians. Returns how many were created."""
    start, end = rules.month_bounds(month, clock.local_tz())
    if WorkOrder.objects.filter(estate=estate, source_type=SOURCE, submitted_at__gte=start, submitted_at__lt=end):
        return 0
    rng = random.Random(SEED)
    service, supervisor = _first(estate, Role.SERVICE_AGENT), _first(estate, Role.SUPERVISOR)
    technicians = _technicians(estate)
    residencies = list(
        Residency.objects.filter(room__estate=estate, relation=Relation.OWNER, move_out_on__isnull=True)
        .select_related("room", "user")
        .order_by("id")[:300]
    )
    categories = {c.code: c for c in Category.objects.filter(company_id=estate.company_id)}
    if service is None or supervisor is None or not residencies or not technicians:
        return 0
    created = 0
    last_repairs = []
    for key, count, late_chance, ratings in PROFILES:
        technician = technicians.get(key)
        if technician is None:
            continue
        for index in range(count):
            residency = rng.choice(residencies)
            code, text = rng.choice(JOBS)
            # tech2's late arrivals fall in the month's last days, inside the accountability window.
            late = rng.random() < late_chance or (key == "tech2" and index >= count - 2)
            closing_days = late and key == "tech2"
            submitted = _moment(month, rng, first_day=29 if closing_days else 1, last_day=30 if closing_days else 28)
            order, _ = wo.workorder_create(
                actor=service,
                new=wo.NewOrder(
                    estate=estate,
                    kind=Kind.REPAIR_HOME,
                    category=categories[code],
                    description=text,
                    channel=Channel.PHONE,
                    priority=Priority.EMERGENCY if rng.random() < 0.3 else Priority.URGENT,
                    room=residency.room,
                    reporter=residency.user,
                    source_type=SOURCE,
                ),
                now=submitted,
            )
            score = rng.choice(ratings)
            satisfied = score >= 4 or rng.random() < 0.5
            path = [
                (Action.ACCEPT, service, {}, rng.randint(2, 10)),
                (Action.DISPATCH, supervisor, {"assignee_id": technician.id}, rng.randint(3, 15)),
                (Action.TAKE, technician, {}, rng.randint(1, 5)),
                (Action.ARRIVE, technician, {}, 1500 if late else rng.randint(15, 50)),
                (Action.START, technician, {}, rng.randint(2, 10)),
                (Action.RESOLVE, technician, {"resolution": "已修复，业主现场确认"}, rng.randint(30, 120)),
                (Action.RATE, residency.user, {"verdict": "good" if score >= 3 else "bad", "score": score}, 240),
                (Action.VISIT, service, {"satisfied": satisfied}, 600),
            ]
            moment = _walk(order, path, submitted)
            if not satisfied:
                # Reopened by the unsatisfied visit: sent back to the same technician and fixed again.
                again = [
                    (Action.DISPATCH, supervisor, {"assignee_id": technician.id}, 30),
                    (Action.TAKE, technician, {}, 5),
                    (Action.ARRIVE, technician, {}, 40),
                    (Action.START, technician, {}, 5),
                    (Action.RESOLVE, technician, {"resolution": "二次维修完成"}, 60),
                    (Action.RATE, residency.user, {"verdict": "good", "score": 4}, 240),
                    (Action.VISIT, service, {"satisfied": True}, 600),
                ]
                moment = _walk(order, again, moment)
            wo.workorder_act(
                actor=supervisor, order_id=order.id, action=Action.CLOSE, now=moment + dt.timedelta(hours=2)
            )
            last_repairs.append((moment, order, residency))
            created += 1
    # One owner complains about the service a few days after a repair at home.
    moment, order, residency = sorted(last_repairs, key=lambda item: (item[0], item[1].id))[len(last_repairs) // 2]
    wo.workorder_create(
        actor=residency.user,
        new=wo.NewOrder(
            estate=estate,
            kind=Kind.COMPLAINT,
            category=categories["service"],
            description="维修后地面没清理干净，师傅态度也一般",
            channel=Channel.PORTAL,
            room=residency.room,
            reporter=residency.user,
            source_type=SOURCE,
        ),
        now=moment + dt.timedelta(days=2),
    )
    return created


def seed_appraisal(*, company: Company, now: dt.datetime) -> dict:
    """Play last month in the company's first estate, then appraise it everywhere and confirm one 服务之星."""
    month = rules.previous_month(now.astimezone(clock.local_tz()).date())
    first = company.estates.filter(is_active=True).order_by("id").first()
    played = play_last_month(estate=first, month=month) if first is not None else 0
    return {"played": played, **services.seed_appraisal(company=company, now=now)}
