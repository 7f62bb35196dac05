from django_tasks import task

from wuye.core import clock

from . import services

# Batches per run of the closer: one run keeps up with a backlog (the scheduler was down) without holding a
# transaction open for long; the rest waits for the next run a minute later.
CLOSE_BATCHES_PER_RUN = 20


@task()
def generate_rounds() -> int:
    return services.rounds_generate(now=clock.now())


@task()
def close_rounds() -> int:
    closed = 0
    for _batch in range(CLOSE_BATCHES_PER_RUN):
        done = services.rounds_close(now=clock.now())
        closed += done
        if done == 0:
            break
    return closed


@task()
def sync_rectifications() -> int:
    return services.rectifications_sync(now=clock.now())
