"""Work-order create throughput on PostgreSQL: the full create (permission checks, validation, classification by
category and priority, number, SLA clocks from the estate's business calendar, event row, the full order as the
answer) through the real API, beside a trivial authenticated one-row insert, at 1, 8 and 32 concurrent clients,
against gunicorn on this machine. Prints throughput, p50/p95 and the cost ratio. (A submitted order notifies nobody
yet — owners hear from acceptance on — so the create writes no outbox row.)

    .venv/bin/python bench/bench_workorders.py [--requests 320] [--workers 4] [--connections both]

Uses DATABASE_URL when set, else a throwaway database `wuye_bench` on postgres://postgres@127.0.0.1:5432. Runs the
server with persistent database connections (CONN_MAX_AGE 60, as production) and then with one connection per
request (CONN_MAX_AGE 0), unless --connections names one. Before the timed runs it counts the SQL queries one request
of each endpoint makes (in-process, warm), which do not vary from run to run as timings do.
"""

import argparse
import http.client
import json
import os
import signal
import statistics
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def count_queries(tokens: list[str], bodies: list[dict]) -> dict[str, int]:
    """SQL statements per request of each endpoint (BEGIN/COMMIT included), after a warm-up request."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client(HTTP_AUTHORIZATION=f"Bearer {tokens[0]}", HTTP_HOST="127.0.0.1")
    counts = {}
    body = json.dumps(bodies[0])
    for label, path in (("trivial insert", "/bench/insert"), ("work-order create", "/api/v1/workorders")):
        for _warm_then_counted in range(2):
            with CaptureQueriesContext(connection) as queries:
                response = client.post(
                    path, data=body, content_type="application/json", HTTP_IDEMPOTENCY_KEY=uuid.uuid4().hex
                )
            if response.status_code != 201:
                raise SystemExit(f"{path} answered {response.status_code}: {response.content[:300]!r}")
        counts[label] = len(queries.captured_queries)
    return counts


def prepare(database_url: str) -> tuple[list[str], dict]:
    os.environ["DATABASE_URL"] = database_url
    os.environ["DJANGO_SETTINGS_MODULE"] = "bench.bench_settings"
    import django

    django.setup()
    from django.core.management import call_command

    from wuye.accounts import services as account_services
    from wuye.accounts.models import User
    from wuye.accounts.selectors import current_residencies
    from wuye.estates.models import Estate
    from wuye.workorders.models import Category

    call_command("migrate", verbosity=0)
    call_command("seed_demo", "--if-empty", "--no-progress", verbosity=0)
    estate = Estate.objects.get(code="cuihu-garden")
    owners = list(
        User.objects.filter(residencies__room__estate=estate, residencies__move_out_on__isnull=True)
        .distinct()
        .order_by("id")[:64]
    )
    tokens, bodies = [], []
    category = Category.objects.get(company=estate.company, code="plumbing")
    for owner in owners:
        _token, raw = account_services.api_token_issue(user=owner)
        room = current_residencies(owner).filter(room__estate=estate).first().room
        tokens.append(raw)
        bodies.append(
            {
                "estate_id": estate.id,
                "kind": "repair_home",
                "category_id": category.id,
                "room_id": room.id,
                "description": "卫生间下水管漏水，请尽快处理",
            }
        )
    queries = count_queries(tokens, bodies)
    from django.db import connections

    connections.close_all()
    return tokens, {"bodies": bodies, "queries": queries}


def group_cpu_seconds(group: int) -> float | None:
    """CPU seconds (user + system) used so far by the processes of one process group: the gunicorn master and its
    workers, not PostgreSQL. Unlike latency it hardly moves when other work shares the machine. None without /proc."""
    proc = Path("/proc")
    if not proc.is_dir():
        return None
    ticks = 0
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()  # from field 3 (state) on: pgrp is 5, utime 14, stime 15
        if int(fields[2]) == group:
            ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


def run_level(port: int, path: str, tokens: list[str], bodies: list[dict], clients: int, total: int) -> dict:
    latencies: list[float] = []
    errors = []
    lock = threading.Lock()
    per_client = max(1, total // clients)

    def client(index: int) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        token = tokens[index % len(tokens)]
        body = bodies[index % len(bodies)]
        for _ in range(per_client):
            payload = json.dumps(body).encode()
            headers = {
                "Authorization": f"Bearer {token}",
                "Content-Type": "application/json",
                "Idempotency-Key": uuid.uuid4().hex,
            }
            started = time.perf_counter()
            connection.request("POST", path, body=payload, headers=headers)
            response = connection.getresponse()
            response.read()
            elapsed = time.perf_counter() - started
            with lock:
                latencies.append(elapsed)
                if response.status != 201:
                    errors.append(response.status)
        connection.close()

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - started
    latencies.sort()
    return {
        "requests": len(latencies),
        "errors": len(errors),
        "rps": len(latencies) / wall,
        "p50": statistics.median(latencies) * 1000,
        "p95": latencies[int(len(latencies) * 0.95) - 1] * 1000,
    }


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=320, help="requests per level and endpoint")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn worker processes")
    parser.add_argument("--port", type=int, default=8791)
    parser.add_argument("--connections", choices=("both", "persistent", "per-request"), default="both")
    args = parser.parse_args()

    database_url = os.environ.get("DATABASE_URL", "")
    if not database_url.startswith("postgres"):
        import psycopg

        with psycopg.connect("host=127.0.0.1 user=postgres dbname=postgres", autocommit=True) as admin:
            admin.execute("DROP DATABASE IF EXISTS wuye_bench")
            admin.execute("CREATE DATABASE wuye_bench")
        database_url = "postgres://postgres@127.0.0.1:5432/wuye_bench"
    tokens, data = prepare(database_url)
    print(
        "SQL statements per request (warm, BEGIN/COMMIT included): "
        + ", ".join(f"{label} {count}" for label, count in data["queries"].items())
    )
    modes = {"persistent": 60, "per-request": 0}
    for mode, conn_max_age in modes.items():
        if args.connections in ("both", mode):
            run_server(args, database_url, tokens, data, mode, conn_max_age)
    return 0


def run_server(args, database_url: str, tokens: list[str], data: dict, mode: str, conn_max_age: int) -> None:
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "DJANGO_SETTINGS_MODULE": "bench.bench_settings",
        "BENCH_CONN_MAX_AGE": str(conn_max_age),
    }
    server = subprocess.Popen(  # noqa: S603 - our own gunicorn with fixed arguments
        [
            str(ROOT / ".venv" / "bin" / "gunicorn"),
            "config.wsgi",
            "--bind",
            f"127.0.0.1:{args.port}",
            "--workers",
            str(args.workers),
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
        start_new_session=True,
    )
    try:
        for _ in range(100):
            try:
                http.client.HTTPConnection("127.0.0.1", args.port, timeout=1).request("GET", "/healthz")
                break
            except OSError:
                time.sleep(0.2)
        # Warm every worker's connections and imports.
        run_level(args.port, "/bench/insert", tokens, data["bodies"], args.workers * 2, args.workers * 8)
        run_level(args.port, "/api/v1/workorders", tokens, data["bodies"], args.workers * 2, args.workers * 8)
        print(
            f"\nPostgreSQL, {mode} connections (CONN_MAX_AGE {conn_max_age}), gunicorn {args.workers} sync workers, "
            f"{args.requests} requests per row, {os.cpu_count()} CPUs shared by server and clients"
        )
        print(
            f"{'clients':>7}  {'endpoint':<22} {'req/s':>8} {'p50 ms':>8} {'p95 ms':>8} {'errors':>6}"
            f" {'server CPU ms/req':>18}"
        )
        for clients in (1, 8, 32):
            rows = {}
            for label, path in (("trivial insert", "/bench/insert"), ("work-order create", "/api/v1/workorders")):
                cpu_before = group_cpu_seconds(server.pid)
                result = run_level(args.port, path, tokens, data["bodies"], clients, args.requests)
                cpu_after = group_cpu_seconds(server.pid)
                result["cpu"] = None if cpu_before is None else (cpu_after - cpu_before) / result["requests"] * 1000
                rows[label] = result
                cpu = "" if result["cpu"] is None else f"{result['cpu']:>18.2f}"
                print(
                    f"{clients:>7}  {label:<22} {result['rps']:>8.1f} {result['p50']:>8.1f} {result['p95']:>8.1f}"
                    f" {result['errors']:>6} {cpu}"
                )
            create, trivial = rows["work-order create"], rows["trivial insert"]
            ratios = f"p50 {create['p50'] / trivial['p50']:.2f}×, throughput {trivial['rps'] / create['rps']:.2f}×"
            if create["cpu"] is not None and trivial["cpu"]:
                ratios += f", server CPU per request {create['cpu'] / trivial['cpu']:.2f}×"
            print(f"{clients:>7}  cost ratio create/trivial: {ratios}")
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=10)


if __name__ == "__main__":
    sys.exit(main())
