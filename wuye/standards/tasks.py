from django_tasks import task

from wuye.core import clock

from . import services


@task()
def generate_tasks() -> int:
    return services.tasks_generate(now=clock.now())


@task()
def close_windows() -> dict:
    late, missed = services.tasks_close_windows(now=clock.now())
    return {"late": late, "missed": missed}


@task()
def activate_profiles() -> int:
    return services.profiles_activate_due(now=clock.now())
