"""Every write of the KPI app: the incremental rollup job, the household snapshot and the yearly targets.

The rollup is a pure function of the work-order event and SLA-step rows: `days_recompute` rebuilds whole days
(delete + insert) from them, and `rollup_run` finds which days new events touched. Re-running never double counts,
because nothing is ever added to a stored row: a day is always rewritten from scratch. Two workers never
interleave: each batch holds the `RollupState` row lock (on PostgreSQL a second worker skips instead of waiting).
"""

import datetime as dt
import itertools
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from django.db import transaction
from django.db.models import Count, Exists, Max, Min, OuterRef, Q

from wuye.accounts.models import Residency
from wuye.core import clock
from wuye.estates.models import Company, Estate, Room
from wuye.workorders.models import WorkOrder, WorkOrderEvent, WorkOrderStep

from . import rules, service_rollup
from .choices import KPI_BY_CODE, Grain, KpiCode, Level
from .models import DailyOrderStats, HouseholdSnapshot, KpiCube, KpiTarget, RollupState

STATE_NAME = "orders"
# Events fetched per batch; each batch is one transaction.
BATCH_EVENTS = 100_000
# Ids are handed out before commit, so an event can become visible below the watermark; the window of ids just
# below it is counted at every run and its orders are looked at again when the count changed.
WINDOW_IDS = 1_000
CHUNK = 2_000
# An account counts as active online when its holder signed in within this long before the day.
ACTIVE_ACCOUNT_DAYS = 365


@dataclass
class RollupResult:
    events: int = 0
    days: int = 0
    more: bool = False
    busy: bool = False
    seconds: float = 0.0


def _chunks(items: Iterable, size: int = CHUNK) -> Iterator[list]:
    iterator = iter(items)
    while chunk := list(itertools.islice(iterator, size)):
        yield chunk


def _state(*, wait: bool) -> RollupState | None:
    return RollupState.lock(STATE_NAME, wait=wait)


def _day_bounds(day: dt.date, tz: ZoneInfo) -> tuple[dt.datetime, dt.datetime]:
    start = dt.datetime.combine(day, dt.time(), tzinfo=tz)
    return start, dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), tzinfo=tz)


def _runs(days: Iterable[dt.date]) -> list[tuple[dt.date, dt.date]]:
    """Sorted days as runs of consecutive days: [(first, last), …]."""
    result: list[tuple[dt.date, dt.date]] = []
    for day in sorted(set(days)):
        if result and result[-1][1] + dt.timedelta(days=1) == day:
            result[-1] = (result[-1][0], day)
        else:
            result.append((day, day))
    return result


def _days_of_orders(order_ids: Iterable[int], tz: ZoneInfo) -> set[dt.date]:
    """Every local day on which any of these orders has an event: the days their contributions can land on."""
    days: set[dt.date] = set()
    for chunk in _chunks(order_ids):
        for (at,) in WorkOrderEvent.objects.filter(order_id__in=chunk).values_list("at").iterator(chunk_size=5000):
            days.add(rules.local_day(at, tz))
    return days


def _orders_active_on(days: Iterable[dt.date], tz: ZoneInfo) -> set[int]:
    order_ids: set[int] = set()
    for run in _chunks(_runs(days), 50):
        condition = Q()
        for first, last in run:
            condition |= Q(at__gte=_day_bounds(first, tz)[0], at__lt=_day_bounds(last, tz)[1])
        order_ids.update(WorkOrderEvent.objects.filter(condition).values_list("order_id", flat=True).distinct())
    return order_ids


def _contributions(order_ids: set[int], days: set[dt.date], tz: ZoneInfo) -> tuple[dict, dict[int, int]]:
    """Replay the orders' events and clocks; keep what lands on `days`. Returns (key → Tally, estate → company)."""
    totals: dict[rules.Key, rules.Tally] = defaultdict(rules.Tally)
    company_of: dict[int, int] = {}
    for chunk in _chunks(sorted(order_ids)):
        orders = {}
        for oid, estate_id, company_id, grid_id, kind, channel, submitted_at in WorkOrder.objects.filter(
            id__in=chunk
        ).values_list("id", "estate_id", "estate__company_id", "grid_id", "kind", "channel", "submitted_at"):
            orders[oid] = rules.OrderFacts(oid, estate_id, grid_id, kind, channel, submitted_at)
            company_of[estate_id] = company_id
        events: dict[int, list[rules.EventFacts]] = defaultdict(list)
        for oid, eid, action, at, to_status, payload in (
            WorkOrderEvent.objects.filter(order_id__in=chunk)
            .order_by("order_id", "at", "id")
            .values_list("order_id", "id", "action", "at", "to_status", "payload")
            .iterator(chunk_size=10_000)
        ):
            events[oid].append(rules.EventFacts(eid, action, at, to_status, payload or {}))
        steps: dict[int, list[rules.StepFacts]] = defaultdict(list)
        for oid, step, met_at, due_at, state in WorkOrderStep.objects.filter(order_id__in=chunk).values_list(
            "order_id", "step", "met_at", "due_at", "state"
        ):
            steps[oid].append(rules.StepFacts(step, met_at, due_at, state))
        for oid, order in orders.items():
            for key, tally in rules.order_contributions(order, events[oid], steps[oid], tz).items():
                if key[0] in days:
                    totals[key].add(tally)
    return totals, company_of


def _cube_nodes(key: rules.Key, company_id: int) -> list[tuple[str, int, int | None, int | None, int | None]]:
    _day, estate_id, grid_id, _kind, assignee_id = key
    nodes = [
        (Level.COMPANY, company_id, None, None, None),
        (Level.ESTATE, company_id, estate_id, None, None),
        (Level.GRID, company_id, estate_id, grid_id, None),
    ]
    if assignee_id is not None:
        nodes.append((Level.PERSON, company_id, estate_id, grid_id, assignee_id))
    return nodes


def _delete_periods(model, field: str, periods: Iterable[dt.date], **filters) -> None:
    for chunk in _chunks(sorted(set(periods)), 500):
        model.objects.filter(**{f"{field}__in": chunk}, **filters).delete()


def days_recompute(days: Iterable[dt.date], *, tz: ZoneInfo | None = None, months: bool = True) -> int:
    """Rewrite the rollups of these local days (and of their months, unless `months` is False) from the event and
    SLA-step rows. Runs inside the caller's transaction; returns how many day rows were written."""
    tz = tz or clock.local_tz()
    days = set(days)
    if not days:
        return 0
    totals, company_of = _contributions(_orders_active_on(days, tz), days, tz)
    _delete_periods(DailyOrderStats, "day", days)
    DailyOrderStats.objects.bulk_create(
        (
            DailyOrderStats(
                day=key[0],
                company_id=company_of[key[1]],
                estate_id=key[1],
                grid_id=key[2],
                kind=key[3],
                assignee_id=key[4],
                **tally.as_fields(),
            )
            for key, tally in totals.items()
            if not tally.is_empty()
        ),
        batch_size=1000,
    )
    cube: dict[tuple, rules.Tally] = defaultdict(rules.Tally)
    for key, tally in totals.items():
        for node in _cube_nodes(key, company_of[key[1]]):
            cube[(key[0], *node)].add(tally)
    _delete_periods(KpiCube, "period", days, grain=Grain.DAY)
    KpiCube.objects.bulk_create(
        (
            KpiCube(
                grain=Grain.DAY,
                period=day,
                level=level,
                company_id=company_id,
                estate_id=estate_id,
                grid_id=grid_id,
                assignee_id=assignee_id,
                **tally.as_fields(),
            )
            for (day, level, company_id, estate_id, grid_id, assignee_id), tally in cube.items()
        ),
        batch_size=1000,
    )
    if months:
        months_recompute({rules.month_start(day) for day in days})
    return len(totals)


def months_recompute(months: Iterable[dt.date]) -> None:
    """Rewrite the month rows of the cube as the sums of their day rows."""
    fields = ["level", "company_id", "estate_id", "grid_id", "assignee_id", *rules.COUNTERS, *rules.HISTOGRAMS]
    for month in sorted(set(months)):
        sums: dict[tuple, rules.Tally] = defaultdict(rules.Tally)
        rows = KpiCube.objects.filter(grain=Grain.DAY, period__gte=month, period__lte=rules.month_end(month)).values(
            *fields
        )
        for row in rows.iterator(chunk_size=5000):
            sums[(row["level"], row["company_id"], row["estate_id"], row["grid_id"], row["assignee_id"])].add_row(row)
        KpiCube.objects.filter(grain=Grain.MONTH, period=month).delete()
        KpiCube.objects.bulk_create(
            (
                KpiCube(
                    grain=Grain.MONTH,
                    period=month,
                    level=level,
                    company_id=company_id,
                    estate_id=estate_id,
                    grid_id=grid_id,
                    assignee_id=assignee_id,
                    **tally.as_fields(),
                )
                for (level, company_id, estate_id, grid_id, assignee_id), tally in sums.items()
            ),
            batch_size=1000,
        )


def _window_count(watermark: int) -> int:
    return WorkOrderEvent.objects.filter(id__gt=max(0, watermark - WINDOW_IDS), id__lte=watermark).count()


def rollup_run(*, now: dt.datetime, batch_events: int = BATCH_EVENTS, max_batches: int | None = None) -> RollupResult:
    """The scheduled job: fold every event newer than the watermark into the rollups, a batch per transaction, and
    take today's household snapshot. Idempotent and safe with several workers."""
    started = time.monotonic()
    tz = clock.local_tz()
    result = RollupResult()
    for batch in itertools.count():
        if max_batches is not None and batch >= max_batches:
            result.more = True
            break
        with transaction.atomic():
            state = _state(wait=False)
            if state is None:
                result.busy = True
                break
            watermark = state.last_event_id
            new = list(
                WorkOrderEvent.objects.filter(id__gt=watermark)
                .order_by("id")
                .values_list("id", "order_id")[:batch_events]
            )
            order_ids = {order_id for _id, order_id in new}
            if watermark and _window_count(watermark) != state.window_count:
                order_ids |= set(
                    WorkOrderEvent.objects.filter(id__gt=max(0, watermark - WINDOW_IDS), id__lte=watermark).values_list(
                        "order_id", flat=True
                    )
                )
            days = _days_of_orders(order_ids, tz)
            days_recompute(days, tz=tz)
            state.last_event_id = new[-1][0] if new else watermark
            state.window_count = _window_count(state.last_event_id)
            state.runs += 1
            state.last_run_at = now
            state.last_days = len(days)
            state.save()
            if batch == 0:
                households_snapshot(day=rules.local_day(now, tz))
        result.events += len(new)
        result.days += len(days)
        if len(new) < batch_events:
            break
    result.seconds = time.monotonic() - started
    return result


def rollup_settle(*, now: dt.datetime) -> int:
    """Rebuild today and yesterday from scratch (the periodic safety net under the watermark)."""
    tz = clock.local_tz()
    today = rules.local_day(now, tz)
    with transaction.atomic():
        if _state(wait=False) is None:
            return 0
        return days_recompute({today, today - dt.timedelta(days=1)}, tz=tz)


def rollup_rebuild(
    *, now: dt.datetime, window_days: int = 7, progress: Callable[[str], None] | None = None
) -> RollupResult:
    """Rebuild every rollup from the first event to today, a window of days per transaction, then set the watermark;
    then the service rollups (service_rollup.rollup_rebuild). For a first install over an existing history, or after
    changing a KPI definition."""
    started = time.monotonic()
    tz = clock.local_tz()
    with transaction.atomic():
        _state(wait=True)
        bounds = WorkOrderEvent.objects.aggregate(first=Min("at"), last_id=Max("id"))
    result = RollupResult()
    today = rules.local_day(now, tz)
    if bounds["first"] is not None:
        day = rules.local_day(bounds["first"], tz)
        months = set()
        while day <= today:
            window = {day + dt.timedelta(days=offset) for offset in range(window_days)}
            window = {d for d in window if d <= today}
            with transaction.atomic():
                _state(wait=True)
                result.days += len(window)
                days_recompute(window, tz=tz, months=False)
            months |= {rules.month_start(d) for d in window}
            if progress:
                progress(f"{max(window)}")
            day += dt.timedelta(days=window_days)
        for month in sorted(months):
            with transaction.atomic():
                _state(wait=True)
                months_recompute([month])
    with transaction.atomic():
        state = _state(wait=True)
        state.last_event_id = bounds["last_id"] or 0
        state.window_count = _window_count(state.last_event_id)
        state.last_run_at = now
        state.save()
        households_snapshot(day=today)
    service_rollup.rollup_rebuild(now=now, progress=progress)
    result.seconds = time.monotonic() - started
    return result


# ---------------------------------------------------------------------------------------------------------- households
def households_snapshot(*, day: dt.date) -> int:
    """Count, per estate and grid, the rooms lived in on `day` and those where someone active signed in within the
    year; replaces that day's rows. Returns the number of rows written."""
    tz = clock.local_tz()
    since = dt.datetime.combine(day - dt.timedelta(days=ACTIVE_ACCOUNT_DAYS), dt.time(), tzinfo=tz)
    current = Residency.objects.filter(room=OuterRef("pk")).filter(
        Q(move_in_on__isnull=True) | Q(move_in_on__lte=day), Q(move_out_on__isnull=True) | Q(move_out_on__gt=day)
    )
    online = current.filter(user__is_active=True, user__last_login__gte=since)
    rows = (
        Room.objects.filter(Exists(current), estate__is_active=True)
        .annotate(online=Exists(online))
        .values("estate_id", "building__grid_id")
        .annotate(households=Count("id"), online_households=Count("id", filter=Q(online=True)))
        .order_by()
    )
    with transaction.atomic():
        HouseholdSnapshot.objects.filter(day=day).delete()
        written = HouseholdSnapshot.objects.bulk_create(
            HouseholdSnapshot(
                day=day,
                estate_id=row["estate_id"],
                grid_id=row["building__grid_id"],
                households=row["households"],
                online_households=row["online_households"],
            )
            for row in rows
        )
    return len(written)


# ---------------------------------------------------------------------------------------------------------- targets
# The demo's defaults: what a well-run estate of service level 二级 aims for (PRODUCT.md: ≥ 75-80 % satisfied).
DEFAULT_TARGETS: dict[str, float] = {
    KpiCode.SATISFACTION: 90,
    KpiCode.RATING_SCORE: 4.5,
    KpiCode.VISIT_SATISFACTION: 90,
    KpiCode.RESPONSE_P50: 15,
    KpiCode.RESPONSE_P90: 60,
    KpiCode.ARRIVAL_P50: 60,
    KpiCode.ARRIVAL_P90: 240,
    KpiCode.RESOLUTION_P50: 8 * 60,
    KpiCode.RESOLUTION_P90: 48 * 60,
    KpiCode.SLA_ACCEPT: 95,
    KpiCode.SLA_DISPATCH: 95,
    KpiCode.SLA_ARRIVE: 90,
    KpiCode.SLA_RESOLVE: 90,
    KpiCode.SLA_VISIT: 90,
    KpiCode.FIRST_TIME_FIX: 90,
    KpiCode.REOPEN_RATE: 5,
    KpiCode.COMPLAINT_RATE: 40,
    KpiCode.ONLINE_SHARE: 60,
    KpiCode.OWNER_ACCOUNTS: 70,
    KpiCode.EQUIPMENT_MONITORED: 80,
    KpiCode.PATROL_COMPLETION: 98,
    KpiCode.INSPECTION_COMPLETION: 98,
    KpiCode.ALARM_MTTR: 120,
}


@transaction.atomic
def targets_seed(*, company: Company, year: int, estate: Estate | None = None) -> int:
    """Give a company (or one of its estates) the default targets for a year; existing targets are kept. Returns
    how many were created."""
    existing = set(KpiTarget.objects.filter(company=company, estate=estate, year=year).values_list("code", flat=True))
    created = KpiTarget.objects.bulk_create(
        KpiTarget(
            company=company,
            estate=estate,
            year=year,
            code=code,
            target=value,
            direction=KPI_BY_CODE[code].direction,
        )
        for code, value in DEFAULT_TARGETS.items()
        if code not in existing
    )
    return len(created)
