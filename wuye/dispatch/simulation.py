"""A discrete-event simulation of an estate's repair orders, replayed through each dispatch policy.

The proof behind the optimising dispatcher: the same synthetic demand (data/demand.json, assumptions documented
there) goes through every policy in `wuye.dispatch.rules`, called exactly as the live system calls it — `plan()` on
every event (an order arrives, a technician finishes, a shift or on-call window starts or ends, and every 5 minutes
while orders wait, as the live SLA scan re-plans), with the waiting orders and the technicians as they are then.
Time is simulated (no sleeping, no wall clock) and every random draw comes from a `random.Random` seeded from the
scenario, so a seed always gives the same table.

SLA due times come from the work-order catalogue (wuye/workorders/data/catalogue.json) for the scenario's service
level, through `wuye.workorders.rules`: business hours for ordinary orders, round the clock for emergencies, counted
from submission as the live clocks are.

What a technician does with the orders given to them: they work the ones in hand earliest arrival due first, walk
there at the estate's walking speed, and stay the order's real service time (which the dispatcher does not know: it
is told the category's mean). At the end of a shift they finish the order in hand and hand back the orders they have
not started (交接班), which go back to the dispatcher. At night the on-call technicians take emergencies only and set
out `callout_minutes` after the call (at once if they have just finished another).
"""

from __future__ import annotations

import csv
import datetime as dt
import heapq
import json
import math
import random
import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np

from wuye.staff.rules import is_within_shift
from wuye.workorders import rules as sla
from wuye.workorders.choices import Priority, Step

from .rules import Job, Policy, Technician, eligibility_matrix, make_policy, walk_minutes

DEMAND_FILE = Path(__file__).resolve().parent / "data" / "demand.json"
CATALOGUE_FILE = Path(sla.__file__).resolve().parent / "data" / "catalogue.json"
TZ = ZoneInfo("Asia/Shanghai")
ESTATE_ID = 1
DEFAULT_POLICIES = ("round_robin", "load_balance", "optimise")
LEVELS = ("level_1", "level_2", "level_3")
# Simulated days after the last order may arrive, for the orders still open to be finished; an order not reached by
# then counts as never arrived (a breach).
DRAIN_DAYS = 7
# Events at one instant are handled in this order, then the dispatcher plans once. TICK is the periodic re-plan the
# live system runs from its SLA scan (warnings fire, time passes), every REPLAN_EVERY while orders are waiting.
DONE, SHIFT, ARRIVE, TICK = 0, 1, 2, 3
REPLAN_EVERY = dt.timedelta(minutes=5)
# A technician still working past the expected end of their order is assumed to need as long again as they have
# overrun, and at least OVERRUN_MINUTES (the desk only knows they have not finished). Service times are heavy-tailed:
# a job that has overrun by an hour is likely a big one, so a fixed "ten more minutes" would keep an emergency waiting
# for them re-plan after re-plan.
OVERRUN_MINUTES = 10.0


@dataclass(frozen=True)
class Scenario:
    """What to simulate. `storm_days`: None for the data file's default count, a number of days picked at random
    from the seed, or the day numbers themselves (1 = the first day)."""

    days: int = 30
    seed: int = 1
    households: int = 5000
    technicians: int = 12
    storm_days: int | tuple[int, ...] | None = None
    level: str = "level_1"
    policies: tuple[str, ...] = DEFAULT_POLICIES

    def __post_init__(self) -> None:
        if self.days < 1:
            raise ValueError(f"days must be at least 1, got {self.days}")
        if self.households < 1:
            raise ValueError(f"households must be at least 1, got {self.households}")
        if self.technicians < 1:
            raise ValueError(f"technicians must be at least 1, got {self.technicians}")
        if self.level not in LEVELS:
            raise ValueError(f"level must be one of {', '.join(LEVELS)}, got {self.level!r}")
        if not self.policies:
            raise ValueError("at least one policy is needed")
        if isinstance(self.storm_days, int) and not 0 <= self.storm_days <= self.days:
            raise ValueError(f"storm days must be between 0 and {self.days}, got {self.storm_days}")
        if isinstance(self.storm_days, tuple) and any(not 1 <= day <= self.days for day in self.storm_days):
            raise ValueError(f"storm day numbers must be between 1 and {self.days}")


# ---------------------------------------------------------------------------------------------------------------------
# The estate, its staff and its demand


@dataclass(frozen=True)
class Order:
    """One simulated order: the `Job` the dispatcher sees, and what only the simulation knows."""

    job: Job
    category: str
    public: bool
    actual_service_minutes: float


@dataclass(frozen=True)
class RosterEntry:
    start: dt.time
    end: dt.time
    weekdays: tuple[int, ...]


@dataclass(frozen=True)
class TechnicianSpec:
    id: int
    name: str
    skills: frozenset[str]
    certificates: Mapping[str, dt.date | None] = field(hash=False)
    grid_id: int
    roster: tuple[RosterEntry, ...]
    on_call: RosterEntry | None


@dataclass(frozen=True)
class World:
    """Everything the policies are replayed over: one estate, its team and one stream of orders."""

    scenario: Scenario
    start: dt.datetime
    end: dt.datetime
    storm_dates: tuple[dt.date, ...]
    buildings: tuple[tuple[int, int, int], ...]  # (x, y, grid id)
    workshop: tuple[int, int]
    walking_speed: float
    callout_minutes: float
    technicians: tuple[TechnicianSpec, ...]
    orders: tuple[Order, ...]


def load_json(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


def _clock(text: str) -> dt.time:
    return dt.time.fromisoformat(text)


def _lognormal(median: float, p90: float) -> tuple[float, float]:
    """(mu, sigma) of the lognormal with this median and 90th percentile."""
    if not 0 < median < p90:
        raise ValueError(f"service minutes need 0 < median < p90, got {median} and {p90}")
    return math.log(median), (math.log(p90) - math.log(median)) / 1.2815515655446004


def _buildings(estate: Mapping[str, Any], households: int) -> tuple[tuple[int, int, int], ...]:
    count = max(1, round(households / estate["households_per_building"]))
    columns = min(count, max(1, math.ceil(math.sqrt(count * 4 / 3))))
    grids = max(1, min(count, round(households / estate["households_per_grid"])))
    size, extra = divmod(count, grids)
    grid_of: list[int] = []
    for grid in range(grids):
        grid_of += [grid + 1] * (size + (1 if grid < extra else 0))
    layout = []
    for index in range(count):
        row, column = divmod(index, columns)
        x = round((column - (columns - 1) / 2) * estate["column_spacing_m"])
        y = estate["first_row_m"] + row * estate["row_spacing_m"]
        layout.append((x, y, grid_of[index]))
    return tuple(layout)


def _technicians(staff: Mapping[str, Any], count: int, start: dt.date, grids: int) -> tuple[TechnicianSpec, ...]:
    shifts = {name: (_clock(spec["start"]), _clock(spec["end"])) for name, spec in staff["shifts"].items()}
    on_call = staff["on_call"]
    templates = staff["technicians"]
    specs = []
    for index in range(count):
        template = templates[index % len(templates)]
        roster = tuple(RosterEntry(*shifts[name], weekdays=tuple(weekdays)) for name, weekdays in template["roster"])
        nights = tuple(template["on_call_nights"])
        specs.append(
            TechnicianSpec(
                id=index + 1,
                name=template["name"] if index < len(templates) else f"{template['name']}{index // len(templates) + 1}",
                skills=frozenset(template["skills"]),
                certificates={
                    kind: None if days is None else start + dt.timedelta(days=days)
                    for kind, days in template["certificates"].items()
                },
                grid_id=template["grid"] % grids + 1,
                roster=roster,
                on_call=RosterEntry(_clock(on_call["start"]), _clock(on_call["end"]), nights) if nights else None,
            )
        )
    return tuple(specs)


def _storm_dates(scenario: Scenario, start: dt.date, default_count: int) -> tuple[dt.date, ...]:
    if isinstance(scenario.storm_days, tuple):
        numbers = sorted(set(scenario.storm_days))
    else:
        count = default_count if scenario.storm_days is None else scenario.storm_days
        rng = random.Random(f"storms-{scenario.seed}")
        numbers = sorted(rng.sample(range(1, scenario.days + 1), min(count, scenario.days)))
    return tuple(start + dt.timedelta(days=number - 1) for number in numbers)


class _Targets:
    """Arrival and resolve due times from the catalogue's SLA policies, as the live system computes them."""

    def __init__(self, catalogue: Mapping[str, Any], level: str) -> None:
        self.level = level
        self.policies = {policy["code"]: policy["targets"] for policy in catalogue["sla_policies"]}
        self.business = sla.BusinessCalendar.from_spec(sla.DEFAULT_CALENDAR_SPEC, TZ)
        self.always = sla.BusinessCalendar.always(TZ)

    def target(self, policy: str, priority: str, step: str) -> Mapping[str, Any] | None:
        fitting = [
            target
            for target in self.policies[policy]
            if target["priority"] == priority
            and target["step"] == step
            and target.get("service_level", "") in ("", self.level)
        ]
        # A target for the estate's own level beats the any-level one (as workorders.services._pick_target).
        fitting.sort(key=lambda target: target.get("service_level", "") == "")
        return fitting[0] if fitting else None

    def due(self, policy: str, priority: str, step: str, submitted: dt.datetime) -> dt.datetime | None:
        target = self.target(policy, priority, step)
        if target is None:
            return None
        round_the_clock = target.get("round_the_clock", False) or priority == Priority.EMERGENCY
        calendar = self.always if round_the_clock else self.business
        return sla.due_at(calendar, started_at=submitted, limit=dt.timedelta(minutes=target["minutes"]), pauses=())


def build_world(
    scenario: Scenario,
    *,
    demand: Mapping[str, Any] | None = None,
    catalogue: Mapping[str, Any] | None = None,
) -> World:
    """The estate, its team and the orders of the whole scenario, drawn once from the seed."""
    demand = demand if demand is not None else load_json(DEMAND_FILE)
    catalogue = catalogue if catalogue is not None else load_json(CATALOGUE_FILE)
    start_date = dt.date.fromisoformat(demand["start_date"])
    start = dt.datetime.combine(start_date, dt.time(0), tzinfo=TZ)
    end = start + dt.timedelta(days=scenario.days)
    estate = demand["estate"]
    buildings = _buildings(estate, scenario.households)
    grids = len({grid for *_, grid in buildings})
    model = demand["demand"]
    storm_dates = _storm_dates(scenario, start_date, model["storm"]["default_days"])
    categories = {category["code"]: category for category in catalogue["categories"]}
    for code in model["categories"]:
        if code not in categories or categories[code]["dispatch"] != "optimise":
            raise ValueError(f"demand category {code!r} is not a repair category dispatched by the optimiser")
    orders = _orders(scenario, model, catalogue, buildings, start, storm_dates)
    return World(
        scenario=scenario,
        start=start,
        end=end,
        storm_dates=storm_dates,
        buildings=buildings,
        workshop=tuple(estate["workshop_position"]),
        walking_speed=float(estate["walking_speed_m_per_min"]),
        callout_minutes=float(demand["staff"]["on_call"]["callout_minutes"]),
        technicians=_technicians(demand["staff"], scenario.technicians, start_date, grids),
        orders=orders,
    )


def _orders(
    scenario: Scenario,
    model: Mapping[str, Any],
    catalogue: Mapping[str, Any],
    buildings: Sequence[tuple[int, int, int]],
    start: dt.datetime,
    storm_dates: Sequence[dt.date],
) -> tuple[Order, ...]:
    rng = random.Random(f"demand-{scenario.seed}")
    categories = {category["code"]: category for category in catalogue["categories"]}
    targets = _Targets(catalogue, scenario.level)
    weekday = {int(day): factor for day, factor in model["weekday_factors"].items()}
    weekday_mean = statistics.fmean(weekday.values())
    streams = {
        False: (
            scenario.households * model["inhome_orders_per_household_per_year"] / 365.0,
            _normalised(model["inhome_hour_weights"]),
            "inhome_share",
        ),
        True: (
            scenario.households / 1000.0 * model["public_orders_per_1000_households_per_day"],
            _normalised(model["public_hour_weights"]),
            "public_share",
        ),
    }
    storm_multipliers = model["storm"]["multipliers"]
    cap = model["service_minutes_cap"]
    drawn: list[tuple[dt.datetime, str, bool]] = []
    for day_index in range(scenario.days):
        day = (start + dt.timedelta(days=day_index)).date()
        day_factor = weekday[day.isoweekday()] / weekday_mean
        storm = day in storm_dates
        for hour in range(24):
            hour_start = dt.datetime.combine(day, dt.time(hour), tzinfo=TZ)
            for public, (daily, hour_share, share_key) in streams.items():
                for code, spec in model["categories"].items():
                    rate = daily * day_factor * hour_share[hour] * spec[share_key]
                    if storm:
                        rate *= storm_multipliers.get(code, 1.0)
                    for minute in _poisson_minutes(rng, rate):
                        drawn.append((hour_start + dt.timedelta(minutes=minute), code, public))
    drawn.sort(key=lambda item: (item[0], item[1], item[2]))
    orders = []
    for number, (submitted, code, public) in enumerate(drawn, start=1):
        spec = model["categories"][code]
        mix = spec.get("public_priority_mix", spec["priority_mix"]) if public else spec["priority_mix"]
        priority = rng.choices(list(mix), weights=list(mix.values()))[0]
        x, y, grid = buildings[rng.randrange(len(buildings))]
        mu, sigma = _lognormal(spec["service_minutes"]["median"], spec["service_minutes"]["p90"])
        actual = min(cap, rng.lognormvariate(mu, sigma))
        category = categories[code]
        arrive_due = targets.due(category["sla"], priority, Step.ARRIVE, submitted)
        if arrive_due is None:
            raise ValueError(f"the catalogue has no arrival limit for {code} orders of priority {priority}")
        job = Job(
            id=number,
            estate_id=ESTATE_ID,
            grid_id=grid,
            position=(x, y),
            required_skill=category["skill"],
            required_certificate=category["certificate"],
            priority=priority,
            submitted_at=submitted,
            arrive_due_at=arrive_due,
            resolve_due_at=targets.due(category["sla"], priority, Step.RESOLVE, submitted),
            service_minutes=round(min(cap, math.exp(mu + sigma * sigma / 2)), 1),
        )
        orders.append(Order(job=job, category=code, public=public, actual_service_minutes=actual))
    return tuple(orders)


def _normalised(weights: Sequence[float]) -> list[float]:
    if len(weights) != 24 or any(weight < 0 for weight in weights) or not sum(weights):
        raise ValueError("hour weights must be 24 non-negative numbers, not all zero")
    total = sum(weights)
    return [weight / total for weight in weights]


def _poisson_minutes(rng: random.Random, rate_per_hour: float) -> Iterable[float]:
    """The minutes within one hour at which a Poisson stream of this rate has arrivals."""
    if rate_per_hour <= 0:
        return
    minute = rng.expovariate(rate_per_hour / 60.0)
    while minute < 60.0:
        yield minute
        minute += rng.expovariate(rate_per_hour / 60.0)


# ---------------------------------------------------------------------------------------------------------------------
# Replaying one policy


class _Tech:
    """A technician's state during one replay."""

    def __init__(self, spec: TechnicianSpec, workshop: tuple[int, int]) -> None:
        self.spec = spec
        self.workshop = workshop
        self.position = workshop
        self.current: int | None = None  # index of the order in hand
        self.predicted_end: dt.datetime | None = None
        self.queue: list[int] = []  # orders given to them and not started
        self.jobs_done = 0
        self.finished_at: dt.datetime | None = None

    def on_shift(self, local: dt.datetime) -> bool:
        return any(
            is_within_shift(local, start=entry.start, end=entry.end, weekdays=list(entry.weekdays))
            for entry in self.spec.roster
        )

    def on_call(self, local: dt.datetime) -> bool:
        entry = self.spec.on_call
        return entry is not None and is_within_shift(
            local, start=entry.start, end=entry.end, weekdays=list(entry.weekdays)
        )

    def resting(self, now: dt.datetime, callout: dt.timedelta) -> bool:
        """Off shift and back in the duty room: a call now costs the call-out time and starts from the workshop.
        Someone who finished an order less than the call-out time ago is still up and out, where that order was."""
        return not self.on_shift(now.astimezone(TZ)) and (self.finished_at is None or now - self.finished_at >= callout)


@dataclass
class _Outcome:
    tech_id: int | None = None
    departed_at: dt.datetime | None = None
    arrived_at: dt.datetime | None = None
    finished_at: dt.datetime | None = None
    handed_back: int = 0


@dataclass(frozen=True)
class PolicyMetrics:
    """One row of the table: how the orders fared under one policy. Shares are 0–1, times in minutes."""

    policy: str
    orders: int
    arrival_breaches: int
    arrival_compliance: float
    resolve_compliance: float
    emergency_arrival_compliance: float
    mean_arrival_minutes: float
    p90_arrival_minutes: float
    peak_backlog: int
    utilisation: float
    load_cv: float
    replans: int


@dataclass(frozen=True)
class SimulationResult:
    scenario: Scenario
    storm_dates: tuple[dt.date, ...]
    orders: int
    metrics: tuple[PolicyMetrics, ...]

    def by_policy(self) -> dict[str, PolicyMetrics]:
        return {row.policy: row for row in self.metrics}


def replay(world: World, policy: Policy) -> PolicyMetrics:
    """Run the world's orders through one policy and measure the outcome."""
    return _Replay(world, policy).run()


class _Replay:
    def __init__(self, world: World, policy: Policy) -> None:
        self.world = world
        self.policy = policy
        self.orders = world.orders
        self.techs = [_Tech(spec, world.workshop) for spec in world.technicians]
        self.outcomes = [_Outcome() for _ in self.orders]
        self.waiting: set[int] = set()
        self.events: list[tuple[dt.datetime, int, int, int]] = []  # (when, kind, sequence, payload)
        self.sequence = 0
        self.replans = 0
        self.callout = dt.timedelta(minutes=world.callout_minutes)
        self.busy: list[tuple[dt.datetime, dt.datetime]] = []

    def push(self, when: dt.datetime, kind: int, payload: int) -> None:
        self.sequence += 1
        heapq.heappush(self.events, (when, kind, self.sequence, payload))

    def run(self) -> PolicyMetrics:
        for index, order in enumerate(self.orders):
            self.push(order.job.submitted_at, ARRIVE, index)
        for when, tech_index in _boundaries(self.world):
            self.push(when, SHIFT, tech_index)
        unfinished = len(self.orders)
        next_tick: dt.datetime | None = None
        while self.events and unfinished:
            now = self.events[0][0]
            while self.events and self.events[0][0] == now:
                _when, kind, _sequence, payload = heapq.heappop(self.events)
                if kind == ARRIVE:
                    self.waiting.add(payload)
                elif kind == DONE:
                    unfinished -= 1
                    self._finished(self.techs[payload], now)
                elif kind == SHIFT:
                    self._shift_boundary(self.techs[payload], now)
            self._dispatch(now)
            if self.waiting and (next_tick is None or next_tick <= now):
                next_tick = now + REPLAN_EVERY
                self.push(next_tick, TICK, 0)
        return self._metrics()

    def _finished(self, tech: _Tech, now: dt.datetime) -> None:
        assert tech.current is not None
        tech.position = self.orders[tech.current].job.position
        tech.current, tech.predicted_end = None, None
        tech.jobs_done += 1
        tech.finished_at = now
        local = now.astimezone(TZ)
        if not tech.on_shift(local) and not tech.on_call(local):
            self._hand_back(tech)
        if tech.queue:
            self._start_next(tech, now)

    def _shift_boundary(self, tech: _Tech, now: dt.datetime) -> None:
        local = now.astimezone(TZ)
        if tech.current is None:
            tech.position = tech.workshop
        if not tech.on_shift(local) and not tech.on_call(local):
            self._hand_back(tech)

    def _hand_back(self, tech: _Tech) -> None:
        for index in tech.queue:
            self.outcomes[index].tech_id = None
            self.outcomes[index].handed_back += 1
            self.waiting.add(index)
        tech.queue.clear()

    def _snapshot(self, tech: _Tech, now: dt.datetime, local: dt.datetime) -> Technician:
        on_shift = tech.on_shift(local)
        on_call = not on_shift and tech.on_call(local)
        speed = self.world.walking_speed
        if tech.current is not None:
            assert tech.predicted_end is not None
            overrun = max(dt.timedelta(minutes=OVERRUN_MINUTES), now - tech.predicted_end)
            free_at = max(now + overrun, tech.predicted_end)
            position = self.orders[tech.current].job.position
        elif on_call and tech.resting(now, self.callout):
            free_at, position = now + self.callout, tech.workshop
        else:
            free_at, position = now, tech.position
        for index in sorted(tech.queue, key=self._queue_key):
            job = self.orders[index].job
            free_at += dt.timedelta(minutes=walk_minutes(position, job.position, speed) + job.service_minutes)
            position = job.position
        spec = tech.spec
        return Technician(
            id=spec.id,
            skills=spec.skills,
            certificates=spec.certificates,
            estate_ids=frozenset({ESTATE_ID}),
            grid_ids=frozenset({spec.grid_id}),
            position=position,
            on_shift=on_shift,
            on_call=on_call,
            free_at=free_at,
            open_orders=(tech.current is not None) + len(tech.queue),
        )

    def _queue_key(self, index: int) -> tuple[dt.datetime, int]:
        job = self.orders[index].job
        return job.arrive_due_at, job.id

    def _dispatch(self, now: dt.datetime) -> None:
        if not self.waiting:
            return
        local = now.astimezone(TZ)
        today = local.date()
        waiting = sorted(self.waiting)
        jobs = [self.orders[index].job for index in waiting]
        snapshots = [self._snapshot(tech, now, local) for tech in self.techs]
        self.replans += 1
        plan = self.policy.plan(jobs, snapshots, now=now, today=today)
        index_of = {self.orders[index].job.id: index for index in waiting}
        column_of = {tech.spec.id: column for column, tech in enumerate(self.techs)}
        committed = [(index_of[a.job_id], column_of[a.tech_id]) for a in plan if a.dispatch_now]
        if committed:
            # The simulation trusts no policy: every order sent must be one its technician may take.
            allowed = eligibility_matrix([self.orders[index].job for index, _ in committed], snapshots, today=today)
            for row, (index, column) in enumerate(committed):
                if index not in self.waiting or not allowed[row, column]:
                    raise AssertionError(f"{self.policy.code} sent order {index + 1} to an ineligible technician")
                self.waiting.discard(index)
                self.techs[column].queue.append(index)
                self.outcomes[index].tech_id = self.techs[column].spec.id
        for tech in self.techs:
            if tech.current is None and tech.queue:
                self._start_next(tech, now)

    def _start_next(self, tech: _Tech, now: dt.datetime) -> None:
        index = min(tech.queue, key=self._queue_key)
        tech.queue.remove(index)
        order = self.orders[index]
        departs = now
        if tech.resting(now, self.callout):
            departs += self.callout
            tech.position = tech.workshop
        arrives = departs + dt.timedelta(
            minutes=walk_minutes(tech.position, order.job.position, self.world.walking_speed)
        )
        finishes = arrives + dt.timedelta(minutes=order.actual_service_minutes)
        outcome = self.outcomes[index]
        outcome.tech_id, outcome.departed_at, outcome.arrived_at, outcome.finished_at = (
            tech.spec.id,
            departs,
            arrives,
            finishes,
        )
        tech.current = index
        tech.predicted_end = arrives + dt.timedelta(minutes=order.job.service_minutes)
        self.busy.append((departs, finishes))
        self.push(finishes, DONE, self.techs.index(tech))

    def _metrics(self) -> PolicyMetrics:
        orders, outcomes = self.orders, self.outcomes
        total = len(orders)
        arrival_ok = [
            o.arrived_at is not None and o.arrived_at <= r.job.arrive_due_at
            for r, o in zip(orders, outcomes, strict=True)
        ]
        resolve_ok = [
            o.finished_at is not None and (r.job.resolve_due_at is None or o.finished_at <= r.job.resolve_due_at)
            for r, o in zip(orders, outcomes, strict=True)
        ]
        emergencies = [ok for r, ok in zip(orders, arrival_ok, strict=True) if r.job.priority == Priority.EMERGENCY]
        waits = [
            (o.arrived_at - r.job.submitted_at).total_seconds() / 60.0
            for r, o in zip(orders, outcomes, strict=True)
            if o.arrived_at is not None
        ]
        done = [tech.jobs_done for tech in self.techs]
        mean_done = statistics.fmean(done) if done else 0.0
        return PolicyMetrics(
            policy=self.policy.code,
            orders=total,
            arrival_breaches=total - sum(arrival_ok),
            arrival_compliance=_share(sum(arrival_ok), total),
            resolve_compliance=_share(sum(resolve_ok), total),
            emergency_arrival_compliance=_share(sum(emergencies), len(emergencies)),
            mean_arrival_minutes=statistics.fmean(waits) if waits else 0.0,
            p90_arrival_minutes=float(np.percentile(waits, 90)) if waits else 0.0,
            peak_backlog=self._peak_backlog(),
            utilisation=self._utilisation(),
            load_cv=statistics.pstdev(done) / mean_done if mean_done else 0.0,
            replans=self.replans,
        )

    def _peak_backlog(self) -> int:
        """The most orders at any moment that had been reported and not yet reached by a technician."""
        changes = []
        for order, outcome in zip(self.orders, self.outcomes, strict=True):
            changes.append((order.job.submitted_at, 1))
            if outcome.arrived_at is not None:
                changes.append((outcome.arrived_at, -1))
        peak = backlog = 0
        for _when, change in sorted(changes, key=lambda item: (item[0], item[1])):
            backlog += change
            peak = max(peak, backlog)
        return peak

    def _utilisation(self) -> float:
        """Time spent walking to and working on orders, over rostered shift time, within the scenario's days."""
        start, end = self.world.start, self.world.end
        busy = sum(_overlap(begins, ends, start, end) for begins, ends in self.busy)
        rostered = sum(
            _overlap(begins, ends, start, end)
            for tech in self.world.technicians
            for begins, ends in _intervals(tech.roster, start, end)
        )
        return busy / rostered if rostered else 0.0


def _share(part: int, whole: int) -> float:
    return part / whole if whole else 1.0


def _overlap(begins: dt.datetime, ends: dt.datetime, start: dt.datetime, end: dt.datetime) -> float:
    return max(0.0, (min(ends, end) - max(begins, start)).total_seconds() / 60.0)


def _intervals(
    entries: Iterable[RosterEntry], start: dt.datetime, end: dt.datetime
) -> list[tuple[dt.datetime, dt.datetime]]:
    """The local-time intervals of roster entries that start on the days from the day before `start` to `end`."""
    intervals = []
    day = start.astimezone(TZ).date() - dt.timedelta(days=1)
    last = end.astimezone(TZ).date()
    while day <= last:
        for entry in entries:
            if day.isoweekday() not in entry.weekdays:
                continue
            begins = dt.datetime.combine(day, entry.start, tzinfo=TZ)
            ends_on = day if entry.start < entry.end else day + dt.timedelta(days=1)
            intervals.append((begins, dt.datetime.combine(ends_on, entry.end, tzinfo=TZ)))
        day += dt.timedelta(days=1)
    return intervals


def _boundaries(world: World) -> list[tuple[dt.datetime, int]]:
    """Every start and end of a shift or an on-call window, as (when, technician index)."""
    until = world.end + dt.timedelta(days=DRAIN_DAYS)
    moments = []
    for index, tech in enumerate(world.technicians):
        entries = [*tech.roster, *([tech.on_call] if tech.on_call else [])]
        for begins, ends in _intervals(entries, world.start, until):
            moments += [(begins, index), (ends, index)]
    return sorted(moment for moment in moments if world.start <= moment[0] <= until)


# ---------------------------------------------------------------------------------------------------------------------
# Running a scenario and showing it


def simulate(scenario: Scenario, *, demand: Mapping[str, Any] | None = None) -> SimulationResult:
    """Build the world once from the seed and replay it through every policy of the scenario."""
    world = build_world(scenario, demand=demand)
    metrics = tuple(
        replay(world, make_policy(code, walking_speed_m_per_min=world.walking_speed)) for code in scenario.policies
    )
    return SimulationResult(scenario=scenario, storm_dates=world.storm_dates, orders=len(world.orders), metrics=metrics)


def breach_reduction(result: SimulationResult) -> float | None:
    """How much less often the optimiser breaches the arrival SLA than the better of round robin and load balance
    (0.3 = 30 % fewer breaches; negative = more). None when a policy is missing or the baselines never breach."""
    rows = result.by_policy()
    if "optimise" not in rows or not {"round_robin", "load_balance"} & set(rows):
        return None
    baseline = min(rows[code].arrival_breaches for code in ("round_robin", "load_balance") if code in rows)
    if baseline == 0:
        return None
    return (baseline - rows["optimise"].arrival_breaches) / baseline


COLUMNS: tuple[tuple[str, str, str], ...] = (
    # (heading, attribute, format)
    ("policy", "policy", "{}"),
    ("orders", "orders", "{}"),
    ("arrival SLA", "arrival_compliance", "{:.1%}"),
    ("breaches", "arrival_breaches", "{}"),
    ("emergency arrival SLA", "emergency_arrival_compliance", "{:.1%}"),
    ("resolve SLA", "resolve_compliance", "{:.1%}"),
    ("mean arrival min", "mean_arrival_minutes", "{:.0f}"),
    ("p90 arrival min", "p90_arrival_minutes", "{:.0f}"),
    ("peak backlog", "peak_backlog", "{}"),
    ("utilisation", "utilisation", "{:.1%}"),
    ("load CV", "load_cv", "{:.2f}"),
)


def table_rows(result: SimulationResult) -> list[list[str]]:
    return [[fmt.format(getattr(row, attribute)) for _heading, attribute, fmt in COLUMNS] for row in result.metrics]


def format_table(result: SimulationResult) -> str:
    """The metrics as an aligned plain-text table, one row per policy (also valid Markdown)."""
    headings = [heading for heading, _attribute, _fmt in COLUMNS]
    rows = table_rows(result)
    widths = [max(len(cell) for cell in column) for column in zip(headings, *rows, strict=True)]
    lines = [
        "| " + " | ".join(cell.ljust(width) for cell, width in zip(headings, widths, strict=True)) + " |",
        "|" + "|".join("-" * (width + 2) for width in widths) + "|",
    ]
    for row in rows:
        cells = [
            cell.ljust(width) if column == 0 else cell.rjust(width)
            for column, (cell, width) in enumerate(zip(row, widths, strict=True))
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def write_csv(result: SimulationResult, path: Path) -> None:
    """The table as CSV: raw numbers (shares 0–1, minutes), one row per policy."""
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow([attribute for _heading, attribute, _fmt in COLUMNS])
        for row in result.metrics:
            writer.writerow([getattr(row, attribute) for _heading, attribute, _fmt in COLUMNS])
