"""`manage.py seed_demo`: the demo company with its named logins, or (`--scale N`) a large company for benchmarks.

Idempotent: a company is recognised by its code ("demo", "scale-N") and never created twice. `make run` passes
`--if-empty`, so only the very first run on an empty database seeds.
"""

from django.core.management.base import BaseCommand, CommandError

from wuye.core import clock
from wuye.demo import generate
from wuye.demo.orders import seed_demo_orders
from wuye.engagement.services import satisfaction_seed
from wuye.equipment.seed import seed_maintenance
from wuye.estates.models import Company
from wuye.inspections.seed import seed_inspections
from wuye.iot.services import seed_iot
from wuye.kpis.scale import owners_online
from wuye.kpis.services import rollup_rebuild, targets_seed
from wuye.staff.seed import seed_appraisal
from wuye.standards.services import seed_standards


class Command(BaseCommand):
    help = (
        "Create the demo company (two estates, ~2,000 rooms, 1,500 owners, ~40 staff, demo logins with password "
        f"'{generate.DEMO_PASSWORD}'), or with --scale N a large company of N estates for benchmarks. "
        "Running it again creates nothing new."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--scale",
            type=int,
            metavar="N",
            help="Create a separate company 'scale-N' with N estates of realistic sizes (300–3,000 rooms each).",
        )
        parser.add_argument(
            "--if-empty", action="store_true", help="Do nothing if the database already holds any company."
        )
        parser.add_argument("--no-progress", action="store_true", help="Do not show the progress bar.")

    def handle(self, *args, scale: int | None, if_empty: bool, no_progress: bool, verbosity: int, **options):
        if if_empty and Company.objects.exists():
            self.stdout.write("The database already holds data: not seeding demo data.")
            return
        if scale is not None and not 1 <= scale <= 1000:
            raise CommandError("--scale must be between 1 and 1000.")
        progress = verbosity >= 1 and not no_progress
        try:
            if scale is None:
                result = generate.seed_demo(progress=progress)
                if result.created:
                    estates = list(result.company.estates.order_by("id"))
                    # Service levels, the SOP library, plans and a played-out month of tasks (before the orders, so
                    # their SLA limits follow each estate's contracted level).
                    seed_standards(company=result.company, estates=estates, history_days=30)
                    seed_demo_orders(company=result.company, estate=estates[0])
                    # Last month played out, appraised, and one 服务之星 confirmed.
                    seed_appraisal(company=result.company, now=clock.now())
                    # Equipment, devices, alarm rules and a few alarm stories with their work orders (after the
                    # orders above, which are seeded only into an estate without any).
                    seed_iot(estates[0], now=clock.now())
                    # Maintenance plans for that equipment, with a played-out history (MTBF / MTTR have numbers).
                    seed_maintenance(estate=estates[0], now=clock.now())
                    # Routes with labels, rounds ahead and a month of patrols, inspections and spot checks (after
                    # the demo orders: their rectification orders are history, not the demo's story orders).
                    seed_inspections(company=result.company, estates=estates, history_days=30)
                    # A year of satisfaction surveys for the index, and the year's KPI targets (and last year's).
                    satisfaction_seed(estates=estates, now=clock.now())
                    for year in (clock.today().year - 1, clock.today().year):
                        targets_seed(company=result.company, year=year)
                    # About three residents in five have used the portal lately (online coverage has a figure), and
                    # the KPI rollups of all that history, so the dashboard has its figures at once (the
                    # scheduler's jobs keep them current from here).
                    owners_online(result.company)
                    rollup_rebuild(now=clock.now())
            else:
                result = generate.seed_scale(estate_count=scale, progress=progress)
        except generate.SeedConflict as conflict:
            raise CommandError(str(conflict)) from None
        if verbosity < 1:
            return
        if result.created:
            rate = result.rows / result.seconds if result.seconds else 0
            self.stdout.write(
                self.style.SUCCESS(
                    f"Created company {result.company.name} ({result.company.code}): {result.rows:,} rows "
                    f"in {result.seconds:.1f} s ({rate:,.0f} rows/s)."
                )
            )
        else:
            self.stdout.write(f"Company {result.company.name} ({result.company.code}) already exists: nothing created.")
        self._summary(result.company)
        if scale is None:
            self._logins()
        else:
            self.stdout.write(
                f"\n  Login: {generate.scale_company_code(scale)}-admin / {generate.DEMO_PASSWORD} "
                "(company administrator)"
            )

    def _summary(self, company: Company) -> None:
        counts = generate.company_counts(company, today=clock.today())
        width = max(len(name) for name in counts)
        self.stdout.write("")
        for name, count in counts.items():
            self.stdout.write(f"  {name:<{width}}  {count:>7,}")

    def _logins(self) -> None:
        logins = generate.demo_logins()
        if not logins:
            return
        self.stdout.write(f"\n  Demo accounts (password: {generate.DEMO_PASSWORD})")
        for username, description, where in logins:
            self.stdout.write(f"    {username:<11} {description:<22} {where}")
