"""`manage.py iot_rollup`: fold new readings into hourly rollups, then purge raw readings past retention.

    manage.py iot_rollup            # one pass (the scheduled task `iot.rollup` runs the same every 5 minutes)
    manage.py iot_rollup --loop 300 # a pass every 300 s until SIGTERM

A pass reads readings only up to the newest id the previous pass saw (see services.rollup_run), so run it at least
twice to fold everything stored just before.
"""

import signal
import threading

from django.core.management.base import BaseCommand
from django.db import close_old_connections

from wuye.core import clock
from wuye.iot import services


class Command(BaseCommand):
    help = "Fold new readings into hourly rollups and purge raw readings older than IOT_RAW_RETENTION_DAYS."

    def add_arguments(self, parser):
        parser.add_argument("--loop", type=float, default=None, help="Seconds between passes; omit for one pass")
        parser.add_argument("--no-purge", action="store_true", help="Only roll up")

    def handle(self, *args, **options):
        stop = threading.Event()
        if options["loop"]:
            signal.signal(signal.SIGTERM, lambda *_: stop.set())
            signal.signal(signal.SIGINT, lambda *_: stop.set())
        while True:
            folded = services.rollup_run()
            purged = 0 if options["no_purge"] else services.raw_purge(now=clock.now())
            self.stdout.write(f"iot_rollup: folded {folded} readings, purged {purged}")
            close_old_connections()
            if not options["loop"] or stop.wait(options["loop"]):
                break
