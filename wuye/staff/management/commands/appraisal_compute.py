"""`manage.py appraisal_compute`: appraise a month now. Without options it does what the monthly job does (last
month, every estate not yet appraised); with --month (and --estate) it recomputes that month, replacing its scores
but keeping a decided 服务之星."""

from django.core.management.base import BaseCommand, CommandError

from wuye.core import clock
from wuye.core.errors import ValidationFailed
from wuye.estates.models import Estate
from wuye.staff import selectors, services


class Command(BaseCommand):
    help = "Compute the monthly staff appraisal (last month by default) and nominate each estate's 服务之星."

    def add_arguments(self, parser):
        parser.add_argument("--month", help="The month to (re)compute, YYYY-MM.")
        parser.add_argument("--estate", type=int, help="Only this estate (with --month).")

    def handle(self, *args, month: str | None, estate: int | None, **options):
        now = clock.now()
        if month is None:
            if estate is not None:
                raise CommandError("--estate needs --month.")
            self.stdout.write(f"Appraised {services.appraisal_run_due(now=now)} estates.")
            return
        try:
            first = selectors.parse_month(month)
        except ValidationFailed as error:
            raise CommandError(error.message) from None
        estates = Estate.objects.filter(is_active=True).order_by("id")
        if estate is not None:
            estates = estates.filter(pk=estate)
            if not estates.exists():
                raise CommandError(f"No active estate {estate}.")
        for item in estates:
            scored = services.appraisal_compute(estate=item, month=first, now=now)
            self.stdout.write(f"{item.name} {first:%Y-%m}: {scored} people scored.")
