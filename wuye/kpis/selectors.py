"""Reads for the KPI dashboard, its exports and the API: the scope a user asked for (checked against what they may
see), and every KPI of that scope for a period — actual, last year, target, status, a 12-month trend and the next
level of the drill-down — from the rollups only (`KpiCube`, `ServiceCube`, `HouseholdSnapshot`, `KpiTarget`), in a
fixed number of queries whatever the size of the history.

The KPIs other apps measure — `survey_satisfaction` (the engagement app's satisfaction index; it replaces the ratings
proxy wherever it has answers), `patrol_completion`, `inspection_completion`, `alarm_count`, `alarm_mttr`,
`equipment_monitored` — come from `ServiceCube` (`hooks_for_periods`, `children_hooks`); None where there is nothing
to measure (shown as "—")."""

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field, replace

from django.db.models import (
    Min,
    Q,
    Subquery,
)
from django.utils.translation import gettext as _

from wuye.accounts.choices import STAFF_ROLES
from wuye.accounts.models import User
from wuye.core import clock
from wuye.core.errors import FieldError, Forbidden, NotFound, ValidationFailed
from wuye.engagement.rules import YEARLY_WINDOW_DAYS
from wuye.estates.models import Company, Estate, Grid

from . import rules, service_rollup
from .choices import KPIS, Grain, Level
from .models import HouseholdSnapshot, KpiCube, KpiTarget, ServiceCube
from .permissions import kpi_estate_ids

CUBE_FIELDS = (*rules.COUNTERS, *rules.HISTOGRAMS)
# The longest period one request may ask for.
MAX_PERIOD_DAYS = 3 * 366


def _invalid(field_name: str, code: str, message: str) -> ValidationFailed:
    return ValidationFailed(message, errors=[FieldError(field_name, code, message)])


# ---------------------------------------------------------------------------------------------------------- scope
@dataclass(frozen=True)
class Scope:
    """One node of the drill-down company → estate → grid → person, as the user may see it."""

    level: str
    company: Company
    estate_ids: tuple[int, ...]  # the estates inside the node (at company level: those the user may see)
    whole_company: bool = False  # at company level: the user sees every active estate, so company rows apply
    estate: Estate | None = None
    grid: Grid | None = None  # at grid and person level
    person: User | None = None

    @property
    def grid_id(self) -> int | None:
        return self.grid.id if self.grid else None

    @property
    def name(self) -> str:
        if self.level == Level.PERSON:
            return self.person.display_name
        if self.level == Level.GRID:
            return self.grid.name
        if self.level == Level.ESTATE:
            return self.estate.name
        return self.company.name

    @property
    def key(self) -> str:
        """The API's name for the scope: company:ID, estate:ID, grid:ID or person:GRID_ID:USER_ID."""
        if self.level == Level.PERSON:
            return f"person:{self.grid.id}:{self.person.id}"
        if self.level == Level.GRID:
            return f"grid:{self.grid.id}"
        if self.level == Level.ESTATE:
            return f"estate:{self.estate.id}"
        return f"company:{self.company.id}"

    @property
    def params(self) -> dict[str, int]:
        """The page's query parameters for the scope."""
        if self.level == Level.COMPANY:
            return {"company": self.company.id}
        params = {"estate": self.estate.id}
        if self.grid:
            params["grid"] = self.grid.id
        if self.person:
            params["person"] = self.person.id
        return params

    def breadcrumbs(self) -> list[tuple[str, dict[str, int]]]:
        """(name, page parameters) from the top the user may see down to this node."""
        crumbs = [(self.company.name, {"company": self.company.id})]
        if self.estate:
            crumbs.append((self.estate.name, {"estate": self.estate.id}))
        if self.grid:
            crumbs.append((self.grid.name, {"estate": self.estate.id, "grid": self.grid.id}))
        if self.person:
            crumbs.append((self.person.display_name, self.params))
        return crumbs


def _as_id(value, name: str) -> int | None:
    if value in (None, ""):
        return None
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise _invalid(name, "invalid", _("%(field)s must be a whole number.") % {"field": name}) from None
    if number <= 0:
        raise _invalid(name, "invalid", _("%(field)s must be a positive number.") % {"field": name})
    return number


def scope_for(user, *, company=None, estate=None, grid=None, person=None) -> Scope:
    """The node the user asked for. Raises Forbidden (403) when the user may read no KPIs at all, NotFound (404) for
    a company, estate, grid or person outside the estates they may read, ValidationFailed (422) for a malformed id."""
    allowed = kpi_estate_ids(user)
    if not allowed:
        raise Forbidden(_("KPIs are for project managers, supervisors and company administrators."))
    company_id, estate_id = _as_id(company, "company"), _as_id(estate, "estate")
    grid_id, person_id = _as_id(grid, "grid"), _as_id(person, "person")
    not_found = NotFound(_("Not found."))
    grid_obj = None
    if grid_id is not None:
        grid_obj = Grid.objects.filter(id=grid_id, estate_id__in=allowed).select_related("estate__company").first()
        if grid_obj is None or (estate_id is not None and grid_obj.estate_id != estate_id):
            raise not_found
        estate_id = grid_obj.estate_id
    elif person_id is not None:
        raise _invalid("grid", "required", _("A person is shown within a grid: give the grid too."))
    if estate_id is not None:
        if estate_id not in allowed:
            raise not_found
        estate_obj = grid_obj.estate if grid_obj else Estate.objects.select_related("company").get(id=estate_id)
        if company_id is not None and company_id != estate_obj.company_id:
            raise not_found
        if person_id is not None:
            person_obj = User.objects.filter(
                id=person_id, memberships__estate_id=estate_obj.id, memberships__role__in=STAFF_ROLES, is_active=True
            ).first()
            if person_obj is None:
                raise not_found
            return Scope(
                Level.PERSON, estate_obj.company, (estate_obj.id,), estate=estate_obj, grid=grid_obj, person=person_obj
            )
        if grid_obj is not None:
            return Scope(Level.GRID, estate_obj.company, (estate_obj.id,), estate=estate_obj, grid=grid_obj)
        return Scope(Level.ESTATE, estate_obj.company, (estate_obj.id,), estate=estate_obj)
    estates = list(Estate.objects.filter(id__in=allowed).select_related("company").order_by("company_id", "id"))
    if company_id is None:
        company_id = estates[0].company_id
    mine = [e.id for e in estates if e.company_id == company_id]
    if not mine:
        raise not_found
    company_obj = next(e.company for e in estates if e.company_id == company_id)
    every = set(Estate.objects.filter(company_id=company_id, is_active=True).values_list("id", flat=True))
    return Scope(Level.COMPANY, company_obj, tuple(mine), whole_company=every <= set(mine))


def scope_from_key(user, key: str | None) -> Scope:
    """The API's scope parameter: company, company:ID, estate:ID, grid:ID or person:GRID_ID:USER_ID."""
    parts = (key or "company").strip().split(":")
    kind, ids = parts[0], parts[1:]
    shapes = {"company": (0, 1), "estate": (1,), "grid": (1,), "person": (2,)}
    if kind not in shapes or len(ids) not in shapes[kind]:
        raise _invalid(
            "scope", "invalid", _("scope must be company, company:ID, estate:ID, grid:ID or person:GRID_ID:USER_ID.")
        )
    try:
        if kind == "company":
            return scope_for(user, company=ids[0] if ids else None)
        if kind == "estate":
            return scope_for(user, estate=ids[0])
        if kind == "grid":
            return scope_for(user, grid=ids[0])
        return scope_for(user, grid=ids[0], person=ids[1])
    except ValidationFailed as error:
        raise _invalid("scope", "invalid", error.message) from None


# ---------------------------------------------------------------------------------------------------------- period
def _as_date(value: str, name: str) -> dt.date:
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise _invalid(name, "invalid", _("%(field)s must be a date like 2026-11-27.") % {"field": name}) from None


def period_for(*, today: dt.date, start=None, end=None, month=None) -> tuple[dt.date, dt.date]:
    """The period asked for: `from`/`to` dates, or a month (YYYY-MM), or by default this month up to today."""
    if month:
        try:
            first = dt.datetime.strptime(str(month), "%Y-%m").date()  # noqa: DTZ007 - a calendar month, no time
        except ValueError:
            raise _invalid("month", "invalid", _("month must look like 2026-11.")) from None
        return first, rules.month_end(first)
    first = _as_date(start, "from") if start else None
    last = _as_date(end, "to") if end else None
    if first is None and last is None:
        return rules.month_start(today), today
    if first is None:
        first = rules.month_start(last)
    if last is None:
        last = max(first, min(today, rules.month_end(first)))
    if last < first:
        raise _invalid("to", "before_from", _("to must not be before from."))
    if rules.period_days(first, last) > MAX_PERIOD_DAYS:
        raise _invalid("from", "too_long", _("A period may be at most three years long."))
    return first, last


# ---------------------------------------------------------------------------------------------------------- hooks
# The KPIs measured by the other apps — the satisfaction index (engagement), patrols and inspections completed,
# alarms and their MTTR, equipment monitored — are read from `ServiceCube` (kpis.service_rollup writes it): one query
# for any number of periods, whatever the size of those apps' history.
Period = tuple[dt.date, dt.date]


@dataclass(frozen=True)
class Hooks:
    """The KPIs that come from the engagement, inspection, standards, iot and equipment apps, for one period."""

    survey_satisfaction: float | None = None
    patrol_completion: float | None = None
    inspection_completion: float | None = None
    alarms: float | None = None
    alarm_mttr: float | None = None
    equipment_monitored: float | None = None


def _rate(part, whole) -> float | None:
    return 100.0 * part / whole if whole else None


def _yearly_window(period: Period) -> Period:
    """The yearly survey's answers that count for a period: those of the year up to its end."""
    return period[1] - dt.timedelta(days=YEARLY_WINDOW_DAYS - 1), period[1]


def _cells(period: Period, today: dt.date) -> set[tuple[str, dt.date]]:
    months, days = rules.split_period(*period, today)
    return {(Grain.MONTH, month) for month in months} | {(Grain.DAY, day) for day in days}


def _service_rows(condition: Q, cells: set[tuple[str, dt.date]], group: str | None) -> list[dict]:
    if not cells:
        return []
    fields = ["grain", "period", *service_rollup.COUNTERS, "satisfaction", *([group] if group else [])]
    return list(ServiceCube.objects.filter(condition, _cells_filter(cells)).values(*fields))


def _cells_filter(cells: set[tuple[str, dt.date]]) -> Q:
    condition = Q(pk__in=[])
    for grain in (Grain.MONTH, Grain.DAY):
        periods = [period for cell_grain, period in cells if cell_grain == grain]
        if periods:
            condition |= Q(grain=grain, period__in=periods)
    return condition


def _hooks(level: str, rows: list[dict], cells: set, yearly_cells: set, *, small: bool) -> Hooks:
    """The hook KPIs of one node from its rows: the counters of `cells` (the period), the yearly survey's tallies of
    `yearly_cells` (the year up to the period's end)."""
    from wuye.engagement.rules import Tally as Satisfied
    from wuye.engagement.selectors import satisfaction_from_tallies

    tally = service_rollup.ServiceTally()
    named: dict = defaultdict(Satisfied)
    anonymous: dict = defaultdict(Satisfied)
    orders: dict = defaultdict(Satisfied)
    for row in rows:
        cell = (row["grain"], row["period"])
        if cell in cells:
            tally.add_row(row)
            for key, (satisfied, total) in row["satisfaction"].items():
                if key.startswith("o:"):
                    orders[key[2:]].add(satisfied, total)
        if cell in yearly_cells:
            for key, (satisfied, total) in row["satisfaction"].items():
                if key[:2] in ("y:", "a:"):
                    (named if key[0] == "y" else anonymous)[key[2:]].add(satisfied, total)
    counts = tally.counts
    place = level != Level.PERSON
    return Hooks(
        survey_satisfaction=satisfaction_from_tallies(named, anonymous, orders, small=small).overall if place else None,
        patrol_completion=_rate(counts["patrol_done"], counts["patrol_judged"]),
        inspection_completion=_rate(counts["inspection_done"], counts["inspection_due"]),
        alarms=float(counts["alarms_raised"]) if place else None,
        alarm_mttr=counts["alarm_minutes"] / counts["alarms_cleared"] if place and counts["alarms_cleared"] else None,
        equipment_monitored=_rate(counts["equipment_monitored_days"], counts["equipment_days"]) if place else None,
    )


def hooks_for_periods(scope: Scope, periods: list[Period], *, today: dt.date | None = None) -> dict[Period, Hooks]:
    """The hook KPIs of the scope for every period, in one query whatever their number."""
    unique = list(dict.fromkeys(periods))
    if not unique or not scope.estate_ids:
        return dict.fromkeys(unique, Hooks())
    today = today or clock.today()
    cells = {period: _cells(period, today) for period in unique}
    yearly = {period: _cells(_yearly_window(period), today) for period in unique}
    rows = _service_rows(_node_filter(scope), set().union(*cells.values(), *yearly.values()), None)
    small = scope.level == Level.GRID
    return {period: _hooks(scope.level, rows, cells[period], yearly[period], small=small) for period in unique}


def children_hooks(scope: Scope, start: dt.date, end: dt.date, *, today: dt.date | None = None) -> dict:
    """The hook KPIs of each estate of the company, each grid of the estate (None: outside any grid) or each person
    of the grid, for one period, in one query. Children without a row are missing: the caller shows them without
    figures (and with 0 alarms, for a place)."""
    found = _children_filter(scope)
    if found is None or not scope.estate_ids:
        return {}
    condition, group = found
    today = today or clock.today()
    cells, yearly = _cells((start, end), today), _cells(_yearly_window((start, end)), today)
    by_key: dict = defaultdict(list)
    for row in _service_rows(condition, cells | yearly, group):
        by_key[row[group]].append(row)
    level = {Level.COMPANY: Level.ESTATE, Level.ESTATE: Level.GRID, Level.GRID: Level.PERSON}[scope.level]
    small = level == Level.GRID
    return {key: _hooks(level, rows, cells, yearly, small=small) for key, rows in by_key.items()}


def _hook(scope: Scope, start: dt.date, end: dt.date) -> Hooks:
    return hooks_for_periods(scope, [(start, end)])[(start, end)]


def survey_satisfaction(scope: Scope, start: dt.date, end: dt.date) -> float | None:
    """The engagement app's satisfaction index (0-100, docs/engagement.md) of the company, estate or grid for the
    period: the same number as the desk's satisfaction page (as of the last rollup). None where it has no answers
    (and for a person: the index measures places, not people), and the dashboard then shows the ratings proxy."""
    return _hook(scope, start, end).survey_satisfaction


def patrol_completion(scope: Scope, start: dt.date, end: dt.date) -> float | None:
    """Percentage of patrol rounds (inspections app) whose window ended in the period, and which the window closer
    has judged, that were complete: every checkpoint scanned inside the window (checkpoints scanned past their
    planned time still count; a round cannot be completed after its window). Grid: the route's grid; person: the
    guard of the round. None when no round was judged."""
    return _hook(scope, start, end).patrol_completion


def inspection_completion(scope: Scope, start: dt.date, end: dt.date) -> float | None:
    """Percentage of scheduled inspections due in the period that were done (late included): inspections with a due
    time (not cancelled) and engineering-discipline standards tasks (due at their window's end), counted once due.
    Grid: the inspection's or task's grid; person: the inspector or the task's assignee. None when nothing was due."""
    return _hook(scope, start, end).inspection_completion


def alarm_count(scope: Scope, start: dt.date, end: dt.date) -> float | None:
    """Alarms (iot app) raised in the period, in the estate or in the grid of their equipment's place; 0 when none.
    None for a person (alarms belong to equipment)."""
    return _hook(scope, start, end).alarms


def alarm_mttr(scope: Scope, start: dt.date, end: dt.date) -> float | None:
    """Mean minutes from raised to cleared of the alarms cleared in the period (grid: their equipment's place). None
    when none cleared, and for a person."""
    return _hook(scope, start, end).alarm_mttr


def equipment_monitored(scope: Scope, start: dt.date, end: dt.date) -> float | None:
    """Percentage of equipment-days monitored in the period: over its days, the ledger's equipment (not retired,
    entered before the day ended) and of it those with an active device bound that reported that day (grid: the
    equipment's place). None without equipment, and for a person."""
    return _hook(scope, start, end).equipment_monitored


# ---------------------------------------------------------------------------------------------------------- rollups
def _node_filter(scope: Scope) -> Q:
    if scope.level == Level.COMPANY:
        if scope.whole_company:
            return Q(level=Level.COMPANY, company=scope.company)
        return Q(level=Level.ESTATE, estate_id__in=scope.estate_ids)
    if scope.level == Level.ESTATE:
        return Q(level=Level.ESTATE, estate=scope.estate)
    if scope.level == Level.GRID:
        return Q(level=Level.GRID, estate=scope.estate, grid=scope.grid)
    return Q(level=Level.PERSON, estate=scope.estate, grid=scope.grid, assignee=scope.person)


def _children_filter(scope: Scope) -> tuple[Q, str] | None:
    """The rows of the next level down, and the field that tells them apart."""
    if scope.level == Level.COMPANY:
        return Q(level=Level.ESTATE, company=scope.company, estate_id__in=scope.estate_ids), "estate_id"
    if scope.level == Level.ESTATE:
        return Q(level=Level.GRID, estate=scope.estate), "grid_id"
    if scope.level == Level.GRID:
        return Q(level=Level.PERSON, estate=scope.estate, grid=scope.grid), "assignee_id"
    return None


def _period_filter(start: dt.date, end: dt.date, today: dt.date) -> Q:
    months, days = rules.split_period(start, end, today)
    condition = Q(pk__in=[])
    if months:
        condition |= Q(grain=Grain.MONTH, period__in=months)
    if days:
        condition |= Q(grain=Grain.DAY, period__in=days)
    return condition


def _sum_rows(rows: Iterable[dict], group: str | None = None) -> dict:
    sums: dict = defaultdict(rules.Tally)
    for row in rows:
        sums[row[group] if group else None].add_row(row)
    return sums


def cube_totals(scope: Scope, start: dt.date, end: dt.date, today: dt.date) -> rules.Tally:
    """The scope's counts and histograms for [start, end], summed from month and day rows."""
    rows = KpiCube.objects.filter(_node_filter(scope), _period_filter(start, end, today)).values(*CUBE_FIELDS)
    return _sum_rows(rows).get(None, rules.Tally())


@dataclass(frozen=True)
class Households:
    households: int | None
    online: int | None


def _households(estate_ids: Iterable[int], end: dt.date, *, grid_filter: Q | None = None, group: str | None = None):
    """Households (and those active online) at the latest snapshot on or before `end` (or the first one after it,
    when the history predates the snapshots), summed, or per `group` field."""
    snapshots = HouseholdSnapshot.objects.filter(estate_id__in=list(estate_ids))
    if grid_filter is not None:
        snapshots = snapshots.filter(grid_filter)
    fields = ["households", "online_households"] + ([group] if group else [])
    latest = snapshots.filter(day__lte=end).order_by("-day").values("day")[:1]
    rows = list(snapshots.filter(day=Subquery(latest)).values(*fields))
    if not rows:  # the period ends before the first snapshot: use the first one
        first = snapshots.aggregate(day=Min("day"))["day"]
        rows = list(snapshots.filter(day=first).values(*fields)) if first else []
    result: dict = defaultdict(lambda: [0, 0])
    for row in rows:
        key = row[group] if group else None
        result[key][0] += row["households"]
        result[key][1] += row["online_households"]
    return result


def households_for(scope: Scope, end: dt.date) -> Households:
    if scope.level == Level.PERSON:
        return Households(None, None)
    grid_filter = Q(grid=scope.grid) if scope.level == Level.GRID else None
    counts = _households(scope.estate_ids, end, grid_filter=grid_filter).get(None)
    return Households(*counts) if counts else Households(None, None)


def _context(
    scope: Scope,
    start: dt.date,
    end: dt.date,
    households: Households,
    *,
    hooks: dict | None = None,
) -> rules.Context:
    """`hooks`: the hook KPIs already read for (start, end) periods (the dashboard reads them at once)."""
    if hooks is not None and (start, end) in hooks:
        hook = hooks[(start, end)]
    else:
        hook = hooks_for_periods(scope, [(start, end)])[(start, end)]
    return rules.Context(
        days=rules.period_days(start, end),
        households=households.households,
        online_households=households.online,
        **_hook_fields(hook),
    )


def kpis_for(scope: Scope, start: dt.date, end: dt.date, today: dt.date) -> dict[str, float | None]:
    """Every KPI of the scope for [start, end] (two to four queries, and five for the hook KPIs)."""
    totals = cube_totals(scope, start, end, today)
    hooks = hooks_for_periods(scope, [(start, end)], today=today)
    return rules.kpi_values(totals, _context(scope, start, end, households_for(scope, end), hooks=hooks))


def targets_for(scope: Scope, year: int) -> dict[int | None, dict[str, tuple[float, str]]]:
    """estate id (None: the company's) → KPI code → (target, direction), for the year."""
    result: dict = defaultdict(dict)
    for estate_id, code, target, direction in KpiTarget.objects.filter(company=scope.company, year=year).values_list(
        "estate_id", "code", "target", "direction"
    ):
        result[estate_id][code] = (target, direction)
    return result


def _target(targets, estate_id: int | None, code: str) -> tuple[float | None, str | None]:
    found = targets.get(estate_id, {}).get(code) if estate_id else None
    found = found or targets.get(None, {}).get(code)
    return found if found else (None, None)


# ---------------------------------------------------------------------------------------------------------- dashboard
@dataclass
class KpiLine:
    code: str
    label: str
    group: str
    unit: str
    direction: str
    value: float | None
    last_year: float | None
    target: float | None
    status: str


@dataclass
class ChildLine:
    name: str
    params: dict[str, int] | None  # page parameters to drill into it; None when it cannot be opened
    key: str | None  # API scope
    orders: int
    values: dict[str, float | None]
    statuses: dict[str, str]


@dataclass
class Dashboard:
    scope: Scope
    start: dt.date
    end: dt.date
    last_year_start: dt.date
    last_year_end: dt.date
    orders: int
    orders_last_year: int
    households: int | None
    kpis: list[KpiLine]
    trend_months: list[dt.date]
    trend: dict[str, list[float | None]]
    trend_last_year: dict[str, list[float | None]]
    children: list[ChildLine] = field(default_factory=list)
    child_level: str | None = None


def _periods(start: dt.date, end: dt.date, today: dt.date) -> set[tuple[str, dt.date]]:
    months, days = rules.split_period(start, end, today)
    return {(Grain.MONTH, month) for month in months} | {(Grain.DAY, day) for day in days}


def _node_rows(scope: Scope, wanted: set[tuple[str, dt.date]]) -> list[dict]:
    """The scope's rows of every (grain, period) wanted, in one query."""
    months = [period for grain, period in wanted if grain == Grain.MONTH]
    days = [period for grain, period in wanted if grain == Grain.DAY]
    condition = Q(pk__in=[])
    if months:
        condition |= Q(grain=Grain.MONTH, period__in=months)
    if days:
        condition |= Q(grain=Grain.DAY, period__in=days)
    return list(KpiCube.objects.filter(_node_filter(scope), condition).values("grain", "period", *CUBE_FIELDS))


def _pick(rows: list[dict], wanted: set[tuple[str, dt.date]]) -> rules.Tally:
    tally = rules.Tally()
    for row in rows:
        if (row["grain"], row["period"]) in wanted:
            tally.add_row(row)
    return tally


def _trend_period(month: dt.date, today: dt.date) -> tuple[dt.date, dt.date]:
    return month, min(rules.month_end(month), max(today, month))


def _trend(
    scope: Scope,
    months: list[dt.date],
    rows: list[dict],
    households: Households,
    today: dt.date,
    hooks: dict,
):
    earlier = [rules.shift_year(month) for month in months]
    sums = _sum_rows((row for row in rows if row["grain"] == Grain.MONTH), "period")
    series: dict[str, list] = defaultdict(list)
    series_last_year: dict[str, list] = defaultdict(list)
    for into, periods in ((series, months), (series_last_year, earlier)):
        for month in periods:
            first, last = _trend_period(month, today)
            values = rules.kpi_values(
                sums.get(month, rules.Tally()),
                _context(scope, first, last, households, hooks=hooks),
            )
            for code, value in values.items():
                into[code].append(value)
    return dict(series), dict(series_last_year)


def _children(scope: Scope, start: dt.date, end: dt.date, today: dt.date, targets) -> list[ChildLine]:
    found = _children_filter(scope)
    if found is None:
        return []
    condition, group = found
    rows = KpiCube.objects.filter(condition, _period_filter(start, end, today)).values(group, *CUBE_FIELDS)
    sums = _sum_rows(rows, group)
    # The satisfaction index and the hook KPIs are read for every child at once.
    hooks = children_hooks(scope, start, end, today=today)
    if scope.level == Level.COMPANY:
        names = dict(Estate.objects.filter(id__in=scope.estate_ids).values_list("id", "name"))
        keys = list(scope.estate_ids)  # every estate, with or without orders
        counts = _households(scope.estate_ids, end, group="estate_id")
    elif scope.level == Level.ESTATE:
        names = dict(Grid.objects.filter(estate=scope.estate).values_list("id", "name"))
        outside = None in sums or None in hooks
        keys = sorted(names, key=lambda grid_id: names[grid_id]) + ([None] if outside else [])
        counts = _households(scope.estate_ids, end, group="grid_id")
    else:
        # People with orders, and people with patrols or inspections only (a guard).
        people = User.objects.filter(id__in=[key for key in {*sums, *hooks} if key is not None])
        names = {person.id: person.display_name for person in people}
        keys = sorted(names, key=lambda user_id: names[user_id])
        counts = {}
    lines = []
    parent = _context(scope, start, end, Households(None, None), hooks={(start, end): Hooks()})
    for key in keys:
        household = counts.get(key)
        values = rules.kpi_values(
            sums.get(key, rules.Tally()),
            replace(
                parent,
                households=household[0] if household else None,
                online_households=household[1] if household else None,
                **_hook_fields(hooks.get(key, Hooks(alarms=None if scope.level == Level.GRID else 0.0))),
            ),
        )
        estate_id = key if scope.level == Level.COMPANY else scope.estate.id
        statuses = {}
        for spec in KPIS:
            target, direction = _target(targets, estate_id, spec.code)
            statuses[spec.code] = rules.status(values[spec.code], target, direction or spec.direction)
        lines.append(
            ChildLine(
                name=names.get(key) or _("Outside any grid"),
                params=_child_params(scope, key),
                key=_child_key(scope, key),
                orders=sums[key].counts["reported"] if key in sums else 0,
                values=values,
                statuses=statuses,
            )
        )
    return lines


def _hook_fields(hooks: Hooks) -> dict[str, float | None]:
    return {
        "survey_satisfaction": hooks.survey_satisfaction,
        "patrol_completion": hooks.patrol_completion,
        "inspection_completion": hooks.inspection_completion,
        "alarms": hooks.alarms,
        "alarm_mttr": hooks.alarm_mttr,
        "equipment_monitored": hooks.equipment_monitored,
    }


def _child_params(scope: Scope, key) -> dict[str, int] | None:
    if key is None:
        return None
    if scope.level == Level.COMPANY:
        return {"estate": key}
    if scope.level == Level.ESTATE:
        return {"estate": scope.estate.id, "grid": key}
    return {"estate": scope.estate.id, "grid": scope.grid.id, "person": key}


def _child_key(scope: Scope, key) -> str | None:
    if key is None:
        return None
    if scope.level == Level.COMPANY:
        return f"estate:{key}"
    if scope.level == Level.ESTATE:
        return f"grid:{key}"
    return f"person:{scope.grid.id}:{key}"


def dashboard(scope: Scope, start: dt.date, end: dt.date, *, today: dt.date, children: bool = True) -> Dashboard:
    """Everything the KPI page, its exports and the API show for a scope and period."""
    ly_start, ly_end = rules.last_year(start, end)
    period, period_ly = _periods(start, end, today), _periods(ly_start, ly_end, today)
    months = rules.trend_months(end)
    trend_periods = {(Grain.MONTH, month) for month in months + [rules.shift_year(m) for m in months]}
    rows = _node_rows(scope, period | period_ly | trend_periods)
    totals, totals_ly = _pick(rows, period), _pick(rows, period_ly)
    households = households_for(scope, end)
    trend_periods_all = [_trend_period(m, today) for m in months + [rules.shift_year(m) for m in months]]
    hooks = hooks_for_periods(scope, [(start, end), (ly_start, ly_end), *trend_periods_all], today=today)
    values = rules.kpi_values(totals, _context(scope, start, end, households, hooks=hooks))
    values_ly = rules.kpi_values(
        totals_ly, _context(scope, ly_start, ly_end, households_for(scope, ly_end), hooks=hooks)
    )
    targets = targets_for(scope, end.year)
    estate_id = scope.estate.id if scope.estate else None
    lines = []
    for spec in KPIS:
        target, direction = _target(targets, estate_id, spec.code)
        direction = direction or spec.direction
        lines.append(
            KpiLine(
                code=spec.code,
                label=str(spec.label),
                group=spec.group,
                unit=spec.unit,
                direction=direction,
                value=values[spec.code],
                last_year=values_ly[spec.code],
                target=target,
                status=rules.status(values[spec.code], target, direction),
            )
        )
    trend, trend_ly = _trend(scope, months, rows, households, today, hooks)
    child_level = {Level.COMPANY: Level.ESTATE, Level.ESTATE: Level.GRID, Level.GRID: Level.PERSON}.get(scope.level)
    return Dashboard(
        scope=scope,
        start=start,
        end=end,
        last_year_start=ly_start,
        last_year_end=ly_end,
        orders=totals.counts["reported"],
        orders_last_year=totals_ly.counts["reported"],
        households=households.households,
        kpis=lines,
        trend_months=months,
        trend=trend,
        trend_last_year=trend_ly,
        children=_children(scope, start, end, today, targets) if children else [],
        child_level=child_level,
    )
