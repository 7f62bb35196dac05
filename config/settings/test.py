"""Settings for the test suite: the same code, faster password hashing, tasks run in-line."""

from .base import *  # noqa: F403

DEBUG = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.InMemoryStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend", "QUEUES": ["default"]}}
LOGGING = {"version": 1, "disable_existing_loggers": False, "root": {"level": "WARNING"}}

import os  # noqa: E402

from .base import DATABASES  # noqa: E402

# Durability is not what the suite tests: a commit need not wait for the disk. Locking, isolation and constraints —
# what the concurrency tests rely on — are unchanged.
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    DATABASES["default"].setdefault("OPTIONS", {})["options"] = "-c synchronous_commit=off"
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["OPTIONS"]["init_command"] = DATABASES["default"]["OPTIONS"]["init_command"].replace(
        "synchronous=FULL", "synchronous=NORMAL"
    )
    # A file, not the in-memory default: shared-cache memory databases lock whole tables and ignore the busy
    # timeout, so concurrency tests would test SQLite's test mode instead of the WAL + IMMEDIATE setup users run.
    # WUYE_TEST_DB gives a checkout's parallel runs separate files.
    DATABASES["default"]["TEST"] = {
        "NAME": os.environ.get("WUYE_TEST_DB") or str(BASE_DIR / "var" / "test-wuye.sqlite3")  # noqa: F405
    }
