import os
import socket

from django_tasks import task

from wuye.core import clock

from . import services

BATCH_SIZE = 50
# One run delivers at most this many batches, so a backlog is worked off without one task running for ever.
MAX_BATCHES_PER_RUN = 20


@task()
def deliver_outbox() -> dict:
    """Deliver due outbox messages (enqueued every 30 seconds by the scheduler)."""
    worker_id = f"task:{socket.gethostname()}:{os.getpid()}"
    handled = 0
    for _batch in range(MAX_BATCHES_PER_RUN):
        count = services.outbox_deliver_batch(now=clock.now(), worker_id=worker_id, limit=BATCH_SIZE)
        handled += count
        if count < BATCH_SIZE:
            break
    return {"handled": handled}
