"""The alarm-rule engine: pure evaluation of telemetry readings against alarm rules. No ORM, no clock, no I/O.

The ingester (and `manage.py iot_replay`) builds an `Engine` from `RuleSpec`s, feeds it `Reading`s in time order per
device and calls `tick(now)` periodically; the engine answers with `AlarmChange`s ("raise" / "clear"). What it needs
to remember between calls is in `Engine.state()`, a JSON-serialisable dict the caller persists and hands back to the
next `Engine(rules, state)`.

Semantics (docs/iot.md has examples):

- One open alarm per (rule, device): a rule raises once and clears once; nothing raises again while it is open.
- A reading whose time is not after the last accepted reading of the same device and metric (a duplicate or an
  out-of-order message) is ignored entirely, so a re-delivered message can never raise twice. Non-finite values
  (NaN, ±inf) are ignored too.
- threshold: raise when ``value <op> value``; clear at the separate ``clear`` level if given (hysteresis: for an upper
  limit, when the value is at or below ``clear``; for a lower limit, at or above), otherwise as soon as the
  condition no longer holds.
- duration: the threshold condition has held at every reading for ``minutes`` (measured between readings; evaluated
  when readings arrive); clears like threshold.
- repeat: ``count`` crossings into the condition within ``within_minutes``; with ``clear``, a new crossing counts
  only after the value went back past the clear level. Clears when ``within_minutes`` pass without a crossing
  (checked on readings and on `tick`).
- rate: the value moved by at least ``change`` within ``per_minutes`` (``change`` > 0: a rise, measured from the
  lowest reading in that span; < 0: a fall, from the highest). Clears when the movement over the span is back
  below ``clear`` (default: ``change``).
- no_data: nothing received for ``minutes``; raised by `tick`, cleared by the next reading. Devices named in
  ``device_ids`` that never sent anything are watched from the first `tick`.
- anomaly: an online detector per (rule, device) from `wuye.iot.detectors`; raises when the deviation reaches
  ``sigma`` spreads, clears after it has stayed below ``clear_sigma`` for ``clear_minutes``. Its reason explains
  itself with the expected value ("18 % above the expected 41.2 °C for this hour").
- schedule: outside it a rule does not raise (duration and repeat also stop counting), but an open alarm still
  clears. Detectors keep learning outside the schedule.

Reasons: every `AlarmChange` carries `reason_code` and `reason_params` (strings); `REASON_MESSAGES[reason_code]` is
an English msgid with %(name)s placeholders, marked for translation, so the UI renders
``gettext(REASON_MESSAGES[code]) % params`` in the reader's language. `reason` is the English text.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
import operator
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from wuye.iot import detectors as detector_lib


def gettext_noop(message: str) -> str:
    """Marks a msgid for `makemessages` (which looks for this name) without needing Django settings at import time."""
    return message


STATE_VERSION = 1
KINDS = ("threshold", "duration", "repeat", "rate", "no_data", "anomaly")
SEVERITIES = ("critical", "major", "minor", "warning")
RAISE = "raise"
CLEAR = "clear"
OPERATORS: dict[str, Callable[[float, float], bool]] = {
    ">": operator.gt,
    ">=": operator.ge,
    "<": operator.lt,
    "<=": operator.le,
}
UPPER_OPERATORS = (">", ">=")
INF = math.inf

# Which parameters each kind accepts (besides "unit", accepted everywhere), and which it requires.
KIND_PARAMS: dict[str, tuple[frozenset[str], frozenset[str]]] = {
    "threshold": (frozenset({"op", "value", "clear"}), frozenset({"op", "value"})),
    "duration": (frozenset({"op", "value", "clear", "minutes"}), frozenset({"op", "value", "minutes"})),
    "repeat": (
        frozenset({"op", "value", "clear", "count", "within_minutes"}),
        frozenset({"op", "value", "count", "within_minutes"}),
    ),
    "rate": (frozenset({"change", "per_minutes", "clear"}), frozenset({"change", "per_minutes"})),
    "no_data": (frozenset({"minutes"}), frozenset({"minutes"})),
    "anomaly": (frozenset({"detector", "sigma", "clear_sigma", "clear_minutes"}), frozenset()),
}

REASON_MESSAGES: dict[str, str] = {
    "threshold_above": gettext_noop("%(metric)s is %(value)s%(unit)s, above the limit of %(limit)s%(unit)s"),
    "threshold_below": gettext_noop("%(metric)s is %(value)s%(unit)s, below the limit of %(limit)s%(unit)s"),
    "threshold_cleared": gettext_noop("%(metric)s is back to %(value)s%(unit)s (clear level %(limit)s%(unit)s)"),
    "duration_above": gettext_noop(
        "%(metric)s has been above %(limit)s%(unit)s for %(minutes)s minutes (now %(value)s%(unit)s)"
    ),
    "duration_below": gettext_noop(
        "%(metric)s has been below %(limit)s%(unit)s for %(minutes)s minutes (now %(value)s%(unit)s)"
    ),
    "repeat_above": gettext_noop("%(metric)s went above %(limit)s%(unit)s %(count)s times within %(minutes)s minutes"),
    "repeat_below": gettext_noop("%(metric)s went below %(limit)s%(unit)s %(count)s times within %(minutes)s minutes"),
    "repeat_cleared": gettext_noop("%(metric)s has not crossed %(limit)s%(unit)s for %(minutes)s minutes"),
    "rate_rise": gettext_noop(
        "%(metric)s rose by %(change)s%(unit)s within %(minutes)s minutes (now %(value)s%(unit)s)"
    ),
    "rate_fall": gettext_noop(
        "%(metric)s fell by %(change)s%(unit)s within %(minutes)s minutes (now %(value)s%(unit)s)"
    ),
    "rate_cleared": gettext_noop("%(metric)s is changing by less than %(limit)s%(unit)s per %(minutes)s minutes again"),
    "no_data": gettext_noop("No %(metric)s reading for %(minutes)s minutes (last one at %(last_seen)s)"),
    "no_data_never": gettext_noop("No %(metric)s reading received in %(minutes)s minutes of watching"),
    "no_data_cleared": gettext_noop("%(metric)s readings are arriving again"),
    "anomaly_above_hour": gettext_noop(
        "%(percent)s %% above the expected %(expected)s%(unit)s for this hour (%(metric)s is %(value)s%(unit)s)"
    ),
    "anomaly_below_hour": gettext_noop(
        "%(percent)s %% below the expected %(expected)s%(unit)s for this hour (%(metric)s is %(value)s%(unit)s)"
    ),
    "anomaly_above_recent": gettext_noop(
        "%(percent)s %% above the expected %(expected)s%(unit)s from recent readings (%(metric)s is %(value)s%(unit)s)"
    ),
    "anomaly_below_recent": gettext_noop(
        "%(percent)s %% below the expected %(expected)s%(unit)s from recent readings (%(metric)s is %(value)s%(unit)s)"
    ),
    "anomaly_above_hour_abs": gettext_noop(
        "%(deviation)s%(unit)s above the expected %(expected)s%(unit)s for this hour (%(metric)s is %(value)s%(unit)s)"
    ),
    "anomaly_below_hour_abs": gettext_noop(
        "%(deviation)s%(unit)s below the expected %(expected)s%(unit)s for this hour (%(metric)s is %(value)s%(unit)s)"
    ),
    "anomaly_above_recent_abs": gettext_noop(
        "%(deviation)s%(unit)s above the expected %(expected)s%(unit)s from recent readings "
        "(%(metric)s is %(value)s%(unit)s)"
    ),
    "anomaly_below_recent_abs": gettext_noop(
        "%(deviation)s%(unit)s below the expected %(expected)s%(unit)s from recent readings "
        "(%(metric)s is %(value)s%(unit)s)"
    ),
    "anomaly_cleared": gettext_noop("%(metric)s has been back within its usual range for %(minutes)s minutes"),
}


class InvalidRule(ValueError):
    """A rule is malformed. `field` names what is wrong ("kind", "severity", "params.value", "schedule" …)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


# ---------------------------------------------------------------------------------------------------------------------
# Value types


@dataclass(frozen=True, slots=True)
class Reading:
    device_id: int
    metric: str
    at: dt.datetime
    value: float


@dataclass(frozen=True)
class Schedule:
    """When a rule is active, in the rule's local time: on `weekdays` (0 = Monday … 6 = Sunday) from `start` to `end`.

    `end` ≤ `start` means the period runs overnight into the next day and belongs to the day it starts on (Friday
    22:00–06:00 covers Friday night and Saturday morning until 06:00). `start` == `end` means the whole day; an `end`
    of 00:00 means midnight. For convenience `weekdays=None` means every day and `start=end=None` the whole day.
    """

    weekdays: frozenset[int]
    start: dt.time
    end: dt.time

    def __post_init__(self) -> None:
        weekdays = frozenset(range(7)) if self.weekdays is None else frozenset(self.weekdays)
        if not weekdays or any(not isinstance(day, int) or not 0 <= day <= 6 for day in weekdays):
            raise InvalidRule("schedule.weekdays", f"must be a non-empty set of 0 (Monday) … 6 (Sunday): {weekdays}")
        object.__setattr__(self, "weekdays", weekdays)
        if (self.start is None) != (self.end is None):
            raise InvalidRule("schedule.start" if self.start is None else "schedule.end", "give both start and end")
        if self.start is None:
            object.__setattr__(self, "start", dt.time(0, 0))
            object.__setattr__(self, "end", dt.time(0, 0))
        for name in ("start", "end"):
            moment = getattr(self, name)
            if not isinstance(moment, dt.time) or moment.tzinfo is not None:
                raise InvalidRule(f"schedule.{name}", "must be a local wall-clock time without a time zone")

    def active(self, local_moment: dt.datetime) -> bool:
        moment = local_moment.time().replace(tzinfo=None)
        weekday = local_moment.weekday()
        if self.start == self.end:
            return weekday in self.weekdays
        if self.start < self.end:
            return weekday in self.weekdays and self.start <= moment < self.end
        return (weekday in self.weekdays and moment >= self.start) or (
            (weekday - 1) % 7 in self.weekdays and moment < self.end
        )


@dataclass(frozen=True)
class RuleSpec:
    id: int
    metric: str
    kind: str
    severity: str
    params: Mapping[str, float | str] = field(hash=False)
    device_ids: frozenset[int] | None = None
    schedule: Schedule | None = None
    tz: str = "Asia/Shanghai"

    def __post_init__(self) -> None:
        if not isinstance(self.metric, str) or not self.metric:
            raise InvalidRule("metric", "must be a non-empty name")
        if self.kind not in KINDS:
            raise InvalidRule("kind", f"must be one of {', '.join(KINDS)}, got {self.kind!r}")
        if self.severity not in SEVERITIES:
            raise InvalidRule("severity", f"must be one of {', '.join(SEVERITIES)}, got {self.severity!r}")
        try:
            ZoneInfo(self.tz)
        except (ZoneInfoNotFoundError, ValueError, TypeError):
            raise InvalidRule("tz", f"unknown time zone {self.tz!r}") from None
        if self.device_ids is not None:
            object.__setattr__(self, "device_ids", frozenset(self.device_ids))
        object.__setattr__(self, "params", dict(self.params))
        parse_params(self)

    def fingerprint(self) -> str:
        """Changes whenever the rule's meaning changes; the engine drops learnt state that belonged to another rule."""
        schedule = None
        if self.schedule is not None:
            schedule = [sorted(self.schedule.weekdays), self.schedule.start.isoformat(), self.schedule.end.isoformat()]
        payload = json.dumps(
            [
                self.metric,
                self.kind,
                sorted((key, str(value)) for key, value in self.params.items()),
                None if self.device_ids is None else sorted(self.device_ids),
                schedule,
                self.tz,
            ]
        )
        return hashlib.sha256(payload.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class AlarmChange:
    rule_id: int
    device_id: int
    change: str
    at: dt.datetime
    severity: str
    reason: str
    value: float | None
    reason_code: str = ""
    reason_params: Mapping[str, str] = field(default_factory=dict, hash=False)
    metric: str = ""


def reason_text(code: str, params: Mapping[str, str], translate: Callable[[str], str] | None = None) -> str:
    """The explanation in English, or in the reader's language when `translate` is gettext."""
    message = REASON_MESSAGES[code]
    if translate is not None:
        message = translate(message)
    return message % params


# ---------------------------------------------------------------------------------------------------------------------
# Parameters


@dataclass(frozen=True)
class Condition:
    """A comparison with an optional hysteresis clear level."""

    op: str
    limit: float
    clear: float | None

    @property
    def upper(self) -> bool:
        return self.op in UPPER_OPERATORS

    def holds(self, value: float) -> bool:
        return OPERATORS[self.op](value, self.limit)

    def cleared(self, value: float) -> bool:
        if self.clear is None:
            return not self.holds(value)
        return value <= self.clear if self.upper else value >= self.clear


@dataclass(frozen=True)
class ParsedParams:
    condition: Condition | None = None
    minutes: float = 0.0
    count: int = 0
    change: float = 0.0
    clear_change: float = 0.0
    detector: str = ""
    sigma: float = 0.0
    clear_sigma: float = 0.0
    detector_params: Mapping[str, Any] = field(default_factory=dict)
    unit: str = ""


def _number(params: Mapping[str, Any], name: str) -> float:
    raw = params[name]
    if isinstance(raw, bool):
        raise InvalidRule(f"params.{name}", f"must be a number, got {raw!r}")
    try:
        value = float(raw)
    except (TypeError, ValueError):
        raise InvalidRule(f"params.{name}", f"must be a number, got {raw!r}") from None
    if not math.isfinite(value):
        raise InvalidRule(f"params.{name}", f"must be a finite number, got {raw!r}")
    return value


def _positive(params: Mapping[str, Any], name: str) -> float:
    value = _number(params, name)
    if value <= 0:
        raise InvalidRule(f"params.{name}", f"must be greater than 0, got {params[name]!r}")
    return value


def _condition(params: Mapping[str, Any]) -> Condition:
    op = params["op"]
    if op not in OPERATORS:
        raise InvalidRule("params.op", f"must be one of {', '.join(OPERATORS)}, got {op!r}")
    limit = _number(params, "value")
    clear = _number(params, "clear") if "clear" in params else None
    if clear is not None:
        if op in UPPER_OPERATORS and clear > limit:
            raise InvalidRule("params.clear", f"must not be above the limit {limit:g} of a '{op}' rule")
        if op not in UPPER_OPERATORS and clear < limit:
            raise InvalidRule("params.clear", f"must not be below the limit {limit:g} of a '{op}' rule")
    return Condition(op, limit, clear)


def parse_params(rule: RuleSpec) -> ParsedParams:
    """Check a rule's params for its kind and return them typed. Raises InvalidRule naming the parameter."""
    params = rule.params
    allowed, required = KIND_PARAMS[rule.kind]
    detector_cls = None
    if rule.kind == "anomaly":
        try:
            detector_cls = detector_lib.detector_class(str(params.get("detector", "default")))
        except detector_lib.InvalidDetector as error:
            raise InvalidRule("params.detector", error.message) from None
        allowed = allowed | frozenset(detector_cls.params)
    for name in params:
        if name != "unit" and name not in allowed:
            raise InvalidRule(f"params.{name}", f"is not a parameter of a {rule.kind} rule")
    for name in sorted(required):
        if name not in params:
            raise InvalidRule(f"params.{name}", f"is required for a {rule.kind} rule")
    unit = params.get("unit", "")
    if not isinstance(unit, str):
        raise InvalidRule("params.unit", f"must be text, got {unit!r}")

    if rule.kind == "threshold":
        return ParsedParams(condition=_condition(params), unit=unit)
    if rule.kind == "duration":
        return ParsedParams(condition=_condition(params), minutes=_positive(params, "minutes"), unit=unit)
    if rule.kind == "repeat":
        count = _positive(params, "count")
        if not count.is_integer():
            raise InvalidRule("params.count", f"must be a whole number, got {params['count']!r}")
        return ParsedParams(
            condition=_condition(params),
            count=int(count),
            minutes=_positive(params, "within_minutes"),
            unit=unit,
        )
    if rule.kind == "rate":
        change = _number(params, "change")
        if change == 0:
            raise InvalidRule("params.change", "must not be 0 (> 0 for a rise, < 0 for a fall)")
        clear = _number(params, "clear") if "clear" in params else change
        if clear * change <= 0 or abs(clear) > abs(change):
            raise InvalidRule("params.clear", f"must have the sign of change and be no larger than {change:g}")
        return ParsedParams(change=change, clear_change=clear, minutes=_positive(params, "per_minutes"), unit=unit)
    if rule.kind == "no_data":
        return ParsedParams(minutes=_positive(params, "minutes"), unit=unit)

    assert detector_cls is not None
    sigma = _positive(params, "sigma") if "sigma" in params else detector_cls.default_sigma
    clear_sigma = _positive(params, "clear_sigma") if "clear_sigma" in params else detector_cls.default_clear_sigma
    if clear_sigma > sigma:
        raise InvalidRule("params.clear_sigma", f"must not be above sigma ({sigma:g})")
    clear_minutes = detector_cls.default_clear_minutes
    if "clear_minutes" in params:
        clear_minutes = _number(params, "clear_minutes")
    if clear_minutes < 0:
        raise InvalidRule("params.clear_minutes", "must not be negative")
    detector_params = {name: params[name] for name in detector_cls.params if name in params}
    try:
        detector_cls(**detector_params)
    except detector_lib.InvalidDetector as error:
        raise InvalidRule(f"params.{error.field}", error.message) from None
    return ParsedParams(
        detector=detector_cls.name,
        sigma=sigma,
        clear_sigma=clear_sigma,
        minutes=clear_minutes,
        detector_params=detector_params,
        unit=unit,
    )


def format_number(value: float) -> str:
    """Readable numbers for explanations: 82.5, 41.2, 0.035, 1250."""
    if value == 0 or not math.isfinite(value):
        return "0" if value == 0 else str(value)
    magnitude = abs(value)
    decimals = 1 if magnitude >= 10 else 2 if magnitude >= 1 else 3
    text = f"{value:.{decimals}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


# ---------------------------------------------------------------------------------------------------------------------
# Evaluators: one per rule, holding the per-device state of that rule


def _epoch_to_datetime(epoch: float, tz: dt.tzinfo) -> dt.datetime:
    return dt.datetime.fromtimestamp(epoch, tz=tz)


class _OpenAlarm:
    __slots__ = ("raised_at", "severity")

    def __init__(self, raised_at: float, severity: str) -> None:
        self.raised_at = raised_at
        self.severity = severity


class _Evaluator:
    """Per-rule evaluation. `feed` and `tick` return an AlarmChange or None; `open` maps device id → open alarm."""

    ticks = False

    def __init__(self, rule: RuleSpec) -> None:
        self.rule = rule
        self.rule_id = rule.id
        self.metric = rule.metric
        self.severity = rule.severity
        self.devices = rule.device_ids
        self.tz = ZoneInfo(rule.tz)
        self.schedule = rule.schedule
        self.parsed = parse_params(rule)
        self.unit = f" {self.parsed.unit}" if self.parsed.unit else ""
        self.open: dict[int, _OpenAlarm] = {}
        self.open_severity = rule.severity

    # -- helpers
    def in_schedule(self, at: dt.datetime) -> bool:
        return self.schedule is None or self.schedule.active(at.astimezone(self.tz))

    def _change(
        self, change: str, device_id: int, at: dt.datetime, value: float | None, code: str, params: dict[str, str]
    ) -> AlarmChange:
        params = {"metric": self.metric, "unit": self.unit, **params}
        return AlarmChange(
            rule_id=self.rule_id,
            device_id=device_id,
            change=change,
            at=at,
            severity=self.severity if change == RAISE else self.open_severity,
            reason=REASON_MESSAGES[code] % params,
            value=value,
            reason_code=code,
            reason_params=params,
            metric=self.metric,
        )

    def raise_alarm(self, device_id: int, t: float, at: dt.datetime, value: float | None, code: str, params: dict):
        self.open[device_id] = _OpenAlarm(t, self.severity)
        return self._change(RAISE, device_id, at, value, code, params)

    def clear_alarm(self, device_id: int, t: float, at: dt.datetime, value: float | None, code: str, params: dict):
        alarm = self.open.pop(device_id)
        self.open_severity = alarm.severity
        if t < alarm.raised_at:
            # A late (back-filled) reading never clears an alarm before it was raised.
            at = _epoch_to_datetime(alarm.raised_at, at.tzinfo or self.tz)
        return self._change(CLEAR, device_id, at, value, code, params)

    # -- interface
    def feed(self, device_id: int, t: float, at: dt.datetime, value: float) -> AlarmChange | None:
        raise NotImplementedError

    def tick(self, t: float, now: dt.datetime, last_seen: Mapping[int, float]) -> list[AlarmChange]:
        return []

    def next_due(self, last_seen: Mapping[int, float]) -> float | None:
        return None

    def device_state(self, device_id: int) -> dict[str, Any]:
        return {}

    def load_device_state(self, device_id: int, state: Mapping[str, Any]) -> None:
        return None

    def known_devices(self) -> set[int]:
        return set(self.open)

    def state(self) -> dict[str, Any]:
        devices = {}
        for device_id in sorted(self.known_devices()):
            entry = self.device_state(device_id)
            alarm = self.open.get(device_id)
            if alarm is not None:
                entry["open"] = {"raised_at": alarm.raised_at, "severity": alarm.severity}
            if entry:
                devices[str(device_id)] = entry
        return {"fingerprint": self.rule.fingerprint(), "devices": devices, **self.extra_state()}

    def extra_state(self) -> dict[str, Any]:
        return {}

    def load(self, state: Mapping[str, Any]) -> None:
        same_rule = state.get("fingerprint") == self.rule.fingerprint()
        for key, entry in state.get("devices", {}).items():
            device_id = int(key)
            if "open" in entry:
                self.open[device_id] = _OpenAlarm(float(entry["open"]["raised_at"]), str(entry["open"]["severity"]))
            if same_rule:
                self.load_device_state(device_id, entry)
        if same_rule:
            self.load_extra(state)

    def load_extra(self, state: Mapping[str, Any]) -> None:
        return None


class _ThresholdEvaluator(_Evaluator):
    def __init__(self, rule: RuleSpec) -> None:
        super().__init__(rule)
        condition = self.parsed.condition
        assert condition is not None
        self.condition = condition
        self.holds = OPERATORS[condition.op]
        self.limit = condition.limit
        self.code = "threshold_above" if condition.upper else "threshold_below"
        self.clear_limit = condition.limit if condition.clear is None else condition.clear

    def feed(self, device_id: int, t: float, at: dt.datetime, value: float) -> AlarmChange | None:
        if device_id in self.open:
            if self.condition.cleared(value):
                params = {"value": format_number(value), "limit": format_number(self.clear_limit)}
                return self.clear_alarm(device_id, t, at, value, "threshold_cleared", params)
            return None
        if self.holds(value, self.limit) and (self.schedule is None or self.in_schedule(at)):
            params = {"value": format_number(value), "limit": format_number(self.limit)}
            return self.raise_alarm(device_id, t, at, value, self.code, params)
        return None


class _DurationEvaluator(_ThresholdEvaluator):
    def __init__(self, rule: RuleSpec) -> None:
        super().__init__(rule)
        self.code = "duration_above" if self.condition.upper else "duration_below"
        self.hold_seconds = self.parsed.minutes * 60.0
        self.since: dict[int, float] = {}

    def feed(self, device_id: int, t: float, at: dt.datetime, value: float) -> AlarmChange | None:
        if self.holds(value, self.limit) and (self.schedule is None or self.in_schedule(at)):
            since = self.since.setdefault(device_id, t)
            if device_id not in self.open and t - since >= self.hold_seconds:
                params = {
                    "value": format_number(value),
                    "limit": format_number(self.limit),
                    "minutes": format_number((t - since) / 60.0),
                }
                return self.raise_alarm(device_id, t, at, value, self.code, params)
            return None
        self.since.pop(device_id, None)
        if device_id in self.open and self.condition.cleared(value):
            params = {"value": format_number(value), "limit": format_number(self.clear_limit)}
            return self.clear_alarm(device_id, t, at, value, "threshold_cleared", params)
        return None

    def known_devices(self) -> set[int]:
        return set(self.open) | set(self.since)

    def device_state(self, device_id: int) -> dict[str, Any]:
        return {"since": self.since[device_id]} if device_id in self.since else {}

    def load_device_state(self, device_id: int, state: Mapping[str, Any]) -> None:
        if "since" in state:
            self.since[device_id] = float(state["since"])


class _RepeatEvaluator(_Evaluator):
    ticks = True

    def __init__(self, rule: RuleSpec) -> None:
        super().__init__(rule)
        condition = self.parsed.condition
        assert condition is not None
        self.condition = condition
        self.count = self.parsed.count
        self.window = self.parsed.minutes * 60.0
        self.code = "repeat_above" if condition.upper else "repeat_below"
        # Per device: whether the value is currently inside the condition (a crossing needs a way back first).
        self.inside: dict[int, bool] = {}
        self.crossings: dict[int, deque[float]] = {}

    def _prune(self, device_id: int, t: float) -> deque[float]:
        crossings = self.crossings.get(device_id)
        if crossings is None:
            crossings = self.crossings[device_id] = deque()
        while crossings and crossings[0] <= t - self.window:
            crossings.popleft()
        return crossings

    def _quiet_clear(self, device_id: int, t: float, at: dt.datetime, value: float | None) -> AlarmChange:
        params = {"limit": format_number(self.condition.limit), "minutes": format_number(self.window / 60.0)}
        return self.clear_alarm(device_id, t, at, value, "repeat_cleared", params)

    def feed(self, device_id: int, t: float, at: dt.datetime, value: float) -> AlarmChange | None:
        crossings = self._prune(device_id, t)
        inside = self.inside.get(device_id, False)
        if inside:
            if self.condition.cleared(value):
                self.inside[device_id] = False
        elif self.condition.holds(value):
            self.inside[device_id] = True
            if self.schedule is None or self.in_schedule(at):
                crossings.append(t)
        if device_id in self.open:
            if not crossings:
                return self._quiet_clear(device_id, t, at, value)
            return None
        if len(crossings) >= self.count:
            params = {
                "limit": format_number(self.condition.limit),
                "count": str(len(crossings)),
                "minutes": format_number(self.window / 60.0),
            }
            return self.raise_alarm(device_id, t, at, value, self.code, params)
        return None

    def tick(self, t: float, now: dt.datetime, last_seen: Mapping[int, float]) -> list[AlarmChange]:
        return [
            self._quiet_clear(device_id, t, now, None)
            for device_id in sorted(self.open)
            if not self._prune(device_id, t)
        ]

    def next_due(self, last_seen: Mapping[int, float]) -> float | None:
        due = [
            crossings[-1] + self.window
            for device_id, crossings in self.crossings.items()
            if device_id in self.open and crossings
        ]
        return min(due) if due else None

    def known_devices(self) -> set[int]:
        return set(self.open) | set(self.inside)

    def device_state(self, device_id: int) -> dict[str, Any]:
        return {"inside": self.inside.get(device_id, False), "crossings": list(self.crossings.get(device_id, ()))}

    def load_device_state(self, device_id: int, state: Mapping[str, Any]) -> None:
        self.inside[device_id] = bool(state.get("inside", False))
        self.crossings[device_id] = deque(float(x) for x in state.get("crossings", ()))


class _RateEvaluator(_Evaluator):
    def __init__(self, rule: RuleSpec) -> None:
        super().__init__(rule)
        self.change = self.parsed.change
        self.clear_change = self.parsed.clear_change
        self.rising = self.change > 0
        self.span = self.parsed.minutes * 60.0
        # Per device: a monotonic deque of (time, value): the window's minimum (rise) or maximum (fall) at the front.
        self.extremes: dict[int, deque[tuple[float, float]]] = {}

    def feed(self, device_id: int, t: float, at: dt.datetime, value: float) -> AlarmChange | None:
        extremes = self.extremes.get(device_id)
        if extremes is None:
            extremes = self.extremes[device_id] = deque()
        while extremes and extremes[0][0] < t - self.span:
            extremes.popleft()
        if self.rising:
            while extremes and extremes[-1][1] >= value:
                extremes.pop()
        else:
            while extremes and extremes[-1][1] <= value:
                extremes.pop()
        extremes.append((t, value))
        moved = value - extremes[0][1]
        if device_id in self.open:
            if (moved < self.clear_change) if self.rising else (moved > self.clear_change):
                return self.clear_alarm(device_id, t, at, value, "rate_cleared", self._params(value, moved, True))
            return None
        if (moved >= self.change if self.rising else moved <= self.change) and (
            self.schedule is None or self.in_schedule(at)
        ):
            code = "rate_rise" if self.rising else "rate_fall"
            return self.raise_alarm(device_id, t, at, value, code, self._params(value, moved, False))
        return None

    def _params(self, value: float, moved: float, clearing: bool) -> dict[str, str]:
        params = {
            "value": format_number(value),
            "change": format_number(abs(moved)),
            "minutes": format_number(self.span / 60.0),
        }
        if clearing:
            params["limit"] = format_number(abs(self.clear_change))
        return params

    def known_devices(self) -> set[int]:
        return set(self.open) | set(self.extremes)

    def device_state(self, device_id: int) -> dict[str, Any]:
        return {"extremes": [list(pair) for pair in self.extremes.get(device_id, ())]}

    def load_device_state(self, device_id: int, state: Mapping[str, Any]) -> None:
        self.extremes[device_id] = deque((float(t), float(v)) for t, v in state.get("extremes", ()))


class _NoDataEvaluator(_Evaluator):
    ticks = True

    def __init__(self, rule: RuleSpec) -> None:
        super().__init__(rule)
        self.silence = self.parsed.minutes * 60.0
        # When the engine started watching devices that are named in the rule but never reported (first tick).
        self.watch_since: float | None = None

    def feed(self, device_id: int, t: float, at: dt.datetime, value: float) -> AlarmChange | None:
        if device_id in self.open:
            return self.clear_alarm(device_id, t, at, value, "no_data_cleared", {})
        return None

    def _watched(self, last_seen: Mapping[int, float]) -> Iterable[int]:
        return self.devices if self.devices is not None else last_seen.keys()

    def tick(self, t: float, now: dt.datetime, last_seen: Mapping[int, float]) -> list[AlarmChange]:
        if self.watch_since is None:
            self.watch_since = t
        if self.schedule is not None and not self.in_schedule(now):
            return []
        changes = []
        minutes = format_number(self.silence / 60.0)
        for device_id in sorted(self._watched(last_seen)):
            if device_id in self.open:
                continue
            seen = last_seen.get(device_id)
            if seen is None:
                if t - self.watch_since >= self.silence:
                    changes.append(self.raise_alarm(device_id, t, now, None, "no_data_never", {"minutes": minutes}))
            elif t - seen >= self.silence:
                last = _epoch_to_datetime(seen, self.tz).isoformat(timespec="minutes")
                params = {"minutes": minutes, "last_seen": last}
                changes.append(self.raise_alarm(device_id, t, now, None, "no_data", params))
        return changes

    def next_due(self, last_seen: Mapping[int, float]) -> float | None:
        due = []
        for device_id in self._watched(last_seen):
            if device_id in self.open:
                continue
            seen = last_seen.get(device_id)
            if seen is not None:
                due.append(seen + self.silence)
            elif self.watch_since is not None:
                due.append(self.watch_since + self.silence)
        return min(due) if due else None

    def extra_state(self) -> dict[str, Any]:
        return {"watch_since": self.watch_since}

    def load_extra(self, state: Mapping[str, Any]) -> None:
        watch_since = state.get("watch_since")
        self.watch_since = None if watch_since is None else float(watch_since)


class _AnomalyEvaluator(_Evaluator):
    def __init__(self, rule: RuleSpec) -> None:
        super().__init__(rule)
        self.detector_name = self.parsed.detector
        self.detector_cls = detector_lib.DETECTORS[self.detector_name]
        self.sigma = self.parsed.sigma
        self.clear_sigma = self.parsed.clear_sigma
        self.calm_seconds = self.parsed.minutes * 60.0
        self.detectors: dict[int, detector_lib.Detector] = {}
        self.calm_since: dict[int, float] = {}

    def _detector(self, device_id: int) -> detector_lib.Detector:
        detector = self.detectors.get(device_id)
        if detector is None:
            detector = self.detectors[device_id] = self.detector_cls(**self.parsed.detector_params)
        return detector

    def feed(self, device_id: int, t: float, at: dt.datetime, value: float) -> AlarmChange | None:
        local = at.astimezone(self.tz)
        assessment = self._detector(device_id).update(t, local.hour, value)
        if not assessment.ready:
            return None
        magnitude = abs(assessment.sigma)
        if device_id in self.open:
            if magnitude < self.clear_sigma:
                since = self.calm_since.setdefault(device_id, t)
                if t - since >= self.calm_seconds:
                    del self.calm_since[device_id]
                    params = {"minutes": format_number((t - since) / 60.0)}
                    return self.clear_alarm(device_id, t, at, value, "anomaly_cleared", params)
            else:
                self.calm_since.pop(device_id, None)
            return None
        if magnitude >= self.sigma and (self.schedule is None or self.schedule.active(local)):
            self.calm_since.pop(device_id, None)
            code, params = self.explain(assessment, value)
            return self.raise_alarm(device_id, t, at, value, code, params)
        return None

    def explain(self, assessment: detector_lib.Assessment, value: float) -> tuple[str, dict[str, str]]:
        expected = assessment.expected if assessment.expected is not None else value
        deviation = value - expected
        direction = "above" if (deviation if deviation != 0 else assessment.sigma) >= 0 else "below"
        params = {
            "value": format_number(value),
            "expected": format_number(expected),
            "deviation": format_number(abs(deviation)),
            "sigma": format_number(abs(assessment.sigma)),
            "detector": self.detector_name,
        }
        code = f"anomaly_{direction}_{self.detector_cls.basis}"
        # A percentage of an expected value near zero (or of the spread's order) says nothing: give the difference.
        spread = assessment.spread or 0.0
        if abs(expected) > max(spread, 1e-9):
            params["percent"] = str(round(abs(deviation) / abs(expected) * 100))
        else:
            code += "_abs"
        return code, params

    def known_devices(self) -> set[int]:
        return set(self.open) | set(self.detectors)

    def device_state(self, device_id: int) -> dict[str, Any]:
        entry: dict[str, Any] = {}
        if device_id in self.detectors:
            entry["detector"] = self.detectors[device_id].state()
        if device_id in self.calm_since:
            entry["calm_since"] = self.calm_since[device_id]
        return entry

    def load_device_state(self, device_id: int, state: Mapping[str, Any]) -> None:
        if "detector" in state:
            self._detector(device_id).load(state["detector"])
        if "calm_since" in state:
            self.calm_since[device_id] = float(state["calm_since"])


EVALUATORS: dict[str, type[_Evaluator]] = {
    "threshold": _ThresholdEvaluator,
    "duration": _DurationEvaluator,
    "repeat": _RepeatEvaluator,
    "rate": _RateEvaluator,
    "no_data": _NoDataEvaluator,
    "anomaly": _AnomalyEvaluator,
}


# ---------------------------------------------------------------------------------------------------------------------
# The engine


def _require_aware(moment: dt.datetime, name: str) -> None:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name} must be an aware datetime, got naive {moment!r}")


class Engine:
    """Evaluates readings against rules. Not thread-safe: one engine per ingesting process (or per shard of devices)."""

    def __init__(self, rules: Sequence[RuleSpec], state: dict | None = None) -> None:
        ids = [rule.id for rule in rules]
        if len(ids) != len(set(ids)):
            raise InvalidRule("id", "rule ids must be unique")
        self._evaluators = [EVALUATORS[rule.kind](rule) for rule in rules]
        self._by_metric: dict[str, list[_Evaluator]] = {}
        for evaluator in self._evaluators:
            self._by_metric.setdefault(evaluator.metric, []).append(evaluator)
        self._ticking = [evaluator for evaluator in self._evaluators if evaluator.ticks]
        # metric → device → epoch seconds of the last accepted reading (de-duplication and no-data watching).
        self._last_seen: dict[str, dict[int, float]] = {}
        if state:
            self._load(state)

    # -- feeding
    def feed(self, reading: Reading) -> list[AlarmChange]:
        value = reading.value
        if value != value or value == INF or value == -INF:
            return []
        at = reading.at
        if at.tzinfo is None:
            raise ValueError(f"Reading.at must be an aware datetime, got naive {at!r}")
        t = at.timestamp()
        seen = self._last_seen.get(reading.metric)
        if seen is None:
            seen = self._last_seen[reading.metric] = {}
        device_id = reading.device_id
        last = seen.get(device_id)
        if last is not None and t <= last:
            return []
        seen[device_id] = t
        evaluators = self._by_metric.get(reading.metric)
        if not evaluators:
            return []
        changes = []
        for evaluator in evaluators:
            if evaluator.devices is not None and device_id not in evaluator.devices:
                continue
            change = evaluator.feed(device_id, t, at, value)
            if change is not None:
                changes.append(change)
        return changes

    def feed_many(self, readings: Iterable[Reading]) -> list[AlarmChange]:
        changes: list[AlarmChange] = []
        feed = self.feed
        for reading in readings:
            result = feed(reading)
            if result:
                changes.extend(result)
        return changes

    def tick(self, now: dt.datetime) -> list[AlarmChange]:
        """Raise no-data alarms and clear quiet repeat alarms as of `now`. Call it every minute or so."""
        _require_aware(now, "now")
        t = now.timestamp()
        changes: list[AlarmChange] = []
        for evaluator in self._ticking:
            last_seen = self._last_seen.get(evaluator.metric, {})
            if evaluator.devices is not None:
                last_seen = {device: at for device, at in last_seen.items() if device in evaluator.devices}
            changes.extend(evaluator.tick(t, now, last_seen))
        return changes

    def next_due(self) -> dt.datetime | None:
        """The earliest moment a `tick` could change something (None if no tick is needed); replay ticks there."""
        due = []
        for evaluator in self._ticking:
            moment = evaluator.next_due(self._last_seen.get(evaluator.metric, {}))
            if moment is not None:
                due.append(moment)
        return dt.datetime.fromtimestamp(min(due), tz=dt.UTC) if due else None

    def open_alarms(self) -> list[tuple[int, int]]:
        """(rule id, device id) of every open alarm."""
        return sorted((evaluator.rule_id, device) for evaluator in self._evaluators for device in evaluator.open)

    # -- persistence
    def state(self) -> dict:
        return {
            "version": STATE_VERSION,
            "last_seen": {
                metric: {str(device): at for device, at in sorted(devices.items())}
                for metric, devices in sorted(self._last_seen.items())
            },
            "rules": {str(evaluator.rule_id): evaluator.state() for evaluator in self._evaluators},
        }

    def _load(self, state: Mapping[str, Any]) -> None:
        if state.get("version") != STATE_VERSION:
            raise ValueError(f"unsupported rule-engine state version {state.get('version')!r}")
        self._last_seen = {
            metric: {int(device): float(at) for device, at in devices.items()}
            for metric, devices in state.get("last_seen", {}).items()
        }
        saved = state.get("rules", {})
        for evaluator in self._evaluators:
            rule_state = saved.get(str(evaluator.rule_id))
            if rule_state:
                evaluator.load(rule_state)


# ---------------------------------------------------------------------------------------------------------------------
# The compact rule grammar used by `manage.py iot_replay --rule SPEC` (docs/iot.md, "Rule SPEC grammar")

WEEKDAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
CONDITION_KINDS = ("threshold", "duration", "repeat")
SPEC_COMMON_KEYS = ("severity", "unit", "tz", "schedule")


def _parse_clock(text: str, part: str) -> dt.time:
    hours, sep, minutes = text.partition(":")
    if not sep or not hours.isdigit() or not minutes.isdigit() or len(minutes) != 2:
        raise InvalidRule(part, f"{text!r} is not a time HH:MM")
    hour, minute = int(hours), int(minutes)
    if hour == 24 and minute == 0:
        return dt.time(0, 0)
    if hour > 23 or minute > 59:
        raise InvalidRule(part, f"{text!r} is not a time between 00:00 and 24:00")
    return dt.time(hour, minute)


def _parse_days(text: str, part: str) -> frozenset[int]:
    if text in ("all", "daily"):
        return frozenset(range(7))
    days: set[int] = set()
    for piece in text.split("+"):
        first, sep, last = piece.partition("-")
        if first not in WEEKDAY_NAMES or (sep and last not in WEEKDAY_NAMES):
            raise InvalidRule(part, f"{piece!r} is not a day (mon … sun), a range like mon-fri, or 'all'")
        start = WEEKDAY_NAMES.index(first)
        end = WEEKDAY_NAMES.index(last) if sep else start
        day = start
        while True:
            days.add(day)
            if day == end:
                break
            day = (day + 1) % 7
    return frozenset(days)


def parse_schedule(text: str, part: str = "schedule") -> Schedule:
    """``DAYS/HH:MM-HH:MM`` (mon-fri/22:00-06:00), ``DAYS`` alone (sat+sun: all day), or ``HH:MM-HH:MM`` (daily)."""
    days_text, sep, hours_text = text.partition("/")
    if not sep:
        if "-" in text and ":" in text:
            days_text, hours_text = "all", text
        else:
            hours_text = "00:00-00:00"
    start_text, dash, end_text = hours_text.partition("-")
    if not dash:
        raise InvalidRule(part, f"{hours_text!r} is not a period HH:MM-HH:MM")
    return Schedule(
        weekdays=_parse_days(days_text.strip().lower(), part),
        start=_parse_clock(start_text.strip(), part),
        end=_parse_clock(end_text.strip(), part),
    )


def _spec_number(text: str, part: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise InvalidRule(part, f"{text!r} is not a number") from None
    if not math.isfinite(value):
        raise InvalidRule(part, f"{text!r} is not a finite number")
    return value


def parse_rule_spec(text: str, *, metric: str, rule_id: int = 1) -> RuleSpec:
    """A RuleSpec from the compact grammar, e.g. ``threshold:>80,clear=75,severity=major`` or ``anomaly:default``.

    ``KIND[:ITEM,ITEM,…]``; an ITEM is ``KEY=VALUE`` or a bare value: a condition (``>80``, ``<=5``) for threshold,
    duration and repeat, a detector name for anomaly, a signed change for rate, minutes for no_data. Errors raise
    InvalidRule whose `field` is the offending part of the text.
    """
    text = text.strip()
    kind, _, rest = text.partition(":")
    kind = kind.strip()
    if kind not in KINDS:
        raise InvalidRule(kind or text, f"unknown rule kind {kind!r}; use one of {', '.join(KINDS)}")
    params: dict[str, float | str] = {}
    # Which piece of the text each parameter came from, to name it in errors.
    source: dict[str, str] = {}
    severity = "major"
    tz = "Asia/Shanghai"
    schedule = None
    items = [item.strip() for item in rest.split(",")] if rest.strip() else []
    for item in items:
        if not item:
            raise InvalidRule(text, "empty item (two commas in a row, or a trailing comma)")
        key, sep, raw = item.partition("=")
        if sep and not item.startswith(("<", ">")):
            key, raw = key.strip(), raw.strip()
            if not raw:
                raise InvalidRule(item, f"{key} has no value")
            source[key] = item
            if key == "severity":
                if raw not in SEVERITIES:
                    raise InvalidRule(item, f"severity must be one of {', '.join(SEVERITIES)}")
                severity = raw
            elif key == "tz":
                tz = raw
            elif key == "schedule":
                schedule = parse_schedule(raw, item)
            elif key in ("unit", "detector", "op"):
                params[key] = raw
            else:
                params[key] = _spec_number(raw, item)
            continue
        if kind in CONDITION_KINDS:
            op = next((symbol for symbol in (">=", "<=", ">", "<") if item.startswith(symbol)), None)
            if op is None:
                raise InvalidRule(item, "expected a condition such as >80 or <=5, or KEY=VALUE")
            params["op"] = op
            params["value"] = _spec_number(item[len(op) :].strip(), item)
            source["op"] = source["value"] = item
        elif kind == "anomaly":
            params["detector"] = item
            source["detector"] = item
        elif kind == "rate":
            params["change"] = _spec_number(item, item)
            source["change"] = item
        elif kind == "no_data":
            params["minutes"] = _spec_number(item, item)
            source["minutes"] = item
        else:  # pragma: no cover - every kind is handled above
            raise InvalidRule(item, "unexpected item")
    try:
        return RuleSpec(
            id=rule_id, metric=metric, kind=kind, severity=severity, params=params, schedule=schedule, tz=tz
        )
    except InvalidRule as error:
        name = error.field.removeprefix("params.")
        # A missing parameter has no piece of text to point at: name the parameter and the whole SPEC.
        part = source.get(name) or f"{name} (in {text!r})"
        raise InvalidRule(part, error.message) from None


# ---------------------------------------------------------------------------------------------------------------------
# Replay: a historical series through the same engine, with simulated time


@dataclass(frozen=True)
class ReplayedAlarm:
    """One alarm from a replay: when it was raised and cleared (None if still open when the data ended)."""

    rule_id: int
    device_id: int
    start: dt.datetime
    end: dt.datetime | None
    severity: str
    reason: str
    reason_code: str
    value: float | None


def replay_changes(
    rules: Sequence[RuleSpec], readings: Iterable[Reading], tick_step: dt.timedelta = dt.timedelta(minutes=1)
) -> list[AlarmChange]:
    """Feed readings (in time order) through a fresh Engine, ticking the simulated clock in between.

    The clock is ticked exactly when `Engine.next_due()` says something may happen (a no-data deadline, a repeat
    window running out) and before the next reading; when a tick changes nothing (say, a no-data rule outside its
    schedule), the clock moves on in `tick_step`s until something does or the next reading arrives.
    """
    engine = Engine(rules)
    changes: list[AlarmChange] = []
    last_tick: dt.datetime | None = None
    for reading in readings:
        while True:
            due = engine.next_due()
            if due is None or due >= reading.at:
                break
            moment = due if last_tick is None or due > last_tick else last_tick + tick_step
            if moment >= reading.at:
                break
            changes.extend(engine.tick(moment))
            last_tick = moment
        changes.extend(engine.feed(reading))
    return changes


def pair_alarms(changes: Iterable[AlarmChange]) -> list[ReplayedAlarm]:
    """Raise/clear changes paired into alarms, in order of raising."""
    alarms: list[ReplayedAlarm] = []
    open_index: dict[tuple[int, int], int] = {}
    for change in changes:
        key = (change.rule_id, change.device_id)
        if change.change == RAISE:
            open_index[key] = len(alarms)
            alarms.append(
                ReplayedAlarm(
                    rule_id=change.rule_id,
                    device_id=change.device_id,
                    start=change.at,
                    end=None,
                    severity=change.severity,
                    reason=change.reason,
                    reason_code=change.reason_code,
                    value=change.value,
                )
            )
        elif key in open_index:
            index = open_index.pop(key)
            alarm = alarms[index]
            alarms[index] = ReplayedAlarm(**{**alarm.__dict__, "end": change.at})
    return alarms


# ---------------------------------------------------------------------------------------------------------------------
# Escalation of unacknowledged alarms


def escalation_problem(minutes: object, *, levels: int) -> str | None:
    """Why a list of escalation minutes is unusable (None when it is fine): at most `levels` whole numbers of
    minutes, each at least 1 and later than the one before (each level's time counts from the raise)."""
    if not isinstance(minutes, list | tuple):
        return "not_a_list"
    if len(minutes) > levels:
        return "too_many"
    if any(isinstance(m, bool) or not isinstance(m, int) or m < 1 for m in minutes):
        return "not_positive"
    if any(later <= earlier for earlier, later in zip(minutes, minutes[1:], strict=False)):
        return "not_increasing"
    return None


def escalation_at(raised_at: dt.datetime, minutes: Sequence[int], level: int) -> dt.datetime | None:
    """When escalation level `level` (1 = the first) is due for an alarm raised at `raised_at`; None past the
    last level."""
    if not 1 <= level <= len(minutes):
        return None
    return raised_at + dt.timedelta(minutes=minutes[level - 1])


def escalation_levels_due(raised_at: dt.datetime, minutes: Sequence[int], *, sent: int, now: dt.datetime) -> list[int]:
    """The levels after `sent` whose time has come by `now`, in order (several when a scan ran late)."""
    return [
        level
        for level in range(sent + 1, len(minutes) + 1)
        if raised_at + dt.timedelta(minutes=minutes[level - 1]) <= now
    ]
