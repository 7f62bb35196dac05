"""Settings for the work-order benchmark's server: production-like (no DEBUG), plus a trivial insert endpoint."""

from config.settings.base import *  # noqa: F403

DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
ROOT_URLCONF = "bench.bench_urls"
TASKS = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend", "QUEUES": ["default"]}}
LOGGING = {"version": 1, "disable_existing_loggers": False, "root": {"level": "WARNING"}}
# Persistent connections, as production runs (config.settings.production): a per-request connection would add the
# same few milliseconds to both endpoints and hide what the work-order logic costs.
DATABASES["default"]["CONN_MAX_AGE"] = 60  # noqa: F405
