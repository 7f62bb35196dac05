"""Telemetry on the wire: the topic, the payload format, signatures, and checking a message before it is stored.

Pure functions (no ORM, no clock: `now` is passed in). The MQTT loop (`management/commands/iot_ingest.py`) and the
HTTP endpoint (`api.py`) both check messages here and hand what passes to `services.telemetry_store`.

Payload (UTF-8 JSON), one instant:   {"ts": "2026-11-27T09:30:05+08:00", "values": {"temp": 41.2, "current": 3.1}}
or a batch:                          {"readings": [{"ts": 1795743005, "values": {...}}, ...]}
`ts` is ISO 8601 with an offset, or seconds since the epoch (a number above 1e11 is read as milliseconds).

Signed MQTT payload: b"s1." + hex(HMAC-SHA256(key, topic + "\\n" + body)) + b"." + body, where body is the JSON
above with "sent_at" (when the device sent it, same formats as ts). See docs/iot-ingest.md.
"""

import datetime as dt
import hashlib
import hmac
import json
import math
import re
from dataclasses import dataclass

from .choices import Rejection

DEFAULT_ROOT = "wuye"
_TOPIC_TAIL = r"/([0-9]{1,18})/([-a-zA-Z0-9_]{1,40})/telemetry$"
_topic_patterns: dict[str, re.Pattern] = {}
_DEVICE_CODE = re.compile(r"^[-a-zA-Z0-9_]{1,40}$")
_METRIC = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
SIGNATURE_PREFIX = b"s1."
_SIGNATURE_HEX_LENGTH = 64
_EPOCH_MS_ABOVE = 1e11
_UTC = dt.UTC
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=_UTC)
_known_metrics: set[str] = set()


@dataclass(frozen=True)
class Limits:
    """What one message may hold. `oldest` is the earliest reading time accepted (the raw-retention horizon)."""

    max_payload_bytes: int
    max_readings: int
    max_future: dt.timedelta
    oldest: dt.datetime
    signature_max_age: dt.timedelta
    signature_max_future: dt.timedelta


class Refused(Exception):
    """A message that is not stored, with the counted reason and a short detail (which field, which rule)."""

    def __init__(self, reason: str, detail: str = "", field: str = ""):
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail[:300]
        self.field = field


@dataclass(frozen=True)
class ParsedMessage:
    """A message that passed every check: readings as (metric, at, value), oldest first."""

    readings: list[tuple[str, dt.datetime, float]]
    sent_at: dt.datetime | None


# ---------------------------------------------------------------- topic and signatures


def topic_for(estate_id: int | str, device_code: str, root: str = DEFAULT_ROOT) -> str:
    """`wuye/<estate id>/<device code>/telemetry`. The root is configurable (IOT_MQTT_TOPIC_ROOT) for a broker
    shared with other systems; "+" as the code or estate gives a subscription filter."""
    return f"{root}/{estate_id}/{device_code}/telemetry"


def topic_filter(root: str = DEFAULT_ROOT) -> str:
    return topic_for("+", "+", root)


def valid_device_code(code: str) -> bool:
    """Device codes are topic segments: letters, digits, - and _ (never /, + or #)."""
    return _DEVICE_CODE.match(code) is not None


def parse_topic(topic: str, root: str = DEFAULT_ROOT) -> tuple[int, str]:
    """(estate id, device code) of a telemetry topic, or Refused(bad_topic)."""
    pattern = _topic_patterns.get(root)
    if pattern is None:
        pattern = _topic_patterns[root] = re.compile("^" + re.escape(root) + _TOPIC_TAIL)
    match = pattern.match(topic)
    if match is None:
        raise Refused(Rejection.BAD_TOPIC, topic[:100], "topic")
    return int(match.group(1)), match.group(2)


def derive_device_key(master: bytes, device_id: int, key_version: int) -> bytes:
    """The device's 32-byte signing key: HMAC of the server's master key over the device id and key version. Nothing
    per device is stored; bumping `key_version` rotates it; losing the master key invalidates every device."""
    return hmac.new(master, f"wuye-iot-device-key|{device_id}|{key_version}".encode(), hashlib.sha256).digest()


def signature(key: bytes, topic: str, body: bytes) -> str:
    return hmac.new(key, topic.encode() + b"\n" + body, hashlib.sha256).hexdigest()


def sign(key: bytes, topic: str, body: bytes) -> bytes:
    """The signed payload a device publishes (used by the simulator, the benchmark and the tests)."""
    return SIGNATURE_PREFIX + signature(key, topic, body).encode() + b"." + body


def split_signed(payload: bytes) -> tuple[str, bytes]:
    """(signature hex, body) of a signed payload; Refused(unsigned) when it has no signature frame."""
    head = len(SIGNATURE_PREFIX)
    end = head + _SIGNATURE_HEX_LENGTH
    if not payload.startswith(SIGNATURE_PREFIX) or len(payload) <= end or payload[end : end + 1] != b".":
        raise Refused(Rejection.UNSIGNED, "payload does not start with s1.<signature>.", "payload")
    return payload[head:end].decode("ascii", "replace"), payload[end + 1 :]


def signature_matches(key: bytes, topic: str, body: bytes, claimed: str) -> bool:
    return hmac.compare_digest(signature(key, topic, body), claimed.lower())


# ---------------------------------------------------------------- body


def parse_time(value, field: str) -> dt.datetime:
    """An aware UTC datetime from ISO 8601 with an offset, or epoch seconds (milliseconds above 1e11)."""
    if isinstance(value, bool):
        raise Refused(Rejection.BAD_TIMESTAMP, f"{field} must be ISO 8601 or epoch seconds", field)
    if isinstance(value, int | float):
        if not math.isfinite(value):
            raise Refused(Rejection.BAD_TIMESTAMP, f"{field} is not finite", field)
        seconds = value / 1000 if abs(value) > _EPOCH_MS_ABOVE else value
        try:
            return _EPOCH + dt.timedelta(seconds=seconds)
        except OverflowError:
            raise Refused(Rejection.BAD_TIMESTAMP, f"{field} is out of range", field) from None
    if isinstance(value, str) and 10 <= len(value) <= 40:
        try:
            parsed = dt.datetime.fromisoformat(value)
        except ValueError:
            raise Refused(Rejection.BAD_TIMESTAMP, f"{field} is not ISO 8601", field) from None
        if parsed.tzinfo is None:
            raise Refused(Rejection.BAD_TIMESTAMP, f"{field} needs a UTC offset, e.g. +08:00 or Z", field)
        return parsed.astimezone(_UTC)
    raise Refused(Rejection.BAD_TIMESTAMP, f"{field} must be ISO 8601 or epoch seconds", field)


def _check_metric(name, field: str) -> str:
    if name in _known_metrics:
        return name
    if not isinstance(name, str) or _METRIC.match(name) is None:
        raise Refused(Rejection.BAD_METRIC, f"{field}: metric names are a-z, 0-9 and _, at most 40", field)
    if len(_known_metrics) < 10_000:
        _known_metrics.add(name)
    return name


def _entry(entry, field: str, now: dt.datetime, limits: Limits) -> tuple[dt.datetime, list[tuple[str, float]]]:
    """One {"ts", "values"} entry checked: its time and its (metric, value) pairs."""
    if not isinstance(entry, dict):
        raise Refused(Rejection.BAD_SHAPE, f"{field} must be an object with ts and values", field)
    if "ts" not in entry:
        raise Refused(Rejection.BAD_SHAPE, f"{field}.ts is required", f"{field}.ts")
    values = entry.get("values")
    if not isinstance(values, dict):
        raise Refused(Rejection.BAD_SHAPE, f"{field}.values must be an object of metric: number", f"{field}.values")
    at = parse_time(entry["ts"], f"{field}.ts")
    if at > now + limits.max_future:
        raise Refused(Rejection.FUTURE_TIMESTAMP, f"{field}.ts is {at.isoformat()}, after the server's time", field)
    if at < limits.oldest:
        raise Refused(Rejection.TOO_OLD, f"{field}.ts is older than the raw retention", f"{field}.ts")
    pairs = []
    for name, value in values.items():
        metric = _check_metric(name, f"{field}.values")
        kind = type(value)
        if kind is float:
            if not math.isfinite(value):
                raise Refused(Rejection.BAD_TYPE, f"{field}.values.{metric} is not finite", f"{field}.values.{metric}")
        elif kind is int:
            try:
                value = float(value)
            except OverflowError:
                raise Refused(
                    Rejection.BAD_TYPE, f"{field}.values.{metric} is too large", f"{field}.values.{metric}"
                ) from None
        else:
            raise Refused(Rejection.BAD_TYPE, f"{field}.values.{metric} must be a number", f"{field}.values.{metric}")
        pairs.append((metric, value))
    return at, pairs


def parse_body(body: bytes | str, *, now: dt.datetime, limits: Limits, require_sent_at: bool) -> ParsedMessage:
    """Check one message body against every rule; the readings it holds, or Refused naming the first broken rule.
    All or nothing: one bad reading refuses the message, so nothing half-stored has to be explained."""
    if len(body) > limits.max_payload_bytes:
        raise Refused(Rejection.TOO_LARGE, f"{len(body)} bytes, at most {limits.max_payload_bytes}", "payload")
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise Refused(Rejection.BAD_JSON, "the payload is not UTF-8 JSON", "payload") from None
    if not isinstance(data, dict):
        raise Refused(Rejection.BAD_SHAPE, "the payload must be a JSON object", "payload")
    sent_at = None
    if data.get("sent_at") is not None:
        sent_at = parse_time(data["sent_at"], "sent_at")
    if require_sent_at:
        if sent_at is None:
            raise Refused(Rejection.STALE_SIGNATURE, "signed messages carry sent_at", "sent_at")
        if not now - limits.signature_max_age <= sent_at <= now + limits.signature_max_future:
            raise Refused(Rejection.STALE_SIGNATURE, f"sent_at {sent_at.isoformat()} is outside the window", "sent_at")
    if "readings" in data:
        entries = data["readings"]
        if not isinstance(entries, list):
            raise Refused(Rejection.BAD_SHAPE, "readings must be a list", "readings")
        if len(entries) > limits.max_readings:
            raise Refused(
                Rejection.TOO_MANY_READINGS, f"{len(entries)} entries, at most {limits.max_readings}", "readings"
            )
        checked = [_entry(entry, f"readings.{index}", now, limits) for index, entry in enumerate(entries)]
        # Oldest first: the engine ignores a reading that is not newer than the last one of its device and metric.
        checked.sort(key=lambda item: item[0])
    else:
        checked = [_entry(data, "payload", now, limits)]
    readings = [(metric, at, value) for at, pairs in checked for metric, value in pairs]
    if len(readings) > limits.max_readings:
        raise Refused(Rejection.TOO_MANY_READINGS, f"more than {limits.max_readings} readings", "readings")
    if not readings:
        raise Refused(Rejection.EMPTY, "the message holds no readings", "values")
    return ParsedMessage(readings=readings, sent_at=sent_at)


def encode_body(readings: list[dict] | dict, *, sent_at: dt.datetime | float | None = None) -> bytes:
    """A body in the wire format: one {"ts", "values"} dict, or a list of them as a batch (for devices, tests)."""
    data = dict(readings) if isinstance(readings, dict) else {"readings": readings}
    if sent_at is not None:
        data["sent_at"] = sent_at.isoformat() if isinstance(sent_at, dt.datetime) else sent_at
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode()
