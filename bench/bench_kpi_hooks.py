"""The KPI dashboard's hook KPIs (patrols, inspections, alarms, equipment monitored) at size.

Writes (once) a company "hookbench" of ESTATES estates (default 10), each with two grids, one route per grid walked
every hour for two years (35,040 rounds an estate), 50 items of equipment of which 40 carry a device, five alarms a
day for two years, and ROLLUP_DAYS (default 120) days of hourly rollups per device; builds the service rollup
(kpis.service_rollup, timed); then prints the time of the hook reads the dashboard makes from it — every period of
the page at once (the period, last year and both 12-month trends: 26) and the children — at the company, one estate
and one grid: median and minimum of REPEAT runs, with the queries; and beside them the time to compute the same
figures' inputs straight from the source rows (what the page cost before the rollup).

    createdb -h 127.0.0.1 -U postgres kpi_hooks
    export DATABASE_URL=postgres://postgres@127.0.0.1:5432/kpi_hooks
    .venv/bin/python manage.py migrate && .venv/bin/python bench/bench_kpi_hooks.py
"""

import datetime as dt
import os
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

ESTATES = int(os.environ.get("ESTATES", "10"))
ROLLUP_DAYS = int(os.environ.get("ROLLUP_DAYS", "120"))
REPEAT = int(os.environ.get("REPEAT", "5"))
DAYS = 730


def _estate(company, index: int, now: dt.datetime, rng: random.Random) -> None:
    from wuye.equipment.models import Equipment
    from wuye.estates.models import Estate, Grid, PublicArea
    from wuye.inspections.models import Round, Route
    from wuye.iot.models import Alarm, AlarmRule, Device, HourlyRollup

    estate = Estate.objects.create(company=company, name=f"E{index}", code=f"hb-{index}")
    grids = [Grid.objects.create(estate=estate, name=f"G{g}") for g in range(2)]
    areas = [PublicArea.objects.create(estate=estate, name=f"A{g}", grid=grid) for g, grid in enumerate(grids)]
    rounds = []
    for g, grid in enumerate(grids):
        route = Route.objects.create(
            estate=estate, name=f"R{g}", grid=grid, schedule={"kind": "daily", "windows": []}, assignee_role="guard"
        )
        for hour in range(DAYS * 24):
            start = now - dt.timedelta(hours=hour + 2)
            rounds.append(
                Round(
                    route=route,
                    estate=estate,
                    grid=grid,
                    window_start=start,
                    window_end=start + dt.timedelta(hours=1),
                    order_rule="strict",
                    assignee_role="guard",
                    status=rng.choice(["complete"] * 8 + ["incomplete", "missed"]),
                    closed_at=start + dt.timedelta(hours=1, minutes=5),
                )
            )
    Round.objects.bulk_create(rounds, batch_size=5000)
    items = Equipment.objects.bulk_create(
        Equipment(
            estate=estate,
            code=f"Q{i}",
            name=f"Q{i}",
            category="water_pump",
            public_area=areas[i % 2],
            label_code=f"hb{index:03d}{i:05d}",
        )
        for i in range(50)
    )
    devices = Device.objects.bulk_create(
        Device(estate=estate, equipment=item, code=f"d{i}", name=f"d{i}", last_seen_at=now - dt.timedelta(hours=3))
        for i, item in enumerate(items)
        if i % 5
    )
    rule = AlarmRule.objects.create(estate=estate, name="r", metric="m", kind="threshold", params={})
    alarms = []
    for number in range(DAYS * 5):
        raised = now - dt.timedelta(days=number // 5, minutes=rng.randint(60, 1400))
        alarms.append(
            Alarm(
                estate=estate,
                rule=rule,
                device=devices[number % len(devices)],
                status="cleared",
                severity="major",
                reason="x",
                raised_at=raised,
                cleared_at=raised + dt.timedelta(minutes=rng.randint(5, 300)),
            )
        )
    Alarm.objects.bulk_create(alarms, batch_size=5000)
    HourlyRollup.objects.bulk_create(
        (
            HourlyRollup(device=device, metric="m", hour=now - dt.timedelta(hours=h), count=60, min=0, max=1, sum=30)
            for device in devices
            for h in range(ROLLUP_DAYS * 24)
        ),
        batch_size=10000,
    )


def _timed(call) -> tuple[list[float], int]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    times = []
    for _run in range(REPEAT):
        with CaptureQueriesContext(connection) as queries:
            started = time.perf_counter()
            call()
            times.append((time.perf_counter() - started) * 1000)
    return times, len(queries)


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.bench_settings")
    import django

    django.setup()
    from django.db import connection, transaction

    from wuye.core import clock
    from wuye.estates.models import Company, Estate
    from wuye.kpis import rules, selectors, service_rollup
    from wuye.kpis.choices import Level
    from wuye.kpis.models import ServiceCube

    now = clock.now().replace(minute=0, second=0, microsecond=0)
    company = Company.objects.filter(code="hookbench").first()
    if company is None:
        started = time.perf_counter()
        company = Company.objects.create(name="hookbench", code="hookbench")
        rng = random.Random(1)
        for index in range(ESTATES):
            with transaction.atomic():
                _estate(company, index, now, rng)
            print(f"estate {index} written, {time.perf_counter() - started:.0f} s", flush=True)
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    if not ServiceCube.objects.filter(company=company).exists():
        started = time.perf_counter()
        built = service_rollup.rollup_rebuild(now=clock.now())
        print(
            f"service rollup rebuilt: {built.days} days, {built.rows:,} rows in {time.perf_counter() - started:.1f} s"
        )
    estates = list(Estate.objects.filter(company=company).order_by("id"))
    today = clock.today()
    start = rules.month_start(today)
    months = rules.trend_months(today)
    periods = [(start, today), rules.last_year(start, today)]
    periods += [(month, min(rules.month_end(month), today)) for month in months]
    periods += [(rules.shift_year(month), rules.month_end(rules.shift_year(month))) for month in months]
    first = estates[0]
    scopes = {
        "company": selectors.Scope(Level.COMPANY, company, tuple(e.id for e in estates), whole_company=True),
        "estate": selectors.Scope(Level.ESTATE, company, (first.id,), estate=first),
        "grid": selectors.Scope(Level.GRID, company, (first.id,), estate=first, grid=first.grids.order_by("id")[0]),
    }
    print(f"{len(estates)} estates; {len(periods)} periods; median / minimum of {REPEAT} runs")
    for name, scope in scopes.items():
        reads = {
            "26 periods": lambda scope=scope: selectors.hooks_for_periods(scope, periods),
            "children": lambda scope=scope: selectors.children_hooks(scope, start, today),
        }
        if name == "company":
            earliest = min(rules.shift_year(month) for month in months) - dt.timedelta(days=365)
            reads["from rows"] = lambda since=earliest: service_rollup.day_tallies(since, today, now=clock.now())
        for label, call in reads.items():
            times, queries = _timed(call)
            print(
                f"{name:8} {label:10} {statistics.median(times):7.0f} ms {min(times):7.0f} ms  {queries} queries",
                flush=True,
            )


if __name__ == "__main__":
    main()
