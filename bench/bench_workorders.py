"""Work-order create throughput on PostgreSQL: the full create (validation, classification, number, SLA clocks,
event, outbox notifications) through the real API, beside a trivial authenticated one-row insert, at 1, 8 and 32
concurrent clients, against gunicorn on this machine. Prints throughput, p50/p95 and the cost ratio.

    .venv/bin/python bench/bench_workorders.py [--requests 300] [--workers 4]

Uses DATABASE_URL when set, else a throwaway database `wuye_bench` on postgres://postgres@127.0.0.1:5432.
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
    from django.db import connections

    connections.close_all()
    return tokens, {"bodies": bodies}


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
    args = parser.parse_args()

    database_url = os.environ.get("DATABASE_URL", "")
    if not database_url.startswith("postgres"):
        import psycopg

        with psycopg.connect("host=127.0.0.1 user=postgres dbname=postgres", autocommit=True) as admin:
            admin.execute("DROP DATABASE IF EXISTS wuye_bench")
            admin.execute("CREATE DATABASE wuye_bench")
        database_url = "postgres://postgres@127.0.0.1:5432/wuye_bench"
    tokens, data = prepare(database_url)
    env = {**os.environ, "DATABASE_URL": database_url, "DJANGO_SETTINGS_MODULE": "bench.bench_settings"}
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
            f"PostgreSQL, gunicorn {args.workers} sync workers, {args.requests} requests per row, "
            f"{os.cpu_count()} CPUs shared by server and clients"
        )
        print(f"{'clients':>7}  {'endpoint':<22} {'req/s':>8} {'p50 ms':>8} {'p95 ms':>8} {'errors':>6}")
        for clients in (1, 8, 32):
            rows = {}
            for label, path in (("trivial insert", "/bench/insert"), ("work-order create", "/api/v1/workorders")):
                result = run_level(args.port, path, tokens, data["bodies"], clients, args.requests)
                rows[label] = result
                print(
                    f"{clients:>7}  {label:<22} {result['rps']:>8.1f} {result['p50']:>8.1f} {result['p95']:>8.1f}"
                    f" {result['errors']:>6}"
                )
            ratio = rows["work-order create"]["p50"] / rows["trivial insert"]["p50"]
            throughput_ratio = rows["trivial insert"]["rps"] / rows["work-order create"]["rps"]
            print(f"{clients:>7}  cost ratio create/trivial: p50 {ratio:.2f}×, throughput {throughput_ratio:.2f}×")
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=10)
    return 0


if __name__ == "__main__":
    sys.exit(main())
