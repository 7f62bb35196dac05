"""KPI dashboard at scale: the desk page's server time (from the rollups) beside the time to compute the same KPIs
straight from the work-order events with SQL, and their ratio — what the rollups buy.

    manage.py seed_demo_scale --orders 200000            # once, into a database of its own (see docs/kpis.md)
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/kpis_scale .venv/bin/python bench/bench_kpis.py [--requests 15]

In-process through django.test.Client as the company administrator (no network, no web server; DEBUG off), after
two warm-up requests; prints p50/p90/max in milliseconds and the SQL queries per request for the company level
(this month so far, last year's same days, the 12-month trend and one line per estate), one estate and one grid,
and the API. "From events" runs, for the same scope, the same numbers as PostgreSQL aggregates over the event and
step rows: the period, last year's period, 24 months of trend, and the per-estate lines (PostgreSQL only).
"""

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DIRECT_SQL = {
    "counts": """
        SELECT {key} AS k,
               count(*) FILTER (WHERE e.action = 'submit') AS reported,
               count(*) FILTER (WHERE e.action = 'submit' AND o.channel = 'portal') AS online,
               count(*) FILTER (WHERE e.action = 'submit' AND o.kind = 'complaint') AS complaints,
               count(*) FILTER (WHERE e.action IN ('resolve', 'answer')) AS resolved,
               count(*) FILTER (WHERE e.action = 'reopen') AS reopened,
               count(*) FILTER (WHERE e.action = 'rate' AND e.payload->>'verdict' = 'good') AS good,
               count(*) FILTER (WHERE e.action = 'rate'
                                AND e.payload->>'verdict' IN ('good', 'bad', 'returned')) AS rated,
               avg((e.payload->>'score')::int) FILTER (WHERE e.action = 'rate') AS score,
               count(*) FILTER (WHERE e.action = 'visit' AND e.payload->>'satisfied' = 'true') AS visits_ok,
               count(*) FILTER (WHERE e.action = 'visit') AS visits
        FROM workorders_workorderevent e JOIN workorders_workorder o ON o.id = e.order_id
        WHERE o.estate_id = ANY(%(estates)s) AND e.at >= %(start)s AND e.at < %(end)s
          AND e.action IN ('submit', 'resolve', 'answer', 'reopen', 'rate', 'visit')
        GROUP BY 1""",
    "durations": """
        WITH firsts AS (
            SELECT e.order_id, CASE WHEN e.action = 'answer' THEN 'resolve' ELSE e.action END AS step, min(e.at) AS at
            FROM workorders_workorderevent e
            WHERE e.action IN ('accept', 'arrive', 'resolve', 'answer') AND e.at < %(end)s
            GROUP BY 1, 2 HAVING min(e.at) >= %(start)s
        ), reopened AS (
            SELECT DISTINCT order_id FROM workorders_workorderevent WHERE action = 'reopen'
        )
        SELECT {key} AS k, f.step,
               percentile_disc(0.5) WITHIN GROUP (ORDER BY f.at - o.submitted_at),
               percentile_disc(0.9) WITHIN GROUP (ORDER BY f.at - o.submitted_at),
               count(*) FILTER (WHERE f.step = 'resolve' AND r.order_id IS NULL)
        FROM firsts f JOIN workorders_workorder o ON o.id = f.order_id
        LEFT JOIN reopened r ON r.order_id = f.order_id
        WHERE o.estate_id = ANY(%(estates)s)
        GROUP BY 1, 2""",
    "sla": """
        SELECT {key} AS k, s.step,
               count(*) FILTER (WHERE s.met_at IS NOT NULL AND (s.due_at IS NULL OR s.met_at <= s.due_at)),
               count(*)
        FROM workorders_workorderstep s JOIN workorders_workorder o ON o.id = s.order_id
        WHERE o.estate_id = ANY(%(estates)s) AND (
            (s.met_at >= %(start)s AND s.met_at < %(end)s)
            OR (s.met_at IS NULL AND s.state = 'breached' AND o.status IN ('closed', 'cancelled')
                AND o.closed_at >= %(start)s AND o.closed_at < %(end)s))
        GROUP BY 1, 2""",
    "households": """
        SELECT r.estate_id, count(*) FROM estates_room r
        WHERE r.estate_id = ANY(%(estates)s) AND EXISTS (
            SELECT 1 FROM accounts_residency h WHERE h.room_id = r.id AND h.move_out_on IS NULL)
        GROUP BY 1""",
}
KEYS = {
    "all": "0",
    "month": "date_trunc('month', e.at AT TIME ZONE 'Asia/Shanghai')",
    "estate": "o.estate_id",
}


def direct(cursor, estates, start, end, group):
    key = KEYS[group]
    results = {}
    for name, sql in DIRECT_SQL.items():
        column = key.replace("e.at", {"durations": "f.at", "sla": "coalesce(s.met_at, o.closed_at)"}.get(name, "e.at"))
        cursor.execute(sql.format(key=column), {"estates": estates, "start": start, "end": end})
        results[name] = cursor.fetchall()
    return results


def timed(function, repeat):
    """Wall-clock milliseconds per call, and this process's CPU milliseconds (the Python side of the request,
    without the database's time: a fairer figure on a machine shared with other work)."""
    times, cpu = [], []
    result = None
    for _ in range(repeat):
        started, started_cpu = time.perf_counter(), time.process_time()
        result = function()
        times.append((time.perf_counter() - started) * 1000)
        cpu.append((time.process_time() - started_cpu) * 1000)
    timed.cpu = cpu
    return times, result


def line(label, times, queries=None):
    p50 = statistics.median(times)
    p90 = statistics.quantiles(times, n=10)[-1] if len(times) >= 2 else times[0]
    extra = f"  {queries:>3} queries" if queries is not None else ""
    cpu = f"  cpu p50 {statistics.median(timed.cpu):6.1f} ms" if getattr(timed, "cpu", None) else ""
    print(f"  {label:<44} p50 {p50:8.1f} ms  p90 {p90:8.1f} ms  max {max(times):8.1f} ms{cpu}{extra}")
    return p50


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=15)
    parser.add_argument("--direct-repeat", type=int, default=3)
    parser.add_argument("--company", help="Company code (default: the one with the most work orders).")
    parser.add_argument("--skip-direct", action="store_true", help="Only the dashboard (the events take minutes).")
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.bench_settings")
    import django

    django.setup()
    import datetime as dt

    from django.db import connection
    from django.db.models import Count
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from wuye.accounts.models import User
    from wuye.core import clock
    from wuye.estates.models import Company, Estate
    from wuye.kpis import rules
    from wuye.kpis.models import DailyOrderStats, KpiCube
    from wuye.workorders.models import WorkOrder, WorkOrderEvent

    if connection.vendor != "postgresql":
        raise SystemExit("Run against PostgreSQL: DATABASE_URL=postgres://…/kpis_scale")
    if args.company:
        company = Company.objects.get(code=args.company)
    else:
        company = Company.objects.annotate(n=Count("estates__work_orders")).order_by("-n").first()  # one query, once
    estates = list(Estate.objects.filter(company=company, is_active=True).values_list("id", flat=True))
    admin = User.objects.get(username=f"{company.code}-admin")
    orders = WorkOrder.objects.filter(estate__company=company).count()
    events = WorkOrderEvent.objects.filter(order__estate__company=company).count()
    print(f"Company {company.code}: {len(estates)} estates, {orders:,} work orders, {events:,} events")
    print(
        f"Rollups: {DailyOrderStats.objects.count():,} daily rows, {KpiCube.objects.count():,} cube rows "
        f"(dashboard reads the cube only)"
    )

    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(admin)
    biggest = (
        Estate.objects.filter(id__in=estates)
        .annotate(n=Count("work_orders"))
        .order_by("-n")
        .values_list("id", flat=True)
    )[0]
    grid = Estate.objects.get(id=biggest).grids.order_by("id").first()
    pages = [
        ("page: company (this month, 1 line per estate)", "/desk/kpis/"),
        ("page: largest estate", f"/desk/kpis/?estate={biggest}"),
        (
            "page: a grid of it",
            f"/desk/kpis/?estate={biggest}&grid={grid.id}" if grid else f"/desk/kpis/?estate={biggest}",
        ),
        ("API: company", "/api/v1/kpis"),
        (
            "page: company, a whole year",
            f"/desk/kpis/?from={clock.today().year - 1}-01-01&to={clock.today().year - 1}-12-31",
        ),
    ]
    print(f"\nServer time, {args.requests} requests each after 2 warm-ups:")
    figures = {}
    for label, url in pages:
        for _ in range(2):
            response = client.get(url)
            assert response.status_code == 200, (url, response.status_code)
        with CaptureQueriesContext(connection) as queries:
            client.get(url)
        count = len(queries)  # now: the log is cleared by later requests
        times, _ = timed(lambda url=url: client.get(url), args.requests)
        figures[label] = line(label, times, count)

    today = clock.today()
    tz = clock.local_tz()

    def at(day):
        return dt.datetime.combine(day, dt.time(), tzinfo=tz)

    start = rules.month_start(today)
    end = today + dt.timedelta(days=1)
    ly_start, ly_end = rules.last_year(start, today)
    trend_start = rules.add_months(today, -23)

    def from_events():
        with connection.cursor() as cursor:
            period = direct(cursor, estates, at(start), at(end), "all")
            last_year = direct(cursor, estates, at(ly_start), at(ly_end + dt.timedelta(days=1)), "all")
            trend = direct(cursor, estates, at(trend_start), at(end), "month")
            children = direct(cursor, estates, at(start), at(end), "estate")
        return period, last_year, trend, children

    if args.skip_direct:
        return
    print(f"\nThe same KPIs straight from the events (SQL aggregates), {args.direct_repeat} runs:")
    times, (period, *_rest) = timed(from_events, args.direct_repeat)
    timed.cpu = None
    direct_p50 = line("from events: company (period, last year, trend, estates)", times)
    page_p50 = figures[pages[0][0]]
    reported = period["counts"][0][1] if period["counts"] else 0
    response = client.get("/api/v1/kpis").json()
    print(f"\n  check: orders reported this month — rollups {response['orders']:,}, events {reported:,}")
    print(f"\nCompany dashboard: {page_p50:.1f} ms from rollups vs {direct_p50:.1f} ms from events: "
          f"{direct_p50 / page_p50:.0f}x faster.")  # fmt: skip


if __name__ == "__main__":
    main()
