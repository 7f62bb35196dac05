"""Settings shared by every environment. Values that vary come from the environment via config.env."""

from pathlib import Path

import dj_database_url
from django.utils.translation import gettext_lazy as _

from config.env import env_bool, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent.parent

SECRET_KEY = env_str("SECRET_KEY", "insecure-local-development-key-change-me")
DEBUG = False
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost"])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_htmx",
    "ninja",
    "django_tasks",
    "django_tasks_db",
    "wuye.core",
    "wuye.estates",
    "wuye.accounts",
    "wuye.staff",
    "wuye.notifications",
    "wuye.workorders",
    "wuye.dispatch",
    "wuye.standards",
    "wuye.inspections",
    "wuye.equipment",
    "wuye.iot",
    "wuye.engagement",
    "wuye.kpis",
    "wuye.portal",
    "wuye.desk",
    "wuye.demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "wuye.core.middleware.ChineseFirstLocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
                "wuye.notifications.context_processors.unread",
            ],
        },
    },
]

# SQLite is the zero-setup default; DATABASE_URL (postgres://...) switches to PostgreSQL.
# On SQLite: WAL so readers never block the writer, synchronous=FULL so a committed transaction survives a power
# cut, and IMMEDIATE transactions so a transaction that will write takes the write lock up front instead of failing
# with "database is locked" half-way through.
DATABASE_URL = env_str("DATABASE_URL", f"sqlite:///{BASE_DIR / 'var' / 'wuye.sqlite3'}")
DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=env_int("DB_CONN_MAX_AGE", 0))}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;",
    }
    Path(DATABASES["default"]["NAME"]).parent.mkdir(parents=True, exist_ok=True)

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = ["wuye.accounts.backends.PhoneOrUsernameBackend"]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "accounts:login"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# Sessions live in the database so any number of identical web processes can serve a user.
SESSION_ENGINE = "django.contrib.sessions.backends.db"
SESSION_COOKIE_AGE = 60 * 60 * 24 * 14

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", _("Simplified Chinese")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
# Front-end libraries come from npm (package-lock.json) and are served from node_modules: nothing from a CDN,
# nothing third-party committed. Each entry is a library's own dist folder under a stable prefix.
STATICFILES_DIRS = [
    BASE_DIR / "static",
    ("vendor/bootstrap", BASE_DIR / "node_modules" / "bootstrap" / "dist"),
    ("vendor/echarts", BASE_DIR / "node_modules" / "echarts" / "dist"),
    ("vendor/jsqr", BASE_DIR / "node_modules" / "jsqr" / "dist"),
]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
MEDIA_ROOT = BASE_DIR / "var" / "media"
MEDIA_URL = "/media/"

# Background work: Django's Tasks API with the database backend; `db_worker` processes claim tasks (SKIP LOCKED on
# PostgreSQL), so any number of them may run on any number of machines.
TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}}

CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# Notification channels beyond the in-app inbox: channel name -> class (wuye.notifications.channels.Channel). The
# local classes record what would have been sent; a real SMS gateway or WeChat official-account sender plugs in here.
NOTIFICATION_CHANNELS = {
    "sms": "wuye.notifications.channels.LocalSmsChannel",
    "wechat": "wuye.notifications.channels.LocalWeChatChannel",
}

# Sign-in throttling: this many failures for one account or one address within the window locks further tries.
LOGIN_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 5)
LOGIN_FAILURE_WINDOW_SECONDS = env_int("LOGIN_FAILURE_WINDOW_SECONDS", 15 * 60)
API_TOKEN_TTL_DAYS = env_int("API_TOKEN_TTL_DAYS", 30)

# Ledger imports: a bound on what one upload may hold, so a huge file fails fast with a clear message.
LEDGER_IMPORT_MAX_ROWS = env_int("LEDGER_IMPORT_MAX_ROWS", 50_000)
LEDGER_IMPORT_MAX_BYTES = env_int("LEDGER_IMPORT_MAX_BYTES", 10 * 1024 * 1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = 12 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 12 * 1024 * 1024

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

# Work orders: an order the owner has not rated this many days after it was resolved is closed automatically.
WORKORDER_AUTO_CLOSE_DAYS = env_int("WORKORDER_AUTO_CLOSE_DAYS", 3)

# `manage.py serve` (make run) feeds the demo estate's devices with simulated readings in-process, so the demo has
# live charts and the odd alarm without a broker (config.settings.local turns it on).
IOT_DEMO_FEED = env_bool("IOT_DEMO_FEED", False)

# IoT alarms (docs/iot.md): minutes after an alarm is raised at which, while nobody has acknowledged it, the assignee
# (or grid leader), then the supervisors, then the project managers are told, per severity; a rule may set its own.
IOT_ALARM_ESCALATION_MINUTES = {"critical": [5, 15, 30], "major": [15, 60, 240], "minor": [60, 240, 720], "warning": []}
# Alarms of these severities open an emergency work order of kind "alarm" ...
IOT_ALARM_ORDER_SEVERITIES = ["critical"]
# ... in this work-order category (catalogue code) by equipment category; "other" for anything not listed.
IOT_ALARM_ORDER_CATEGORIES = {
    "lift": "lift",
    "water_pump": "plumbing",
    "water_tank": "plumbing",
    "drainage": "plumbing",
    "fire_system": "fire",
    "generator": "electrical",
    "power_distribution": "electrical",
    "lighting": "electrical",
    "access_control": "access",
    "gate": "access",
    "cctv": "security",
}
