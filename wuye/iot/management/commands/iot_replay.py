"""Replay a historical CSV of readings through the alarm-rule engine and write the alarms it would have raised.

    manage.py iot_replay --csv FILE --metric NAME --rule SPEC --out alarms.csv [--tz Asia/Shanghai] [--device 1]

The CSV is in NAB format (a header, then ``timestamp,value`` rows; other columns are ignored). Timestamps are
``YYYY-MM-DD HH:MM:SS`` in local time (``--tz``, default: the rule's time zone) or ISO 8601 with an offset. The
readings go through exactly the engine that live telemetry takes (`wuye.iot.rules.Engine`), with simulated time:
the clock is ticked between readings so that no-data and repeat rules behave as they would live. The output has
one row per alarm: ``start,end,severity,reason`` (``end`` empty if the alarm was still open when the data ended).
SPEC grammar: docs/iot.md, "Rule SPEC grammar".
"""

import csv
import datetime as dt
import math
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.core.management.base import BaseCommand, CommandError

from wuye.iot.rules import InvalidRule, Reading, pair_alarms, parse_rule_spec, replay_changes

OUTPUT_COLUMNS = ("start", "end", "severity", "reason")
TIME_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M:%S.%f", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S")


def parse_timestamp(text: str, tz: dt.tzinfo) -> dt.datetime:
    """A NAB timestamp (local wall-clock time in `tz`) or an ISO 8601 timestamp with its own offset."""
    text = text.strip()
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        moment = None
        for time_format in TIME_FORMATS:
            try:
                moment = dt.datetime.strptime(text, time_format)  # noqa: DTZ007 - made aware just below
                break
            except ValueError:
                continue
        if moment is None:
            raise ValueError(f"{text!r} is not a timestamp (YYYY-MM-DD HH:MM:SS or ISO 8601)") from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=tz)


def read_series(path: Path, tz: dt.tzinfo, metric: str, device_id: int) -> list[Reading]:
    try:
        handle = path.open(newline="", encoding="utf-8-sig")
    except OSError as error:
        raise CommandError(f"--csv: cannot read {path}: {error.strerror or error}") from None
    readings = []
    with handle:
        rows = csv.reader(handle)
        header = next(rows, None)
        if header is None:
            raise CommandError(f"--csv: {path} is empty")
        columns = [name.strip().lower() for name in header]
        time_column = columns.index("timestamp") if "timestamp" in columns else 0
        value_column = columns.index("value") if "value" in columns else 1
        for line_number, row in enumerate(rows, start=2):
            if not row or all(not cell.strip() for cell in row):
                continue
            try:
                at = parse_timestamp(row[time_column], tz)
                value = float(row[value_column])
            except (IndexError, ValueError) as error:
                raise CommandError(f"--csv: {path}, line {line_number}: {error}") from None
            if not math.isfinite(value):
                raise CommandError(f"--csv: {path}, line {line_number}: value {row[value_column]!r} is not finite")
            readings.append(Reading(device_id=device_id, metric=metric, at=at, value=value))
    return readings


class Command(BaseCommand):
    help = (
        "Send a historical CSV (timestamp,value) through the alarm-rule engine with simulated time and write each "
        "alarm (start, end, severity, reason) to a CSV. Use it to tune a rule before switching it on."
    )

    def add_arguments(self, parser):
        parser.add_argument("--csv", required=True, type=Path, help="Readings: a header, then timestamp,value rows.")
        parser.add_argument("--metric", required=True, help="The metric the readings are (e.g. temperature).")
        parser.add_argument(
            "--rule",
            required=True,
            help='The rule in the compact grammar, e.g. "threshold:>80,clear=75,severity=major" or "anomaly:default".',
        )
        parser.add_argument("--out", required=True, type=Path, help="Where to write the alarms CSV.")
        parser.add_argument(
            "--tz", default=None, help="Time zone of timestamps without an offset (default: the rule's, Asia/Shanghai)."
        )
        parser.add_argument("--device", type=int, default=1, help="Device id to attribute the readings to.")

    def handle(self, *args, **options):
        try:
            rule = parse_rule_spec(options["rule"], metric=options["metric"])
        except InvalidRule as error:
            raise CommandError(f"--rule: {error.field}: {error.message}") from None
        tz_name = options["tz"] or rule.tz
        try:
            tz = ZoneInfo(tz_name)
        except (ZoneInfoNotFoundError, ValueError):
            raise CommandError(f"--tz: unknown time zone {tz_name!r}") from None

        # call_command(csv="…") passes strings untouched by argparse's `type`.
        source, out = Path(options["csv"]), Path(options["out"])
        readings = read_series(source, tz, options["metric"], int(options["device"]))
        alarms = pair_alarms(replay_changes([rule], readings))
        try:
            with out.open("w", newline="", encoding="utf-8") as handle:
                writer = csv.writer(handle)
                writer.writerow(OUTPUT_COLUMNS)
                for alarm in alarms:
                    end = alarm.end.astimezone(tz).isoformat() if alarm.end is not None else ""
                    writer.writerow([alarm.start.astimezone(tz).isoformat(), end, alarm.severity, alarm.reason])
        except OSError as error:
            raise CommandError(f"--out: cannot write {out}: {error.strerror or error}") from None
        still_open = sum(1 for alarm in alarms if alarm.end is None)
        self.stdout.write(
            f"{len(readings):,} readings, {len(alarms):,} alarms ({still_open} still open at the end) written to {out}"
        )
