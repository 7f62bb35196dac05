"""Benchmark of the foundation: how fast demo data is written, and how fast (and in how many SQL queries) the first
API endpoints and pages answer on a realistically sized database.

Run from the project root:  .venv/bin/python bench/bench_foundation.py  [--requests 200] [--keep-db]

Without DATABASE_URL it works on a throwaway SQLite file under /tmp, deleted afterwards; with DATABASE_URL it uses
that database (seeding is idempotent, so a second run there measures requests only). Figures are printed, nothing is
asserted: compare them between commits.
"""

import argparse
import os
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
parser.add_argument("--requests", type=int, default=200, help="timed requests per endpoint (default 200)")
parser.add_argument("--scale", type=int, default=10, help="estates in the large company (default 10)")
parser.add_argument("--keep-db", action="store_true", help="keep the throwaway SQLite file")
ARGS = parser.parse_args()

# Settings are read from the environment when Django starts, so everything is decided before django.setup().
os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings.local"
os.environ.setdefault("DEBUG", "false")  # production-like: no debug toolbar of queries kept in memory
os.environ.setdefault("LOG_LEVEL", "WARNING")
THROWAWAY_DB = None
if "DATABASE_URL" not in os.environ:
    THROWAWAY_DB = Path(tempfile.gettempdir()) / f"wuye-bench-{os.getpid()}.sqlite3"
    os.environ["DATABASE_URL"] = f"sqlite:///{THROWAWAY_DB}"

import django  # noqa: E402

# WhiteNoise warns once that STATIC_ROOT is empty: the bench serves no static files, so it does not matter here.
warnings.filterwarnings("ignore", message="No directory at", category=UserWarning)

django.setup()

from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from wuye.accounts.models import User  # noqa: E402
from wuye.demo import generate  # noqa: E402
from wuye.estates.models import Company, Estate  # noqa: E402

# django.test.Client sends Host: testserver.
if "testserver" not in settings.ALLOWED_HOSTS:
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]


def row_count() -> int:
    return sum(model.objects.count() for model in generate.WRITE_ORDER)


def timed_seed(label: str, *args: str) -> None:
    before = row_count()
    started = time.perf_counter()
    call_command("seed_demo", *args, verbosity=0)
    seconds = time.perf_counter() - started
    rows = row_count() - before
    if rows:
        print(f"  {label:<28} {rows:>8,} rows  {seconds:6.2f} s  {rows / seconds:>9,.0f} rows/s")
    else:
        print(f"  {label:<28} already present: nothing written ({seconds:.2f} s)")


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def measure(client: Client, method: str, path: str, count: int, **kwargs) -> tuple[list[float], list[int]]:
    """Latencies (ms) of `count` requests after a short warm-up, and the query counts of three captured ones."""
    send = getattr(client, method)
    for _ in range(3):
        response = send(path, **kwargs)
        if response.status_code != 200:
            raise SystemExit(f"{method.upper()} {path} answered {response.status_code}: {response.content[:300]!r}")
    latencies = []
    for _ in range(count):
        started = time.perf_counter()
        send(path, **kwargs)
        latencies.append((time.perf_counter() - started) * 1000)
    queries = []
    for _ in range(3):
        with CaptureQueriesContext(connection) as captured:
            send(path, **kwargs)
        queries.append(len(captured.captured_queries))
    return latencies, queries


def token_for(client: Client, username: str) -> str:
    response = client.post(
        "/api/v1/auth/token",
        {"username": username, "password": generate.DEMO_PASSWORD},
        content_type="application/json",
    )
    if response.status_code != 200:
        raise SystemExit(f"Sign-in as {username} failed: {response.status_code} {response.content[:300]!r}")
    return response.json()["token"]


def main() -> None:
    engine = settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1]
    print(f"wuye foundation benchmark — Django {django.get_version()}, {engine}, DEBUG={settings.DEBUG}")
    print(f"  database: {THROWAWAY_DB or 'DATABASE_URL'}\n")

    started = time.perf_counter()
    call_command("migrate", verbosity=0)
    print(f"  {'migrate':<28} {time.perf_counter() - started:6.2f} s")
    timed_seed("seed_demo", "--no-progress")
    timed_seed(f"seed_demo --scale {ARGS.scale}", "--scale", str(ARGS.scale), "--no-progress")
    print(
        f"  database now holds {Company.objects.count()} companies, {Estate.objects.count()} estates, "
        f"{User.objects.count():,} users\n"
    )

    estate = Estate.objects.get(company__code=generate.DEMO_COMPANY_CODE, code=generate.DEMO_ESTATES[0].code)
    scale_admin = f"{generate.scale_company_code(ARGS.scale)}-admin"
    owner_phone = User.objects.get(username="owner").phone

    api = Client()
    started = time.perf_counter()
    supervisor_token = token_for(api, "supervisor")
    sign_in_ms = (time.perf_counter() - started) * 1000
    admin_token = token_for(api, scale_admin)
    supervisor = {"headers": {"Authorization": f"Bearer {supervisor_token}"}}
    large_admin = {"headers": {"Authorization": f"Bearer {admin_token}"}}
    desk = Client()
    desk.force_login(User.objects.get(username="supervisor"))
    portal = Client()
    portal.force_login(User.objects.get(username="owner"))

    rooms_by_phone = f"/api/v1/estates/{estate.id}/rooms?q={owner_phone}"
    many, few = ARGS.requests, max(10, ARGS.requests // 4)
    # (label, client, path, request options, how many timed requests): the slow large-company case gets fewer.
    cases = [
        ("GET /api/v1/me", api, "/api/v1/me", supervisor, many),
        ("GET /api/v1/estates", api, "/api/v1/estates", supervisor, many),
        ("GET /api/v1/estates/{id}/rooms?q=<phone>", api, rooms_by_phone, supervisor, many),
        (f"GET /api/v1/estates (admin of {ARGS.scale} estates)", api, "/api/v1/estates", large_admin, few),
        ("GET /desk/", desk, "/desk/", {}, many),
        ("GET /desk/estates/{id}/", desk, f"/desk/estates/{estate.id}/", {}, many),
        ("GET /portal/", portal, "/portal/", {}, many),
    ]
    sign_in_label = "POST /api/v1/auth/token (hashes a password)"
    width = max(len(label) for label in [sign_in_label, *(case[0] for case in cases)])

    def table_row(*cells: str) -> None:
        label, *numbers = cells
        print(f"  {label:<{width}}" + "".join(f"  {cell:>7}" for cell in numbers))

    table_row("request", "n", "p50 ms", "p90 ms", "max ms", "queries")
    print("  " + "-" * (width + 6 * 9))
    table_row(sign_in_label, "1", f"{sign_in_ms:.1f}", "", "", "")
    for label, client, path, kwargs, count in cases:
        latencies, queries = measure(client, "get", path, count, **kwargs)
        table_row(
            label,
            str(len(latencies)),
            f"{statistics.median(latencies):.1f}",
            f"{percentile(latencies, 0.9):.1f}",
            f"{max(latencies):.1f}",
            str(queries[0]) if min(queries) == max(queries) else f"{min(queries)}–{max(queries)}",
        )
    conn_max_age = settings.DATABASES["default"].get("CONN_MAX_AGE", 0)
    print("\n  Measured in-process with django.test.Client: no network and no web server.")
    print(f"  DB_CONN_MAX_AGE={conn_max_age} (0, the default, opens a database connection per request).")


if __name__ == "__main__":
    try:
        main()
    finally:
        if THROWAWAY_DB is not None and not ARGS.keep_db:
            connection.close()
            for suffix in ("", "-wal", "-shm"):
                Path(f"{THROWAWAY_DB}{suffix}").unlink(missing_ok=True)
        elif THROWAWAY_DB is not None:
            print(f"\n  kept {THROWAWAY_DB}")
