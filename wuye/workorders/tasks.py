from django_tasks import task

from wuye.core import clock

from . import services


@task()
def sla_scan() -> dict:
    warnings, escalations = services.sla_scan(now=clock.now())
    return {"warnings": warnings, "escalations": escalations}


@task()
def auto_close() -> int:
    return services.auto_close_unrated(now=clock.now())
