from django_tasks import task

from wuye.core import clock

from . import services


@task()
def prune_credentials() -> dict:
    tokens, failures = services.credentials_prune(now=clock.now())
    return {"tokens": tokens, "failures": failures}
