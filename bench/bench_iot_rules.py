"""How fast the alarm-rule engine evaluates readings, on one core: feeds per second for each kind of rule.

    .venv/bin/python bench/bench_iot_rules.py [--devices 1000] [--readings 200000] [--rules 3]

The readings are synthetic temperatures from `--devices` devices, one every minute each, in time order, with a few
excursions so that alarms are raised and cleared. Each scenario builds a fresh `Engine` with `--rules` rules of one
kind on the metric (threshold rules at different limits, and so on) and feeds every reading through
`Engine.feed_many`; the Reading objects are built beforehand (the ingester builds them while parsing anyway), and
a third figure includes building them. "feeds/s" is wall-clock; "per CPU-s" divides by the process's CPU time,
which stays meaningful when other processes share the cores. It also prints alarm changes per scenario. Nothing is
asserted: the goal is well over 100,000 feeds/s for threshold rules, so that ingestion (≥ 20,000 readings/s end to
end on two cores) is never held up by rule evaluation.
"""

import argparse
import datetime as dt
import gc
import os
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")

from wuye.iot.rules import Engine, Reading, RuleSpec, Schedule  # noqa: E402

START = dt.datetime(2026, 6, 1, tzinfo=dt.UTC)
ANOMALY_READINGS_PER_DEVICE = 10_080  # a week of one-minute readings


def readings(devices: int, total: int, seed: int) -> list[tuple[int, dt.datetime, float]]:
    rng = random.Random(seed)
    level = [60.0 + rng.random() * 20 for _ in range(devices)]
    rows = []
    for index in range(total):
        device = index % devices
        minute = index // devices
        value = level[device] + rng.gauss(0, 1.5)
        if rng.random() < 0.002:
            level[device] += rng.choice((-25.0, 25.0))
        elif level[device] > 90 or level[device] < 50:
            level[device] += (70.0 - level[device]) * 0.05
        rows.append((device + 1, START + dt.timedelta(minutes=minute), value))
    return rows


def scenario_rules(kind: str, count: int) -> list[RuleSpec]:
    rules = []
    for index in range(count):
        limit = 85.0 + index
        if kind in ("threshold", "threshold+schedule"):
            params = {"op": ">", "value": limit, "clear": limit - 5}
        elif kind == "duration":
            params = {"op": ">", "value": limit, "clear": limit - 5, "minutes": 10}
        elif kind == "repeat":
            params = {"op": ">", "value": limit, "clear": limit - 5, "count": 3, "within_minutes": 60}
        elif kind == "rate":
            params = {"change": 10.0 + index, "per_minutes": 10}
        elif kind == "no_data":
            params = {"minutes": 30 + index}
        else:
            params = {"detector": "default"}
        schedule = None
        if kind == "threshold+schedule":
            schedule = Schedule(frozenset({0, 1, 2, 3, 4}), dt.time(22, 0), dt.time(6, 0))
        rules.append(
            RuleSpec(
                id=index + 1,
                metric="temperature",
                kind=kind.split("+")[0],
                severity="major",
                params=params,
                schedule=schedule,
            )
        )
    return rules


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--devices", type=int, default=1000)
    parser.add_argument("--readings", type=int, default=200_000)
    parser.add_argument("--rules", type=int, default=3, help="rules of the same kind on the metric")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()

    load = os.getloadavg()[0]
    plain_rows = readings(args.devices, args.readings, args.seed)
    # Anomaly detectors learn for days before they judge: give them fewer devices with a week of minutes each.
    anomaly_rows = readings(max(1, args.readings // ANOMALY_READINGS_PER_DEVICE), args.readings, args.seed)
    print(
        f"{len(plain_rows):,} readings from {args.devices:,} devices, {args.rules} rule(s) per scenario, one core, "
        f"load average {load:.1f}"
    )
    print(f"{'rules':<22}{'feeds/s':>12}{'per CPU-s':>12}{'incl. Reading()':>17}{'alarm changes':>15}")
    for kind in ("threshold", "threshold+schedule", "duration", "repeat", "rate", "no_data", "anomaly"):
        rules = scenario_rules(kind, args.rules if kind != "anomaly" else 1)
        rows = anomaly_rows if kind == "anomaly" else plain_rows
        prepared = [Reading(device, "temperature", at, value) for device, at, value in rows]
        gc.collect()
        engine = Engine(rules)
        started, started_cpu = time.perf_counter(), time.process_time()
        changes = engine.feed_many(prepared)
        elapsed, elapsed_cpu = time.perf_counter() - started, time.process_time() - started_cpu

        engine = Engine(rules)
        started = time.perf_counter()
        engine.feed_many(Reading(device, "temperature", at, value) for device, at, value in rows)
        elapsed_building = time.perf_counter() - started
        label = kind if kind != "anomaly" else "anomaly (1 rule)*"
        print(
            f"{label:<22}{len(rows) / elapsed:>12,.0f}{len(rows) / elapsed_cpu:>12,.0f}"
            f"{len(rows) / elapsed_building:>17,.0f}{len(changes):>15,}"
        )
    anomaly_devices = max(1, args.readings // ANOMALY_READINGS_PER_DEVICE)
    print(f"* the default anomaly detector, {anomaly_devices} devices with a week of one-minute readings each")


if __name__ == "__main__":
    main()
