"""Pure KPI arithmetic (no ORM, no clock): duration histograms, what one work order's events contribute to each day's
rollup, the KPI formulas over summed rollups, periods, and the status colour against a target.

Definitions (docs/kpis.md says the same in prose):
- every count is attributed to the local day (Asia/Shanghai) of the event that defines it;
- response = submitted → accepted, arrival = submitted → first arrival on site, resolution = submitted → first
  resolution (or answer, for inquiries, suggestions and praise), in wall-clock minutes, on the day of that event;
- SLA compliance counts a step when it ends: met on or before its due time (on time), met after it (breached), or
  left unmet and already late when the order was closed or cancelled (breached); a step still running counts later;
- first-time fix: of the orders whose first resolution falls in the period, the share never reopened;
- the person a count belongs to is the assignee at the moment of the event (set by dispatch, transfer and grab;
  cleared by return and reopen); acceptance, dispatch and return-visit clocks belong to the desk (no person).
"""

import bisect
import calendar
import datetime as dt
import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from .choices import Direction, KpiCode

# ---------------------------------------------------------------------------------------------------------- histograms
# Log-spaced minute buckets: bucket 0 holds [0, 1) minute; bucket i ≥ 1 holds [2^((i-1)/8), 2^(i/8)) minutes, up to
# the last bucket, which holds everything from 2^((MAX-1)/8) minutes (about 91 days) on. A percentile read from the
# merged histogram is the geometric middle of the bucket holding the exact (nearest-rank) value, so it is within a
# factor 2^(1/16) of it: at most 4.4 % off (or at most 0.5 minute off below one minute), for durations up to
# 2^17 minutes; longer ones all read as the last bucket's value.
BUCKETS_PER_DOUBLING = 8
MAX_BUCKET = 1 + 17 * BUCKETS_PER_DOUBLING
RELATIVE_ERROR_BOUND = 2 ** (1 / (2 * BUCKETS_PER_DOUBLING)) - 1
HISTOGRAMS = ("response_hist", "arrival_hist", "resolution_hist")

Histogram = dict[str, int]  # bucket index (as text, as JSON keeps it) → count; sparse


def bucket_of(minutes: float) -> int:
    if minutes < 1:
        return 0
    # The epsilon puts an exact bucket edge (2^(k/8), computed with rounding) into the bucket it opens.
    return min(MAX_BUCKET, 1 + math.floor(math.log2(minutes) * BUCKETS_PER_DOUBLING + 1e-9))


def bucket_bounds(index: int) -> tuple[float, float]:
    if index == 0:
        return 0.0, 1.0
    return 2 ** ((index - 1) / BUCKETS_PER_DOUBLING), 2 ** (index / BUCKETS_PER_DOUBLING)


def bucket_value(index: int) -> float:
    """The value a bucket stands for: its geometric middle (0.5 minute for the first bucket)."""
    if index == 0:
        return 0.5
    low, high = bucket_bounds(index)
    return math.sqrt(low * high)


def hist_add(histogram: Histogram, minutes: float, count: int = 1) -> None:
    key = str(bucket_of(minutes))
    histogram[key] = histogram.get(key, 0) + count


def hist_merge(into: Histogram, other: Mapping[str, int] | None) -> None:
    """Add `other`'s counts into `into`. Keys are bucket numbers as text (`hist_add` writes them so, and stored
    histograms come back from JSON so); the dashboard merges thousands per request, so this stays a bare loop."""
    if other:
        get = into.get
        for key, count in other.items():
            into[key] = get(key, 0) + count


def hist_count(histogram: Mapping[str, int]) -> int:
    return sum(histogram.values())


def nearest_rank(total: int, q: float) -> int:
    """The 1-based rank of the q-quantile by the nearest-rank method: the smallest value with at least q of the
    values at or below it."""
    return max(1, math.ceil(q * total))


def hist_quantile(histogram: Mapping[str, int], q: float) -> float | None:
    """The q-quantile (0 < q ≤ 1) of the durations in a histogram, in minutes; None when it is empty."""
    total = hist_count(histogram)
    if total == 0:
        return None
    rank = nearest_rank(total, q)
    seen = 0
    for index in sorted(int(key) for key in histogram):
        seen += histogram[str(index)]
        if seen >= rank:
            return bucket_value(index)
    raise AssertionError("unreachable: the ranks add up to the total")


# ---------------------------------------------------------------------------------------------------------- counters
# The counts each rollup row holds (the model has exactly these fields; a test keeps them in step).
COUNTERS = (
    "reported",
    "reported_online",
    "complaints",
    "accepted",
    "dispatched",
    "arrived",
    "resolved",
    "closed",
    "cancelled",
    "reopened",
    "first_resolved",
    "first_time_fixed",
    "rated_good",
    "rated_bad",
    "score_sum",
    "score_count",
    "visits_satisfied",
    "visits_unsatisfied",
    "sla_accept_met",
    "sla_accept_breached",
    "sla_dispatch_met",
    "sla_dispatch_breached",
    "sla_arrive_met",
    "sla_arrive_breached",
    "sla_resolve_met",
    "sla_resolve_breached",
    "sla_visit_met",
    "sla_visit_breached",
)
SLA_STEPS = ("accept", "dispatch", "arrive", "resolve", "visit")
# Steps whose clock is the assignee's; the others (accept, dispatch, return visit) are the desk's.
PERSON_STEPS = frozenset({"arrive", "resolve"})


@dataclass
class Tally:
    """Counts and duration histograms being added up for one rollup key."""

    counts: Counter = field(default_factory=Counter)
    hists: dict[str, Histogram] = field(default_factory=lambda: {name: {} for name in HISTOGRAMS})

    def add(self, other: "Tally") -> None:
        self.counts.update(other.counts)
        for name in HISTOGRAMS:
            hist_merge(self.hists[name], other.hists[name])

    def add_row(self, row: Mapping) -> None:
        """Add a stored rollup row (a dict with the counters and the histograms)."""
        for name in COUNTERS:
            value = row.get(name) or 0
            if value:
                self.counts[name] += value
        for name in HISTOGRAMS:
            hist_merge(self.hists[name], row.get(name))

    def as_fields(self) -> dict:
        return {**{name: self.counts.get(name, 0) for name in COUNTERS}, **self.hists}

    def is_empty(self) -> bool:
        return not any(self.counts.values()) and not any(self.hists[name] for name in HISTOGRAMS)


# ---------------------------------------------------------------------------------------------------------- one order
@dataclass(frozen=True)
class OrderFacts:
    id: int
    estate_id: int
    grid_id: int | None
    kind: str
    channel: str
    submitted_at: dt.datetime


@dataclass(frozen=True)
class EventFacts:
    id: int
    action: str
    at: dt.datetime
    to_status: str = ""
    payload: Mapping = field(default_factory=dict)


@dataclass(frozen=True)
class StepFacts:
    step: str
    met_at: dt.datetime | None
    due_at: dt.datetime | None
    state: str


# (local day, estate id, grid id, kind, assignee id)
Key = tuple[dt.date, int, int | None, str, int | None]

ASSIGNING = frozenset({"dispatch", "transfer", "grab"})
UNASSIGNING = frozenset({"return", "reopen"})
CLOSING = frozenset({"close", "auto_close", "force_close"})
TERMINAL_STATUSES = frozenset({"closed", "cancelled"})


def local_day(moment: dt.datetime, tz: ZoneInfo) -> dt.date:
    return moment.astimezone(tz).date()


def _minutes(start: dt.datetime, end: dt.datetime) -> float:
    return max(0.0, (end - start).total_seconds() / 60)


def order_contributions(
    order: OrderFacts, events: Sequence[EventFacts], steps: Iterable[StepFacts], tz: ZoneInfo
) -> dict[Key, Tally]:
    """What one order adds to the daily rollups, from its events (all of them, oldest first) and its SLA clocks as
    they stand. Every contribution lands on the local day of one of the order's own events, which is what lets the
    rollup job recompute just the days an order touched."""
    result: dict[Key, Tally] = {}

    def tally(at: dt.datetime, assignee: int | None) -> Tally:
        key = (local_day(at, tz), order.estate_id, order.grid_id, order.kind, assignee)
        if key not in result:
            result[key] = Tally()
        return result[key]

    ever_reopened = any(event.action == "reopen" for event in events)
    assignee: int | None = None
    # (moment, assignee from then on) — to find who held the order when a step's clock stopped.
    timeline: list[tuple[dt.datetime, int | None]] = []
    seen_first: set[str] = set()
    terminal_at: dt.datetime | None = None
    for event in events:
        action = event.action
        if action in ASSIGNING:
            assignee = _as_int(event.payload.get("assignee_id"))
        holder = assignee  # who the order is with at this event (a reopen still counts against them)
        counts = None
        if action == "submit":
            counts = tally(event.at, None).counts
            counts["reported"] += 1
            if order.channel == "portal":
                counts["reported_online"] += 1
            if order.kind == "complaint":
                counts["complaints"] += 1
        elif action == "accept":
            row = tally(event.at, holder)
            row.counts["accepted"] += 1
            if "accept" not in seen_first:
                hist_add(row.hists["response_hist"], _minutes(order.submitted_at, event.at))
        elif action in ("dispatch", "grab"):
            tally(event.at, holder).counts["dispatched"] += 1
        elif action == "arrive":
            row = tally(event.at, holder)
            row.counts["arrived"] += 1
            if "arrive" not in seen_first:
                hist_add(row.hists["arrival_hist"], _minutes(order.submitted_at, event.at))
        elif action in ("resolve", "answer"):
            row = tally(event.at, holder)
            row.counts["resolved"] += 1
            if "resolve" not in seen_first:
                hist_add(row.hists["resolution_hist"], _minutes(order.submitted_at, event.at))
                if action == "resolve":
                    row.counts["first_resolved"] += 1
                    if not ever_reopened:
                        row.counts["first_time_fixed"] += 1
            seen_first.add("resolve")
        elif action == "reopen":
            tally(event.at, holder).counts["reopened"] += 1
        elif action == "rate":
            counts = tally(event.at, holder).counts
            if event.payload.get("verdict") == "good":
                counts["rated_good"] += 1
            elif event.payload.get("verdict") in ("bad", "returned"):
                counts["rated_bad"] += 1
            score = _as_int(event.payload.get("score"))
            if score is not None:
                counts["score_sum"] += score
                counts["score_count"] += 1
        elif action == "visit":
            satisfied = event.payload.get("satisfied")
            if satisfied is True:
                tally(event.at, holder).counts["visits_satisfied"] += 1
            elif satisfied is False:
                tally(event.at, holder).counts["visits_unsatisfied"] += 1
        elif action in CLOSING:
            tally(event.at, holder).counts["closed"] += 1
        elif action == "cancel":
            tally(event.at, holder).counts["cancelled"] += 1
        if action in ("accept", "arrive"):
            seen_first.add(action)
        if action in UNASSIGNING:
            assignee = None
        if event.to_status:
            terminal_at = event.at if event.to_status in TERMINAL_STATUSES else None
        timeline.append((event.at, assignee))

    moments = [moment for moment, _holder in timeline]
    for step in steps:
        if step.met_at is not None:
            ended_at = step.met_at
            on_time = step.due_at is None or step.met_at <= step.due_at
        elif step.state == "breached" and terminal_at is not None:
            ended_at, on_time = terminal_at, False
        else:
            continue
        holder = None
        if step.step in PERSON_STEPS:
            position = bisect.bisect_right(moments, ended_at) - 1
            holder = timeline[position][1] if position >= 0 else None
        name = f"sla_{step.step}_{'met' if on_time else 'breached'}"
        tally(ended_at, holder).counts[name] += 1
    return result


def _as_int(value) -> int | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


# ---------------------------------------------------------------------------------------------------------- KPIs
def _share(part: int, whole: int) -> float | None:
    return None if whole <= 0 else 100.0 * part / whole


@dataclass(frozen=True)
class Context:
    """What a KPI needs besides the work-order counts: the period's length and the households at its end."""

    days: int
    households: int | None = None
    online_households: int | None = None
    # From other capabilities once they exist (None: "no data yet", shown as "—").
    survey_satisfaction: float | None = None
    patrol_completion: float | None = None
    inspection_completion: float | None = None
    alarms: float | None = None
    alarm_mttr: float | None = None
    equipment_monitored: float | None = None


def kpi_values(totals: Tally, context: Context) -> dict[str, float | None]:
    """Every KPI (KpiCode) from summed rollup counts; None where there is nothing to measure."""
    c = totals.counts
    h = totals.hists
    rated = c["rated_good"] + c["rated_bad"]
    visits = c["visits_satisfied"] + c["visits_unsatisfied"]
    proxy = _share(c["rated_good"], rated)
    values: dict[str, float | None] = {
        # The survey index, once the engagement capability provides it; until then the share of owners' ratings
        # that were "satisfied".
        KpiCode.SATISFACTION: context.survey_satisfaction if context.survey_satisfaction is not None else proxy,
        KpiCode.RATING_SCORE: None if c["score_count"] == 0 else c["score_sum"] / c["score_count"],
        KpiCode.VISIT_SATISFACTION: _share(c["visits_satisfied"], visits),
        KpiCode.RESPONSE_P50: hist_quantile(h["response_hist"], 0.5),
        KpiCode.RESPONSE_P90: hist_quantile(h["response_hist"], 0.9),
        KpiCode.ARRIVAL_P50: hist_quantile(h["arrival_hist"], 0.5),
        KpiCode.ARRIVAL_P90: hist_quantile(h["arrival_hist"], 0.9),
        KpiCode.RESOLUTION_P50: hist_quantile(h["resolution_hist"], 0.5),
        KpiCode.RESOLUTION_P90: hist_quantile(h["resolution_hist"], 0.9),
        KpiCode.FIRST_TIME_FIX: _share(c["first_time_fixed"], c["first_resolved"]),
        KpiCode.REOPEN_RATE: _share(c["reopened"], c["resolved"]),
        KpiCode.COMPLAINT_RATE: complaint_rate(c["complaints"], context.households, context.days),
        KpiCode.ONLINE_SHARE: _share(c["reported_online"], c["reported"]),
        KpiCode.OWNER_ACCOUNTS: (
            None if context.households is None else _share(context.online_households or 0, context.households)
        ),
        KpiCode.PATROL_COMPLETION: context.patrol_completion,
        KpiCode.INSPECTION_COMPLETION: context.inspection_completion,
        KpiCode.ALARMS: context.alarms,
        KpiCode.ALARM_MTTR: context.alarm_mttr,
        KpiCode.EQUIPMENT_MONITORED: context.equipment_monitored,
    }
    for step in SLA_STEPS:
        met, breached = c[f"sla_{step}_met"], c[f"sla_{step}_breached"]
        values[f"sla_{step}"] = _share(met, met + breached)
    return {str(code): values[code] for code in KpiCode}


def complaint_rate(complaints: int, households: int | None, days: int) -> float | None:
    """Complaints per 1,000 households per year: the period's complaints scaled to a 365-day year, so a month and
    a year compare with the same yearly target."""
    if not households or days <= 0:
        return None
    return complaints * 1000.0 / households * 365.0 / days


# ---------------------------------------------------------------------------------------------------------- periods
def month_start(day: dt.date) -> dt.date:
    return day.replace(day=1)


def month_end(day: dt.date) -> dt.date:
    return day.replace(day=calendar.monthrange(day.year, day.month)[1])


def add_months(day: dt.date, months: int) -> dt.date:
    """The first day of the month `months` after (or before) `day`'s month."""
    index = day.year * 12 + day.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1)


def shift_year(day: dt.date, years: int = -1) -> dt.date:
    """The same date `years` later (29 February becomes the 28th in a common year)."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


def last_year(start: dt.date, end: dt.date) -> tuple[dt.date, dt.date]:
    return shift_year(start), shift_year(end)


def trend_months(end: dt.date, count: int = 12) -> list[dt.date]:
    """The first days of the `count` months ending with `end`'s month, oldest first."""
    return [add_months(end, offset) for offset in range(-(count - 1), 1)]


def split_period(start: dt.date, end: dt.date, last_day: dt.date) -> tuple[list[dt.date], list[dt.date]]:
    """Cover [start, end] with as few rollup rows as possible: whole months (month rows) and the days left at the
    edges (day rows). `last_day` is the last day that can hold data (today): a month row of the current month holds
    exactly its days up to today, so it covers a period that runs to today or beyond."""
    months: list[dt.date] = []
    days: list[dt.date] = []
    cursor = month_start(start)
    while cursor <= end:
        first, last = cursor, month_end(cursor)
        covered_to = min(last, last_day)
        if start <= first and end >= covered_to:
            months.append(first)
        else:
            day = max(first, start)
            while day <= min(last, end, last_day):
                days.append(day)
                day += dt.timedelta(days=1)
        cursor = add_months(cursor, 1)
    return months, days


def period_days(start: dt.date, end: dt.date) -> int:
    return (end - start).days + 1


# ---------------------------------------------------------------------------------------------------------- status
WARN_MARGIN = 0.10


def status(value: float | None, target: float | None, direction: str) -> str:
    """ "good" when the target is met, "warn" when within 10 % of it, "bad" otherwise, "none" without both numbers.
    For a lower-is-better KPI with a zero target, anything above zero is "bad"."""
    if value is None or target is None:
        return "none"
    if direction == Direction.HIGHER:
        if value >= target:
            return "good"
        return "warn" if value >= target * (1 - WARN_MARGIN) else "bad"
    if value <= target:
        return "good"
    return "warn" if target > 0 and value <= target * (1 + WARN_MARGIN) else "bad"
