from django_tasks import task

from wuye.core import clock

from . import services


@task()
def dispatch_replan(estate_id: int) -> int:
    return services.dispatch_replan(estate_id=estate_id, now=clock.now())


@task()
def dispatch_replan_all() -> int:
    return services.dispatch_replan_all(now=clock.now())
