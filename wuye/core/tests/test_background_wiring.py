"""The background machinery `make run` and production rely on: the database task queue and the scheduler command."""

import pytest
from django.core.management import call_command
from django_tasks import task
from django_tasks.base import TaskResultStatus

from wuye.core import scheduler
from wuye.core.models import PeriodicJobState

DB_TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}}


@task()
def add(a: int, b: int) -> int:
    return a + b


@pytest.fixture
def database_queue(settings):
    # django_tasks resets its backend handler on setting_changed, which the settings fixture sends.
    settings.TASKS = DB_TASKS


@pytest.mark.django_db(transaction=True)
def test_a_task_enqueued_in_the_database_is_run_by_db_worker(database_queue):
    result = add.enqueue(2, 3)
    assert result.status == TaskResultStatus.READY
    call_command("db_worker", "--batch", "--interval", "0", "--no-startup-delay")
    result.refresh()
    assert result.status == TaskResultStatus.SUCCESSFUL
    assert result.return_value == 5


@pytest.mark.django_db(transaction=True)
def test_run_scheduler_once_enqueues_the_registered_jobs_for_the_worker(database_queue, capsys):
    jobs = len(scheduler.registered_jobs())
    call_command("run_scheduler", "--once")
    assert f"enqueued {jobs} job(s)" in capsys.readouterr().out
    assert PeriodicJobState.objects.get(name="accounts.prune_credentials").runs == 1
    call_command("run_scheduler", "--once")
    assert "enqueued 0 job(s)" in capsys.readouterr().out
    from django_tasks_db.models import DBTaskResult

    assert DBTaskResult.objects.count() == jobs
    call_command("db_worker", "--batch", "--interval", "0", "--no-startup-delay")
    assert set(DBTaskResult.objects.values_list("status", flat=True)) == {TaskResultStatus.SUCCESSFUL}
