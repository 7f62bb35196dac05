"""Checking telemetry on the wire (pure), and the MQTT ingester against the real Mosquitto."""

import datetime as dt
import json
import threading
import uuid

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from wuye.iot import ingest, services
from wuye.iot.choices import Rejection
from wuye.iot.management.commands.iot_ingest import Ingester
from wuye.iot.models import Alarm, Reading, TelemetryRejection

from . import factories as f

NOW = dt.datetime(2026, 11, 27, 2, 0, tzinfo=dt.UTC)
LIMITS = ingest.Limits(
    max_payload_bytes=10_000,
    max_readings=50,
    max_future=dt.timedelta(minutes=5),
    oldest=NOW - dt.timedelta(days=90),
    signature_max_age=dt.timedelta(days=1),
    signature_max_future=dt.timedelta(minutes=5),
)
KEY = bytes.fromhex("11" * 32)
TOPIC = "wuye/7/pump-01/telemetry"


def body(data) -> bytes:
    return json.dumps(data).encode()


def refused_reason(raw, *, require_sent_at=False) -> str:
    with pytest.raises(ingest.Refused) as refusal:
        ingest.parse_body(raw, now=NOW, limits=LIMITS, require_sent_at=require_sent_at)
    return refusal.value.reason


# ---------------------------------------------------------------- topics and signatures


def test_topic_names_estate_and_device():
    assert ingest.parse_topic("wuye/7/pump-01/telemetry") == (7, "pump-01")
    assert ingest.parse_topic("site-a/7/pump_01/telemetry", root="site-a") == (7, "pump_01")


@pytest.mark.parametrize(
    "topic",
    [
        "wuye/x/pump/telemetry",
        "wuye/7/+/telemetry",
        "wuye/7/a/b/telemetry",
        "wuye/7/pump/status",
        "other/7/p/telemetry",
    ],
)
def test_other_topics_are_refused_as_bad_topic(topic):
    with pytest.raises(ingest.Refused) as refusal:
        ingest.parse_topic(topic)
    assert refusal.value.reason == Rejection.BAD_TOPIC


def test_a_signed_payload_verifies_with_its_key_and_topic_only():
    raw = body({"ts": 1, "values": {"t": 1}})
    claimed, inner = ingest.split_signed(ingest.sign(KEY, TOPIC, raw))
    assert inner == raw
    assert ingest.signature_matches(KEY, TOPIC, inner, claimed)
    assert not ingest.signature_matches(bytes.fromhex("22" * 32), TOPIC, inner, claimed)
    assert not ingest.signature_matches(KEY, "wuye/8/pump-01/telemetry", inner, claimed)
    assert not ingest.signature_matches(KEY, TOPIC, inner.replace(b"1}", b"2}"), claimed)


@pytest.mark.parametrize("payload", [b'{"ts": 1, "values": {"t": 1}}', b"s1.abc.{}", b"s1." + b"0" * 64 + b"{}"])
def test_a_payload_without_the_signature_frame_is_unsigned(payload):
    with pytest.raises(ingest.Refused) as refusal:
        ingest.split_signed(payload)
    assert refusal.value.reason == Rejection.UNSIGNED


def test_device_keys_differ_by_device_and_version():
    master = b"master"
    assert ingest.derive_device_key(master, 1, 1) != ingest.derive_device_key(master, 2, 1)
    assert ingest.derive_device_key(master, 1, 1) != ingest.derive_device_key(master, 1, 2)
    assert ingest.derive_device_key(master, 1, 1) == ingest.derive_device_key(master, 1, 1)


# ---------------------------------------------------------------- bodies


def test_one_instant_with_named_values():
    parsed = ingest.parse_body(
        body({"ts": "2026-11-27T09:30:05+08:00", "values": {"temp": 41.2, "current": 3}}),
        now=NOW,
        limits=LIMITS,
        require_sent_at=False,
    )
    at = dt.datetime(2026, 11, 27, 1, 30, 5, tzinfo=dt.UTC)
    assert parsed.readings == [("temp", at, 41.2), ("current", at, 3.0)]


def test_a_batch_with_epoch_seconds_and_milliseconds_is_sorted_by_time():
    seconds = NOW.timestamp() - 60
    parsed = ingest.parse_body(
        body(
            {
                "readings": [
                    {"ts": (seconds + 30) * 1000, "values": {"p": 2}},
                    {"ts": seconds, "values": {"p": 1}},
                    {"ts": "2026-11-27T01:59:59Z", "values": {"p": 3}},
                ]
            }
        ),
        now=NOW,
        limits=LIMITS,
        require_sent_at=False,
    )
    assert [value for _m, _at, value in parsed.readings] == [1.0, 2.0, 3.0]
    assert parsed.readings[0][1] == NOW - dt.timedelta(seconds=60)


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"{not json", Rejection.BAD_JSON),
        (b"\xff\xfe", Rejection.BAD_JSON),
        (body([1, 2]), Rejection.BAD_SHAPE),
        (body({"values": {"t": 1}}), Rejection.BAD_SHAPE),
        (body({"ts": 1795000000, "values": [1]}), Rejection.BAD_SHAPE),
        (body({"readings": {"ts": 1}}), Rejection.BAD_SHAPE),
        (body({"readings": ["x"]}), Rejection.BAD_SHAPE),
        (body({"ts": 1795000000, "values": {"t": "41.2"}}), Rejection.BAD_TYPE),
        (body({"ts": 1795000000, "values": {"t": True}}), Rejection.BAD_TYPE),
        (body({"ts": 1795000000, "values": {"t": None}}), Rejection.BAD_TYPE),
        (b'{"ts": 1795000000, "values": {"t": NaN}}', Rejection.BAD_TYPE),
        (body({"ts": 1795000000, "values": {"t": 10**400}}), Rejection.BAD_TYPE),
        (body({"ts": 1795000000, "values": {"Temp!": 1}}), Rejection.BAD_METRIC),
        (body({"ts": 1795000000, "values": {"x" * 41: 1}}), Rejection.BAD_METRIC),
        (body({"ts": "2026-11-27T09:30:05", "values": {"t": 1}}), Rejection.BAD_TIMESTAMP),
        (body({"ts": "yesterday at noon", "values": {"t": 1}}), Rejection.BAD_TIMESTAMP),
        (body({"ts": True, "values": {"t": 1}}), Rejection.BAD_TIMESTAMP),
        (body({"ts": 1e300, "values": {"t": 1}}), Rejection.BAD_TIMESTAMP),
        (body({"ts": NOW.timestamp() + 3600, "values": {"t": 1}}), Rejection.FUTURE_TIMESTAMP),
        (body({"ts": (NOW - dt.timedelta(days=91)).timestamp(), "values": {"t": 1}}), Rejection.TOO_OLD),
        (body({"ts": 1795000000, "values": {}}), Rejection.EMPTY),
        (body({"readings": []}), Rejection.EMPTY),
        (body({"readings": [{"ts": 1795000000, "values": {"t": 1}}] * 51}), Rejection.TOO_MANY_READINGS),
        (body({"ts": 1795000000, "values": {f"m{i}": i for i in range(51)}}), Rejection.TOO_MANY_READINGS),
        (b" " * 10_001, Rejection.TOO_LARGE),
        (b"[" * 6000 + b"]" * 6000, Rejection.TOO_LARGE),
    ],
)
def test_malformed_bodies_are_refused_with_their_reason(raw, reason):
    assert refused_reason(raw) == reason


def test_deeply_nested_json_is_refused_not_crashed():
    limits = ingest.Limits(**{**LIMITS.__dict__, "max_payload_bytes": 10**7})
    with pytest.raises(ingest.Refused) as refusal:
        ingest.parse_body(b"[" * 100_000 + b"]" * 100_000, now=NOW, limits=limits, require_sent_at=False)
    assert refusal.value.reason in (Rejection.BAD_JSON, Rejection.BAD_SHAPE)


def test_one_bad_reading_refuses_the_whole_message_and_names_it():
    raw = body({"readings": [{"ts": 1795000000, "values": {"t": 1}}, {"ts": 1795000000, "values": {"t": "x"}}]})
    with pytest.raises(ingest.Refused) as refusal:
        ingest.parse_body(raw, now=NOW, limits=LIMITS, require_sent_at=False)
    assert refusal.value.field == "readings.1.values.t"


def test_signed_messages_need_a_recent_sent_at():
    reading = {"ts": 1795000000, "values": {"t": 1}}
    assert refused_reason(body(reading), require_sent_at=True) == Rejection.STALE_SIGNATURE
    stale = {**reading, "sent_at": (NOW - dt.timedelta(days=2)).isoformat()}
    assert refused_reason(body(stale), require_sent_at=True) == Rejection.STALE_SIGNATURE
    ahead = {**reading, "sent_at": (NOW + dt.timedelta(hours=1)).isoformat()}
    assert refused_reason(body(ahead), require_sent_at=True) == Rejection.STALE_SIGNATURE
    fresh = {**reading, "sent_at": NOW.timestamp() - 10}
    assert ingest.parse_body(body(fresh), now=NOW, limits=LIMITS, require_sent_at=True).sent_at is not None


# ---------------------------------------------------------------- the ingester against Mosquitto


@pytest.fixture
def broker_root(settings):
    """A topic root of the test's own on the shared broker, so nothing else publishing there interferes."""
    f.require_mqtt()
    settings.IOT_MQTT_TOPIC_ROOT = f"wuye-test-{uuid.uuid4().hex[:10]}"
    services.caches_clear()
    yield settings.IOT_MQTT_TOPIC_ROOT
    services.caches_clear()


def _session(client_id: str, *, subscribe: str | None, expiry: int) -> None:
    """Create (subscribe) or remove (expiry 0, clean start) the ingester's persistent session on the broker."""
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5)
    connected, subscribed = threading.Event(), threading.Event()
    client.on_connect = lambda *args: connected.set()
    client.on_subscribe = lambda *args: subscribed.set()
    properties = Properties(PacketTypes.CONNECT)
    properties.SessionExpiryInterval = expiry
    client.connect(f.MQTT_HOST, f.MQTT_PORT, clean_start=subscribe is None, properties=properties)
    client.loop_start()
    assert connected.wait(10)
    if subscribe:
        client.subscribe(subscribe, qos=1)
        assert subscribed.wait(10)
    client.disconnect()
    client.loop_stop()


def publish(messages: list[tuple[str, bytes]]) -> None:
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"wuye-test-pub-{uuid.uuid4().hex[:8]}")
    client.connect(f.MQTT_HOST, f.MQTT_PORT)
    client.loop_start()
    infos = [client.publish(topic, payload, qos=1) for topic, payload in messages]
    for info in infos:
        info.wait_for_publish(timeout=10)
    client.disconnect()
    client.loop_stop()


def run_ingester(root: str, messages: list[tuple[str, bytes]]):
    """Prime a persistent session, publish, then let the ingester take what was queued and stop when idle."""
    client_id = f"{root}-ingest"
    _session(client_id, subscribe=ingest.topic_filter(root), expiry=120)
    publish(messages)
    ingester = Ingester(
        host=f.MQTT_HOST, port=f.MQTT_PORT, client_id=client_id, topics=[ingest.topic_filter(root)], session_expiry=120
    )
    try:
        return ingester.run(max_seconds=20, idle_exit=1.5)
    finally:
        _session(client_id, subscribe=None, expiry=0)


def test_ingester_stores_signed_readings_once_and_drops_duplicates(db, broker_root, cast):
    device, credentials = f.device(cast.estate)
    now = services.clock.now()
    first = f.signed_payload(credentials, {"ts": now.isoformat(), "values": {"pressure": 0.4, "temp": 30}}, sent_at=now)
    later = now + dt.timedelta(seconds=5)
    second = f.signed_payload(credentials, {"ts": later.isoformat(), "values": {"pressure": 0.41}}, sent_at=later)
    stats = run_ingester(
        broker_root, [(credentials.topic, first), (credentials.topic, first), (credentials.topic, second)]
    )
    assert stats.messages == 3
    assert stats.stored == 3
    assert stats.duplicates == 2
    assert stats.acked == 3
    assert Reading.objects.filter(device=device).count() == 3
    device.refresh_from_db()
    assert device.last_seen_at is not None


def test_ingester_refuses_malformed_forged_and_foreign_messages_with_counted_reasons(db, broker_root, cast, settings):
    settings.IOT_MAX_READINGS_PER_MESSAGE = 100
    device, credentials = f.device(cast.estate)
    stranger, stranger_credentials = f.device(cast.other_estate, code="pump-01")
    key = bytes.fromhex(credentials.signing_key)
    now = services.clock.now()
    good = {"ts": now.isoformat(), "values": {"pressure": 0.4}}
    topic = credentials.topic

    def signed(data, *, sent_at=now, with_key=key, on=topic):
        return ingest.sign(with_key, on, ingest.encode_body(data, sent_at=sent_at))

    messages = [
        (topic, b"not a signature at all"),
        (topic, signed(good, with_key=bytes(32))),
        (topic, ingest.sign(key, topic, b"{broken json")),
        (topic, signed({"ts": now.isoformat(), "values": {"pressure": "high"}})),
        (topic, signed({"ts": (now + dt.timedelta(days=1)).isoformat(), "values": {"pressure": 1}})),
        (topic, signed({"readings": [good] * 101})),
        (topic, signed(good, sent_at=now - dt.timedelta(days=3))),
        (ingest.topic_for(cast.estate.id, "ghost", broker_root), signed(good)),
        # The other estate's pump-01, publishing on this estate's topic with its own key.
        (topic, signed(good, with_key=bytes.fromhex(stranger_credentials.signing_key))),
        (ingest.topic_for(cast.estate.id, "pump-01", broker_root) + "x", signed(good)),
        (topic, signed(good)),  # and a good one after all that
    ]
    stats = run_ingester(broker_root, messages)
    expected = {
        Rejection.UNSIGNED: 1,
        Rejection.BAD_SIGNATURE: 1,
        Rejection.BAD_JSON: 1,
        Rejection.BAD_TYPE: 1,
        Rejection.FUTURE_TIMESTAMP: 1,
        Rejection.TOO_MANY_READINGS: 1,
        Rejection.STALE_SIGNATURE: 1,
        Rejection.UNKNOWN_DEVICE: 1,
        Rejection.WRONG_ESTATE: 1,
    }
    assert dict(stats.rejected) == expected
    # The topic ending in "telemetryx" is not even subscribed to; the good message is stored.
    assert stats.messages == 10
    assert stats.stored == 1
    assert Reading.objects.filter(device=device).count() == 1
    assert not Reading.objects.filter(device=stranger).exists()
    counted = dict(TelemetryRejection.objects.filter(channel="mqtt").values_list("reason", "count"))
    assert counted == expected


def test_a_duplicated_message_above_a_threshold_raises_one_alarm(db, broker_root, cast):
    device, credentials = f.device(cast.estate)
    rule = f.rule(cast.estate, device=device)
    now = services.clock.now()
    hot = f.signed_payload(credentials, {"ts": now.isoformat(), "values": {"pressure": 1.5}}, sent_at=now)
    run_ingester(broker_root, [(credentials.topic, hot), (credentials.topic, hot)])
    alarms = Alarm.objects.filter(rule=rule, device=device)
    assert alarms.count() == 1
    assert alarms.get().status == "raised"
    assert alarms.get().events.count() == 1


def test_the_simulator_publishes_signed_readings_the_ingester_accepts_and_faults_show(db, cast):
    import random

    from wuye.iot.management.commands.iot_simulate import Simulator, simulated_devices

    services.seed_iot(cast.estate)
    simulator = Simulator(simulated_devices(cast.estate), fault_rate=0.0, rng=random.Random(7))
    now = services.clock.now()
    by_code = {device.code: device for device in simulator.devices}
    for code, fault in (("pump-01", "low_pressure"), ("lift-1-1-mon", "silent")):
        by_code[code].fault, by_code[code].fault_started = fault, now
        by_code[code].fault_ends = now + dt.timedelta(minutes=5)
    limits = services.limits(now)
    pressure = {}
    messages = simulator.messages(now)
    for topic, payload in messages:
        estate_id, code = ingest.parse_topic(topic)
        device = services.device_directory().get(estate_id, code)
        claimed, body = ingest.split_signed(payload)
        assert ingest.signature_matches(device.key, topic, body, claimed)
        parsed = ingest.parse_body(body, now=now, limits=limits, require_sent_at=True)
        for metric, _at, value in parsed.readings:
            if metric == "pressure":
                pressure[code] = value
    assert len(messages) == len(services.DEMO_DEVICES) - 1  # the silent one sent nothing
    assert pressure["pump-01"] < 0.25 < 0.3 < pressure["pump-02"]
    assert pressure["fire-main"] > 0.65
