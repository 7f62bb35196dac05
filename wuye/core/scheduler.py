"""Periodic jobs: apps register them in `AppConfig.ready()`; the scheduler loop enqueues each when it is due.

    from wuye.core import scheduler
    scheduler.register("accounts.prune_credentials", every=timedelta(hours=1), task=prune_credentials)

The loop never runs job code itself: it enqueues the job's task, and a worker runs it. A due run is claimed with a
conditional UPDATE on `PeriodicJobState.next_run_at`, so several scheduler processes (on several machines) enqueue
each run exactly once. A job that is late (the scheduler was down) runs once, not once per missed interval.
"""

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F

from wuye.core.models import PeriodicJobState


@dataclass(frozen=True)
class PeriodicJob:
    name: str
    every: dt.timedelta
    task: Any  # a django_tasks Task


_registry: dict[str, PeriodicJob] = {}


def register(name: str, *, every: dt.timedelta, task: Any) -> None:
    if every <= dt.timedelta(0):
        raise ValueError("A periodic job needs a positive interval.")
    _registry[name] = PeriodicJob(name=name, every=every, task=task)


def registered_jobs() -> list[PeriodicJob]:
    return sorted(_registry.values(), key=lambda job: job.name)


def _ensure_state(job: PeriodicJob, now: dt.datetime) -> None:
    if PeriodicJobState.objects.filter(name=job.name).exists():
        return
    try:
        with transaction.atomic():
            PeriodicJobState.objects.create(name=job.name, next_run_at=now)
    except IntegrityError:
        pass  # another scheduler created it first


def claim_and_enqueue(job: PeriodicJob, now: dt.datetime) -> bool:
    """Enqueue `job` if it is due and this caller wins the claim; return whether it did."""
    _ensure_state(job, now)
    with transaction.atomic():
        claimed = PeriodicJobState.objects.filter(name=job.name, next_run_at__lte=now).update(
            next_run_at=now + job.every, last_enqueued_at=now
        )
        if claimed != 1:
            return False
        PeriodicJobState.objects.filter(name=job.name).update(runs=F("runs") + 1)
        transaction.on_commit(job.task.enqueue)
    return True


def run_due_jobs(now: dt.datetime) -> int:
    """One pass of the scheduler: enqueue every due job this caller claims. Returns how many it enqueued."""
    return sum(claim_and_enqueue(job, now) for job in registered_jobs())


def seconds_until_next_due(now: dt.datetime, ceiling: float = 30.0) -> float:
    next_due = PeriodicJobState.objects.filter(name__in=list(_registry)).order_by("next_run_at").first()
    if next_due is None:
        return ceiling
    return max(0.5, min(ceiling, (next_due.next_run_at - now).total_seconds()))
