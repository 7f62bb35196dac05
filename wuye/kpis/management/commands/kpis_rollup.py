"""`manage.py kpis_rollup`: run the KPI rollup jobs now (as the scheduler does: work orders, then the service rollup
of satisfaction, patrols, inspections, alarms and equipment), or --rebuild everything from the source rows, or
--days N to rebuild the last N days."""

import datetime as dt

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from wuye.core import clock
from wuye.kpis import rules, service_rollup, services


class Command(BaseCommand):
    help = "Fold new work-order events into the KPI rollups (or rebuild them)."

    def add_arguments(self, parser):
        parser.add_argument("--rebuild", action="store_true", help="Rebuild every day from the first event.")
        parser.add_argument("--days", type=int, help="Rebuild the last N days.")

    def handle(self, *args, rebuild: bool, days: int | None, **options):
        now = clock.now()
        if rebuild:
            result = services.rollup_rebuild(now=now)
            self.stdout.write(f"Rebuilt {result.days} days in {result.seconds:.1f} s.")
            return
        if days is not None:
            if not 1 <= days <= 3660:
                raise CommandError("--days must be between 1 and 3660.")
            today = rules.local_day(now, clock.local_tz())
            with transaction.atomic():
                written = services.days_recompute({today - dt.timedelta(days=n) for n in range(days)})
                written += service_rollup.days_recompute(today - dt.timedelta(days=days - 1), today, now=now)
            self.stdout.write(f"Rebuilt the last {days} days ({written} rows).")
            return
        result = services.rollup_run(now=now)
        self.stdout.write(f"{result.events} new events, {result.days} days recomputed in {result.seconds:.2f} s.")
        service = service_rollup.rollup_run(now=now)
        self.stdout.write(f"Service rollup: {service.days} days, {service.rows} rows in {service.seconds:.2f} s.")
