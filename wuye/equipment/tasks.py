from django_tasks import task

from wuye.core import clock

from . import services


@task()
def run_plans() -> int:
    return services.plans_run(now=clock.now())
