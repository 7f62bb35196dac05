from django_tasks import task

from wuye.core import clock

from . import services


@task()
def appraisal_monthly() -> int:
    """Appraise last month in every estate not yet appraised (cheap when all are done: enqueued hourly)."""
    return services.appraisal_run_due(now=clock.now())


@task()
def accountability_scan() -> int:
    return services.accountability_scan(now=clock.now())
