"""`make run`'s server: the web server plus, in the same process, one task worker and the scheduler loop.

This is the embedded default (SQLite, one machine). In production run the three as separate processes, as many
as needed: gunicorn for the web, `manage.py db_worker` for tasks, `manage.py run_scheduler` for periodic jobs
(docs/deploy.md).
"""

import threading
import uuid

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand
from django_tasks_db.management.commands.db_worker import Worker

from wuye.core.management.commands.run_scheduler import SchedulerLoop

DEMO_ESTATE = "cuihu-garden"
DEMO_LOGINS = """
  wuye is running at http://127.0.0.1:{port}/
  Demo accounts (password: wuye-demo)
    owner, owner2   owners in the first estate     -> /portal/
    service         customer service               -> /desk/
    tech, tech2     technicians                    -> /desk/
    guard           security guard                 -> /desk/
    supervisor      supervisor                     -> /desk/
    manager         project manager                -> /desk/
    admin           company administrator          -> /desk/ and /admin/
  API docs: http://127.0.0.1:{port}/api/v1/docs
"""


class Command(BaseCommand):
    help = "Run the web server with an in-process task worker and scheduler (the embedded defaults)."

    def add_arguments(self, parser):
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--host", default="127.0.0.1")

    def handle(self, *args, port: int, host: str, **options):
        worker = Worker(
            queue_names=list(settings.TASKS["default"].get("QUEUES") or ["default"]),
            interval=1.0,
            batch=False,
            backend_name="default",
            startup_delay=False,
            max_tasks=None,
            worker_id=f"serve-{uuid.uuid4().hex[:8]}",
            excluded_queue_names=[],
        )
        scheduler = SchedulerLoop()
        threading.Thread(target=worker.run, name="wuye-worker", daemon=True).start()
        threading.Thread(target=scheduler.run, name="wuye-scheduler", daemon=True).start()
        feed_stop = threading.Event()
        self.stdout.write(DEMO_LOGINS.format(port=port))
        if getattr(settings, "IOT_DEMO_FEED", False):
            self._start_demo_feed(feed_stop)
        try:
            call_command("runserver", f"{host}:{port}", use_reloader=False, use_threading=True)
        finally:
            feed_stop.set()
            worker.running = False
            scheduler.stop()

    def _start_demo_feed(self, stop: threading.Event) -> None:
        # Imported here: only `make run` feeds devices.
        from wuye.estates.models import Estate
        from wuye.iot.management.commands.iot_simulate import feed_in_process
        from wuye.iot.models import Device

        estate = Estate.objects.filter(code=DEMO_ESTATE).first()
        if estate is None or not Device.objects.filter(estate=estate, is_active=True).exists():
            return
        threading.Thread(target=feed_in_process, args=(estate, stop), name="wuye-demo-feed", daemon=True).start()
        self.stdout.write(f"  Demo devices of {estate.name} report every 10 s (IOT_DEMO_FEED=false to stop)\n")
