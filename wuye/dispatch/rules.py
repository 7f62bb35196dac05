"""Pure dispatch rules (派单): who may take an order, and the policies that decide who should.

No ORM and no clock: callers pass the waiting orders (`Job`), the technicians as they are now (`Technician`), `now`
and `today`. The live desk and the simulator (`wuye.dispatch.simulation`) call the same `plan()`.

Every policy answers with `Assignment`s: an order, a technician, the predicted arrival, and short reasons ("why this
person"). `dispatch_now` says whether the order should be sent to that technician at once. Round robin and load
balance bind an order to someone the moment it arrives, as the usual tools do, so all their assignments are sent at
once and queue up on the technician's phone. The optimiser re-plans every waiting order at every event (a new
order, a technician finishing, a shift starting): it only sends an order to a technician who has nothing in hand,
and everything else stays a suggestion that the next re-plan may change.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
from django.utils.translation import gettext as _
from scipy.optimize import linear_sum_assignment

from wuye.staff.choices import CertificateKind, Skill
from wuye.staff.rules import certificate_is_valid
from wuye.workorders.choices import Priority

Position = tuple[int, int]

# Walking between buildings: Manhattan distance (estate paths run along the building rows) at an unhurried pace with
# a toolbox, plus a fixed hand-over (lift or stairs, finding the door, greeting the owner).
WALKING_SPEED_M_PER_MIN = 70.0
HANDOVER_MINUTES = 2.0

# Cost of a forbidden (ineligible) pair. It must exceed the sum of every allowed cost in a matrix, so the solver
# first places as many allowed pairs as it can; allowed costs are clipped to ±ALLOWED_COST_LIMIT to guarantee it.
FORBIDDEN = 1e12
ALLOWED_COST_LIMIT = 1e8


# ---------------------------------------------------------------------------------------------------------------------
# Inputs and outputs


@dataclass(frozen=True)
class Technician:
    """A technician as the dispatcher sees them now.

    `certificates` maps a certificate kind to its expiry date (None: never expires). `position` is metres east/north
    of the main gate where they will be when free (their current order's building, or the workshop). `free_at` is when
    they will have finished what they hold (for someone off shift and on call: when they can set out). `open_orders`
    counts the orders in their hands; zero means they can be sent somewhere now.
    """

    id: int
    skills: frozenset[str]
    certificates: Mapping[str, dt.date | None] = field(hash=False)
    estate_ids: frozenset[int]
    grid_ids: frozenset[int]
    position: Position
    on_shift: bool
    on_call: bool
    free_at: dt.datetime
    open_orders: int


@dataclass(frozen=True)
class Job:
    """An order waiting for a technician: where, what it needs, how urgent, and its SLA due times.

    `required_skill` and `required_certificate` come from the order's category ("" = none). `service_minutes` is the
    expected time on site for the category (the real time is not known until the work is done).
    """

    id: int
    estate_id: int
    grid_id: int | None
    position: Position
    required_skill: str
    required_certificate: str
    priority: str
    submitted_at: dt.datetime
    arrive_due_at: dt.datetime
    resolve_due_at: dt.datetime | None
    service_minutes: float


@dataclass(frozen=True)
class Check:
    """One eligibility rule, explained. A preferred check (`required=False`) never blocks."""

    code: str
    passed: bool
    message: str
    required: bool = True


@dataclass(frozen=True)
class Eligibility:
    """Whether a technician may take an order (`ok`: every required check passed), with every check explained."""

    ok: bool
    checks: tuple[Check, ...]

    def failed(self) -> tuple[Check, ...]:
        """The required checks that block the technician."""
        return tuple(check for check in self.checks if check.required and not check.passed)


@dataclass(frozen=True)
class Assignment:
    """A policy's answer for one order.

    `dispatch_now`: send the order to the technician now. Otherwise it is the current plan's suggestion (that
    technician is busy) and the next re-plan may change it. `predicted_arrival` assumes the technician sets out when
    free and walks straight there.
    """

    job_id: int
    tech_id: int
    reasons: tuple[str, ...]
    predicted_arrival: dt.datetime
    dispatch_now: bool = True


class Policy(Protocol):
    code: str

    def plan(
        self, jobs: Sequence[Job], technicians: Sequence[Technician], *, now: dt.datetime, today: dt.date
    ) -> list[Assignment]: ...


# ---------------------------------------------------------------------------------------------------------------------
# Eligibility


def _skill_label(value: str) -> str:
    return str(Skill(value).label) if value in Skill.values else value


def _certificate_label(value: str) -> str:
    return str(CertificateKind(value).label) if value in CertificateKind.values else value


def eligibility(job: Job, tech: Technician, *, today: dt.date) -> Eligibility:
    """Whether `tech` may take `job` today, every rule explained (never a silent no).

    Required: a member of the order's estate; the category's skill; a valid certificate where the category requires
    one (one expiring today is still valid today); on shift now, or on call when the order is an emergency.
    Preferred, never blocking: a member of the order's grid.
    """
    checks = [
        Check("estate", True, _("Works in this estate."))
        if job.estate_id in tech.estate_ids
        else Check("estate", False, _("Does not work in this estate.")),
        _skill_check(job, tech),
        _certificate_check(job, tech, today),
        _shift_check(job, tech),
        _grid_check(job, tech),
    ]
    return Eligibility(ok=all(check.passed for check in checks if check.required), checks=tuple(checks))


def _skill_check(job: Job, tech: Technician) -> Check:
    if not job.required_skill:
        return Check("skill", True, _("No particular skill required."))
    label = _skill_label(job.required_skill)
    if job.required_skill in tech.skills:
        return Check("skill", True, _("Has the required skill: %(skill)s.") % {"skill": label})
    return Check("skill", False, _("Lacks the required skill: %(skill)s.") % {"skill": label})


def _certificate_check(job: Job, tech: Technician, today: dt.date) -> Check:
    kind = job.required_certificate
    if not kind:
        return Check("certificate", True, _("No certificate required."))
    label = _certificate_label(kind)
    if kind not in tech.certificates:
        return Check(
            "certificate", False, _("Holds no %(certificate)s, which this work requires.") % {"certificate": label}
        )
    expires_on = tech.certificates[kind]
    if not certificate_is_valid(expires_on=expires_on, on=today):
        assert expires_on is not None  # a certificate without an expiry date never lapses
        return Check(
            "certificate",
            False,
            _("%(certificate)s expired on %(date)s; this work requires a valid one.")
            % {"certificate": label, "date": expires_on.isoformat()},
        )
    if expires_on is None:
        return Check("certificate", True, _("%(certificate)s valid (no expiry).") % {"certificate": label})
    return Check(
        "certificate",
        True,
        _("%(certificate)s valid until %(date)s.") % {"certificate": label, "date": expires_on.isoformat()},
    )


def _shift_check(job: Job, tech: Technician) -> Check:
    if tech.on_shift:
        return Check("shift", True, _("On shift now."))
    if job.priority == Priority.EMERGENCY:
        if tech.on_call:
            return Check("shift", True, _("Off shift, but on call for emergencies."))
        return Check("shift", False, _("Off shift and not on call."))
    if tech.on_call:
        return Check("shift", False, _("Off shift; on call for emergencies only."))
    return Check("shift", False, _("Off shift now."))


def _grid_check(job: Job, tech: Technician) -> Check:
    if job.grid_id is None:
        return Check("grid", True, _("The order belongs to no grid."), required=False)
    if job.grid_id in tech.grid_ids:
        return Check("grid", True, _("Works in the order's grid (preferred)."), required=False)
    return Check("grid", False, _("Not in the order's grid (preferred, not required)."), required=False)


def eligibility_matrix(jobs: Sequence[Job], technicians: Sequence[Technician], *, today: dt.date) -> np.ndarray:
    """Booleans, one row per job and one column per technician: `eligibility(job, tech, today=today).ok`.

    The same rules as `eligibility`, without building messages: orders that need the same thing (estate, skill,
    certificate, emergency or not) share one column computation, so a re-plan of hundreds of orders stays cheap.
    """
    valid_certificates = [
        frozenset(
            kind for kind, expires in tech.certificates.items() if certificate_is_valid(expires_on=expires, on=today)
        )
        for tech in technicians
    ]
    rows: dict[tuple[int, str, str, bool], np.ndarray] = {}
    matrix = np.zeros((len(jobs), len(technicians)), dtype=bool)
    for index, job in enumerate(jobs):
        emergency = job.priority == Priority.EMERGENCY
        key = (job.estate_id, job.required_skill, job.required_certificate, emergency)
        row = rows.get(key)
        if row is None:
            row = np.array(
                [
                    job.estate_id in tech.estate_ids
                    and (not job.required_skill or job.required_skill in tech.skills)
                    and (not job.required_certificate or job.required_certificate in certificates)
                    and (tech.on_shift or (emergency and tech.on_call))
                    for tech, certificates in zip(technicians, valid_certificates, strict=True)
                ],
                dtype=bool,
            )
            rows[key] = row
        matrix[index] = row
    return matrix


# ---------------------------------------------------------------------------------------------------------------------
# Walking and the assignment solver


def walk_minutes(a: Position, b: Position, speed_m_per_min: float = WALKING_SPEED_M_PER_MIN) -> float:
    """Minutes from `a` to `b` (metres from the main gate): Manhattan distance at walking speed plus the hand-over."""
    if speed_m_per_min <= 0:
        raise ValueError(f"walking speed must be positive, got {speed_m_per_min!r}")
    return (abs(a[0] - b[0]) + abs(a[1] - b[1])) / speed_m_per_min + HANDOVER_MINUTES


def min_cost_assignment(cost: np.ndarray) -> list[tuple[int, int]]:
    """The (row, column) pairs of a minimum-cost assignment, sorted by row, at most one per row and per column.

    Rectangular matrices are fine: min(rows, columns) pairs are placed. A forbidden pair is marked with a cost of at
    least `FORBIDDEN` (or inf/nan); it is given to the solver as that large finite cost, so the solver still finds a
    complete assignment, and then dropped from the answer. Allowed costs must stay well below `FORBIDDEN`.
    """
    matrix = np.array(cost, dtype=float)
    if matrix.ndim != 2:
        raise ValueError(f"cost must be a 2-dimensional matrix, got {matrix.ndim} dimensions")
    if matrix.size == 0:
        return []
    forbidden = ~np.isfinite(matrix) | (matrix >= FORBIDDEN)
    matrix[forbidden] = FORBIDDEN
    rows, columns = linear_sum_assignment(matrix)
    return [(int(row), int(column)) for row, column in zip(rows, columns, strict=True) if not forbidden[row, column]]


def _minutes_after(moment: dt.datetime, now: dt.datetime) -> float:
    return (moment - now).total_seconds() / 60.0


class _Roster:
    """The technicians' predicted state while one plan is built: when each is next free, where, how loaded."""

    def __init__(self, technicians: Sequence[Technician], now: dt.datetime, speed: float) -> None:
        self.now = now
        self.speed = speed
        self.ids = np.array([tech.id for tech in technicians], dtype=np.int64)
        self.available = np.array([max(0.0, _minutes_after(tech.free_at, now)) for tech in technicians])
        self.x = np.array([tech.position[0] for tech in technicians], dtype=float)
        self.y = np.array([tech.position[1] for tech in technicians], dtype=float)
        self.load = np.array([tech.open_orders for tech in technicians], dtype=float)
        self.planned = np.zeros(len(technicians), dtype=np.int64)
        self.idle = np.array([tech.open_orders == 0 for tech in technicians], dtype=bool)

    def walk_to(self, position: Position) -> np.ndarray:
        return (np.abs(self.x - position[0]) + np.abs(self.y - position[1])) / self.speed + HANDOVER_MINUTES

    def take(self, column: int, job: Job, walk: float) -> tuple[float, bool]:
        """Give `job` to technician `column`: returns (arrival in minutes from now, whether to dispatch it now)."""
        arrival = float(self.available[column]) + walk
        dispatch_now = bool(self.idle[column] and self.planned[column] == 0)
        self.available[column] = arrival + job.service_minutes
        self.x[column], self.y[column] = job.position
        self.load[column] += 1
        self.planned[column] += 1
        return arrival, dispatch_now


def _due_reason(arrival: float, due: float) -> str:
    if arrival <= due:
        return _("arrives %(minutes)d min before due") % {"minutes": math.floor(due - arrival)}
    return _("arrives %(minutes)d min after due") % {"minutes": math.ceil(arrival - due)}


def _common_reasons(job: Job, tech: Technician, walk: float, arrival: float, now: dt.datetime) -> list[str]:
    reasons = []
    if job.grid_id is not None and job.grid_id in tech.grid_ids:
        reasons.append(_("same grid"))
    reasons.append(_("%(minutes)d min walk") % {"minutes": round(walk)})
    wait = arrival - walk
    if wait >= 1:
        reasons.append(_("free in %(minutes)d min") % {"minutes": round(wait)})
    reasons.append(_due_reason(arrival, _minutes_after(job.arrive_due_at, now)))
    return reasons


# ---------------------------------------------------------------------------------------------------------------------
# Policies


def _one_by_one(
    jobs: Sequence[Job],
    technicians: Sequence[Technician],
    *,
    now: dt.datetime,
    today: dt.date,
    speed: float,
    pick: Callable[[np.ndarray, _Roster], tuple[int, str]],
) -> list[Assignment]:
    """The greedy policies' shared loop: orders oldest first, each given at once to the eligible technician `pick`
    chooses among the eligible columns (returning the column and the reason it was chosen); every assignment is
    final and counts towards that technician's load and free time for the next order."""
    techs = sorted(technicians, key=lambda tech: tech.id)
    ordered = sorted(jobs, key=lambda job: (job.submitted_at, job.id))
    if not techs or not ordered:
        return []
    eligible = eligibility_matrix(ordered, techs, today=today)
    roster = _Roster(techs, now, speed)
    answer = []
    for row, job in enumerate(ordered):
        columns = np.flatnonzero(eligible[row])
        if not columns.size:
            continue
        column, why = pick(columns, roster)
        walk = float(roster.walk_to(job.position)[column])
        arrival, _now = roster.take(column, job, walk)
        reasons = [why, *_common_reasons(job, techs[column], walk, arrival, now)]
        answer.append(Assignment(job.id, techs[column].id, tuple(reasons), now + dt.timedelta(minutes=arrival)))
    return sorted(answer, key=lambda assignment: assignment.job_id)


class RoundRobin:
    """The next eligible technician in id order after the last one given an order (the cursor), wrapping round.

    Orders are taken oldest first. Every assignment is final (`dispatch_now`). The cursor is kept between calls, so
    one instance should serve one estate's stream of orders.
    """

    code = "round_robin"

    def __init__(self, *, walking_speed_m_per_min: float = WALKING_SPEED_M_PER_MIN) -> None:
        self.speed = walking_speed_m_per_min
        self.cursor: int | None = None

    def _pick(self, columns: np.ndarray, roster: _Roster) -> tuple[int, str]:
        after = columns[roster.ids[columns] > self.cursor] if self.cursor is not None else columns
        column = int(after[0] if after.size else columns[0])
        self.cursor = int(roster.ids[column])
        return column, _("next in rotation")

    def plan(
        self, jobs: Sequence[Job], technicians: Sequence[Technician], *, now: dt.datetime, today: dt.date
    ) -> list[Assignment]:
        return _one_by_one(jobs, technicians, now=now, today=today, speed=self.speed, pick=self._pick)


class LoadBalance:
    """The eligible technician with the fewest open orders, then the earliest free, then the lowest id.

    Orders are taken oldest first and each one counts towards its technician's load for the next. Every assignment
    is final (`dispatch_now`).
    """

    code = "load_balance"

    def __init__(self, *, walking_speed_m_per_min: float = WALKING_SPEED_M_PER_MIN) -> None:
        self.speed = walking_speed_m_per_min

    @staticmethod
    def _pick(columns: np.ndarray, roster: _Roster) -> tuple[int, str]:
        # lexsort sorts by the last key first: load, then free time, then id.
        order = np.lexsort((roster.ids[columns], roster.available[columns], roster.load[columns]))
        column = int(columns[order[0]])
        return column, _("lowest load (%(count)d open orders)") % {"count": int(roster.load[column])}

    def plan(
        self, jobs: Sequence[Job], technicians: Sequence[Technician], *, now: dt.datetime, today: dt.date
    ) -> list[Assignment]:
        return _one_by_one(jobs, technicians, now=now, today=today, speed=self.speed, pick=self._pick)


@dataclass(frozen=True)
class OptimiserWeights:
    """The optimiser's objective. Costs are in "weighted minutes"; each order's lateness terms are multiplied by its
    priority's weight, so an emergency minute late counts as much as `emergency / normal` normal minutes.

    - `breach`: a fixed cost for arriving after the due time at all, in minutes of lateness. It makes the plan prefer
      saving an order that can still be on time over shaving minutes off one that is already late.
    - `escalation`: lateness costs more the later an order already is: a minute late costs
      `1 + minutes_late / escalation`, so an order hours late is not left behind, round after round, for fresher
      orders that can still be saved (0 keeps lateness linear).
    - `slack`: the cost of using up all of an order's remaining time, even when it arrives on time (proportional to
      the share of the slack consumed), so tight orders go first.
    - `resolve`: weight of the predicted resolve lateness (arrival + expected service against resolve_due_at).
    - `waiting`: per minute until arrival, whatever the priority (owners wait less overall).
    - `walking`: per minute walked (walking is working time nobody is fixing anything).
    - `load`: per order the technician already holds or is planned, so work spreads.
    - `grid_bonus`: subtracted for the grid's own staff, who know the buildings and the owners.
    - `lookahead_cycles`: each round, measure every order against what waiting this many more cycles (a typical walk
      and service time) would cost it, so the round serves the orders that can least afford to wait (see
      `Optimiser`); 0 turns the look-ahead off.
    """

    emergency: float = 100.0
    urgent: float = 10.0
    normal: float = 3.0
    low: float = 1.0
    breach: float = 60.0
    escalation: float = 240.0
    slack: float = 10.0
    resolve: float = 0.2
    waiting: float = 0.2
    walking: float = 0.5
    load: float = 2.0
    grid_bonus: float = 2.0
    lookahead_cycles: float = 1.0

    def priority_weight(self, priority: str) -> float:
        return {
            Priority.EMERGENCY: self.emergency,
            Priority.URGENT: self.urgent,
            Priority.NORMAL: self.normal,
            Priority.LOW: self.low,
        }.get(priority, self.normal)


# The least slack an order is treated as having when measuring the share consumed (avoids dividing by ~0).
SLACK_FLOOR_MINUTES = 15.0


class Optimiser:
    """Assigns waiting orders to eligible technicians to minimise weighted predicted SLA lateness, walking and load.

    1. Emergencies first, most urgent first: each takes the suitable technician who can arrive soonest (the nearest
       free one, or an on-call one when nobody on shift is suitable).
    2. The rest in rounds. Each round solves one minimum-cost assignment (scipy's `linear_sum_assignment`) of the
       remaining orders to technicians, at most one order per technician, with the cost in `OptimiserWeights`
       computed from each technician's predicted free time and position. The chosen technicians then move on: free
       again after walking there and the expected service time, standing at that building. Rounds repeat until every
       order with an eligible technician has one. With look-ahead, each order's cost in a round is measured against
       what it would cost `lookahead_cycles` cycles later (its best arrival plus typical walks and service times),
       so when there are more orders than technicians the round picks the orders that can least afford to wait.
       This is the better formulation we found: a single assignment of orders to (technician, place in sequence)
       slots was tried and breached more often in the simulation.

    Only an order given to a technician with nothing in hand, as that technician's first, is `dispatch_now`; the rest
    is a plan the next event re-plans. Deterministic: orders and technicians are sorted by id, and the solver is
    deterministic for the same matrix.
    """

    code = "optimise"

    def __init__(
        self, weights: OptimiserWeights | None = None, *, walking_speed_m_per_min: float = WALKING_SPEED_M_PER_MIN
    ) -> None:
        self.weights = weights or OptimiserWeights()
        self.speed = walking_speed_m_per_min

    def plan(
        self, jobs: Sequence[Job], technicians: Sequence[Technician], *, now: dt.datetime, today: dt.date
    ) -> list[Assignment]:
        techs = sorted(technicians, key=lambda tech: tech.id)
        ordered = sorted(jobs, key=lambda job: job.id)
        if not techs or not ordered:
            return []
        eligible = eligibility_matrix(ordered, techs, today=today)
        roster = _Roster(techs, now, self.speed)
        w = self.weights
        due = np.array([_minutes_after(job.arrive_due_at, now) for job in ordered])
        resolve_due = np.array(
            [math.inf if job.resolve_due_at is None else _minutes_after(job.resolve_due_at, now) for job in ordered]
        )
        service = np.array([job.service_minutes for job in ordered])
        weight = np.array([w.priority_weight(job.priority) for job in ordered])
        x = np.array([job.position[0] for job in ordered], dtype=float)
        y = np.array([job.position[1] for job in ordered], dtype=float)
        same_grid = _same_grid(ordered, techs)

        open_rows = eligible.any(axis=1)
        chosen: list[tuple[int, int, float, float, bool, bool]] = []  # row, column, walk, arrival, now?, emergency?

        emergencies = [row for row, job in enumerate(ordered) if job.priority == Priority.EMERGENCY and open_rows[row]]
        for row in sorted(emergencies, key=lambda row: (due[row], ordered[row].id)):
            columns = np.flatnonzero(eligible[row])
            walk = roster.walk_to(ordered[row].position)[columns]
            arrival = roster.available[columns] + walk
            best = int(np.lexsort((roster.ids[columns], walk, arrival))[0])
            column = int(columns[best])
            arrived, dispatch_now = roster.take(column, ordered[row], float(walk[best]))
            chosen.append((row, column, float(walk[best]), arrived, dispatch_now, True))
            open_rows[row] = False

        while open_rows.any():
            rows = np.flatnonzero(open_rows)
            walk = (np.abs(x[rows, None] - roster.x[None, :]) + np.abs(y[rows, None] - roster.y[None, :])) / self.speed
            walk += HANDOVER_MINUTES
            arrival = roster.available[None, :] + walk
            row_weight, row_due, row_resolve = weight[rows, None], due[rows, None], resolve_due[rows, None]
            row_service = service[rows, None]
            cost = self._lateness(arrival, row_weight, row_due, row_resolve, row_service)
            cost += w.walking * walk + w.load * roster.load[None, :] - w.grid_bonus * same_grid[rows]
            allowed = eligible[rows]
            if w.lookahead_cycles > 0 and rows.size > 1:
                best_arrival = np.where(allowed, arrival, np.inf).min(axis=1, keepdims=True)
                cycle = float(service[rows].mean()) + float(walk[allowed].mean())
                deferred = best_arrival + w.lookahead_cycles * cycle
                cost -= self._lateness(deferred, row_weight, row_due, row_resolve, row_service)
            cost = np.clip(cost, -ALLOWED_COST_LIMIT, ALLOWED_COST_LIMIT)
            cost[~allowed] = FORBIDDEN
            pairs = min_cost_assignment(cost)
            if not pairs:
                break
            for index, column in pairs:
                row = int(rows[index])
                arrived, dispatch_now = roster.take(column, ordered[row], float(walk[index, column]))
                chosen.append((row, column, float(walk[index, column]), arrived, dispatch_now, False))
                open_rows[row] = False

        answer = []
        for row, column, walk_time, arrived, dispatch_now, emergency in chosen:
            job, tech = ordered[row], techs[column]
            reasons = [_("nearest suitable technician for an emergency")] if emergency else []
            reasons += _common_reasons(job, tech, walk_time, arrived, now)
            answer.append(
                Assignment(job.id, tech.id, tuple(reasons), now + dt.timedelta(minutes=arrived), dispatch_now)
            )
        return sorted(answer, key=lambda assignment: assignment.job_id)

    def _lateness(
        self, arrival: np.ndarray, weight: np.ndarray, due: np.ndarray, resolve_due: np.ndarray, service: np.ndarray
    ) -> np.ndarray:
        """The priority-weighted SLA part of the cost, for arrivals in minutes from now."""
        w = self.weights
        late = np.maximum(arrival - due, 0.0)
        if w.escalation > 0:
            late = late + late * late / (2.0 * w.escalation)
        consumed = np.minimum(arrival, np.maximum(due, 0.0)) / np.maximum(due, SLACK_FLOOR_MINUTES)
        resolve_late = np.maximum(arrival + service - resolve_due, 0.0)
        return weight * (w.breach * (arrival > due) + late + w.slack * consumed + w.resolve * resolve_late) + (
            w.waiting * arrival
        )


def _same_grid(jobs: Sequence[Job], techs: Sequence[Technician]) -> np.ndarray:
    by_grid: dict[int | None, np.ndarray] = {}
    matrix = np.zeros((len(jobs), len(techs)), dtype=float)
    for index, job in enumerate(jobs):
        row = by_grid.get(job.grid_id)
        if row is None:
            row = np.array([job.grid_id is not None and job.grid_id in tech.grid_ids for tech in techs], dtype=float)
            by_grid[job.grid_id] = row
        matrix[index] = row
    return matrix


POLICIES: dict[str, type[RoundRobin] | type[LoadBalance] | type[Optimiser]] = {
    RoundRobin.code: RoundRobin,
    LoadBalance.code: LoadBalance,
    Optimiser.code: Optimiser,
}


def make_policy(code: str, *, walking_speed_m_per_min: float = WALKING_SPEED_M_PER_MIN) -> Policy:
    """A fresh policy by its dispatch-mode code ("round_robin", "load_balance", "optimise")."""
    try:
        policy_class = POLICIES[code]
    except KeyError:
        raise ValueError(f"unknown dispatch policy {code!r} (expected one of {', '.join(POLICIES)})") from None
    return policy_class(walking_speed_m_per_min=walking_speed_m_per_min)
