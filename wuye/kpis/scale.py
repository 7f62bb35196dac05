"""A large, realistic work-order history for the KPI benchmark: orders with their event rows and SLA clocks written
straight into the tables (COPY on PostgreSQL, big bulk inserts on SQLite), not through the services — two million
orders through `workorder_act` would take days. The rows have the shape the services write: the same actions and
statuses, the same payloads, steps restarted by a reopen, late steps marked breached when the order closes.

The organisation (estates, rooms, owners, staff, catalogue) comes from the demo's `seed_scale`. Times are
wall-clock (no business calendars): the KPIs only read what the rows say.
"""

import datetime as dt
import math
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from django.db import connection, transaction
from django.db.models import F

from wuye.accounts.choices import Role
from wuye.accounts.models import Membership, Residency, User
from wuye.core import clock
from wuye.estates.models import Company, PublicArea, Room
from wuye.workorders.choices import SHORT_PATH_KINDS, Kind
from wuye.workorders.models import Category, SlaTarget, WorkOrder, WorkOrderEvent, WorkOrderStep

SEED = 20261120
KIND_WEIGHTS = {
    Kind.REPAIR_HOME: 42,
    Kind.REPAIR_PUBLIC: 18,
    Kind.COMPLAINT: 9,
    Kind.INQUIRY: 16,
    Kind.SUGGESTION: 6,
    Kind.PRAISE: 3,
    Kind.MAINTENANCE: 6,
}
# Requests per hour of the day (owners report in the morning and the evening).
HOURLY = [1, 1, 1, 1, 1, 2, 4, 8, 12, 12, 11, 10, 8, 8, 9, 9, 9, 9, 10, 12, 12, 9, 5, 2]


@dataclass
class EstatePlan:
    id: int
    rooms: list[tuple[int, int | None, int | None]]  # (room id, grid id, owner user id)
    areas: list[tuple[int, int | None]]
    technicians: list[int]
    agents: list[int]
    supervisors: list[int]
    weight: int = 1


@dataclass
class Catalogue:
    by_kind: dict[str, list[tuple[int, str, int]]]  # kind → [(category id, default priority, policy id)]
    limits: dict[tuple[int, str, str], int]  # (policy, priority, step) → minutes


@dataclass
class Rows:
    orders: list[dict] = field(default_factory=list)
    events: list[tuple] = field(default_factory=list)
    steps: list[tuple] = field(default_factory=list)


def _plans(company: Company) -> list[EstatePlan]:
    owners = dict(
        Residency.objects.filter(room__estate__company=company, relation="owner", move_out_on__isnull=True)
        .order_by("room_id", "id")
        .values_list("room_id", "user_id")
    )
    plans: dict[int, EstatePlan] = {}
    for estate_id in company.estates.filter(is_active=True).order_by("id").values_list("id", flat=True):
        plans[estate_id] = EstatePlan(estate_id, [], [], [], [], [])
    for room_id, estate_id, grid_id in Room.objects.filter(estate__company=company).values_list(
        "id", "estate_id", "building__grid_id"
    ):
        plans[estate_id].rooms.append((room_id, grid_id, owners.get(room_id)))
    for area_id, estate_id, grid_id in PublicArea.objects.filter(estate__company=company).values_list(
        "id", "estate_id", "grid_id"
    ):
        plans[estate_id].areas.append((area_id, grid_id))
    roles = {Role.TECHNICIAN: "technicians", Role.SERVICE_AGENT: "agents", Role.SUPERVISOR: "supervisors"}
    for estate_id, user_id, role in Membership.objects.filter(
        estate__company=company, role__in=list(roles)
    ).values_list("estate_id", "user_id", "role"):
        getattr(plans[estate_id], roles[role]).append(user_id)
    result = [plan for plan in plans.values() if plan.rooms and plan.technicians]
    for plan in result:
        plan.weight = len(plan.rooms)
        plan.agents = plan.agents or plan.supervisors or plan.technicians
        plan.supervisors = plan.supervisors or plan.agents
    return result


def _catalogue(company: Company) -> Catalogue:
    by_kind: dict[str, list] = {kind: [] for kind in KIND_WEIGHTS}
    for category_id, kinds, priority, policy_id in Category.objects.filter(company=company, is_active=True).values_list(
        "id", "kinds", "default_priority", "sla_policy_id"
    ):
        for kind in kinds:
            if kind in by_kind:
                by_kind[kind].append((category_id, priority, policy_id))
    limits = {}
    for policy_id, priority, step, minutes, level in SlaTarget.objects.filter(
        policy__company=company, estate__isnull=True
    ).values_list("policy_id", "priority", "step", "limit_minutes", "service_level"):
        if level in ("", "level_2"):
            limits[(policy_id, priority, step)] = minutes
    return Catalogue(by_kind=by_kind, limits=limits)


class _Order:
    """One order being walked through the state machine in memory."""

    def __init__(self, gen: "Generator", order_id: int, plan: EstatePlan, submitted: dt.datetime):
        self.gen, self.id, self.plan, self.rng = gen, order_id, plan, gen.rng
        self.kind = self.rng.choices(gen.kinds, weights=gen.kind_weights)[0]
        categories = gen.catalogue.by_kind[self.kind] or gen.catalogue.by_kind[Kind.REPAIR_HOME]
        self.category, priority, self.policy = self.rng.choice(categories)
        draw = self.rng.random()
        if self.kind in (Kind.REPAIR_HOME, Kind.REPAIR_PUBLIC, Kind.MAINTENANCE) and draw < 0.04:
            priority = "emergency"
        elif draw < 0.15 and self.kind not in SHORT_PATH_KINDS:
            priority = "urgent"
        self.priority = priority
        room_id, grid_id, owner = self.rng.choice(plan.rooms)
        self.room, self.area, self.grid, self.reporter = room_id, None, grid_id, owner
        if self.kind in (Kind.REPAIR_PUBLIC, Kind.MAINTENANCE) and plan.areas:
            self.area, self.grid = self.rng.choice(plan.areas)
            self.room = None
        if self.kind == Kind.MAINTENANCE:
            self.channel, self.reporter = "system", None
        elif self.reporter is None:
            self.channel = self.rng.choice(("phone", "walk_in", "staff"))
        else:
            self.channel = self.rng.choices(("portal", "phone", "walk_in", "staff"), weights=(58, 30, 7, 5))[0]
        self.submitted = self.at = submitted
        self.status, self.assignee, self.held = "submitted", None, ""
        self.verdict, self.score, self.visit_satisfied = "", None, None
        self.reopen_count, self.closed_at = 0, None
        self.steps: dict[str, list] = {}
        self.events: list[tuple] = []

    # -- rows
    def event(self, action: str, to_status: str | None, actor: int | None, payload: dict | None = None) -> None:
        from_status = self.status
        if to_status:
            self.status = to_status
        self.events.append((self.id, action, actor, self.at, from_status, to_status or "", payload or {}))

    def step_open(self, step: str) -> None:
        limit = self.gen.catalogue.limits.get((self.policy, self.priority, step))
        if limit is None:
            self.steps.pop(step, None)
            return
        due = self.at + dt.timedelta(minutes=limit)
        warn = self.at + dt.timedelta(minutes=limit * 0.8)
        # [started, limit, due, warn, met, state]
        self.steps[step] = [self.at, limit, due, warn, None, "pending"]

    def step_meet(self, step: str) -> None:
        row = self.steps.get(step)
        if row is None or row[4] is not None:
            return
        row[4] = self.at
        row[5] = "met" if self.at <= row[2] else "breached"

    # -- time
    def wait(self, median: float, spread: float = 1.0) -> bool:
        """Let a log-normally distributed number of minutes pass; False when that is beyond the end (the order
        stays where it is, still open)."""
        self.at = self.at + dt.timedelta(minutes=median * math.exp(self.rng.gauss(0, spread)))
        return self.at < self.gen.end

    def staff(self, pool: list[int]) -> int:
        return self.rng.choice(pool)

    # -- the walk
    def walk(self) -> None:
        plan = self.plan
        self.event("submit", "submitted", None if self.channel == "system" else (self.reporter or plan.agents[0]),
                   {"channel": self.channel, "priority": self.priority})  # fmt: skip
        self.step_open("accept")
        self.step_open("resolve")
        if self.kind not in SHORT_PATH_KINDS:
            self.step_open("arrive")
        if self.rng.random() < 0.03:
            if self.wait(20):
                self.event("cancel", "cancelled", self.reporter or self.staff(plan.agents), {"reason": ""})
                self.close_clocks()
            return
        if not self.wait(9, 1.1):
            return
        self.event("accept", "accepted", self.staff(plan.agents))
        self.step_meet("accept")
        if self.kind in SHORT_PATH_KINDS:
            if not self.wait(150, 1.2):
                return
            self.event("answer", "answered", self.staff(plan.agents))
            self.step_meet("resolve")
            if self.wait(60):
                self.event("close", "closed", self.staff(plan.agents))
                self.close_clocks()
            return
        self.step_open("dispatch")
        while True:
            if not self.fix():
                return
            if not self.feedback():
                return

    def fix(self) -> bool:
        plan = self.plan
        if not self.wait(12, 1.0):
            return False
        self.assignee = self.staff(plan.technicians)
        self.event("dispatch", "dispatched", self.staff(plan.supervisors), {"assignee_id": self.assignee})
        self.step_meet("dispatch")
        self.maybe_warn("arrive")
        if self.rng.random() < 0.05 and len(plan.technicians) > 1:
            if not self.wait(15):
                return False
            previous = self.assignee
            self.assignee = self.rng.choice([t for t in plan.technicians if t != previous])
            self.event("transfer", "dispatched", self.staff(plan.supervisors),
                       {"assignee_id": self.assignee, "previous_assignee_id": previous})  # fmt: skip
        if not self.wait(8, 0.8):
            return False
        self.event("take", "taken", self.assignee)
        arrive_median = 25 if self.priority == "emergency" else 70
        if not self.wait(arrive_median, 0.9):
            return False
        self.event("arrive", "arrived", self.assignee)
        self.step_meet("arrive")
        if not self.wait(3, 0.5):
            return False
        self.event("start", "in_progress", self.assignee)
        if self.rng.random() < 0.05:
            if not self.wait(10):
                return False
            self.held = "in_progress"
            self.event("hold", "on_hold", self.assignee, {"reason": "等配件"})
            pause = self.at
            if not self.wait(600, 0.7):
                return False
            # The clocks stop while the work waits: their due times move by the pause.
            shift = self.at - pause
            for row in self.steps.values():
                if row[4] is None:
                    row[2] += shift
                    row[3] += shift
            self.event("resume", "in_progress", self.assignee)
            self.held = ""
        self.maybe_warn("resolve")
        if not self.wait(90, 1.2):
            return False
        self.event("resolve", "resolved", self.assignee, {"materials": []})
        self.step_meet("resolve")
        self.step_open("visit")
        return True

    def feedback(self) -> bool:
        """Rating, return visit and closing; True when the order was reopened and goes round again."""
        plan = self.plan
        if self.reporter and self.rng.random() < 0.62:
            if not self.wait(240, 1.2):
                return False
            verdict = self.rng.choices(("good", "bad", "returned"), weights=(86, 10, 4))[0]
            self.verdict = verdict
            self.score = {"good": self.rng.choice((4, 5, 5, 5)), "bad": self.rng.choice((1, 2, 3))}.get(verdict, 1)
            self.event("rate", "rated", self.reporter, {"verdict": verdict, "score": self.score, "reasons": []})
            if verdict == "returned":
                self.reopen(self.reporter)
                return True
        elif self.rng.random() < 0.3:
            if self.wait(3 * 1440, 0.1):
                self.event("auto_close", "closed", None)
                self.close_clocks()
            return False
        if not self.wait(600, 0.9):
            return False
        satisfied = self.rng.random() < 0.92
        agent = self.staff(plan.agents)
        self.visit_satisfied = satisfied
        self.event("visit", "visited", agent, {"satisfied": satisfied})
        self.step_meet("visit")
        if not satisfied:
            self.reopen(agent)
            return True
        if not self.wait(30):
            return False
        self.event("close", "closed", self.staff(plan.supervisors))
        self.close_clocks()
        if self.rng.random() < 0.02 and self.wait(2 * 1440, 0.8):
            self.reopen(self.reporter or agent)
            return True
        return False

    def reopen(self, actor: int | None) -> None:
        self.reopen_count += 1
        self.event("reopen", "accepted", actor, {"reason": ""})
        self.assignee, self.verdict, self.score, self.visit_satisfied, self.closed_at = None, "", None, None, None
        for step in ("dispatch", "arrive", "resolve"):
            self.step_open(step)
        self.steps.pop("visit", None)

    def maybe_warn(self, step: str) -> None:
        row = self.steps.get(step)
        if row is not None and row[3] < self.gen.end and self.rng.random() < 0.35:
            self.events.append((self.id, "warn", None, row[3], "", "", {"step": step, "due_at": row[2].isoformat()}))

    def close_clocks(self) -> None:
        self.closed_at = self.at
        for row in self.steps.values():
            if row[4] is None and self.at > row[2]:
                row[5] = "breached"

    def rows(self, into: Rows) -> None:
        assigned = self.status in ("dispatched", "taken", "arrived", "in_progress", "on_hold", "resolved", "rated",
                                   "visited", "closed")  # fmt: skip
        into.orders.append(
            {
                "id": self.id,
                "created_at": self.submitted,
                "updated_at": self.at if self.at < self.gen.end else self.gen.end,
                "estate_id": self.plan.id,
                "number": f"S{self.id:011d}",
                "kind": self.kind,
                "channel": self.channel,
                "category_id": self.category,
                "priority": self.priority,
                "status": self.status,
                "held_from_status": self.held,
                "description": "规模测试工单",
                "reporter_id": self.reporter,
                "created_by_id": self.reporter if self.channel == "portal" else None,
                "room_id": self.room,
                "public_area_id": self.area,
                "grid_id": self.grid,
                "assignee_id": self.assignee if assigned else None,
                "reopen_count": self.reopen_count,
                "verdict": self.verdict,
                "score": self.score,
                "visit_satisfied": self.visit_satisfied,
                "submitted_at": self.submitted,
                "closed_at": self.closed_at,
                "materials": [],
            }
        )
        into.events.extend(self.events)
        for step, (started, limit, due, warn, met, state) in self.steps.items():
            into.steps.append((self.id, step, started, limit, False, 0.8, due, warn, met, state, None, 0))


EVENT_COLUMNS = ("order_id", "action", "actor_id", "at", "from_status", "to_status", "note", "payload")
STEP_COLUMNS = (
    "order_id", "step", "started_at", "limit_minutes", "round_the_clock", "warn_ratio", "due_at", "warn_at", "met_at",
    "state", "warned_at", "escalation_level",
)  # fmt: skip


class Generator:
    def __init__(self, company: Company, *, end: dt.datetime, days: int, seed: int = SEED):
        self.company = company
        self.rng = random.Random(seed)
        self.end = end.astimezone(clock.local_tz())
        self.start = end - dt.timedelta(days=days)
        self.plans = _plans(company)
        self.catalogue = _catalogue(company)
        if not self.plans:
            raise ValueError("The company has no estate with rooms and technicians.")
        self.weights = [plan.weight for plan in self.plans]
        self.kinds = list(KIND_WEIGHTS)
        self.kind_weights = [KIND_WEIGHTS[kind] for kind in self.kinds]

    def submitted_at(self) -> dt.datetime:
        """Spread over the period, a little denser towards its end (the company grows), with an hourly profile."""
        share = self.rng.random() ** 0.85
        day = self.start + dt.timedelta(days=int(share * (self.end - self.start).days))
        hour = self.rng.choices(range(24), weights=HOURLY)[0]
        moment = day.replace(hour=0, minute=0, second=0) + dt.timedelta(hours=hour, minutes=self.rng.uniform(0, 60))
        return min(moment, self.end - dt.timedelta(minutes=5))

    def batch(self, first_id: int, count: int) -> Rows:
        rows = Rows()
        for offset in range(count):
            plan = self.rng.choices(self.plans, weights=self.weights)[0]
            order = _Order(self, first_id + offset, plan, self.submitted_at())
            order.walk()
            order.rows(rows)
        return rows


def _next_order_id(count: int) -> int:
    """Reserve `count` order ids; returns the first. (Run on a quiet database: live creates are not expected.)"""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')", [WorkOrder._meta.db_table])
            (sequence,) = cursor.fetchone()
            cursor.execute("SELECT COALESCE(MAX(id), 0) FROM " + WorkOrder._meta.db_table)  # noqa: S608 - our table
            (highest,) = cursor.fetchone()
            cursor.execute("SELECT setval(%s, %s)", [sequence, highest + count])
        return highest + 1
    highest = WorkOrder.objects.order_by("-id").values_list("id", flat=True).first() or 0
    return highest + 1


def _write_postgres(rows: Rows, order_columns: list[str]) -> None:
    from psycopg.types.json import Jsonb

    json_columns = {"materials"}
    connection.ensure_connection()
    raw = connection.connection
    with raw.cursor() as cursor:
        table = WorkOrder._meta.db_table
        with cursor.copy(f"COPY {table} ({', '.join(order_columns)}) FROM STDIN") as copy:
            for order in rows.orders:
                copy.write_row([Jsonb(order[c]) if c in json_columns else order[c] for c in order_columns])
        with cursor.copy(f"COPY {WorkOrderEvent._meta.db_table} ({', '.join(EVENT_COLUMNS)}) FROM STDIN") as copy:
            for order_id, action, actor, at, from_status, to_status, payload in rows.events:
                copy.write_row((order_id, action, actor, at, from_status, to_status, "", Jsonb(payload)))
        with cursor.copy(f"COPY {WorkOrderStep._meta.db_table} ({', '.join(STEP_COLUMNS)}) FROM STDIN") as copy:
            for row in rows.steps:
                copy.write_row(row)


def _write_orm(rows: Rows, defaults: dict) -> None:
    WorkOrder.objects.bulk_create([WorkOrder(**{**defaults, **order}) for order in rows.orders], batch_size=500)
    WorkOrderEvent.objects.bulk_create(
        [
            WorkOrderEvent(order_id=o, action=a, actor_id=u, at=t, from_status=f, to_status=s, payload=p)
            for o, a, u, t, f, s, p in rows.events
        ],
        batch_size=2000,
    )
    WorkOrderStep.objects.bulk_create(
        [WorkOrderStep(**dict(zip(STEP_COLUMNS, row, strict=True))) for row in rows.steps], batch_size=2000
    )


@dataclass
class ScaleResult:
    orders: int = 0
    events: int = 0
    steps: int = 0
    seconds: float = 0.0


def generate_orders(
    company: Company,
    *,
    orders: int,
    end: dt.datetime,
    days: int = 730,
    batch: int = 20_000,
    progress: Callable[[ScaleResult], None] | None = None,
) -> ScaleResult:
    """Write `orders` work orders (with events and SLA steps) for the company's estates, submitted over the `days`
    before `end`. Each batch is one transaction."""
    started = time.monotonic()
    generator = Generator(company, end=end, days=days)
    defaults = {f.attname: f.get_default() for f in WorkOrder._meta.concrete_fields if f.attname not in ("id",)}
    order_columns = ["id", *[name for name in defaults if name != "id"]]
    result = ScaleResult()
    done = 0
    while done < orders:
        count = min(batch, orders - done)
        with transaction.atomic():
            first = _next_order_id(count)
            rows = generator.batch(first, count)
            if connection.vendor == "postgresql":
                for order in rows.orders:
                    for name, value in defaults.items():
                        order.setdefault(name, value)
                _write_postgres(rows, order_columns)
            else:
                _write_orm(rows, defaults)
        done += count
        result.orders += len(rows.orders)
        result.events += len(rows.events)
        result.steps += len(rows.steps)
        result.seconds = time.monotonic() - started
        if progress:
            progress(result)
    return result


def owners_online(company: Company, share_in_five: int = 3) -> int:
    """Mark about `share_in_five` of five of the company's residents as having signed in lately (the portal's
    users), so the online-coverage KPI has something to measure."""
    residents = User.objects.filter(residencies__room__estate__company=company).values("id")
    return (
        User.objects.filter(id__in=residents)
        .annotate(bucket=F("id") % 5)
        .filter(bucket__lt=share_in_five)
        .update(last_login=clock.now() - dt.timedelta(days=20))
    )
