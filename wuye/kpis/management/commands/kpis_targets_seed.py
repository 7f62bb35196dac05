"""`manage.py kpis_targets_seed [--year Y] [--company CODE]`: give companies the default KPI targets for a year
(existing targets are kept): run it after `seed_demo` to give the demo company its targets."""

from django.core.management.base import BaseCommand, CommandError

from wuye.core import clock
from wuye.estates.models import Company
from wuye.kpis import services


class Command(BaseCommand):
    help = "Seed the default yearly KPI targets for every company (or one)."

    def add_arguments(self, parser):
        parser.add_argument("--year", type=int, help="Year (default: this year).")
        parser.add_argument("--company", help="Company code (default: every active company).")

    def handle(self, *args, year: int | None, company: str | None, **options):
        year = year or clock.today().year
        companies = Company.objects.filter(is_active=True)
        if company:
            companies = companies.filter(code=company)
            if not companies.exists():
                raise CommandError(f"No active company with code {company!r}.")
        for each in companies.order_by("id"):
            created = services.targets_seed(company=each, year=year)
            self.stdout.write(f"{each.code}: {created} targets created for {year}.")
