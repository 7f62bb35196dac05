import logging
import os
import signal
import socket
import threading

from django.core.management.base import BaseCommand
from django.db import DatabaseError, close_old_connections

from wuye.core import clock
from wuye.notifications import services

logger = logging.getLogger(__name__)


class DeliveryLoop:
    """Delivers outbox messages batch by batch until stopped. Any number of loops may run on any number of
    machines: each message is claimed by one of them (see services.outbox_deliver_batch)."""

    def __init__(self, *, worker_id: str, limit: int, idle_seconds: float, stdout=None):
        self.worker_id = worker_id
        self.limit = limit
        self.idle_seconds = idle_seconds
        self.stdout = stdout
        self.stop_event = threading.Event()

    def stop(self, *_args) -> None:
        self.stop_event.set()

    def run_once(self) -> int:
        return services.outbox_deliver_batch(now=clock.now(), worker_id=self.worker_id, limit=self.limit)

    def run(self) -> None:
        while not self.stop_event.is_set():
            close_old_connections()
            try:
                handled = self.run_once()
            except DatabaseError:
                # The database went away (restart, failover): drop the connection, wait, and reconnect next time.
                logger.exception("deliver_outbox: database error; retrying in %s s", self.idle_seconds)
                close_old_connections()
                self.stop_event.wait(self.idle_seconds)
                continue
            close_old_connections()
            if handled and self.stdout:
                self.stdout.write(f"deliver_outbox: handled {handled} message(s)")
            if handled < self.limit:
                self.stop_event.wait(self.idle_seconds)


class Command(BaseCommand):
    help = "Deliver outbox messages (SMS, WeChat) until stopped. Stops cleanly on SIGTERM; --once runs one batch."

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true", help="Deliver one batch and exit.")
        parser.add_argument("--limit", type=int, default=50, help="Messages per batch (default 50).")
        parser.add_argument(
            "--idle-seconds", type=float, default=5.0, help="Wait this long when nothing is due (default 5)."
        )

    def handle(self, *args, once: bool = False, limit: int = 50, idle_seconds: float = 5.0, **options):
        loop = DeliveryLoop(
            worker_id=f"{socket.gethostname()}:{os.getpid()}",
            limit=max(1, limit),
            idle_seconds=max(0.1, idle_seconds),
            stdout=self.stdout,
        )
        if once:
            self.stdout.write(f"handled {loop.run_once()} message(s)")
            return
        signal.signal(signal.SIGTERM, loop.stop)
        signal.signal(signal.SIGINT, loop.stop)
        loop.run()
