"""Every KPI definition checked against an independent computation from the event and step rows (tests/oracle.py),
on a generated history of a few hundred orders (tests/history.py), at every level of the drill-down and for periods
that use month rows, day rows and both; and the rollup built incrementally while the history was being written is
row for row the rollup rebuilt from scratch."""

import datetime as dt

import pytest
import time_machine

from wuye.kpis import rules, selectors, service_rollup, services
from wuye.kpis.choices import KPIS, Level
from wuye.kpis.models import DailyOrderStats, KpiCube, ServiceCube
from wuye.kpis.tests import oracle
from wuye.kpis.tests.history import NOW, build_history
from wuye.testing.cast import build_cast
from wuye.testing.plugin import module_data

TODAY = dt.date(2026, 11, 20)
PERIODS = [
    (dt.date(2026, 11, 1), TODAY),  # this month so far: one month row
    (dt.date(2026, 11, 10), dt.date(2026, 11, 15)),  # day rows
    (dt.date(2025, 11, 1), dt.date(2025, 11, 30)),  # a whole month last year
    (dt.date(2025, 11, 5), dt.date(2026, 11, 12)),  # months and edge days
]
HOOKS = {"patrol_completion", "inspection_completion", "alarms", "alarm_mttr", "equipment_monitored"}
QUANTILES = {"response_p50", "response_p90", "arrival_p50", "arrival_p90", "resolution_p50", "resolution_p90"}


def _close(code: str, got, expected) -> bool:
    if got is None or expected is None:
        return got is None and expected is None
    if code in QUANTILES:
        # The histogram's promise: within a factor 2^(1/16) of the exact nearest-rank value (0.5 min below 1 min).
        return abs(got - expected) <= max(0.5, expected * rules.RELATIVE_ERROR_BOUND) + 1e-9
    return abs(got - expected) <= 1e-9 * max(1.0, abs(expected))


def _rows(model):
    fields = [f.attname for f in model._meta.concrete_fields if f.attname != "id"]
    return sorted(tuple(str(row[name]) for name in fields) for row in model.objects.values(*fields))


@pytest.fixture(scope="module")
def history(django_db_setup, django_db_blocker):
    """Built once for the module (a few hundred orders through the real services); each test runs in a savepoint."""
    runs = []

    def roll_up(count):
        if count % 20 == 0:
            runs.append(services.rollup_run(now=NOW, batch_events=150))

    with module_data(django_db_blocker), time_machine.travel(NOW, tick=False):
        built = build_history(build_cast(), after_order=roll_up)
        runs.append(services.rollup_run(now=NOW, batch_events=150))
        service_rollup.rollup_run(now=NOW)  # the satisfaction index's tallies (the first run rebuilds every day)
        built.runs = runs
        yield built


def _scopes(history):
    cast = history.cast
    grid1, grid2 = history.grids
    scopes = [
        (selectors.scope_for(cast.manager), oracle.Where((cast.estate.id,))),
        (selectors.scope_for(cast.supervisor, estate=cast.estate.id), oracle.Where((cast.estate.id,))),
    ]
    for grid in (grid1, grid2):
        scopes.append((selectors.scope_for(cast.manager, grid=grid.id), oracle.Where((cast.estate.id,), grid.id)))
        for person in history.technicians:
            scopes.append(
                (
                    selectors.scope_for(cast.manager, grid=grid.id, person=person.id),
                    oracle.Where((cast.estate.id,), grid.id, person.id),
                )
            )
    return scopes


def test_every_kpi_matches_an_independent_computation_from_the_events(db, history):
    with time_machine.travel(NOW, tick=False):
        assert sum(run.events for run in history.runs) > 1500, "the history should hold a couple of thousand events"
        wrong = []
        for scope, where in _scopes(history):
            for start, end in PERIODS:
                got = selectors.kpis_for(scope, start, end, TODAY)
                expected = oracle.kpis(where, start, end, households_day=TODAY)
                for code, value in expected.items():
                    if code == "reported":
                        actual = selectors.cube_totals(scope, start, end, TODAY).counts["reported"]
                    else:
                        actual = got[code]
                    if not _close(code, actual, value):
                        wrong.append(f"{scope.key} {start}..{end} {code}: rollup {actual!r}, events {value!r}")
                # Orders only: nothing patrolled, inspected or monitored (tests/test_hooks.py checks those); no
                # alarm raised is 0 for a place, and people have no alarm figures.
                assert all(got[code] is None for code in HOOKS - {"alarms"})
                assert got["alarms"] == (None if scope.level == "person" else 0.0)
        assert not wrong, "\n".join(wrong)
        _the_history_exercises_every_kpi(history)
        _outside_any_grid_matches_the_events(history)


def test_the_rollup_built_while_events_arrived_equals_a_rebuild_from_scratch(db, history):
    with time_machine.travel(NOW, tick=False):
        incremental = (_rows(DailyOrderStats), _rows(KpiCube), _rows(ServiceCube))
        assert len(history.runs) > 10
        DailyOrderStats.objects.all().delete()
        KpiCube.objects.all().delete()
        ServiceCube.objects.all().delete()
        services.rollup_rebuild(now=NOW)
        assert (_rows(DailyOrderStats), _rows(KpiCube), _rows(ServiceCube)) == incremental
        # And running the jobs again changes nothing.
        result = services.rollup_run(now=NOW)
        assert result.events == 0
        service_rollup.rollup_settle(now=NOW)
        assert (_rows(DailyOrderStats), _rows(KpiCube), _rows(ServiceCube)) == incremental
        _month_rows_are_the_sums_of_their_day_rows()


def _the_history_exercises_every_kpi(history):
    """The comparison above means something only if every KPI has a value to compare on the generated data."""
    scope = selectors.scope_for(history.cast.manager)
    values = selectors.kpis_for(scope, dt.date(2026, 11, 1), TODAY, TODAY)
    missing = [spec.code for spec in KPIS if spec.code not in HOOKS and values[spec.code] in (None, 0.0)]
    assert not missing
    assert 0 < values["first_time_fix"] < 100 and 0 < values["satisfaction"] < 100
    assert 0 < values["sla_arrive"] < 100 and 0 < values["owner_accounts"] < 100
    # Orders outside any grid are a child of the estate, and people are children of their grid.
    estate = selectors.dashboard(
        selectors.scope_for(history.cast.manager, estate=history.cast.estate.id), dt.date(2026, 11, 1), TODAY,
        today=TODAY,
    )  # fmt: skip
    # The last line is the orders outside any grid, which cannot be opened further.
    assert [child.params is None for child in estate.children] == [False, False, True]
    assert sum(child.orders for child in estate.children) == estate.orders


def _outside_any_grid_matches_the_events(history):
    cast = history.cast
    scope = selectors.scope_for(cast.manager, estate=cast.estate.id)
    data = selectors.dashboard(scope, dt.date(2026, 11, 1), TODAY, today=TODAY)
    loose = next(child for child in data.children if child.params is None)
    expected = oracle.kpis(oracle.Where((cast.estate.id,), None), dt.date(2026, 11, 1), TODAY, households_day=TODAY)
    wrong = [
        code for code, value in expected.items() if code != "reported" and not _close(code, loose.values[code], value)
    ]
    assert not wrong
    assert loose.orders == expected["reported"] > 0


def _month_rows_are_the_sums_of_their_day_rows():
    for month in (dt.date(2026, 11, 1), dt.date(2025, 11, 1)):
        month_rows = KpiCube.objects.filter(grain="month", period=month, level=Level.ESTATE).values(*rules.COUNTERS)
        day_rows = KpiCube.objects.filter(
            grain="day", period__gte=month, period__lte=rules.month_end(month), level=Level.ESTATE
        ).values(*rules.COUNTERS)
        summed = {name: sum(row[name] for row in day_rows) for name in rules.COUNTERS}
        assert list(month_rows) == [summed]
        assert summed["reported"] > 0
