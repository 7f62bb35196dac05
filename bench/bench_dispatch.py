"""How long one re-plan of the optimising dispatcher takes: 300 waiting orders over 60 technicians, on one core.

    .venv/bin/python bench/bench_dispatch.py [--jobs 300] [--technicians 60] [--repeat 50] [--seed 7]

The orders and technicians are synthetic but shaped like a large estate at a bad moment: eight grids, the usual
skills and licences (a few lapsed), everyone on shift with up to 90 minutes of work in hand, a priority mix with
emergencies, due times from already late to two days out. It prints the median and p90 of `Optimiser.plan()` in
milliseconds (the goal is well under 100 ms), and the same for round robin and load balance for comparison. Nothing
is asserted: compare the figures between commits on the same machine.
"""

import argparse
import os
import sys
from pathlib import Path

# One core: the BLAS libraries numpy and scipy load read these when first imported.
for variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[variable] = "1"

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")

import datetime as dt  # noqa: E402
import random  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
from zoneinfo import ZoneInfo  # noqa: E402

import django  # noqa: E402

django.setup()

from wuye.dispatch.rules import Job, LoadBalance, Optimiser, RoundRobin, Technician  # noqa: E402

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = dt.datetime(2026, 6, 3, 10, 0, tzinfo=SHANGHAI)
# (skill, certificate it needs) as in wuye/workorders/data/catalogue.json's repair categories.
WORK = [
    ("plumbing", ""),
    ("electrical", "electrician"),
    ("lift", "lift"),
    ("locks", ""),
    ("painting", ""),
    ("weak_current", ""),
]
PRIORITIES = [("emergency", 30, 0.04), ("urgent", 120, 0.16), ("normal", 240, 0.65), ("low", 1440, 0.15)]


def technicians(rng: random.Random, count: int) -> list[Technician]:
    techs = []
    for index in range(count):
        skills = frozenset(rng.sample([skill for skill, _ in WORK], k=rng.randint(2, 4)))
        certificates = {}
        if "electrical" in skills:
            certificates["electrician"] = NOW.date() + dt.timedelta(days=rng.choice([-10, 30, 400]))
        if "lift" in skills:
            certificates["lift"] = None
        techs.append(
            Technician(
                id=index + 1,
                skills=skills,
                certificates=certificates,
                estate_ids=frozenset({1}),
                grid_ids=frozenset({index % 8 + 1}),
                position=(rng.randint(-300, 300), rng.randint(0, 500)),
                on_shift=True,
                on_call=False,
                free_at=NOW + dt.timedelta(minutes=rng.choice([0, 0, 0, rng.uniform(5, 90)])),
                open_orders=rng.randint(0, 2),
            )
        )
    return techs


def jobs(rng: random.Random, count: int) -> list[Job]:
    waiting = []
    for index in range(count):
        skill, certificate = rng.choice(WORK)
        priority, limit, _share = rng.choices(PRIORITIES, weights=[share for *_, share in PRIORITIES])[0]
        submitted = NOW - dt.timedelta(minutes=rng.uniform(0, limit * 1.2))
        waiting.append(
            Job(
                id=index + 1,
                estate_id=1,
                grid_id=rng.randint(1, 8),
                position=(rng.randint(-300, 300), rng.randint(0, 500)),
                required_skill=skill,
                required_certificate=certificate,
                priority=priority,
                submitted_at=submitted,
                arrive_due_at=submitted + dt.timedelta(minutes=limit),
                resolve_due_at=submitted + dt.timedelta(minutes=limit * 4),
                service_minutes=rng.uniform(20, 90),
            )
        )
    return waiting


def measure(policy_factory, waiting, techs, repeat: int) -> tuple[list[float], int]:
    timings, placed = [], 0
    for _ in range(repeat):
        policy = policy_factory()
        started = time.perf_counter()
        plan = policy.plan(waiting, techs, now=NOW, today=NOW.date())
        timings.append((time.perf_counter() - started) * 1000)
        placed = len(plan)
    return timings, placed


def p90(values: list[float]) -> float:
    return statistics.quantiles(values, n=10)[-1] if len(values) > 1 else values[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=300)
    parser.add_argument("--technicians", type=int, default=60)
    parser.add_argument("--repeat", type=int, default=50)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})

    rng = random.Random(args.seed)
    techs = technicians(rng, args.technicians)
    waiting = jobs(rng, args.jobs)
    print(f"one re-plan: {args.jobs} waiting orders over {args.technicians} technicians, one core, {args.repeat} runs")
    print(f"{'policy':<14} {'median ms':>10} {'p90 ms':>8} {'max ms':>8} {'placed':>7}")
    for name, factory in (("optimise", Optimiser), ("load_balance", LoadBalance), ("round_robin", RoundRobin)):
        measure(factory, waiting, techs, 3)  # warm-up: imports, caches, first allocations
        timings, placed = measure(factory, waiting, techs, args.repeat)
        print(f"{name:<14} {statistics.median(timings):>10.1f} {p90(timings):>8.1f} {max(timings):>8.1f} {placed:>7}")


if __name__ == "__main__":
    main()
