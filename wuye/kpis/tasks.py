from django_tasks import task

from wuye.core import clock

from . import services


@task()
def rollup() -> dict:
    result = services.rollup_run(now=clock.now())
    return {"events": result.events, "days": result.days, "more": result.more}


@task()
def rollup_settle() -> int:
    return services.rollup_settle(now=clock.now())
