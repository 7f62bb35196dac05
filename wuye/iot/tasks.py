from django_tasks import task

from wuye.core import clock

from . import services


@task()
def rollup() -> dict:
    """Fold new readings into hourly rollups, then purge raw readings past IOT_RAW_RETENTION_DAYS."""
    folded = services.rollup_run()
    return {"folded": folded, "purged": services.raw_purge(now=clock.now())}


@task()
def tick() -> int:
    """No-data and quiet-repeat alarms for estates whose readings come over HTTP only (iot_ingest ticks as well)."""
    return services.engines_tick(now=clock.now())


@task()
def alarms_scan() -> dict:
    """Escalate unacknowledged alarms that are due; open the missing work orders of critical alarms."""
    return services.alarms_scan(now=clock.now())
