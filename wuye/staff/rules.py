"""Pure rules about staff: shifts, certificates, and the monthly appraisal (the score and its breakdown, who did
what according to the event data, 服务之星 nomination, accountability). No ORM and no clock: callers pass the
moment."""

import bisect
import datetime as dt
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal


def is_within_shift(local_moment: dt.datetime, *, start: dt.time, end: dt.time, weekdays: list[int]) -> bool:
    """Whether a local (Asia/Shanghai) moment falls inside a shift.

    `weekdays` are ISO numbers (1 = Monday) of the days the shift *starts* on. A shift whose end is not after its
    start crosses midnight (a night shift 20:00–08:00): its early-morning hours belong to the previous day's shift.
    A shift whose start equals its end lasts 24 hours.
    """
    clock_time = local_moment.time()
    today = local_moment.isoweekday()
    yesterday = 7 if today == 1 else today - 1
    if start < end:
        return today in weekdays and start <= clock_time < end
    # Crosses midnight, or runs round the clock.
    if today in weekdays and clock_time >= start:
        return True
    return yesterday in weekdays and clock_time < end


def certificate_is_valid(*, expires_on: dt.date | None, on: dt.date) -> bool:
    """A certificate without an expiry date never expires; one expiring today is still valid today."""
    return expires_on is None or on <= expires_on


def certificate_expires_soon(*, expires_on: dt.date | None, on: dt.date, within_days: int = 30) -> bool:
    return expires_on is not None and on <= expires_on <= on + dt.timedelta(days=within_days)


# ---------------------------------------------------------------------------------------------------------- appraisal
# The monthly appraisal (绩效考核): what each part of the score measures, how it is normalised to 0–100, how the
# weights of a post combine, and the 服务之星 and accountability rules. docs/appraisal.md says the same in prose.

SLA_PERSON_STEPS = ("arrive", "resolve")  # the assignee's clocks; accept, dispatch and return visit are the desk's
ASSIGNING = frozenset({"dispatch", "transfer", "grab"})
UNASSIGNING = frozenset({"return", "reopen"})
COMPONENTS = ("sla_on_time", "rating", "visit", "reopen", "spot_check", "patrol", "planned_work", "complaints")

# A membership role → the post it stands for, for people without a staff profile.
ROLE_POST = {
    "service_agent": "customer_service",
    "technician": "technician",
    "cleaner": "cleaner",
    "gardener": "gardener",
    "guard": "guard",
    "grid_leader": "grid_leader",
    "supervisor": "supervisor",
    "quality_inspector": "quality_inspector",
    "manager": "project_manager",
    "company_admin": "administrator",
}
# When someone holds several roles in an estate, the one listed first names their post.
ROLE_PRECEDENCE = tuple(ROLE_POST)


def _weights(sla, rating, visit, reopen, spot_check, patrol, planned_work, complaints) -> dict[str, int]:
    values = (sla, rating, visit, reopen, spot_check, patrol, planned_work, complaints)
    return dict(zip(COMPONENTS, values, strict=True))


_REPAIRS = _weights(25, 20, 15, 15, 10, 0, 5, 10)
_GENERAL = _weights(20, 15, 15, 10, 15, 5, 10, 10)
# The defaults of each post (each sums to 100): repair posts are judged on their orders, cleaners and gardeners on
# their planned work and spot checks, guards on their patrols. A company changes them in the admin (AppraisalWeights).
DEFAULT_WEIGHTS: dict[str, dict[str, int]] = {
    "technician": _REPAIRS,
    "electrician": _REPAIRS,
    "plumber": _REPAIRS,
    "customer_service": _weights(20, 20, 20, 0, 10, 0, 10, 20),
    "cleaner": _weights(10, 10, 5, 5, 30, 0, 30, 10),
    "gardener": _weights(10, 10, 5, 5, 30, 0, 30, 10),
    "guard": _weights(10, 5, 5, 0, 20, 40, 10, 10),
    "grid_leader": _weights(20, 15, 15, 10, 15, 0, 15, 10),
    "supervisor": _GENERAL,
    "quality_inspector": _GENERAL,
    "project_manager": _GENERAL,
    "administrator": _GENERAL,
}


def post_for_roles(roles) -> str | None:
    """The post of someone without a staff profile, from the roles they hold in the estate (None: not staff)."""
    for role in ROLE_PRECEDENCE:
        if role in roles:
            return ROLE_POST[role]
    return None


def month_bounds(month: dt.date, tz: dt.tzinfo) -> tuple[dt.datetime, dt.datetime]:
    """The local month as aware instants [start, end)."""
    first = month.replace(day=1)
    following = dt.date(first.year + first.month // 12, first.month % 12 + 1, 1)
    return (
        dt.datetime.combine(first, dt.time(0), tzinfo=tz),
        dt.datetime.combine(following, dt.time(0), tzinfo=tz),
    )


def previous_month(today: dt.date) -> dt.date:
    first = today.replace(day=1)
    return (first - dt.timedelta(days=1)).replace(day=1)


# ------------------------------------------------------------------------------------------ facts of one person
@dataclass
class PersonFacts:
    """What the event data says one person did in one month in one estate (the raw numbers of the breakdown)."""

    steps_on_time: dict[str, int] = field(default_factory=dict)  # step → steps met on time
    steps_total: dict[str, int] = field(default_factory=dict)  # step → steps whose outcome fell in the month
    rating_sum: int = 0
    rating_count: int = 0
    visits_satisfied: int = 0
    visits_total: int = 0
    resolved: int = 0
    reopened: int = 0
    spot_check_scores: list[float] = field(default_factory=list)
    rounds_complete: int = 0
    rounds_total: int = 0
    tasks_done: int = 0
    tasks_total: int = 0
    inspections_done: int = 0
    inspections_total: int = 0
    complaints: list[str] = field(default_factory=list)  # numbers of the complaint orders attributed

    @property
    def volume(self) -> int:
        """Work done in the month, for the 服务之星 minimum: orders finished, patrol rounds, tasks and inspections."""
        return self.resolved + self.rounds_total + self.tasks_total + self.inspections_total

    def step(self, step: str, on_time: bool) -> None:
        self.steps_total[step] = self.steps_total.get(step, 0) + 1
        self.steps_on_time[step] = self.steps_on_time.get(step, 0) + (1 if on_time else 0)


@dataclass(frozen=True)
class EventRow:
    """One work-order event as the appraisal needs it."""

    order_id: int
    action: str
    at: dt.datetime
    payload: Mapping = field(default_factory=dict)


@dataclass(frozen=True)
class StepRow:
    """One SLA clock of an order as it stands."""

    id: int
    order_id: int
    step: str
    due_at: dt.datetime | None
    met_at: dt.datetime | None


def _as_int(value) -> int | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def holder_timeline(events: Sequence[EventRow]) -> list[tuple[dt.datetime, int | None]]:
    """(moment, who holds the order from then on) after each event of one order, oldest first. Dispatch, transfer
    and grab hand the order to the person in the payload; return and reopen take it back to the desk."""
    holder: int | None = None
    timeline = []
    for event in events:
        if event.action in ASSIGNING:
            holder = _as_int(event.payload.get("assignee_id"))
        elif event.action in UNASSIGNING:
            holder = None
        timeline.append((event.at, holder))
    return timeline


def holder_at(timeline: Sequence[tuple[dt.datetime, int | None]], moment: dt.datetime) -> int | None:
    """Who held the order at `moment` (after every event at or before it)."""
    position = bisect.bisect_right([at for at, _holder in timeline], moment) - 1
    return timeline[position][1] if position >= 0 else None


def holder_before(events: Sequence[EventRow], index: int) -> int | None:
    """Who held the order when event number `index` happened (a reopen still counts against them)."""
    holder: int | None = None
    for event in events[:index]:
        if event.action in ASSIGNING:
            holder = _as_int(event.payload.get("assignee_id"))
        elif event.action in UNASSIGNING:
            holder = None
    return holder


def step_outcome(step: StepRow, now: dt.datetime) -> tuple[dt.datetime, bool] | None:
    """When a step's fate was decided and whether it was on time: met by its due time → on time at the moment it
    was met; not met by its due time → late at the due time (whether it was met later or never). A step without a
    due time (paused) that was met is on time; one still running before its due time has no outcome yet."""
    if step.due_at is None:
        return (step.met_at, True) if step.met_at is not None else None
    if step.met_at is not None and step.met_at <= step.due_at:
        return step.met_at, True
    if step.due_at <= now:
        return step.due_at, False
    return None


def add_order_facts(
    facts: dict[int, PersonFacts],
    events: Sequence[EventRow],
    steps: Iterable[StepRow],
    *,
    start: dt.datetime,
    end: dt.datetime,
    now: dt.datetime,
) -> None:
    """Add what one order (all its events, oldest first, and its SLA clocks) gives each person in [start, end).
    Everything is attributed to the person holding the order at the moment it happened."""

    def person(person_id: int) -> PersonFacts:
        return facts.setdefault(person_id, PersonFacts())

    holder: int | None = None
    for event in events:
        if start <= event.at < end and holder is not None:
            if event.action == "resolve":
                person(holder).resolved += 1
            elif event.action == "reopen":
                person(holder).reopened += 1
            elif event.action == "rate":
                score = _as_int(event.payload.get("score"))
                if score is not None and 1 <= score <= 5:
                    person(holder).rating_sum += score
                    person(holder).rating_count += 1
            elif event.action == "visit" and isinstance(event.payload.get("satisfied"), bool):
                person(holder).visits_total += 1
                person(holder).visits_satisfied += 1 if event.payload["satisfied"] else 0
        if event.action in ASSIGNING:
            holder = _as_int(event.payload.get("assignee_id"))
        elif event.action in UNASSIGNING:
            holder = None
    timeline = holder_timeline(events)
    for step in steps:
        if step.step not in SLA_PERSON_STEPS:
            continue
        outcome = step_outcome(step, now)
        if outcome is None or not start <= outcome[0] < end:
            continue
        who = holder_at(timeline, outcome[0])
        if who is not None:
            person(who).step(step.step, outcome[1])


# ------------------------------------------------------------------------------------------ complaints
@dataclass(frozen=True)
class Resolution:
    """An order finished by someone: where, what kind of problem, by whom, when."""

    order_id: int
    number: str
    room_id: int | None
    public_area_id: int | None
    category: str
    resolver_id: int | None
    at: dt.datetime


@dataclass(frozen=True)
class ComplaintRow:
    order_id: int
    number: str
    room_id: int | None
    public_area_id: int | None
    category: str
    submitted_at: dt.datetime
    about_order_id: int | None = None  # an explicit link (source "workorder"), when the complaint names the order


SERVICE_CATEGORY = "service"  # complaints about the service itself (attitude, conduct) follow any work at the place


def attribute_complaints(
    complaints: Iterable[ComplaintRow], resolutions: Iterable[Resolution], *, window: dt.timedelta
) -> dict[int, Resolution]:
    """complaint order id → the finished work it is about. A complaint naming an order is about that order's last
    finish before it. Otherwise it is about the latest work finished at the same room (or public area) within
    `window` before it, in the complaint's category — or any category for a complaint about the service itself.
    Complaints matching no work stay unattributed."""
    by_order: dict[int, list[Resolution]] = {}
    by_place: dict[tuple[str, int], list[Resolution]] = {}
    for resolution in resolutions:
        by_order.setdefault(resolution.order_id, []).append(resolution)
        if resolution.room_id is not None:
            by_place.setdefault(("room", resolution.room_id), []).append(resolution)
        elif resolution.public_area_id is not None:
            by_place.setdefault(("area", resolution.public_area_id), []).append(resolution)
    result: dict[int, Resolution] = {}
    for complaint in complaints:
        if complaint.about_order_id is not None:
            earlier = [r for r in by_order.get(complaint.about_order_id, []) if r.at <= complaint.submitted_at]
        else:
            if complaint.room_id is not None:
                place = ("room", complaint.room_id)
            elif complaint.public_area_id is not None:
                place = ("area", complaint.public_area_id)
            else:
                continue
            earlier = [
                r
                for r in by_place.get(place, [])
                if r.order_id != complaint.order_id
                and complaint.submitted_at - window <= r.at <= complaint.submitted_at
                and (complaint.category == SERVICE_CATEGORY or r.category == complaint.category)
            ]
        if earlier:
            result[complaint.order_id] = max(earlier, key=lambda r: (r.at, r.order_id))
    return result


# ------------------------------------------------------------------------------------------ the score
@dataclass(frozen=True)
class ComponentScore:
    """One line of the breakdown. `normalised` is None when the person has no data for it (the line is then left
    out and the other weights are scaled up); `share` is the weight as a share of the counted weights (percent);
    `contribution` = normalised × share / 100, rounded so the contributions add up exactly to the score."""

    code: str
    raw: dict
    weight: int
    normalised: float | None
    share: float = 0.0
    contribution: Decimal = Decimal("0.00")

    @property
    def counted(self) -> bool:
        return self.normalised is not None and self.weight > 0

    def as_dict(self) -> dict:
        return {
            "code": self.code,
            "raw": self.raw,
            "weight": self.weight,
            "normalised": None if self.normalised is None else round(self.normalised, 2),
            "share": round(self.share, 2),
            "contribution": str(self.contribution),
            "counted": self.counted,
        }


def _share(part: float, whole: float) -> float | None:
    return None if whole <= 0 else 100.0 * part / whole


def normalise(facts: PersonFacts, *, complaint_penalty: int) -> dict[str, tuple[dict, float | None]]:
    """Each component's raw numbers and its 0–100 score (None: no data)."""
    on_time = sum(facts.steps_on_time.values())
    total = sum(facts.steps_total.values())
    per_step = {step: [facts.steps_on_time.get(step, 0), facts.steps_total[step]] for step in sorted(facts.steps_total)}
    mean_rating = facts.rating_sum / facts.rating_count if facts.rating_count else None
    reopen_base = max(facts.resolved, facts.reopened)
    spot = facts.spot_check_scores
    planned_done = facts.tasks_done + facts.inspections_done
    planned_total = facts.tasks_total + facts.inspections_total
    complaint_count = len(facts.complaints)
    has_exposure = facts.resolved > 0 or complaint_count > 0
    return {
        "sla_on_time": ({"on_time": on_time, "total": total, "steps": per_step}, _share(on_time, total)),
        "rating": (
            {"count": facts.rating_count, "average": None if mean_rating is None else round(mean_rating, 2)},
            None if mean_rating is None else (mean_rating - 1) / 4 * 100,
        ),
        "visit": (
            {"satisfied": facts.visits_satisfied, "total": facts.visits_total},
            _share(facts.visits_satisfied, facts.visits_total),
        ),
        "reopen": (
            {"reopened": facts.reopened, "resolved": facts.resolved},
            None if reopen_base == 0 else 100.0 * (1 - facts.reopened / reopen_base),
        ),
        "spot_check": (
            {"count": len(spot), "average": round(sum(spot) / len(spot), 2) if spot else None},
            sum(spot) / len(spot) if spot else None,
        ),
        "patrol": (
            {"complete": facts.rounds_complete, "total": facts.rounds_total},
            _share(facts.rounds_complete, facts.rounds_total),
        ),
        "planned_work": (
            {
                "done": planned_done,
                "total": planned_total,
                "tasks": [facts.tasks_done, facts.tasks_total],
                "inspections": [facts.inspections_done, facts.inspections_total],
            },
            _share(planned_done, planned_total),
        ),
        "complaints": (
            {
                "count": complaint_count,
                "orders": list(facts.complaints),
                "resolved": facts.resolved,
                "penalty": complaint_penalty,
            },
            max(0.0, 100.0 - complaint_penalty * complaint_count) if has_exposure else None,
        ),
    }


def _round_to_total(values: Sequence[float]) -> list[int]:
    """Values in hundredths, rounded so they add up to the total rounded half up (largest remainder)."""
    exact = [value * 100 for value in values]
    total = math.floor(sum(exact) + 0.5 + 1e-9)
    floors = [math.floor(value) for value in exact]
    missing = total - sum(floors)
    order = sorted(range(len(exact)), key=lambda i: (-(exact[i] - floors[i]), i))
    for i in order[: max(0, missing)]:
        floors[i] += 1
    return floors


def appraisal_score(
    facts: PersonFacts, weights: Mapping[str, int], *, complaint_penalty: int = 20
) -> tuple[Decimal | None, list[ComponentScore]]:
    """The month's score (0–100, two decimals) and its breakdown. Components without data, or with weight 0, are
    left out; the weights of the others are scaled to add up to 100 %. None when nothing is left to count."""
    lines = [
        ComponentScore(code=code, raw=raw, weight=int(weights.get(code, 0)), normalised=normalised)
        for code, (raw, normalised) in normalise(facts, complaint_penalty=complaint_penalty).items()
    ]
    counted = [line for line in lines if line.counted]
    weight_total = sum(line.weight for line in counted)
    if not counted or weight_total <= 0:
        return None, lines
    shares = {line.code: 100.0 * line.weight / weight_total for line in counted}
    exact = [line.normalised * shares[line.code] / 100 for line in counted]
    hundredths = dict(zip((line.code for line in counted), _round_to_total(exact), strict=True))
    result = []
    for line in lines:
        if line.counted:
            line = ComponentScore(
                code=line.code,
                raw=line.raw,
                weight=line.weight,
                normalised=line.normalised,
                share=shares[line.code],
                contribution=Decimal(hundredths[line.code]) / 100,
            )
        result.append(line)
    score = sum((line.contribution for line in result), Decimal("0.00"))
    return score.quantize(Decimal("0.01")), result


# ------------------------------------------------------------------------------------------ 服务之星
@dataclass(frozen=True)
class Candidate:
    person_id: int
    score: Decimal
    volume: int


def nominate(candidates: Iterable[Candidate], *, min_volume: int, excluded: Iterable[int] = ()) -> Candidate | None:
    """The month's 服务之星 of an estate: the highest score among people who did at least `min_volume` work and were
    not already rejected this month. Ties go to more work done, then to the lower person id (the earlier account),
    so the same data always nominates the same person."""
    skip = set(excluded)
    eligible = [c for c in candidates if c.volume >= min_volume and c.person_id not in skip]
    if not eligible:
        return None
    return min(eligible, key=lambda c: (-c.score, -c.volume, c.person_id))


# ------------------------------------------------------------------------------------------ accountability
@dataclass(frozen=True)
class Breach:
    """An SLA step missed while someone held the order: the step was still unmet at its due time."""

    key: str  # step id and due time: a step restarted by a reopen is a new breach
    person_id: int
    at: dt.datetime  # the due time
    order_id: int
    number: str
    step: str


def breach_key(step_id: int, due_at: dt.datetime) -> str:
    return f"{step_id}@{due_at.astimezone(dt.UTC):%Y%m%dT%H%M%S}"


def accountability_due(
    breaches: Iterable[Breach], covered: Iterable[str], *, threshold: int, since: dt.datetime
) -> dict[int, list[Breach]]:
    """person id → the breaches that open a new accountability record: those since `since` (the rolling window) not
    already in a record, when there are at least `threshold` of them. Oldest first."""
    done = set(covered)
    per_person: dict[int, list[Breach]] = {}
    for breach in breaches:
        if breach.at >= since and breach.key not in done:
            per_person.setdefault(breach.person_id, []).append(breach)
    return {
        person: sorted(found, key=lambda b: (b.at, b.key))
        for person, found in per_person.items()
        if len(found) >= threshold
    }
