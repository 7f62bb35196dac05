"""Every write of the IoT capability: devices and their credentials, storing telemetry and evaluating it with the rule
engine, applying alarm changes, rollups, retention, rejection counts and the demo seed.

`telemetry_store` is the one path readings take, from MQTT (`iot_ingest`) and HTTP (`POST /api/v1/telemetry`) alike:
in one transaction it locks the engine state of the estates involved, inserts the readings skipping duplicates, feeds
only the readings that were new to the rule engine, applies the alarm changes and moves the engine's version on.
The caller acknowledges the messages only after it returns: a crash at any point leaves either everything or nothing.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import secrets
import time
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import psycopg
from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Count, F, Max, Min, Q, Sum
from django.db.models.functions import TruncHour
from django.utils import timezone, translation
from django.utils.translation import gettext, gettext_lazy
from django.utils.translation import gettext as _

from wuye.accounts.choices import Role
from wuye.accounts.models import User
from wuye.core import clock
from wuye.core.errors import DomainError, ErrorCollector, FieldError, Forbidden, ValidationFailed
from wuye.equipment.models import Equipment
from wuye.estates.models import Estate
from wuye.workorders.choices import TERMINAL as ORDER_TERMINAL
from wuye.workorders.choices import Channel as OrderChannel
from wuye.workorders.choices import Kind as OrderKind
from wuye.workorders.choices import Priority as OrderPriority
from wuye.workorders.choices import Status as OrderStatus
from wuye.workorders.models import Category, WorkOrder
from wuye.workorders.services import NewOrder, workorder_create

from . import ingest
from .choices import ESCALATION_CHAIN, OPEN_STATUSES, TRANSITIONS, AlarmAction, AlarmStatus, RuleKind, Severity
from .models import (
    Alarm,
    AlarmEvent,
    AlarmRule,
    Device,
    EngineState,
    HourlyRollup,
    IngestCursor,
    Reading,
    TelemetryRejection,
)
from .permissions import can_assign, can_respond, may_be_assigned
from .rules import (
    REASON_MESSAGES,
    AlarmChange,
    Engine,
    RuleSpec,
    Schedule,
    escalation_at,
    escalation_levels_due,
    escalation_problem,
    reason_text,
)
from .rules import Reading as EngineReading

log = logging.getLogger(__name__)

TOKEN_PREFIX_LENGTH = 8
ROLLUP_CURSOR = "rollup"


# ---------------------------------------------------------------- settings


def setting(name: str, default):
    """An IoT setting (config/settings): getattr with the documented default, so the app runs without any."""
    return getattr(settings, name, default)


def raw_retention() -> dt.timedelta:
    return dt.timedelta(days=setting("IOT_RAW_RETENTION_DAYS", 90))


def limits(now: dt.datetime) -> ingest.Limits:
    """What one message may hold now (docs/iot-ingest.md lists the settings)."""
    return ingest.Limits(
        max_payload_bytes=setting("IOT_MAX_PAYLOAD_BYTES", 256 * 1024),
        max_readings=setting("IOT_MAX_READINGS_PER_MESSAGE", 5000),
        max_future=dt.timedelta(seconds=setting("IOT_MAX_FUTURE_SECONDS", 300)),
        oldest=now - raw_retention(),
        # Longer than the ingester's broker session (1 day): messages queued while it was down are still accepted.
        signature_max_age=dt.timedelta(seconds=setting("IOT_SIGNATURE_MAX_AGE_SECONDS", 2 * 24 * 3600)),
        signature_max_future=dt.timedelta(seconds=setting("IOT_SIGNATURE_MAX_FUTURE_SECONDS", 300)),
    )


def topic_root() -> str:
    return setting("IOT_MQTT_TOPIC_ROOT", ingest.DEFAULT_ROOT)


def _master_key() -> bytes:
    # A separate master key lets SECRET_KEY rotate without re-keying every device in the field.
    return (setting("IOT_DEVICE_KEY_MASTER", "") or settings.SECRET_KEY).encode()


# ---------------------------------------------------------------- devices and credentials


@dataclass(frozen=True)
class DeviceCredentials:
    """What an installer loads into a device, shown once: its topic, its signing key (hex) and its HTTP token."""

    device_id: int
    topic: str
    signing_key: str
    http_token: str

    @property
    def authorization(self) -> str:
        return f"Device {self.device_id}:{self.http_token}"


def _hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def device_signing_key(device_id: int, key_version: int) -> bytes:
    return ingest.derive_device_key(_master_key(), device_id, key_version)


def _issue(device: Device) -> DeviceCredentials:
    raw = secrets.token_urlsafe(32)
    device.token_hash = _hash_token(raw)
    device.token_prefix = raw[:TOKEN_PREFIX_LENGTH]
    return DeviceCredentials(
        device_id=device.pk,
        topic=device.topic,
        signing_key=device_signing_key(device.pk, device.key_version).hex(),
        http_token=raw,
    )


@transaction.atomic
def device_create(
    *, estate: Estate, code: str, name: str, equipment: Equipment | None = None
) -> tuple[Device, DeviceCredentials]:
    """Register a device; returns it with its credentials, which are never shown again (rotate to get new ones)."""
    errors = ErrorCollector()
    code = code.strip()
    if not ingest.valid_device_code(code):
        errors.add("code", "invalid", _("Use letters, digits, - and _ (at most 40)."))
    elif Device.objects.filter(estate=estate, code=code).exists():
        errors.add("code", "duplicate", _("This device code is already used in the estate."))
    if not name.strip():
        errors.add("name", "required", _("This field is required."))
    if equipment is not None and equipment.estate_id != estate.id:
        errors.add("equipment", "not_found", _("The equipment is not in this estate."))
    errors.raise_if_any(_("The device could not be registered."))
    device = Device.objects.create(estate=estate, code=code, name=name.strip(), equipment=equipment)
    credentials = _issue(device)
    device.save(update_fields=["token_hash", "token_prefix"])
    return device, credentials


@transaction.atomic
def device_credentials_rotate(*, device_id: int) -> DeviceCredentials:
    """New signing key (version + 1) and new HTTP token; the old ones stop working at once."""
    device = Device.objects.select_for_update().get(pk=device_id)
    device.key_version += 1
    credentials = _issue(device)
    device.save(update_fields=["key_version", "token_hash", "token_prefix", "updated_at"])
    _directory.forget()
    return credentials


def device_token_authenticate(*, device_id: int, token: str) -> Device | None:
    """The active device `device_id` if `token` is its HTTP token; None otherwise (wrong token, another device's
    token, disabled device) — the caller cannot tell which, so tokens cannot be probed."""
    device = Device.objects.select_related("estate").filter(pk=device_id).first()
    if device is None or not device.token_hash or not device.is_active or not device.estate.is_active:
        return None
    if not secrets.compare_digest(device.token_hash, _hash_token(token)):
        return None
    return device


@dataclass(frozen=True)
class KnownDevice:
    """What the ingester needs of a device to check and store a message (cached, so not a query per message)."""

    id: int
    estate_id: int
    code: str
    is_active: bool
    key: bytes


class DeviceDirectory:
    """Devices by (estate id, code) with their signing keys, cached for a few seconds per process. A disabled or
    rotated device stops being accepted within IOT_DEVICE_CACHE_SECONDS."""

    def __init__(self) -> None:
        self._known: dict[tuple[int, str], tuple[float, KnownDevice | None]] = {}
        self._elsewhere: dict[tuple[int, str], tuple[float, list[KnownDevice]]] = {}

    def forget(self) -> None:
        self._known.clear()
        self._elsewhere.clear()

    def get(self, estate_id: int, code: str) -> KnownDevice | None:
        key = (estate_id, code)
        cached = self._known.get(key)
        now = time.monotonic()
        if cached is not None and now - cached[0] < setting("IOT_DEVICE_CACHE_SECONDS", 10):
            return cached[1]
        device = (
            Device.objects.filter(estate_id=estate_id, code=code)
            .values("id", "estate_id", "code", "is_active", "key_version", "estate__is_active")
            .first()
        )
        known = None
        if device is not None:
            known = KnownDevice(
                id=device["id"],
                estate_id=device["estate_id"],
                code=device["code"],
                is_active=device["is_active"] and device["estate__is_active"],
                key=device_signing_key(device["id"], device["key_version"]),
            )
        if len(self._known) > 100_000:
            self._known.clear()
        self._known[key] = (now, known)
        return known

    def elsewhere(self, estate_id: int, code: str) -> list[KnownDevice]:
        """Devices with this code in other estates (to tell "wrong estate" from "unknown device"), cached like `get`
        so a flood of forged messages costs no query each."""
        cached = self._elsewhere.get((estate_id, code))
        now = time.monotonic()
        if cached is not None and now - cached[0] < setting("IOT_DEVICE_CACHE_SECONDS", 10):
            return cached[1]
        rows = Device.objects.filter(code=code).exclude(estate_id=estate_id).values("id", "estate_id", "key_version")
        found = [
            KnownDevice(
                id=row["id"],
                estate_id=row["estate_id"],
                code=code,
                is_active=True,
                key=device_signing_key(row["id"], row["key_version"]),
            )
            for row in rows[:20]
        ]
        if len(self._elsewhere) > 100_000:
            self._elsewhere.clear()
        self._elsewhere[(estate_id, code)] = (now, found)
        return found


_directory = DeviceDirectory()


def device_directory() -> DeviceDirectory:
    return _directory


# ---------------------------------------------------------------- rules → engine specs


def _schedule(rule: AlarmRule) -> Schedule | None:
    if not rule.schedule_weekdays and rule.schedule_start is None:
        return None
    return Schedule(
        weekdays=frozenset(int(day) for day in rule.schedule_weekdays) if rule.schedule_weekdays else None,
        start=rule.schedule_start,
        end=rule.schedule_end,
    )


def rule_spec(rule: AlarmRule, device_ids: frozenset[int] | None) -> RuleSpec:
    """The engine's view of an alarm rule. Raises ValueError (from the engine) when the parameters do not fit."""
    return RuleSpec(
        id=rule.pk,
        metric=rule.metric,
        kind=rule.kind,
        severity=rule.severity,
        params=dict(rule.params or {}),
        device_ids=device_ids,
        schedule=_schedule(rule),
        tz=settings.TIME_ZONE,
    )


def estate_rule_specs(estate_id: int) -> tuple[RuleSpec, ...]:
    """The active rules of an estate as engine specs. A rule for an equipment category covers the devices on
    equipment of that category now; a rule whose parameters the engine refuses is left out (and logged), so one
    bad rule never stops ingestion."""
    rules = list(AlarmRule.objects.filter(estate_id=estate_id, is_active=True).order_by("id"))
    by_category: dict[str, frozenset[int]] = {}
    categories = {rule.equipment_category for rule in rules if rule.equipment_category}
    if categories:
        grouped: dict[str, set[int]] = defaultdict(set)
        for device_id, category in Device.objects.filter(
            estate_id=estate_id, equipment__category__in=categories
        ).values_list("id", "equipment__category"):
            grouped[category].add(device_id)
        by_category = {category: frozenset(grouped.get(category, ())) for category in categories}
    specs = []
    for rule in rules:
        if rule.device_id is not None:
            device_ids: frozenset[int] | None = frozenset({rule.device_id})
        elif rule.equipment_category:
            device_ids = by_category[rule.equipment_category]
        else:
            device_ids = None
        try:
            specs.append(rule_spec(rule, device_ids))
        except (ValueError, TypeError) as refusal:
            log.warning("alarm rule %s left out: %s", rule.pk, refusal)
    return tuple(specs)


# ---------------------------------------------------------------- the engines (one per estate, cached per process)


@dataclass
class _CachedEngine:
    engine: Engine
    version: int
    rules: tuple[RuleSpec, ...]
    rules_checked_at: float


class EngineCache:
    """The rule engines of the estates this process evaluates, each valid for one `EngineState.version`."""

    def __init__(self) -> None:
        self._engines: dict[int, _CachedEngine] = {}
        self.rebuilds = 0

    def forget(self, estate_ids: Iterable[int] | None = None) -> None:
        if estate_ids is None:
            self._engines.clear()
            return
        for estate_id in estate_ids:
            self._engines.pop(estate_id, None)

    def engine_for(self, state: EngineState) -> tuple[_CachedEngine, bool]:
        """The engine for a locked state row, rebuilt when another process moved the version on. Returns the cached
        entry and whether it was rebuilt (the caller then saves a snapshot, so the next rebuild replays little)."""
        cached = self._engines.get(state.estate_id)
        refresh = setting("IOT_RULES_REFRESH_SECONDS", 10)
        if cached is not None and cached.version == state.version:
            if time.monotonic() - cached.rules_checked_at >= refresh:
                rules = estate_rule_specs(state.estate_id)
                if rules != cached.rules:
                    cached.engine = Engine(rules, cached.engine.state())
                    cached.rules = rules
                cached.rules_checked_at = time.monotonic()
            return cached, False
        rules = estate_rule_specs(state.estate_id)
        engine = Engine(rules, state.state or None)
        # Readings stored after the snapshot: their alarms were applied when they were stored; only the engine's
        # memory has to catch up, so the changes this replay produces are dropped.
        replay = (
            Reading.objects.filter(device__estate_id=state.estate_id, id__gt=state.watermark)
            .order_by("id")
            .values_list("id", "device_id", "metric", "at", "value")
        )
        for _reading_id, device_id, metric, at, value in replay.iterator(chunk_size=5000):
            engine.feed(EngineReading(device_id, metric, at, value))
        cached = _CachedEngine(engine=engine, version=state.version, rules=rules, rules_checked_at=time.monotonic())
        self._engines[state.estate_id] = cached
        self.rebuilds += 1
        return cached, True


_engines = EngineCache()


def engine_cache() -> EngineCache:
    return _engines


def caches_clear() -> None:
    """Forget every per-process cache (devices, engines, last-seen writes): after bulk changes, and between tests."""
    _directory.forget()
    _engines.forget()
    _last_seen_written.clear()


def _newest_reading_id() -> int:
    return Reading.objects.aggregate(newest=Max("id"))["newest"] or 0


def _lock_states(estate_ids: Sequence[int], now: dt.datetime) -> list[EngineState]:
    """Lock the engine-state rows of these estates, in id order (no deadlocks), creating missing ones. A new row's
    watermark is the newest reading now, so an estate's first engine does not replay all of history."""
    states = list(EngineState.objects.select_for_update().filter(estate_id__in=estate_ids).order_by("estate_id"))
    missing = set(estate_ids) - {state.estate_id for state in states}
    if missing:
        newest = _newest_reading_id()
        EngineState.objects.bulk_create(
            [EngineState(estate_id=estate_id, watermark=newest, saved_at=now) for estate_id in sorted(missing)],
            ignore_conflicts=True,
        )
        states = list(EngineState.objects.select_for_update().filter(estate_id__in=estate_ids).order_by("estate_id"))
    return states


def _save_state(state: EngineState, cached: _CachedEngine, fed: int, now: dt.datetime, snapshot: bool) -> None:
    state.version += 1
    state.fed_since_save += fed
    fields = ["version", "fed_since_save"]
    every = dt.timedelta(seconds=setting("IOT_ENGINE_SNAPSHOT_SECONDS", 30))
    if (
        snapshot
        or state.saved_at is None
        or now - state.saved_at >= every
        or state.fed_since_save >= setting("IOT_ENGINE_SNAPSHOT_READINGS", 200_000)
    ):
        state.state = cached.engine.state()
        # Every reading of this estate up to the newest id visible now has been fed: its rows are inserted only
        # under this estate's lock, which this transaction holds, and later ones will get higher ids.
        state.watermark = _newest_reading_id()
        state.saved_at = now
        state.fed_since_save = 0
        fields += ["state", "watermark", "saved_at"]
    state.save(update_fields=fields)
    cached.version = state.version


# ---------------------------------------------------------------- storing telemetry


@dataclass(frozen=True)
class DeviceBatch:
    """Checked readings of one device: (metric, at, value)."""

    device_id: int
    estate_id: int
    readings: Sequence[tuple[str, dt.datetime, float]]


@dataclass
class StoreResult:
    received: int = 0
    stored: int = 0
    raised: int = 0
    cleared: int = 0
    changes: list[AlarmChange] = field(default_factory=list)

    @property
    def duplicates(self) -> int:
        return self.received - self.stored


def _insert_readings(rows: list[tuple[int, str, dt.datetime, float]]) -> int:
    """Insert (device id, metric, at, value) rows, skipping those already stored; returns how many were new. One
    statement per batch on PostgreSQL (unnest of four arrays), chunked multi-row VALUES on SQLite; ids follow the
    order of `rows`."""
    if not rows:
        return 0
    if connection.vendor == "postgresql":
        return _insert_readings_postgresql(rows)
    table = Reading._meta.db_table
    stored = 0
    chunk = 2000  # 8,000 parameters: under SQLite's limit of 32,766
    with connection.cursor() as cursor:
        for start in range(0, len(rows), chunk):
            part = rows[start : start + chunk]
            params: list = []
            for device_id, metric, at, value in part:
                params += [device_id, metric, _sqlite_time(at), value]
            cursor.execute(
                f"INSERT INTO {table} (device_id, metric, at, value) VALUES "  # noqa: S608 - our table name
                + ",".join(["(%s,%s,%s,%s)"] * len(part))
                + " ON CONFLICT (device_id, at, metric) DO NOTHING",
                params,
            )
            stored += cursor.rowcount
    return stored


_PG_INSERT_READINGS = (
    "INSERT INTO iot_reading (device_id, metric, at, value) "
    "SELECT * FROM unnest(%s::bigint[], %s::varchar[], %s::timestamptz[], %s::float8[]) "
    "ON CONFLICT (device_id, at, metric) DO NOTHING"
)
_quoted_metrics: dict[str, str] = {}


def _array_literal(items: Iterable[str]) -> str:
    return "{" + ",".join(items) + "}"


def _quoted_metric(metric: str) -> str:
    quoted = _quoted_metrics.get(metric)
    if quoted is None:
        quoted = '"' + metric.replace("\\", "\\\\").replace('"', '\\"') + '"'
        if len(_quoted_metrics) < 10_000:
            _quoted_metrics[metric] = quoted
    return quoted


def _times_iso(rows) -> list[str]:
    # The metrics of one instant share a datetime object: format each instant once.
    formatted: dict[dt.datetime, str] = {}
    out = []
    for row in rows:
        at = row[2]
        text = formatted.get(at)
        if text is None:
            text = formatted[at] = at.isoformat()
        out.append(text)
    return out


def _insert_readings_postgresql(rows) -> int:
    # One statement, the four columns as PostgreSQL array literals built with str.join, bound on the server. Django's
    # client-side binding (and even psycopg's per-element array dumping) costs more than the insert itself at
    # thousands of rows. No RETURNING: nothing downstream needs to know which rows were new (see _store).
    connection.ensure_connection()
    params = [
        _array_literal([str(row[0]) for row in rows]),
        _array_literal([_quoted_metric(row[1]) for row in rows]),
        _array_literal(_times_iso(rows)),
        _array_literal([repr(float(row[3])) for row in rows]),
    ]
    with psycopg.Cursor(connection.connection) as cursor:
        cursor.execute(_PG_INSERT_READINGS, params)
        return cursor.rowcount


def _sqlite_time(value) -> str:
    """A reading time as SQLite stores it (UTC text); RETURNING gives it back as text or as a naive datetime."""
    if isinstance(value, str):
        return value
    if timezone.is_aware(value):
        value = timezone.make_naive(value, dt.UTC)
    return str(value)


_last_seen_written: dict[int, dt.datetime] = {}


def _touch_devices(device_ids: Iterable[int], now: dt.datetime) -> None:
    """Record that devices were heard from, at most once a minute per device (not a write per message)."""
    every = dt.timedelta(seconds=60)
    due = [d for d in device_ids if (seen := _last_seen_written.get(d)) is None or now - seen >= every]
    if not due:
        return
    Device.objects.filter(pk__in=due).filter(Q(last_seen_at__isnull=True) | Q(last_seen_at__lt=now - every)).update(
        last_seen_at=now
    )
    if len(_last_seen_written) > 100_000:
        _last_seen_written.clear()
    for device_id in due:
        _last_seen_written[device_id] = now


def telemetry_store(*, batches: Sequence[DeviceBatch], now: dt.datetime | None = None) -> StoreResult:
    """Store checked readings of any number of devices and estates, evaluate the new ones, apply alarm changes: all
    in one transaction. Readings already stored (same device, time and metric) are skipped and not evaluated again.
    Acknowledge the messages (MQTT) or answer (HTTP) only after this returns."""
    now = now or clock.now()
    estate_ids = sorted({batch.estate_id for batch in batches})
    try:
        return _store(batches, estate_ids, now)
    except BaseException:
        # The engines may have been fed readings whose transaction did not commit: rebuild them from the database.
        _engines.forget(estate_ids)
        raise


@transaction.atomic
def _store(batches: Sequence[DeviceBatch], estate_ids: list[int], now: dt.datetime) -> StoreResult:
    result = StoreResult()
    if not estate_ids:
        return result
    estate_of = {batch.device_id: batch.estate_id for batch in batches}
    rows: list[tuple[int, str, dt.datetime, float]] = []
    for batch in batches:
        for metric, at, value in batch.readings:
            rows.append((batch.device_id, metric, at, value))
    result.received = len(rows)
    # Lock first, insert second: an estate's readings then get ids in the order they are evaluated (arrival order),
    # which is what the replay after a snapshot relies on. Engines are brought up to date (rebuilt from the snapshot
    # if another process moved on) before this batch is inserted, so a rebuild never replays the batch.
    states = _lock_states(estate_ids, now)
    engines = [_engines.engine_for(state) for state in states]
    result.stored = _insert_readings(rows)
    # Every reading is fed, the duplicates too: the engine ignores a reading that is not newer than the last one of
    # its device and metric, and a duplicate never is (it was fed when it was first stored, or replayed). So the
    # database need not say which rows were new, and a batch costs one statement.
    per_estate: dict[int, list[EngineReading]] = defaultdict(list)
    for device_id, metric, at, value in rows:
        per_estate[estate_of[device_id]].append(EngineReading(device_id, metric, at, value))
    changes: list[AlarmChange] = []
    for state, (cached, rebuilt) in zip(states, engines, strict=True):
        fed = per_estate.get(state.estate_id, ())
        if fed:
            changes += cached.engine.feed_many(fed)
        _save_state(state, cached, len(fed), now, snapshot=rebuilt)
    if changes:
        applied = alarm_changes_apply(changes=changes, now=now)
        result.raised, result.cleared = applied.raised, applied.cleared
    result.changes = changes
    _touch_devices(estate_of, now)
    return result


def engines_tick(*, now: dt.datetime | None = None, estate_ids: Iterable[int] | None = None) -> int:
    """Let the engines of estates with active rules notice time passing (no data for N minutes, a condition that
    has now lasted long enough) and apply what changes. Returns how many alarm changes were applied."""
    now = now or clock.now()
    if estate_ids is None:
        estate_ids = AlarmRule.objects.filter(is_active=True).values_list("estate_id", flat=True).distinct()
    total = 0
    for estate_id in sorted(set(estate_ids)):
        try:
            total += _tick_one(estate_id, now)
        except BaseException:
            _engines.forget([estate_id])
            raise
    return total


@transaction.atomic
def _tick_one(estate_id: int, now: dt.datetime) -> int:
    (state,) = _lock_states([estate_id], now)
    cached, _rebuilt = _engines.engine_for(state)
    changes = cached.engine.tick(now)
    if changes:
        alarm_changes_apply(changes=changes, now=now)
    # A tick is not a stored reading a rebuild could replay: always snapshot after it.
    _save_state(state, cached, 0, now, snapshot=True)
    return len(changes)


# ---------------------------------------------------------------- alarms


@dataclass
class AppliedChanges:
    raised: int = 0
    cleared: int = 0
    ignored: int = 0


def _pairs_filter(pairs: Iterable[tuple[int, int]]) -> Q:
    condition = Q()
    for rule_id, device_id in pairs:
        condition |= Q(rule_id=rule_id, device_id=device_id)
    return condition


@transaction.atomic
def alarm_changes_apply(*, changes: Sequence[AlarmChange], now: dt.datetime) -> AppliedChanges:
    """Open and clear alarms as the engine says, idempotently: a raise while an alarm of the rule and device is open
    only refreshes its last value (never a second row; the partial unique index backs this up), and a clear with
    nothing open does nothing. Changes naming a rule or device that no longer exists are ignored. A few statements
    per batch, however many changes: new alarms and events in bulk, cleared ones in one update."""
    applied = AppliedChanges()
    if not changes:
        return applied
    pairs = {(change.rule_id, change.device_id) for change in changes}
    device_estates = dict(
        Device.objects.filter(pk__in={device for _rule, device in pairs}).values_list("id", "estate_id")
    )
    rule_ids = {rule for rule, _device in pairs}
    existing_rules = dict(AlarmRule.objects.filter(pk__in=rule_ids).values_list("id", "escalation_minutes"))
    open_alarms = {
        (alarm.rule_id, alarm.device_id): alarm
        for alarm in Alarm.objects.select_for_update()
        .filter(_pairs_filter(pairs))
        .filter(status__in=OPEN_STATUSES)
        .order_by("id")
    }
    # A list, not keyed by (rule, device): raise → clear → raise in one batch is two episodes, both kept.
    new: list[Alarm] = []
    changed: dict[int, Alarm] = {}
    events: list[tuple[Alarm, AlarmEvent]] = []
    cleared_with_order: list[tuple[Alarm, AlarmEvent]] = []
    for change in changes:
        key = (change.rule_id, change.device_id)
        if change.rule_id not in existing_rules or change.device_id not in device_estates:
            applied.ignored += 1
            continue
        alarm = open_alarms.get(key)
        if change.change == "raise":
            if alarm is not None:
                if change.value is not None:
                    alarm.last_value = change.value
                    if alarm.pk is not None:
                        changed[alarm.pk] = alarm
                applied.ignored += 1
                continue
            alarm = open_alarms[key] = Alarm(
                estate_id=device_estates[change.device_id],
                rule_id=change.rule_id,
                device_id=change.device_id,
                status=AlarmStatus.RAISED,
                severity=change.severity,
                reason=str(change.reason or "")[:300],
                reason_code=str(change.reason_code or "")[:40],
                reason_params=dict(change.reason_params or {}),
                raised_at=change.at,
                raise_value=change.value,
                last_value=change.value,
            )
            alarm.escalate_at = escalation_at(
                change.at, escalation_minutes(existing_rules[change.rule_id], change.severity), 1
            )
            new.append(alarm)
            event = AlarmEvent(
                action=AlarmAction.RAISE,
                at=change.at,
                to_status=AlarmStatus.RAISED,
                note=alarm.reason,
                payload={
                    "value": change.value,
                    "reason_code": change.reason_code,
                    "reason_params": dict(change.reason_params or {}),
                },
            )
            events.append((alarm, event))
            applied.raised += 1
        elif change.change == "clear" and alarm is not None:
            event = AlarmEvent(
                action=AlarmAction.CLEAR,
                at=change.at,
                from_status=alarm.status,
                to_status=AlarmStatus.CLEARED,
                note=str(change.reason or "")[:500],
                payload={
                    "value": change.value,
                    "reason_code": change.reason_code,
                    "reason_params": dict(change.reason_params or {}),
                },
            )
            events.append((alarm, event))
            alarm.status = AlarmStatus.CLEARED
            alarm.cleared_at = change.at
            alarm.escalate_at = None
            if alarm.work_order_id is not None:
                cleared_with_order.append((alarm, event))
            if change.value is not None:
                alarm.last_value = change.value
            if alarm.pk is not None:
                changed[alarm.pk] = alarm
            del open_alarms[key]
            applied.cleared += 1
        else:
            applied.ignored += 1
    # Clears first: an alarm that ended and began again in this batch is inserted only once its predecessor is no
    # longer open (the partial unique index would refuse it).
    if changed:
        for alarm in changed.values():
            alarm.updated_at = now
        Alarm.objects.bulk_update(
            list(changed.values()), ["status", "cleared_at", "escalate_at", "last_value", "updated_at"]
        )
    _alarms_create(new)
    # An alarm another process opened first (not created here) keeps its own events.
    AlarmEvent.objects.bulk_create([_attach(event, alarm) for alarm, event in events if alarm.pk is not None])
    for alarm, event in cleared_with_order:
        _tell_order_alarm_cleared(alarm, event)
    created = [alarm for alarm in new if alarm.pk is not None and alarm.status in OPEN_STATUSES]
    _orders_open_for_new(created, now)
    return applied


def _attach(event: AlarmEvent, alarm: Alarm) -> AlarmEvent:
    event.alarm = alarm
    return event


def _alarms_create(alarms: list[Alarm]) -> list[Alarm]:
    """Insert new alarms in one statement; if the partial unique index refuses one (another process opened it in
    between — the estate lock makes that rare), insert them one by one and skip the refused."""
    if not alarms:
        return []
    try:
        with transaction.atomic():
            return Alarm.objects.bulk_create(alarms)
    except IntegrityError:
        created = []
        for alarm in alarms:
            alarm.pk = None
            try:
                with transaction.atomic():
                    alarm.save(force_insert=True)
                created.append(alarm)
            except IntegrityError:
                alarm.pk = None
        return created


# ---------------------------------------------------------------- the alarm lifecycle


class InvalidAlarmTransition(DomainError):
    """The action is not possible in the alarm's current status (choices.TRANSITIONS)."""

    status = 409
    code = "invalid_transition"


NOTE_MAX_LENGTH = 500
# Work orders whose work is not done yet: a new alarm of the same rule and device joins such an order instead of
# opening another one.
ORDER_WORK_OPEN = frozenset(
    set(OrderStatus)
    - {*ORDER_TERMINAL, OrderStatus.RESOLVED, OrderStatus.RATED, OrderStatus.VISITED, OrderStatus.ANSWERED}
)
# An order reaching one of these while its alarm is still open is recorded on the alarm.
ORDER_DONE_STATUSES = frozenset({OrderStatus.RESOLVED, OrderStatus.CLOSED, OrderStatus.CANCELLED})


def escalation_minutes(rule_minutes: Sequence[int] | None, severity: str) -> tuple[int, ...]:
    """The rule's own escalation minutes, or the default for the severity (IOT_ALARM_ESCALATION_MINUTES), cut to the
    levels of ESCALATION_CHAIN. A setting that is not usable escalates nothing rather than failing ingestion."""
    minutes = list(rule_minutes or [])
    if not minutes:
        minutes = list(setting("IOT_ALARM_ESCALATION_MINUTES", DEFAULT_ESCALATION_MINUTES).get(severity, []))
    if escalation_problem(minutes, levels=len(ESCALATION_CHAIN)) is not None:
        log.warning("escalation minutes %r for %s are not usable: not escalating", minutes, severity)
        return ()
    return tuple(minutes)


DEFAULT_ESCALATION_MINUTES = {"critical": [5, 15, 30], "major": [15, 60, 240], "minor": [60, 240, 720], "warning": []}


def _alarm_locked(alarm_id: int) -> Alarm:
    return (
        Alarm.objects.select_for_update(of=("self",))
        .select_related("estate", "rule", "device__equipment", "assignee", "work_order")
        .get(pk=alarm_id)
    )


def _check_alarm_move(alarm: Alarm, action: str) -> str | None:
    """The status `action` leads to (None: the status stays), or 409. Each service refuses in one order: the person
    (403), then the move (409), then the input (422)."""
    sources, target = TRANSITIONS[action]
    if alarm.status not in sources:
        raise InvalidAlarmTransition(
            _("The alarm is %(status)s; “%(action)s” is not possible now.")
            % {"status": AlarmStatus(alarm.status).label, "action": AlarmAction(action).label}
        )
    return target


def _clean_note(note: str, *, required: bool) -> str:
    note = (note or "").strip()
    errors = ErrorCollector()
    if required and not note:
        errors.add("note", "required", _("Say why you clear the alarm (what was found or done)."))
    if len(note) > NOTE_MAX_LENGTH:
        errors.add("note", "too_long", _("At most %(max)d characters.") % {"max": NOTE_MAX_LENGTH})
    errors.raise_if_any(_("The alarm was not changed."))
    return note


def _alarm_event(
    alarm: Alarm,
    action: str,
    actor,
    now: dt.datetime,
    *,
    from_status: str = "",
    to_status: str = "",
    note: str = "",
    payload: dict | None = None,
) -> AlarmEvent:
    return AlarmEvent.objects.create(
        alarm=alarm,
        action=action,
        actor=actor,
        at=now,
        from_status=from_status,
        to_status=to_status,
        note=note[:NOTE_MAX_LENGTH],
        payload=payload or {},
    )


@transaction.atomic
def alarm_acknowledge(*, actor, alarm_id: int, note: str = "", now: dt.datetime | None = None) -> Alarm:
    """Someone has seen the alarm and is on it: it stops escalating. Raised alarms only (409 otherwise)."""
    now = now or clock.now()
    alarm = _alarm_locked(alarm_id)
    if not can_respond(actor, alarm):
        raise Forbidden(_("You may not acknowledge alarms in this estate."))
    target = _check_alarm_move(alarm, AlarmAction.ACKNOWLEDGE)
    note = _clean_note(note, required=False)
    from_status = alarm.status
    alarm.status = target
    alarm.acknowledged_at = now
    alarm.acknowledged_by = actor
    alarm.escalate_at = None
    alarm.save(update_fields=["status", "acknowledged_at", "acknowledged_by", "escalate_at", "updated_at"])
    _alarm_event(alarm, AlarmAction.ACKNOWLEDGE, actor, now, from_status=from_status, to_status=target, note=note)
    return alarm


@transaction.atomic
def alarm_assign(*, actor, alarm_id: int, assignee_id: int, note: str = "", now: dt.datetime | None = None) -> Alarm:
    """Make one person of the estate who may answer alarms responsible for this one, and tell them. Assigning does
    not acknowledge: escalation goes on until someone does (its first level then goes to the assignee). Assigning
    the person already assigned changes nothing."""
    now = now or clock.now()
    alarm = _alarm_locked(alarm_id)
    if not can_assign(actor, alarm):
        raise Forbidden(_("You may not assign alarms in this estate."))
    _check_alarm_move(alarm, AlarmAction.ASSIGN)
    note = _clean_note(note, required=False)
    assignee = User.objects.filter(pk=assignee_id, is_active=True).first()
    if assignee is None or not may_be_assigned(assignee, alarm.estate_id):
        message = _("Choose someone of this estate who may answer alarms.")
        raise ValidationFailed(message, errors=[FieldError("assignee_id", "not_responder", message)])
    if alarm.assignee_id == assignee.id:
        return alarm
    previous = alarm.assignee
    alarm.assignee = assignee
    alarm.save(update_fields=["assignee", "updated_at"])
    event = _alarm_event(
        alarm,
        AlarmAction.ASSIGN,
        actor,
        now,
        note=note,
        payload={
            "assignee_id": assignee.id,
            "assignee": assignee.display_name,
            "previous_id": previous.id if previous else None,
        },
    )
    _tell_about_alarm(
        alarm,
        assignee,
        "iot.alarm_assigned",
        gettext_lazy("Alarm assigned to you: %(rule)s"),
        event=event,
    )
    return alarm


@transaction.atomic
def alarm_clear(*, actor, alarm_id: int, note: str, now: dt.datetime | None = None) -> Alarm:
    """Close the alarm by hand, with a note saying why (a sensor fault, the cause removed). The rule engine still
    clears alarms by itself when the condition ends; after a manual clear it raises again only once the condition
    has ended and come back (it does not nag about the episode someone has dealt with)."""
    now = now or clock.now()
    alarm = _alarm_locked(alarm_id)
    if not can_respond(actor, alarm):
        raise Forbidden(_("You may not clear alarms in this estate."))
    target = _check_alarm_move(alarm, AlarmAction.CLEAR)
    note = _clean_note(note, required=True)
    from_status = alarm.status
    alarm.status = target
    alarm.cleared_at = now
    alarm.cleared_by = actor
    alarm.escalate_at = None
    alarm.save(update_fields=["status", "cleared_at", "cleared_by", "escalate_at", "updated_at"])
    event = _alarm_event(
        alarm,
        AlarmAction.CLEAR,
        actor,
        now,
        from_status=from_status,
        to_status=target,
        note=note,
        payload={"manual": True},
    )
    if alarm.work_order_id is not None:
        _tell_order_alarm_cleared(alarm, event)
    return alarm


# ---------------------------------------------------------------- escalation


def _equipment_grid(alarm: Alarm):
    equipment = alarm.device.equipment
    if equipment is None:
        return None
    if equipment.public_area_id:
        return equipment.public_area.grid
    if equipment.room_id:
        return equipment.room.building.grid
    if equipment.building_id:
        return equipment.building.grid
    return None


def _alarm_people(alarm: Alarm, role: str) -> list[User]:
    """Who is told at one level of the chain (choices.ESCALATION_CHAIN)."""
    if role == "assignee":
        if alarm.assignee is not None and alarm.assignee.is_active:
            return [alarm.assignee]
        grid = _equipment_grid(alarm)
        leaders = [u for u in (grid.leader, grid.deputy) if u is not None] if grid is not None else []
        if leaders:
            return leaders
        role = "supervisor"
    membership_role = {"supervisor": Role.SUPERVISOR, "manager": Role.MANAGER}.get(role)
    if membership_role is None:
        return []
    return list(
        User.objects.filter(is_active=True, memberships__estate_id=alarm.estate_id, memberships__role=membership_role)
        .distinct()
        .order_by("id")
    )


def alarm_escalate(*, alarm_id: int, now: dt.datetime | None = None) -> int:
    """Send the escalation levels of one unacknowledged alarm whose time has come. Each level is claimed with a
    conditional UPDATE (level n-1 → n, still raised), so under any number of workers it is sent exactly once.
    Returns how many levels were sent."""
    now = now or clock.now()
    sent = 0
    while True:
        with transaction.atomic():
            alarm = (
                Alarm.objects.select_related("estate", "rule", "device__equipment", "assignee")
                .filter(pk=alarm_id)
                .first()
            )
            if alarm is None or alarm.status != AlarmStatus.RAISED or alarm.escalate_at is None:
                return sent
            minutes = escalation_minutes(alarm.rule.escalation_minutes, alarm.severity)
            due = escalation_levels_due(alarm.raised_at, minutes, sent=alarm.escalation_level, now=now)
            if not due:
                return sent
            level = due[0]
            claimed = Alarm.objects.filter(
                pk=alarm_id, status=AlarmStatus.RAISED, escalation_level=alarm.escalation_level
            ).update(escalation_level=level, escalate_at=escalation_at(alarm.raised_at, minutes, level + 1))
            if claimed != 1:
                return sent
            _check_alarm_move(alarm, AlarmAction.ESCALATE)
            role = ESCALATION_CHAIN[level - 1]
            people = _alarm_people(alarm, role)
            event = _alarm_event(
                alarm,
                AlarmAction.ESCALATE,
                None,
                now,
                payload={"level": level, "role": role, "to": [person.display_name for person in people]},
            )
            for person in people:
                _tell_about_alarm(
                    alarm,
                    person,
                    "iot.alarm_escalated",
                    gettext_lazy("Unacknowledged alarm: %(rule)s"),
                    event=event,
                )
            sent += 1


def alarms_scan(*, now: dt.datetime | None = None) -> dict[str, int]:
    """One pass of the alarm clock: escalate unacknowledged alarms that are due, and open the work orders of
    critical alarms that have none yet (their first attempt failed). Safe on several machines at once."""
    now = now or clock.now()
    due = Alarm.objects.filter(escalate_at__lte=now, status=AlarmStatus.RAISED).order_by("escalate_at")
    escalations = sum(alarm_escalate(alarm_id=alarm_id, now=now) for alarm_id in due.values_list("id", flat=True)[:500])
    orderless = Alarm.objects.filter(
        status__in=OPEN_STATUSES, work_order__isnull=True, severity__in=_order_severities()
    ).values_list("id", flat=True)
    orders = sum(_order_open_safely(alarm_id, now) for alarm_id in orderless.order_by("raised_at")[:100])
    return {"escalations": escalations, "orders": orders}


# ---------------------------------------------------------------- alarms and work orders


def _order_severities() -> list[str]:
    return list(setting("IOT_ALARM_ORDER_SEVERITIES", [Severity.CRITICAL]))


def _order_category(alarm: Alarm) -> Category | None:
    equipment = alarm.device.equipment
    mapping = setting("IOT_ALARM_ORDER_CATEGORIES", {})
    wanted = mapping.get(equipment.category if equipment else "", "other")
    categories = {
        c.code: c
        for c in Category.objects.filter(
            company_id=alarm.estate.company_id, code__in={wanted, "other"}, is_active=True
        ).select_related("sla_policy")
        if OrderKind.ALARM in c.kinds
    }
    return categories.get(wanted) or categories.get("other")


def _order_description(alarm: Alarm) -> str:
    with translation.override(settings.LANGUAGE_CODE):
        reason = (
            reason_text(alarm.reason_code, alarm.reason_params, gettext)
            if alarm.reason_code in REASON_MESSAGES
            else alarm.reason
        )
        where = alarm.device.equipment.name if alarm.device.equipment else alarm.device.name
        return _("Alarm %(rule)s on %(where)s: %(reason)s") % {
            "rule": alarm.rule.name,
            "where": where,
            "reason": reason,
        }


def alarm_order_open(*, alarm_id: int, now: dt.datetime | None = None) -> WorkOrder | None:
    """The work order of an open alarm of an order-opening severity, made at most once: the alarm row is locked and
    keeps the order, so a duplicated message, a re-run or two workers never open a second one. A new alarm of a rule
    and device whose earlier order is still being worked on joins that order. Returns the order (None: not for an
    order, or the catalogue has no category for alarms)."""
    now = now or clock.now()
    with transaction.atomic():
        alarm = _alarm_locked(alarm_id)
        if alarm.work_order_id is not None:
            return alarm.work_order
        if alarm.status not in OPEN_STATUSES or alarm.severity not in _order_severities():
            return None
        existing = (
            WorkOrder.objects.filter(
                alarms__rule_id=alarm.rule_id,
                alarms__device_id=alarm.device_id,
                kind=OrderKind.ALARM,
                status__in=ORDER_WORK_OPEN,
            )
            .order_by("-id")
            .first()
        )
        if existing is not None:
            order, linked = existing, True
        else:
            category = _order_category(alarm)
            if category is None:
                log.warning("alarm %s: the catalogue has no category for alarm orders; no order opened", alarm.id)
                return None
            equipment = alarm.device.equipment
            order, _created = workorder_create(
                actor=None,
                new=NewOrder(
                    estate=alarm.estate,
                    kind=OrderKind.ALARM,
                    category=category,
                    description=_order_description(alarm),
                    channel=OrderChannel.DEVICE,
                    priority=OrderPriority.EMERGENCY,
                    room=equipment.room if equipment else None,
                    public_area=equipment.public_area if equipment else None,
                    source_type=ORDER_SOURCE_TYPE,
                    source_id=str(alarm.id),
                    extra={"alarm_id": alarm.id, "rule": alarm.rule.name, "device": alarm.device.code},
                ),
                now=now,
            )
            linked = False
        alarm.work_order = order
        alarm.save(update_fields=["work_order", "updated_at"])
        _alarm_event(
            alarm,
            AlarmAction.ORDER,
            None,
            now,
            note=order.number,
            payload={"order_id": order.id, "number": order.number, "joined": linked},
        )
        return order


ORDER_SOURCE_TYPE = "alarm"


def _orders_open_for_new(alarms: Sequence[Alarm], now: dt.datetime) -> None:
    """Orders for alarms just raised, each in its own savepoint: whatever goes wrong opening an order must not undo
    the readings and alarms being stored with it (alarms_scan tries again a minute later)."""
    severities = _order_severities()
    for alarm in alarms:
        if alarm.severity in severities:
            _order_open_safely(alarm.pk, now)


def _order_open_safely(alarm_id: int, now: dt.datetime) -> bool:
    """Open one alarm's order in a savepoint; a failure is logged and undone, never raised (see above; in the scan,
    one alarm whose order keeps failing must not hold up the others). Returns whether the alarm now has an order."""
    try:
        with transaction.atomic():
            return alarm_order_open(alarm_id=alarm_id, now=now) is not None
    except Exception:  # noqa: BLE001 - see the docstring: telemetry and other alarms are never lost to one order
        log.exception("alarm %s: the work order could not be opened; alarms_scan will try again", alarm_id)
        return False


def alarms_after_order_moved(*, order: WorkOrder, from_status: str, now: dt.datetime) -> int:
    """Called by work orders (`_after_move`) when an alarm order moves: an order resolved, closed or cancelled while
    its alarm is still open is recorded on the alarm (the alarm itself clears when the readings say so, or by hand).
    Returns how many alarms heard of it."""
    if order.status not in ORDER_DONE_STATUSES or order.status == from_status:
        return 0
    told = 0
    for alarm in Alarm.objects.select_for_update().filter(work_order=order, status__in=OPEN_STATUSES).order_by("id"):
        _check_alarm_move(alarm, AlarmAction.ORDER_DONE)
        _alarm_event(
            alarm,
            AlarmAction.ORDER_DONE,
            None,
            now,
            note=order.number,
            payload={"order_id": order.id, "number": order.number, "status": order.status},
        )
        told += 1
    return told


# ---------------------------------------------------------------- notifications


def _tell_about_alarm(alarm: Alarm, person: User, kind: str, title, *, event: AlarmEvent) -> None:
    from wuye.notifications.services import notify, text_later  # noqa: PLC0415 - notifications is optional

    if person is None or not person.is_active:
        return
    notify(
        recipient=person,
        kind=kind,
        title=text_later(title, rule=alarm.rule.name),
        body=text_later(
            gettext_lazy("%(severity)s · %(device)s · raised %(raised_at)s"),
            severity=Severity(alarm.severity).label,
            device=alarm.device.name,
            raised_at=alarm.raised_at,
        ),
        link=f"/desk/alarms/{alarm.id}/",
        estate=alarm.estate,
        dedupe_key=f"alarm-event:{event.id}",
    )


def _tell_order_alarm_cleared(alarm: Alarm, event: AlarmEvent) -> None:
    """The person working on an alarm's order hears that the alarm has cleared (the order itself is not changed:
    whether the work is done is theirs to say; its page shows the alarm's state)."""
    from wuye.notifications.services import notify, text_later  # noqa: PLC0415 - notifications is optional

    order = WorkOrder.objects.select_related("assignee", "estate").filter(pk=alarm.work_order_id).first()
    if order is None or order.assignee is None or not order.assignee.is_active:
        return
    notify(
        recipient=order.assignee,
        kind="iot.alarm_cleared",
        title=text_later(gettext_lazy("The alarm of order %(number)s has cleared"), number=order.number),
        body=text_later(gettext_lazy("%(rule)s · cleared %(at)s"), rule=alarm.rule.name, at=event.at),
        link=f"/desk/orders/{order.id}/",
        estate=order.estate,
        dedupe_key=f"alarm-event:{event.id}",
    )


# ---------------------------------------------------------------- rejections


def rejections_record(*, channel: str, counts: dict[str, tuple[int, str]], now: dt.datetime) -> None:
    """Add refused messages to the per-day, per-channel, per-reason counters. `counts`: reason → (n, an example)."""
    day = timezone.localdate(now, clock.local_tz())
    for reason, (count, detail) in sorted(counts.items()):
        updated = TelemetryRejection.objects.filter(day=day, channel=channel, reason=reason).update(
            count=F("count") + count, last_at=now, last_detail=detail[:300]
        )
        if updated:
            continue
        try:
            with transaction.atomic():
                TelemetryRejection.objects.create(
                    day=day, channel=channel, reason=reason, count=count, last_at=now, last_detail=detail[:300]
                )
        except IntegrityError:
            TelemetryRejection.objects.filter(day=day, channel=channel, reason=reason).update(
                count=F("count") + count, last_at=now, last_detail=detail[:300]
            )


# ---------------------------------------------------------------- rollups and retention


@transaction.atomic
def rollup_run(*, max_readings: int = 500_000) -> int:
    """Fold readings stored since the last pass into the hourly rollups (count, min, max, sum per device, metric
    and UTC hour), incrementally: each reading id is folded exactly once, in the transaction that moves the cursor.

    A pass reads only up to the highest id the previous pass saw: ids are handed out before commit, so a newer id
    can be visible while an older one is still uncommitted; one pass later (minutes) every such transaction has
    ended. Returns the number of readings folded."""
    cursor, _created = IngestCursor.objects.select_for_update().get_or_create(name=ROLLUP_CURSOR)
    upto = min(cursor.pending, cursor.position + max_readings)
    folded = 0
    if upto > cursor.position:
        buckets = (
            Reading.objects.filter(id__gt=cursor.position, id__lte=upto)
            .annotate(hour=TruncHour("at", tzinfo=dt.UTC))
            .values("device_id", "metric", "hour")
            .annotate(n=Count("id"), low=Min("value"), high=Max("value"), total=Sum("value"))
            .order_by()
        )
        rows = [(b["device_id"], b["metric"], b["hour"], b["n"], b["low"], b["high"], b["total"]) for b in buckets]
        _merge_rollups(rows)
        folded = sum(row[3] for row in rows)
        cursor.position = upto
    cursor.pending = max(_newest_reading_id(), cursor.position)
    cursor.save(update_fields=["position", "pending", "updated_at"])
    return folded


def _merge_rollups(rows: list[tuple]) -> None:
    if not rows:
        return
    table = HourlyRollup._meta.db_table
    least, greatest = ("LEAST", "GREATEST") if connection.vendor == "postgresql" else ("MIN", "MAX")
    adapt = connection.ops.adapt_datetimefield_value
    sql = (
        f"INSERT INTO {table} (device_id, metric, hour, count, min, max, sum) "  # noqa: S608 - our table name
        "VALUES (%s, %s, %s, %s, %s, %s, %s) "
        f"ON CONFLICT (device_id, metric, hour) DO UPDATE SET count = {table}.count + excluded.count, "
        f"min = {least}({table}.min, excluded.min), max = {greatest}({table}.max, excluded.max), "
        f"sum = {table}.sum + excluded.sum"
    )
    with connection.cursor() as cursor:
        cursor.executemany(sql, [(d, m, adapt(h), n, lo, hi, s) for d, m, h, n, lo, hi, s in rows])


def raw_purge(*, now: dt.datetime | None = None) -> int:
    """Delete raw readings older than IOT_RAW_RETENTION_DAYS that the rollup has already folded in (their hours stay
    as rollups). One indexed delete per device. Returns how many were deleted."""
    now = now or clock.now()
    horizon = now - raw_retention()
    folded_up_to = IngestCursor.objects.filter(name=ROLLUP_CURSOR).values_list("position", flat=True).first() or 0
    deleted = 0
    for device_id in Device.objects.values_list("id", flat=True).order_by("id"):
        count, _detail = Reading.objects.filter(device_id=device_id, at__lt=horizon, id__lte=folded_up_to).delete()
        deleted += count
    return deleted


# ---------------------------------------------------------------- the demo


DEMO_EQUIPMENT = (
    # code, name, category, importance, public area name, maker, model
    ("LIFT-1-1", "1栋1号客梯", "lift", "A", None, "日立电梯", "HGP-1000"),
    ("LIFT-3-1", "3栋1号客梯", "lift", "A", None, "奥的斯", "GeN2-MR"),
    ("PUMP-01", "生活水泵1号", "water_pump", "A", "水泵房", "格兰富", "CR 32-4"),
    ("PUMP-02", "生活水泵2号", "water_pump", "A", "水泵房", "格兰富", "CR 32-4"),
    ("FIRE-01", "消防喷淋主泵", "fire_system", "A", "水泵房", "上海连成", "XBD8/30"),
    ("GEN-01", "备用柴油发电机", "generator", "A", "配电房", "康明斯", "C500D5"),
    ("HVAC-01", "会所中央空调主机", "hvac", "B", "消防控制室", "格力", "LSBLX1200"),
    ("GATE-S", "南门道闸", "gate", "B", "南门", "捷顺", "JSDZ0601"),
    ("LIGHT-R1", "主干道路灯回路", "lighting", "C", "主干道", "正泰", "NXB-63"),
)
DEMO_DEVICES = (
    # code, name, equipment code, metrics
    ("lift-1-1-mon", "1栋1号客梯监测", "LIFT-1-1", ("cabin_temp", "vibration", "door_faults")),
    ("lift-3-1-mon", "3栋1号客梯监测", "LIFT-3-1", ("cabin_temp", "vibration", "door_faults")),
    ("pump-01", "生活水泵1号控制器", "PUMP-01", ("pressure", "motor_temp", "current")),
    ("pump-02", "生活水泵2号控制器", "PUMP-02", ("pressure", "motor_temp", "current")),
    ("fire-main", "消防主泵监测", "FIRE-01", ("pressure",)),
    ("gen-01", "发电机监测", "GEN-01", ("battery_voltage", "fuel_level", "coolant_temp")),
    ("hvac-01", "空调主机监测", "HVAC-01", ("supply_temp", "return_temp")),
    ("light-r1", "路灯回路电表", "LIGHT-R1", ("current",)),
)
DEMO_RULES = (
    # name, equipment category, metric, kind, severity, params (wuye.iot.rules.KIND_PARAMS)
    (
        "客梯轿厢温度过高",
        "lift",
        "cabin_temp",
        RuleKind.THRESHOLD,
        Severity.MAJOR,
        {"op": ">", "value": 38, "clear": 35, "unit": "°C"},
    ),
    (
        "客梯振动持续超限",
        "lift",
        "vibration",
        RuleKind.DURATION,
        Severity.CRITICAL,
        {"op": ">", "value": 1.2, "minutes": 2, "unit": "m/s²"},
    ),
    (
        "客梯门故障频繁",
        "lift",
        "door_faults",
        RuleKind.REPEAT,
        Severity.MAJOR,
        {"op": ">=", "value": 1, "count": 3, "within_minutes": 10},
    ),
    ("客梯监测离线", "lift", "cabin_temp", RuleKind.NO_DATA, Severity.MINOR, {"minutes": 5}),
    (
        "供水压力过低",
        "water_pump",
        "pressure",
        RuleKind.THRESHOLD,
        Severity.CRITICAL,
        {"op": "<", "value": 0.25, "clear": 0.3, "unit": "MPa"},
    ),
    (
        "水泵电机温升过快",
        "water_pump",
        "motor_temp",
        RuleKind.RATE,
        Severity.MAJOR,
        {"change": 5, "per_minutes": 5, "unit": "°C"},
    ),
    ("水泵电机温度异常", "water_pump", "motor_temp", RuleKind.ANOMALY, Severity.MINOR, {"unit": "°C"}),
    ("水泵监测离线", "water_pump", "pressure", RuleKind.NO_DATA, Severity.MAJOR, {"minutes": 5}),
    (
        "消防管网压力过低",
        "fire_system",
        "pressure",
        RuleKind.THRESHOLD,
        Severity.CRITICAL,
        {"op": "<", "value": 0.6, "clear": 0.65, "unit": "MPa"},
    ),
    (
        "发电机电池电压低",
        "generator",
        "battery_voltage",
        RuleKind.THRESHOLD,
        Severity.MAJOR,
        {"op": "<", "value": 23, "clear": 24, "unit": "V"},
    ),
)


def seed_iot(estate: Estate, *, now: dt.datetime | None = None) -> dict[str, DeviceCredentials]:
    """Demo equipment, devices and alarm rules for one estate (idempotent: what exists is kept). Returns the
    credentials of the devices it created, by device code (the simulator derives keys itself)."""
    from wuye.equipment.models import Equipment as EquipmentModel
    from wuye.equipment.services import NewEquipment, equipment_create
    from wuye.estates.models import Building, PublicArea

    now = now or clock.now()
    areas = {area.name: area for area in PublicArea.objects.filter(estate=estate)}
    buildings = {building.name: building for building in Building.objects.filter(estate=estate)}
    equipment = {item.code: item for item in EquipmentModel.objects.filter(estate=estate)}
    for code, name, category, importance, area_name, maker, model_number in DEMO_EQUIPMENT:
        if code in equipment:
            continue
        area = areas.get(area_name) if area_name else None
        building = None
        if category == "lift":
            building = buildings.get(code.split("-")[1]) or next(iter(buildings.values()), None)
        note = "" if (area or building) else name
        equipment[code] = equipment_create(
            estate=estate,
            new=NewEquipment(
                code=code,
                name=name,
                category=category,
                importance=importance,
                building=building,
                public_area=area,
                location_note=note,
                maker=maker,
                model_number=model_number,
                installed_on=dt.date(2019, 6, 1),
            ),
            now=now,
        )
    credentials = {}
    existing = set(Device.objects.filter(estate=estate).values_list("code", flat=True))
    for code, name, equipment_code, _metrics in DEMO_DEVICES:
        if code not in existing:
            _device, credentials[code] = device_create(
                estate=estate, code=code, name=name, equipment=equipment.get(equipment_code)
            )
    rule_names = set(AlarmRule.objects.filter(estate=estate).values_list("name", flat=True))
    for name, category, metric, kind, severity, params in DEMO_RULES:
        if name not in rule_names:
            AlarmRule.objects.create(
                estate=estate,
                name=name,
                equipment_category=category,
                metric=metric,
                kind=kind,
                severity=severity,
                params=params,
            )
    _seed_alarm_history(estate, now)
    return credentials


def _estate_person(estate: Estate, role: str) -> User | None:
    return (
        User.objects.filter(is_active=True, memberships__estate=estate, memberships__role=role).order_by("id").first()
    )


def _seed_alarm_history(estate: Estate, now: dt.datetime) -> None:
    """A few alarm stories told through the real path (readings → engine → alarms → orders → people acting), so the
    console has raised, acknowledged and cleared alarms and the desk an alarm work order in each state: a lift that
    ran hot two days ago (acknowledged, cleared by the readings); pump 1 losing pressure yesterday (critical: its
    order went to a technician, was resolved, then the pressure came back); pump 2 losing pressure two hours ago
    (critical, nobody has acknowledged it: escalated up to the manager, its order waiting on the desk); the
    generator's battery low ten minutes ago (not escalated yet); lift 3-1 hot, acknowledged, still open. Only once per
    estate."""
    if Alarm.objects.filter(estate=estate).exists():
        return
    devices = {device.code: device for device in Device.objects.filter(estate=estate)}
    tech = _estate_person(estate, Role.TECHNICIAN)
    agent = _estate_person(estate, Role.SERVICE_AGENT)
    boss = _estate_person(estate, Role.SUPERVISOR)

    def ago(minutes: float) -> dt.datetime:
        return now - dt.timedelta(minutes=minutes)

    def feed(code: str, metric: str, *points: tuple[float, float]) -> None:
        device = devices[code]
        rows = [(metric, ago(minutes), value) for minutes, value in points]
        telemetry_store(
            batches=[DeviceBatch(device_id=device.id, estate_id=estate.id, readings=rows)], now=ago(points[-1][0])
        )

    def open_alarm(code: str) -> Alarm | None:
        return Alarm.objects.filter(device=devices[code], status__in=OPEN_STATUSES).order_by("-id").first()

    # The lift: warm, then too hot (raised), acknowledged, back to normal (cleared by the readings).
    feed("lift-1-1-mon", "cabin_temp", (2 * 1440, 31.0), (2 * 1440 - 20, 39.4))
    lift = open_alarm("lift-1-1-mon")
    if lift is not None and tech is not None:
        alarm_acknowledge(actor=tech, alarm_id=lift.id, note="轿厢风扇停转，已到场", now=ago(2 * 1440 - 35))
    feed("lift-1-1-mon", "cabin_temp", (2 * 1440 - 70, 33.8))
    # Pump 1: low pressure (critical → an order), acknowledged, the order worked through to resolved, then the
    # pressure recovers and the alarm clears.
    feed("pump-01", "pressure", (1440, 0.42), (1440 - 10, 0.21))
    pump = open_alarm("pump-01")
    if pump is not None and tech is not None:
        alarm_acknowledge(actor=tech, alarm_id=pump.id, note="正在赶往水泵房", now=ago(1440 - 14))
        pump.refresh_from_db()
        if pump.work_order is not None and agent is not None and boss is not None:
            from wuye.workorders.services import workorder_act  # noqa: PLC0415 - the seed only

            walk = (
                ("accept", agent, {}, 16),
                ("dispatch", boss, {"assignee_id": tech.id}, 18),
                ("take", tech, {}, 19),
                ("arrive", tech, {}, 30),
                ("start", tech, {}, 32),
                ("resolve", tech, {"resolution": "压力开关触点氧化，已更换，复压正常"}, 75),
            )
            for action, actor, params, minutes in walk:
                workorder_act(
                    actor=actor, order_id=pump.work_order_id, action=action, params=params, now=ago(1440 - minutes)
                )
    feed("pump-01", "pressure", (1440 - 80, 0.38))
    # Pump 2: low pressure two hours ago and nobody has answered.
    feed("pump-02", "pressure", (130, 0.41), (120, 0.2))
    # Lift 3-1 running hot forty minutes ago: acknowledged, being looked at.
    feed("lift-3-1-mon", "cabin_temp", (45, 33.0), (40, 39.1))
    hot = open_alarm("lift-3-1-mon")
    if hot is not None and tech is not None:
        alarm_acknowledge(actor=tech, alarm_id=hot.id, note="机房空调故障，已报修", now=ago(30))
    # The generator's starter battery, ten minutes ago.
    feed("gen-01", "battery_voltage", (20, 24.6), (10, 22.7))
    alarms_scan(now=now)
