"""`manage.py iot_replay`: a CSV through the same engine with simulated time, reproducibly, with clear errors."""

import csv
import datetime as dt
import io
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.management import CommandError, call_command

from wuye.iot import nab
from wuye.iot.rules import Engine, Reading, pair_alarms, parse_rule_spec, replay_changes

SHANGHAI = ZoneInfo("Asia/Shanghai")
HEADER = "timestamp,value\n"


def write_csv(path, rows):
    path.write_text(HEADER + "".join(f"{stamp},{value}\n" for stamp, value in rows), encoding="utf-8")
    return path


def replay(tmp_path, rows, spec, **options):
    source = write_csv(tmp_path / "in.csv", rows)
    out = tmp_path / "alarms.csv"
    stdout = io.StringIO()
    call_command("iot_replay", csv=str(source), metric="temperature", rule=spec, out=str(out), stdout=stdout, **options)
    with out.open(encoding="utf-8") as handle:
        return list(csv.DictReader(handle)), stdout.getvalue()


def minutes(start: str, values):
    first = dt.datetime.fromisoformat(start)
    return [
        ((first + dt.timedelta(minutes=5 * index)).strftime("%Y-%m-%d %H:%M:%S"), value)
        for index, value in enumerate(values)
    ]


def test_threshold_replay_writes_start_end_severity_and_reason(tmp_path):
    rows = minutes("2026-06-01 08:00:00", [70, 79, 82, 85, 78, 74, 70, 81, 83])
    alarms, stdout = replay(tmp_path, rows, "threshold:>80,clear=75,severity=critical,unit=°C")
    assert alarms == [
        {
            "start": "2026-06-01T08:10:00+08:00",
            "end": "2026-06-01T08:25:00+08:00",
            "severity": "critical",
            "reason": "temperature is 82 °C, above the limit of 80 °C",
        },
        {
            "start": "2026-06-01T08:35:00+08:00",
            "end": "",
            "severity": "critical",
            "reason": "temperature is 81 °C, above the limit of 80 °C",
        },
    ]
    assert "9 readings, 2 alarms (1 still open at the end)" in stdout


def test_no_data_is_raised_in_simulated_time_between_readings(tmp_path):
    rows = [("2026-06-01 08:00:00", 20), ("2026-06-01 08:05:00", 20), ("2026-06-01 10:00:00", 21)]
    alarms, _ = replay(tmp_path, rows, "no_data:30,severity=warning")
    assert [(a["start"], a["end"], a["severity"]) for a in alarms] == [
        ("2026-06-01T08:35:00+08:00", "2026-06-01T10:00:00+08:00", "warning")
    ]
    assert alarms[0]["reason"] == "No temperature reading for 30 minutes (last one at 2026-06-01T08:05+08:00)"


def test_repeat_alarm_clears_in_simulated_time_when_its_window_runs_out(tmp_path):
    values = [81, 70, 81, 70, 70, 70]
    rows = minutes("2026-06-01 08:00:00", values) + [("2026-06-01 12:00:00", 70)]
    alarms, _ = replay(tmp_path, rows, "repeat:>80,count=2,within_minutes=30")
    assert [(a["start"], a["end"]) for a in alarms] == [("2026-06-01T08:10:00+08:00", "2026-06-01T08:40:00+08:00")]


def test_timestamps_are_read_in_the_given_time_zone_and_iso_offsets_are_kept(tmp_path):
    rows = [("2026-06-01 08:00:00", 90), ("2026-06-01T09:00:00+00:00", 10)]
    alarms, _ = replay(tmp_path, rows, "threshold:>80", tz="Europe/London")
    assert [(a["start"], a["end"]) for a in alarms] == [("2026-06-01T08:00:00+01:00", "2026-06-01T10:00:00+01:00")]


def test_replay_is_reproducible_and_does_not_depend_on_the_wall_clock(tmp_path):
    source = nab.DATA_DIR / "ambient_temperature_system_failure.csv"
    outputs = []
    for now in ("2020-01-01 00:00", "2031-07-15 12:00"):
        out = tmp_path / f"alarms-{len(outputs)}.csv"
        with time_machine.travel(dt.datetime.fromisoformat(now).replace(tzinfo=SHANGHAI), tick=False):
            call_command(
                "iot_replay",
                csv=str(source),
                metric="temperature",
                rule="anomaly:default",
                out=str(out),
                stdout=io.StringIO(),
            )
        outputs.append(out.read_bytes())
    assert outputs[0] == outputs[1]
    alarms = list(csv.DictReader(io.StringIO(outputs[0].decode())))
    assert alarms, "the HVAC failure file must produce anomaly alarms"
    assert all(" the expected " in alarm["reason"] and "for this hour" in alarm["reason"] for alarm in alarms)


def test_replay_through_a_persisted_and_restored_engine_gives_the_same_alarms():
    timestamps, values = nab.load_nab_csv(nab.DATA_DIR / "ambient_temperature_system_failure.csv", SHANGHAI)
    readings = [Reading(1, "temperature", at, value) for at, value in zip(timestamps, values, strict=True)]
    rules = [parse_rule_spec("anomaly:default", metric="temperature")]
    whole = pair_alarms(replay_changes(rules, readings))

    first = Engine(rules)
    changes = first.feed_many(readings[:3000])
    changes += Engine(rules, first.state()).feed_many(readings[3000:])
    assert pair_alarms(changes) == whole
    assert len(whole) >= 2


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("thresold:>80", "--rule: thresold: unknown rule kind"),
        ("threshold:>80,clear=90", "--rule: clear=90: must not be above the limit 80"),
        ("anomaly:crystal_ball", "--rule: crystal_ball: unknown detector"),
        ("repeat:>80,count=3", "--rule: within_minutes (in 'repeat:>80,count=3'): is required"),
    ],
)
def test_a_wrong_spec_is_a_command_error_naming_the_part(tmp_path, spec, message):
    with pytest.raises(CommandError) as error:
        replay(tmp_path, minutes("2026-06-01 08:00:00", [1, 2]), spec)
    assert str(error.value).startswith(message)


def test_bad_csv_lines_missing_files_and_bad_time_zones_are_command_errors(tmp_path):
    with pytest.raises(CommandError, match=r"line 3: could not convert string to float: 'warm'"):
        replay(tmp_path, [("2026-06-01 08:00:00", 1), ("2026-06-01 08:05:00", "warm")], "threshold:>80")
    with pytest.raises(CommandError, match=r"line 2: 'yesterday' is not a timestamp"):
        replay(tmp_path, [("yesterday", 1)], "threshold:>80")
    with pytest.raises(CommandError, match="--tz: unknown time zone"):
        replay(tmp_path, [("2026-06-01 08:00:00", 1)], "threshold:>80", tz="Mars/Base")
    with pytest.raises(CommandError, match="--csv: cannot read"):
        call_command(
            "iot_replay", csv=str(tmp_path / "missing.csv"), metric="t", rule="no_data:5", out=str(tmp_path / "o.csv")
        )
