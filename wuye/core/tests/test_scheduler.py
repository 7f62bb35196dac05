"""The periodic-job scheduler: a due job is enqueued exactly once, however many schedulers run."""

import datetime as dt
import threading

import pytest
from django.db import close_old_connections
from django_tasks import task

from wuye.core import scheduler
from wuye.core.models import PeriodicJobState

RUNS: list[str] = []


@task()
def record_run() -> None:
    RUNS.append("ran")


NOW = dt.datetime(2026, 11, 27, 8, 0, tzinfo=dt.UTC)


@pytest.fixture
def job(monkeypatch):
    monkeypatch.setattr(scheduler, "_registry", {})
    scheduler.register("test.record", every=dt.timedelta(minutes=10), task=record_run)
    RUNS.clear()
    return scheduler.registered_jobs()[0]


@pytest.mark.django_db
def test_a_due_job_is_enqueued_once_and_then_not_until_its_interval_passes(job, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        assert scheduler.run_due_jobs(NOW) == 1
        assert scheduler.run_due_jobs(NOW + dt.timedelta(minutes=9)) == 0
        assert scheduler.run_due_jobs(NOW + dt.timedelta(minutes=10)) == 1
    assert RUNS == ["ran", "ran"]
    state = PeriodicJobState.objects.get(name="test.record")
    assert state.runs == 2
    assert state.next_run_at == NOW + dt.timedelta(minutes=20)


@pytest.mark.django_db
def test_a_scheduler_that_was_down_runs_a_missed_job_once_not_once_per_interval(
    job, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        scheduler.run_due_jobs(NOW)
        assert scheduler.run_due_jobs(NOW + dt.timedelta(hours=5)) == 1
        assert scheduler.run_due_jobs(NOW + dt.timedelta(hours=5, minutes=1)) == 0
    assert len(RUNS) == 2


@pytest.mark.django_db(transaction=True)
def test_two_schedulers_at_the_same_moment_enqueue_the_job_once(job):
    PeriodicJobState.objects.create(name="test.record", next_run_at=NOW)
    results = []
    barrier = threading.Barrier(4)

    def one_scheduler():
        try:
            barrier.wait()
            results.append(scheduler.claim_and_enqueue(job, NOW))
        finally:
            close_old_connections()

    threads = [threading.Thread(target=one_scheduler) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [False, False, False, True]
    assert PeriodicJobState.objects.get(name="test.record").runs == 1


def test_register_refuses_a_non_positive_interval():
    with pytest.raises(ValueError, match="positive"):
        scheduler.register("bad", every=dt.timedelta(0), task=record_run)


def test_the_foundation_registers_its_housekeeping_job():
    from wuye.core.scheduler import _registry

    assert "accounts.prune_credentials" in _registry
