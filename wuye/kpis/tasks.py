from django_tasks import task

from wuye.core import clock

from . import service_rollup, services


@task()
def rollup() -> dict:
    result = services.rollup_run(now=clock.now())
    return {"events": result.events, "days": result.days, "more": result.more}


@task()
def rollup_settle() -> int:
    return services.rollup_settle(now=clock.now())


@task()
def service_rollup_run() -> dict:
    result = service_rollup.rollup_run(now=clock.now())
    return {"days": result.days, "rows": result.rows, "busy": result.busy}


@task()
def service_rollup_settle() -> dict:
    result = service_rollup.rollup_settle(now=clock.now())
    return {"days": result.days, "rows": result.rows, "busy": result.busy}
