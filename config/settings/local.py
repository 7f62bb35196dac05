"""The embedded defaults `make run` uses: SQLite, one process with an in-process worker and scheduler."""

from config.env import env_bool

from .base import *  # noqa: F403

DEBUG = env_bool("DEBUG", True)
# Serve static files straight from the finders so `make run` needs no collectstatic step.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG
# Simulated readings for the demo estate's devices, stored by the server process itself (docs/iot.md).
IOT_DEMO_FEED = env_bool("IOT_DEMO_FEED", True)
