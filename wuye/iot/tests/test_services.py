"""Storing telemetry, evaluating it once, alarms applied idempotently, engines shared between processes, rollups,
retention, credentials and the demo seed."""

import datetime as dt

import pytest

from wuye.core.errors import ValidationFailed
from wuye.iot import services
from wuye.iot.choices import AlarmAction, AlarmStatus, Rejection
from wuye.iot.models import (
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
from wuye.iot.rules import AlarmChange

from . import factories as f

T0 = dt.datetime(2026, 11, 27, 1, 0, tzinfo=dt.UTC)
pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fresh_caches():
    services.caches_clear()
    yield
    services.caches_clear()


@pytest.fixture
def pump(db, cast):
    device, credentials = f.device(cast.estate)
    rule = f.rule(cast.estate, device=device)
    return device, rule


def store(device, *readings, now=None):
    """Store (minute offset, value) pressure readings of one device."""
    rows = [("pressure", T0 + dt.timedelta(minutes=minute), value) for minute, value in readings]
    batch = services.DeviceBatch(device_id=device.id, estate_id=device.estate_id, readings=rows)
    return services.telemetry_store(batches=[batch], now=now or T0 + dt.timedelta(hours=1))


def alarms_of(device):
    return list(Alarm.objects.filter(device=device).order_by("id"))


def change(rule, device, kind, minute, value=1.5):
    return AlarmChange(
        rule_id=rule.id,
        device_id=device.id,
        change=kind,
        at=T0 + dt.timedelta(minutes=minute),
        severity="major",
        reason=f"pressure {value}",
        reason_code="above",
        reason_params={"limit": 1.0},
        value=value,
    )


# ---------------------------------------------------------------- store and evaluate


def test_readings_are_stored_once_and_a_repeat_is_counted_as_duplicate(pump):
    device, _rule = pump
    first = store(device, (0, 0.4), (1, 0.5))
    again = store(device, (0, 0.4), (1, 0.5), (2, 0.6))
    assert (first.stored, first.duplicates) == (2, 0)
    assert (again.stored, again.duplicates) == (1, 2)
    assert Reading.objects.filter(device=device).count() == 3


def test_a_reading_over_the_threshold_raises_and_one_back_under_clears(pump):
    device, rule = pump
    raised = store(device, (0, 1.5))
    cleared = store(device, (1, 0.5))
    assert (raised.raised, cleared.cleared) == (1, 1)
    (alarm,) = alarms_of(device)
    assert alarm.rule == rule
    assert alarm.status == AlarmStatus.CLEARED
    assert alarm.raised_at == T0
    assert alarm.cleared_at == T0 + dt.timedelta(minutes=1)
    assert alarm.raise_value == 1.5
    assert alarm.last_value == 0.5
    assert [e.action for e in alarm.events.order_by("id")] == [AlarmAction.RAISE, AlarmAction.CLEAR]


def test_a_duplicate_reading_is_not_evaluated_again(pump):
    device, _rule = pump
    store(device, (0, 1.5))
    store(device, (1, 0.5))
    # The hot reading delivered again: already stored, so the engine must not see it (it would open a new alarm).
    repeat = store(device, (0, 1.5))
    assert repeat.stored == 0
    assert repeat.raised == 0
    assert len(alarms_of(device)) == 1


def test_one_batch_may_hold_several_devices_and_estates(db, cast):
    mine, _ = f.device(cast.estate, code="a")
    theirs, _ = f.device(cast.other_estate, code="a")
    f.rule(cast.estate, device=mine)
    f.rule(cast.other_estate, device=theirs)
    batches = [
        services.DeviceBatch(device_id=d.id, estate_id=d.estate_id, readings=[("pressure", T0, 2.0)])
        for d in (mine, theirs)
    ]
    result = services.telemetry_store(batches=batches, now=T0)
    assert (result.stored, result.raised) == (2, 2)
    assert Alarm.objects.get(device=theirs).estate == cast.other_estate
    assert set(EngineState.objects.values_list("estate_id", flat=True)) == {cast.estate.id, cast.other_estate.id}


def test_a_rule_for_an_equipment_category_covers_the_devices_on_that_equipment(db, cast):
    pump_equipment = f.equipment(cast.estate)
    on_pump, _ = f.device(cast.estate, code="on-pump", equipment=pump_equipment)
    elsewhere, _ = f.device(cast.estate, code="loose")
    f.rule(cast.estate, equipment_category="water_pump")
    store(on_pump, (0, 2.0))
    store(elsewhere, (0, 2.0))
    assert len(alarms_of(on_pump)) == 1
    assert alarms_of(elsewhere) == []


def test_last_seen_is_recorded(pump):
    device, _rule = pump
    store(device, (0, 0.4), now=T0)
    device.refresh_from_db()
    assert device.last_seen_at == T0


# ---------------------------------------------------------------- engines shared between processes


def test_another_process_that_moved_the_engine_on_is_caught_up_from_the_database(pump, monkeypatch):
    device, _rule = pump
    process_a = services.engine_cache()
    rebuilds_before = process_a.rebuilds
    store(device, (0, 1.5))  # A raises
    process_b = services.EngineCache()
    monkeypatch.setattr(services, "_engines", process_b)
    store(device, (1, 0.5))  # B rebuilds from A's state, sees the open condition and clears
    monkeypatch.setattr(services, "_engines", process_a)
    store(device, (2, 1.6))  # A's cache is stale: it must learn of the clear, or it would not raise again
    alarms = alarms_of(device)
    assert [alarm.status for alarm in alarms] == [AlarmStatus.CLEARED, AlarmStatus.RAISED]
    assert process_b.rebuilds == 1
    assert process_a.rebuilds - rebuilds_before == 2


def test_a_rebuild_replays_readings_stored_after_the_snapshot_without_applying_their_alarms_again(
    pump, monkeypatch, settings
):
    device, _rule = pump
    settings.IOT_ENGINE_SNAPSHOT_SECONDS = 3600
    store(device, (0, 0.4))  # first use: a snapshot
    store(device, (1, 1.5))  # raises; no snapshot (not due)
    state = EngineState.objects.get(estate=device.estate)
    assert state.watermark < Reading.objects.get(device=device, at=T0 + dt.timedelta(minutes=1)).id
    monkeypatch.setattr(services, "_engines", services.EngineCache())
    result = store(device, (2, 0.5))  # the new process replays minute 1 (open alarm) and clears it
    assert result.cleared == 1
    assert len(alarms_of(device)) == 1
    assert AlarmEvent.objects.filter(alarm__device=device, action=AlarmAction.RAISE).count() == 1


def test_a_failed_store_leaves_neither_readings_nor_engine_memory(pump, monkeypatch):
    device, _rule = pump

    def broken(**kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(services, "alarm_changes_apply", broken)
    with pytest.raises(RuntimeError):
        store(device, (0, 1.5))
    monkeypatch.undo()
    assert not Reading.objects.filter(device=device).exists()
    # Delivered again: the engine must not remember the reading of the transaction that rolled back.
    assert store(device, (0, 1.5)).raised == 1
    assert len(alarms_of(device)) == 1


def test_a_rule_added_while_running_is_picked_up_within_the_refresh(pump, settings):
    device, _rule = pump
    settings.IOT_RULES_REFRESH_SECONDS = 0
    store(device, (0, 0.4))
    second = f.rule(device.estate, name="温度高", metric="temp", device=device)
    batch = services.DeviceBatch(device_id=device.id, estate_id=device.estate_id, readings=[("temp", T0, 5.0)])
    services.telemetry_store(batches=[batch], now=T0)
    assert Alarm.objects.filter(rule=second).count() == 1


def test_a_rule_the_engine_refuses_is_left_out_and_the_rest_still_work(pump):
    device, rule = pump
    AlarmRule.objects.create(
        estate=device.estate, name="坏规则", metric="pressure", kind="threshold", severity="major", params={"x": "y"}
    )
    specs = services.estate_rule_specs(device.estate_id)
    assert [spec.id for spec in specs] == [rule.id]
    assert store(device, (0, 1.5)).raised == 1


# ---------------------------------------------------------------- alarm changes


def test_applying_the_same_raise_twice_opens_one_alarm(pump):
    device, rule = pump
    services.alarm_changes_apply(changes=[change(rule, device, "raise", 0)], now=T0)
    applied = services.alarm_changes_apply(changes=[change(rule, device, "raise", 0, value=1.7)], now=T0)
    assert applied.raised == 0
    (alarm,) = alarms_of(device)
    assert alarm.last_value == 1.7
    assert alarm.events.count() == 1


def test_a_clear_with_nothing_open_does_nothing_and_a_raise_after_a_clear_is_a_new_episode(pump):
    device, rule = pump
    assert services.alarm_changes_apply(changes=[change(rule, device, "clear", 0)], now=T0).cleared == 0
    services.alarm_changes_apply(
        changes=[change(rule, device, "raise", 1), change(rule, device, "clear", 2), change(rule, device, "clear", 3)],
        now=T0,
    )
    services.alarm_changes_apply(changes=[change(rule, device, "raise", 4)], now=T0)
    alarms = alarms_of(device)
    assert [(a.status, a.raised_at.minute) for a in alarms] == [(AlarmStatus.CLEARED, 1), (AlarmStatus.RAISED, 4)]
    assert alarms[0].cleared_at == T0 + dt.timedelta(minutes=2)


def test_an_acknowledged_alarm_is_cleared_from_acknowledged(pump):
    device, rule = pump
    services.alarm_changes_apply(changes=[change(rule, device, "raise", 0)], now=T0)
    Alarm.objects.filter(device=device).update(status=AlarmStatus.ACKNOWLEDGED)
    services.alarm_changes_apply(changes=[change(rule, device, "raise", 1)], now=T0)
    services.alarm_changes_apply(changes=[change(rule, device, "clear", 2)], now=T0)
    (alarm,) = alarms_of(device)
    assert alarm.status == AlarmStatus.CLEARED
    clear = alarm.events.get(action=AlarmAction.CLEAR)
    assert (clear.from_status, clear.to_status) == (AlarmStatus.ACKNOWLEDGED, AlarmStatus.CLEARED)


def test_a_raise_and_its_clear_in_one_batch_make_one_cleared_alarm_with_both_events(pump):
    device, rule = pump
    applied = services.alarm_changes_apply(
        changes=[change(rule, device, "raise", 0), change(rule, device, "clear", 1, value=0.5)], now=T0
    )
    assert (applied.raised, applied.cleared) == (1, 1)
    (alarm,) = alarms_of(device)
    assert (alarm.status, alarm.last_value) == (AlarmStatus.CLEARED, 0.5)
    assert [e.action for e in alarm.events.order_by("id")] == [AlarmAction.RAISE, AlarmAction.CLEAR]


def test_an_alarm_another_process_opened_first_is_not_doubled(pump, cast):
    device, rule = pump
    other, _ = f.device(cast.estate, code="pump-02")
    services.alarm_changes_apply(changes=[change(rule, device, "raise", 0)], now=T0)
    racing = [
        Alarm(estate=cast.estate, rule=rule, device=d, severity="major", reason="x", raised_at=T0)
        for d in (device, other)
    ]
    created = services._alarms_create(racing)
    assert [alarm.device for alarm in created] == [other]
    assert Alarm.objects.filter(rule=rule, device=device).count() == 1


def test_changes_for_a_deleted_rule_are_ignored(pump):
    device, rule = pump
    ghost = change(rule, device, "raise", 0)
    rule.delete()
    assert services.alarm_changes_apply(changes=[ghost], now=T0).ignored == 1
    assert not Alarm.objects.exists()


# ---------------------------------------------------------------- ticks and schedules


def test_no_data_is_raised_by_a_tick_and_cleared_by_the_next_reading_even_in_another_process(pump, monkeypatch):
    device, _threshold = pump
    silent = f.rule(device.estate, name="离线", kind="no_data", params={"minutes": 5}, device=device)
    store(device, (0, 0.4), now=T0)
    assert services.engines_tick(now=T0 + dt.timedelta(minutes=4)) == 0
    assert services.engines_tick(now=T0 + dt.timedelta(minutes=6)) == 1
    assert services.engines_tick(now=T0 + dt.timedelta(minutes=7)) == 0  # still open: not raised twice
    monkeypatch.setattr(services, "_engines", services.EngineCache())  # the next reading arrives elsewhere
    assert store(device, (8, 0.4)).cleared == 1
    (alarm,) = Alarm.objects.filter(rule=silent)
    assert alarm.status == AlarmStatus.CLEARED
    assert alarm.reason_code == "no_data"


def test_a_night_schedule_limits_when_a_rule_raises(db, cast):
    device, _ = f.device(cast.estate)
    f.rule(cast.estate, device=device, schedule_start=dt.time(22, 0), schedule_end=dt.time(6, 0))
    noon = dt.datetime(2026, 11, 27, 4, 0, tzinfo=dt.UTC)  # 12:00 in Shanghai
    night = dt.datetime(2026, 11, 27, 15, 0, tzinfo=dt.UTC)  # 23:00 in Shanghai
    for at in (noon, noon + dt.timedelta(minutes=1), night):
        batch = services.DeviceBatch(device_id=device.id, estate_id=device.estate_id, readings=[("pressure", at, 2)])
        services.telemetry_store(batches=[batch], now=at)
    (alarm,) = Alarm.objects.filter(device=device)
    assert alarm.raised_at == night


def test_a_tick_snapshots_the_engine_state(pump):
    device, _rule = pump
    store(device, (0, 0.4))
    before = EngineState.objects.get(estate=device.estate)
    services.engines_tick(now=T0 + dt.timedelta(hours=2))
    after = EngineState.objects.get(estate=device.estate)
    assert after.version == before.version + 1
    assert after.saved_at == T0 + dt.timedelta(hours=2)


# ---------------------------------------------------------------- rollups and retention


def test_rollups_fold_each_reading_once_and_merge_later_ones(pump):
    device, _rule = pump
    store(device, (0, 1.0), (30, 3.0), (70, 5.0))
    assert services.rollup_run() == 0  # the first pass only notes how far the table goes
    assert services.rollup_run() == 3
    assert services.rollup_run() == 0
    store(device, (45, -1.0))
    services.rollup_run()
    services.rollup_run()
    buckets = {r.hour: (r.count, r.min, r.max, r.sum) for r in HourlyRollup.objects.filter(device=device)}
    assert buckets == {T0: (3, -1.0, 3.0, 3.0), T0 + dt.timedelta(hours=1): (1, 5.0, 5.0, 5.0)}


def test_the_purge_deletes_only_old_readings_already_rolled_up(pump, settings):
    device, _rule = pump
    settings.IOT_RAW_RETENTION_DAYS = 30
    now = T0 + dt.timedelta(days=31)
    store(device, (0, 1.0), (1, 2.0))
    services.rollup_run()
    services.rollup_run()
    store(device, (2, 3.0))  # old too, but not folded yet: must stay
    store(device, (31 * 24 * 60, 4.0))  # recent
    assert services.raw_purge(now=now) == 2
    assert sorted(Reading.objects.filter(device=device).values_list("value", flat=True)) == [3.0, 4.0]
    assert HourlyRollup.objects.get(device=device, hour=T0).count == 2
    assert IngestCursor.objects.get(name="rollup").position > 0


# ---------------------------------------------------------------- rejections


def test_rejections_are_counted_per_day_channel_and_reason():
    now = T0
    services.rejections_record(channel="mqtt", counts={Rejection.BAD_JSON: (2, "a")}, now=now)
    services.rejections_record(
        channel="mqtt", counts={Rejection.BAD_JSON: (3, "b"), Rejection.UNSIGNED: (1, "c")}, now=now
    )
    services.rejections_record(channel="http", counts={Rejection.BAD_JSON: (1, "d")}, now=now)
    counted = {(r.channel, r.reason): (r.count, r.last_detail) for r in TelemetryRejection.objects.all()}
    assert counted == {
        ("mqtt", "bad_json"): (5, "b"),
        ("mqtt", "unsigned"): (1, "c"),
        ("http", "bad_json"): (1, "d"),
    }


# ---------------------------------------------------------------- devices and credentials


def test_a_device_gets_a_topic_a_signing_key_and_a_token_stored_only_as_a_hash(cast):
    device, credentials = f.device(cast.estate, code="lift-3")
    assert credentials.topic == f"wuye/{cast.estate.id}/lift-3/telemetry"
    assert len(bytes.fromhex(credentials.signing_key)) == 32
    assert credentials.http_token not in (device.token_hash, device.token_prefix * 2)
    assert len(device.token_hash) == 64
    assert services.device_token_authenticate(device_id=device.id, token=credentials.http_token) == device
    assert services.device_token_authenticate(device_id=device.id, token=credentials.http_token + "x") is None


@pytest.mark.parametrize(("code", "field"), [("has space", "code"), ("a/b", "code"), ("", "code"), ("x" * 41, "code")])
def test_device_codes_must_be_topic_safe(cast, code, field):
    with pytest.raises(ValidationFailed) as refusal:
        f.device(cast.estate, code=code)
    assert [error.field for error in refusal.value.errors] == [field]


def test_device_codes_are_unique_in_an_estate_only(cast):
    f.device(cast.estate, code="gate-1")
    f.device(cast.other_estate, code="gate-1")
    with pytest.raises(ValidationFailed):
        f.device(cast.estate, code="gate-1")


def test_a_device_cannot_be_bound_to_another_estates_equipment(cast):
    theirs = f.equipment(cast.other_estate)
    with pytest.raises(ValidationFailed) as refusal:
        f.device(cast.estate, equipment=theirs)
    assert refusal.value.errors[0].field == "equipment"


def test_rotating_credentials_retires_the_old_token_and_key(cast):
    device, old = f.device(cast.estate)
    new = services.device_credentials_rotate(device_id=device.id)
    assert new.signing_key != old.signing_key
    assert services.device_token_authenticate(device_id=device.id, token=old.http_token) is None
    assert services.device_token_authenticate(device_id=device.id, token=new.http_token).pk == device.pk


def test_a_disabled_device_token_is_refused(cast):
    device, credentials = f.device(cast.estate)
    Device.objects.filter(pk=device.pk).update(is_active=False)
    assert services.device_token_authenticate(device_id=device.id, token=credentials.http_token) is None


# ---------------------------------------------------------------- the demo


def test_the_demo_seed_is_idempotent_and_every_demo_rule_fits_the_engine(cast):
    first = services.seed_iot(cast.estate)
    alarms = Alarm.objects.filter(estate=cast.estate).count()
    again = services.seed_iot(cast.estate)
    assert alarms > 0 and Alarm.objects.filter(estate=cast.estate).count() == alarms
    assert len(first) == len(services.DEMO_DEVICES)
    assert again == {}
    assert Device.objects.filter(estate=cast.estate).count() == len(services.DEMO_DEVICES)
    assert AlarmRule.objects.filter(estate=cast.estate).count() == len(services.DEMO_RULES)
    assert len(services.estate_rule_specs(cast.estate.id)) == len(services.DEMO_RULES)


def test_the_scheduled_jobs_run_the_rollup_and_the_tick(pump):
    from wuye.core import scheduler
    from wuye.iot import tasks

    device, _rule = pump
    store(device, (0, 1.0))
    assert {"iot.rollup", "iot.tick"} <= {job.name for job in scheduler.registered_jobs()}
    tasks.rollup.enqueue()
    assert tasks.rollup.enqueue().return_value == {"folded": 1, "purged": 0}
    assert tasks.tick.enqueue().return_value == 0
