import signal
import threading

from django.core.management.base import BaseCommand
from django.db import close_old_connections

from wuye.core import clock, scheduler


class SchedulerLoop:
    """Enqueues due periodic jobs until stopped. Safe to run on several machines at once (see wuye.core.scheduler)."""

    def __init__(self, stdout=None):
        self.stop_event = threading.Event()
        self.stdout = stdout

    def stop(self, *_args) -> None:
        self.stop_event.set()

    def run(self) -> None:
        while not self.stop_event.is_set():
            close_old_connections()
            enqueued = scheduler.run_due_jobs(clock.now())
            if enqueued and self.stdout:
                self.stdout.write(f"scheduler: enqueued {enqueued} job(s)")
            wait = scheduler.seconds_until_next_due(clock.now())
            close_old_connections()
            self.stop_event.wait(wait)


class Command(BaseCommand):
    help = "Run the periodic-job scheduler loop (enqueues due jobs for db_worker). Stops cleanly on SIGTERM."

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true", help="Run one pass and exit.")

    def handle(self, *args, once: bool = False, **options):
        if once:
            count = scheduler.run_due_jobs(clock.now())
            self.stdout.write(f"enqueued {count} job(s)")
            return
        loop = SchedulerLoop(stdout=self.stdout)
        signal.signal(signal.SIGTERM, loop.stop)
        signal.signal(signal.SIGINT, loop.stop)
        self.stdout.write(f"scheduler: {len(scheduler.registered_jobs())} periodic job(s) registered")
        loop.run()
