"""Replay synthetic repair demand through the dispatch policies and compare them (docs/dispatch.md).

manage.py simulate_dispatch [--days 30] [--seed 1] [--households 5000] [--technicians 12] [--storm-days 2]
                            [--policies round_robin load_balance optimise] [--level level_1] [--csv table.csv]
manage.py simulate_dispatch --seeds 1 2 3 4 5      # the arrival-breach comparison, one line per seed
"""

import time
from dataclasses import replace
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from wuye.dispatch.rules import POLICIES
from wuye.dispatch.simulation import (
    DEFAULT_POLICIES,
    LEVELS,
    Scenario,
    SimulationResult,
    breach_reduction,
    format_table,
    simulate,
    write_csv,
)

BASELINES = ("round_robin", "load_balance")


def verdict(reduction: float | None) -> str:
    """0.4 → "40% fewer", -0.1 → "10% more"."""
    if reduction is None:
        return "no baseline breaches to reduce"
    return f"{reduction:.0%} fewer" if reduction >= 0 else f"{-reduction:.0%} more"


def parse_storm_days(value: str) -> int | tuple[int, ...]:
    """ "2" is a count of days picked at random from the seed; "12,26" (or "12," for one day) names the days."""
    try:
        if "," in value:
            return tuple(int(part) for part in value.split(",") if part.strip())
        return int(value)
    except ValueError:
        raise CommandError(f"--storm-days: {value!r} is neither a count like 2 nor day numbers like 12,26") from None


class Command(BaseCommand):
    help = (
        "Simulate an estate's repair orders through each dispatch policy (same demand for every policy) and print "
        "arrival- and resolve-SLA compliance, time to arrival, backlog, utilisation and load spread."
    )

    def add_arguments(self, parser):
        parser.add_argument("--days", type=int, default=30, help="Simulated days of demand (default 30).")
        parser.add_argument("--seed", type=int, default=1, help="Random seed: the same seed gives the same table.")
        parser.add_argument("--households", type=int, default=5000, help="Households in the estate (default 5000).")
        parser.add_argument("--technicians", type=int, default=12, help="Technicians on the roster (default 12).")
        parser.add_argument(
            "--storm-days",
            type=str,
            default=None,
            help="Storm days that triple leak reports: a count picked at random (2), or day numbers (12,26). "
            "Default: the data file's count.",
        )
        parser.add_argument(
            "--policies",
            nargs="+",
            choices=list(POLICIES),
            default=list(DEFAULT_POLICIES),
            help="Policies to compare (default: all).",
        )
        parser.add_argument(
            "--level", choices=LEVELS, default="level_1", help="Contracted service level for the SLA limits."
        )
        parser.add_argument("--csv", type=Path, default=None, help="Also write the table to this CSV file.")
        parser.add_argument(
            "--seeds",
            nargs="+",
            type=int,
            default=None,
            help="Replay several seeds and print the arrival-breach comparison per seed (ignores --seed and --csv).",
        )

    def handle(self, *args, days, seed, households, technicians, storm_days, policies, level, csv, seeds, **options):
        parsed_storms = None if storm_days is None else parse_storm_days(storm_days)
        try:
            scenario = Scenario(
                days=days,
                seed=seed,
                households=households,
                technicians=technicians,
                storm_days=parsed_storms,
                level=level,
                policies=tuple(dict.fromkeys(policies)),
            )
        except ValueError as error:
            raise CommandError(str(error)) from None
        if seeds:
            self._compare_seeds(scenario, seeds)
            return
        started = time.perf_counter()
        result = simulate(scenario)
        elapsed = time.perf_counter() - started
        self.stdout.write(self._heading(result))
        self.stdout.write(format_table(result))
        self.stdout.write(self._comparison(result))
        self.stdout.write(f"({elapsed:.1f} s)")
        if csv is not None:
            try:
                write_csv(result, csv)
            except OSError as error:
                raise CommandError(f"Cannot write {csv}: {error.strerror}") from None
            self.stdout.write(f"Table written to {csv}")

    def _heading(self, result: SimulationResult) -> str:
        scenario = result.scenario
        storms = ", ".join(day.isoformat() for day in result.storm_dates) or "none"
        return (
            f"{scenario.households} households, {scenario.technicians} technicians, {scenario.days} days, "
            f"{scenario.level}, seed {scenario.seed}: {result.orders} orders; storm days: {storms}"
        )

    def _comparison(self, result: SimulationResult) -> str:
        rows = result.by_policy()
        present = [code for code in BASELINES if code in rows]
        if "optimise" not in rows or not present:
            return "Arrival-breach comparison needs the optimiser and round robin or load balance."
        best = min(present, key=lambda code: (rows[code].arrival_breaches, code))
        return (
            f"Arrival-SLA breaches: optimise {rows['optimise'].arrival_breaches}, better of round robin and load "
            f"balance ({best}) {rows[best].arrival_breaches}: {verdict(breach_reduction(result))}."
        )

    def _compare_seeds(self, scenario: Scenario, seeds: list[int]) -> None:
        policies = tuple(dict.fromkeys([*BASELINES, "optimise"]))
        self.stdout.write(
            f"Arrival-SLA breaches, {scenario.households} households, {scenario.technicians} technicians, "
            f"{scenario.days} days, {scenario.level}"
        )
        self.stdout.write("| seed | orders | round_robin | load_balance | optimise | optimiser vs better baseline |")
        self.stdout.write("|------|--------|-------------|--------------|----------|------------------------------|")
        totals = dict.fromkeys(policies, 0)
        best_total = worse = goal_met = 0
        for seed in seeds:
            result = simulate(replace(scenario, seed=seed, policies=policies))
            rows = result.by_policy()
            for code in policies:
                totals[code] += rows[code].arrival_breaches
            best = min(rows[code].arrival_breaches for code in BASELINES)
            best_total += best
            worse += rows["optimise"].arrival_breaches > best
            goal_met += rows["optimise"].arrival_breaches <= 0.7 * best
            self.stdout.write(
                f"| {seed} | {result.orders} | {rows['round_robin'].arrival_breaches} | "
                f"{rows['load_balance'].arrival_breaches} | {rows['optimise'].arrival_breaches} | "
                f"{verdict(breach_reduction(result))} |"
            )
        overall = verdict((best_total - totals["optimise"]) / best_total if best_total else None)
        self.stdout.write(
            f"| all | | {totals['round_robin']} | {totals['load_balance']} | {totals['optimise']} | "
            f"{overall} than {best_total} (the better baseline, seed by seed) |"
        )
        self.stdout.write(
            f"The optimiser breached at least 30 % less often than the better baseline on {goal_met} of {len(seeds)} "
            f"seeds, and more often on {worse}."
        )
