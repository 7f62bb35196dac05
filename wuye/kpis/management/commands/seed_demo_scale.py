"""`manage.py seed_demo_scale --orders N`: a large company (the demo's `seed_demo --scale` organisation) with N work
orders, their events and SLA clocks written in bulk, then the KPI rollups built — for the KPI benchmark
(bench/bench_kpis.py). Use a database of its own on PostgreSQL; running it again on the same company adds nothing.
"""

import time

from django.core.management.base import BaseCommand, CommandError

from wuye.core import clock
from wuye.demo import generate
from wuye.kpis import scale, services
from wuye.workorders.models import WorkOrder


class Command(BaseCommand):
    help = "Create a large company with N work orders (+ events and SLA steps) and build the KPI rollups."

    def add_arguments(self, parser):
        parser.add_argument("--orders", type=int, required=True, help="How many work orders (e.g. 2000000).")
        parser.add_argument(
            "--estates", type=int, help="Estates of the company (default: one per 20,000 orders, at least 1)."
        )
        parser.add_argument("--days", type=int, default=730, help="Days of history before now (default 730).")
        parser.add_argument("--batch", type=int, default=20_000, help="Orders per transaction (default 20,000).")
        parser.add_argument("--no-rollup", action="store_true", help="Do not build the KPI rollups afterwards.")

    def handle(self, *args, orders: int, estates: int | None, days: int, batch: int, no_rollup: bool, **options):
        if not 1 <= orders <= 50_000_000:
            raise CommandError("--orders must be between 1 and 50,000,000.")
        if not 30 <= days <= 3660:
            raise CommandError("--days must be between 30 and 3660.")
        estates = estates or max(1, min(1000, orders // 20_000))
        started = time.monotonic()
        organisation = generate.seed_scale(estate_count=estates, progress=options["verbosity"] >= 1)
        company = organisation.company
        self.stdout.write(f"Company {company.code}: {estates} estates ({time.monotonic() - started:.1f} s).")
        if WorkOrder.objects.filter(estate__company=company).exists():
            self.stdout.write("It already holds work orders: nothing added.")
            return
        scale.owners_online(company)
        now = clock.now()
        for year in range(now.year - days // 365 - 1, now.year + 1):
            services.targets_seed(company=company, year=year)

        def progress(result: scale.ScaleResult) -> None:
            rate = result.events / result.seconds if result.seconds else 0
            self.stdout.write(
                f"  {result.orders:>10,} orders {result.events:>12,} events {result.steps:>11,} steps "
                f"{result.seconds:7.1f} s ({rate:,.0f} events/s)"
            )

        written = scale.generate_orders(company, orders=orders, end=now, days=days, batch=batch, progress=progress)
        self.stdout.write(
            self.style.SUCCESS(
                f"Generated {written.orders:,} orders, {written.events:,} events, {written.steps:,} SLA steps "
                f"in {written.seconds:.1f} s."
            )
        )
        if no_rollup:
            return
        self.stdout.write("Building the KPI rollups from the events…")
        result = services.rollup_rebuild(now=now, window_days=14, progress=lambda day: self.stdout.write(f"  {day}"))
        self.stdout.write(self.style.SUCCESS(f"Rollups of {result.days:,} days built in {result.seconds:.1f} s."))
        self.stdout.write(f"Login: {generate.scale_company_code(estates)}-admin / {generate.DEMO_PASSWORD}")
