"""IoT ingestion throughput against the real Mosquitto and PostgreSQL: readings per second end to end (published →
stored → rules evaluated → alarms written) by `manage.py iot_ingest`, beside a bare paho subscriber receiving the same
stream in the same run; the ratio; and alarm latency p50/p99 from publish to alarm row.

    .venv/bin/python bench/bench_iot.py [--readings 100000] [--per-message 20] [--devices 50] [--keep-db]

What runs (each in its own process, so no one measures through another's GIL):
- a publisher: publishes pre-built, signed messages, QoS 1, as fast as it can (phase 1) or at a fixed rate (phase 2);
- the bare subscriber: paho, QoS 1, the same receive maximum as the ingester, counts messages and does nothing else;
- the ingester: `manage.py iot_ingest`, exactly as deployed (persistent session, manual acks after the commit).
Every message holds `--per-message` readings of one device (instants × 5 metrics, the batch format of
docs/iot-ingest.md): the rate is in readings, and the output says how many readings a message carried. Every reading
is evaluated by at least one rule (threshold, duration, rate); every 50th message of a device carries a reading that
raises an alarm and the next one clears it.

Phase 1 (saturation) gives the throughputs and the ratio; alarm latency there includes the queue the flood builds.
Phase 2 publishes at about half the measured ingest rate for a few seconds: alarm latency at a steady load.

Uses DATABASE_URL when set, else a throwaway database `wuye_bench_iot` on postgres://postgres@127.0.0.1:5432, and the
broker on 127.0.0.1:1883 (--port) under a topic root of its own. BENCH_PROFILE=/tmp/ingest.prof runs the ingester
under cProfile (its main thread: the store stage).
"""

import argparse
import datetime as dt
import json
import os
import pickle
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DEFAULT_DB = "postgres://postgres@127.0.0.1:5432/wuye_bench_iot"
METRICS = ("temp", "pressure", "current", "vibration", "humidity")
HOT_EVERY = 50
RECEIVE_MAXIMUM = 10_000  # the ingester's default (IOT_MQTT_RECEIVE_MAXIMUM); the bare subscriber uses the same


# ---------------------------------------------------------------- roles run as subprocesses (no Django)


def _client(client_id: str, port: int, *, receive_maximum: int | None = None):
    import paho.mqtt.client as mqtt
    from paho.mqtt.packettypes import PacketTypes
    from paho.mqtt.properties import Properties

    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5)
    properties = Properties(PacketTypes.CONNECT)
    if receive_maximum:
        properties.ReceiveMaximum = receive_maximum
    return client, properties


def role_bare(args) -> None:
    """Receive the stream and note when each message arrived; nothing else."""
    client, properties = _client(f"bench-bare-{uuid.uuid4().hex[:8]}", args.port, receive_maximum=RECEIVE_MAXIMUM)
    received: list[float] = []
    done, ready = threading.Event(), threading.Event()

    def on_message(client, userdata, message):
        received.append(time.time())
        if len(received) >= args.expected:
            done.set()

    client.on_message = on_message
    client.on_connect = lambda c, *rest: c.subscribe(args.topic, qos=1)
    client.on_subscribe = lambda *rest: ready.set()
    client.connect("127.0.0.1", args.port, properties=properties)
    client.loop_start()
    ready.wait(10)
    print("ready", flush=True)
    done.wait(args.timeout)
    client.disconnect()
    client.loop_stop()
    Path(args.out).write_text(json.dumps({"messages": len(received), "first": received[:1], "last": received[-1:]}))


def role_publish(args) -> None:
    """Publish pre-built messages: unpaced, or `--rate` messages per second. Records when each was handed to paho."""
    messages = pickle.loads(Path(args.payloads).read_bytes())  # noqa: S301 - our own file
    client, properties = _client(f"bench-pub-{uuid.uuid4().hex[:8]}", args.port)
    client.max_inflight_messages_set(1000)
    client.max_queued_messages_set(0)
    client.connect("127.0.0.1", args.port, properties=properties)
    client.loop_start()
    time.sleep(0.2)
    sent_at: list[float] = []
    infos = []
    start = time.time()
    for index, (topic, payload) in enumerate(messages):
        if args.rate:
            delay = start + index / args.rate - time.time()
            if delay > 0:
                time.sleep(delay)
        sent_at.append(time.time())
        infos.append(client.publish(topic, payload, qos=1))
    for info in infos:
        info.wait_for_publish(120)
    acked = time.time()
    client.disconnect()
    client.loop_stop()
    Path(args.out).write_text(json.dumps({"sent_at": sent_at, "acked": acked}))


# ---------------------------------------------------------------- the orchestrator (Django)


def setup_django(database_url: str) -> None:
    os.environ["DATABASE_URL"] = database_url
    os.environ["DJANGO_SETTINGS_MODULE"] = "bench.bench_settings"
    import django

    django.setup()


def prepare(devices: int, root: str):
    """The bench estate, its devices and rules (kept between runs with --keep-db)."""
    from wuye.estates.models import Company, Estate
    from wuye.iot import ingest, services
    from wuye.iot.models import AlarmRule, Device

    company, _ = Company.objects.get_or_create(code="bench-iot", defaults={"name": "压测物业"})
    estate, _ = Estate.objects.get_or_create(company=company, code="bench-iot", defaults={"name": "压测小区"})
    existing = Device.objects.filter(estate=estate).count()
    for index in range(existing, devices):
        services.device_create(estate=estate, code=f"dev-{index:04d}", name=f"压测设备 {index}")
    rules = {
        "温度过高": ("temp", "threshold", {"op": ">", "value": 80, "clear": 75}),
        "压力持续过低": ("pressure", "duration", {"op": "<", "value": 0.2, "minutes": 1}),
        "电流突变": ("current", "rate", {"change": 50, "per_minutes": 5}),
        "振动过大": ("vibration", "threshold", {"op": ">", "value": 5}),
        "湿度过高": ("humidity", "threshold", {"op": ">", "value": 95, "clear": 90}),
    }
    for name, (metric, kind, params) in rules.items():
        AlarmRule.objects.get_or_create(
            estate=estate, name=name, defaults={"metric": metric, "kind": kind, "severity": "major", "params": params}
        )
    hot_rule = AlarmRule.objects.get(estate=estate, name="温度过高")
    keyed = [
        (
            device.id,
            ingest.topic_for(estate.id, device.code, root),
            services.device_signing_key(device.id, device.key_version),
        )
        for device in Device.objects.filter(estate=estate).order_by("code")[:devices]
    ]
    return estate, hot_rule, keyed


def build_stream(devices, *, messages: int, instants: int, start: dt.datetime, hot_every: int = HOT_EVERY):
    """Signed messages round-robin over the devices; which (device, time) raises the temperature alarm in which one."""
    from wuye.core import clock
    from wuye.iot import ingest

    sent_at = clock.now()
    out, hot_index = [], {}
    for index in range(messages):
        device_id, topic, key = devices[index % len(devices)]
        round_ = index // len(devices)
        entries = []
        for instant in range(instants):
            at = start + dt.timedelta(seconds=round_ * instants + instant)
            temp = 25.0 + (instant % 3)
            if hot_every and round_ % hot_every == hot_every - 1 and instant == 0:
                temp = 90.0
                hot_index[(device_id, at)] = index
            values = {"temp": temp, "pressure": 0.45, "current": 12.0 + instant, "vibration": 0.4, "humidity": 60.0}
            entries.append({"ts": at.isoformat(), "values": values})
        out.append((topic, ingest.sign(key, topic, ingest.encode_body(entries, sent_at=sent_at))))
    return out, hot_index


def spawn(*args, **kwargs) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, *args], cwd=ROOT, **kwargs)  # noqa: S603 - our own scripts


def publish(port: int, messages, *, rate: float = 0.0) -> dict:
    with tempfile.TemporaryDirectory() as folder:
        payloads, out = Path(folder) / "payloads", Path(folder) / "out.json"
        payloads.write_bytes(pickle.dumps(messages))
        command = [__file__, "--role", "publish", "--port", str(port), "--payloads", str(payloads), "--out", str(out)]
        if rate:
            command += ["--rate", str(rate)]
        spawn(*command).wait(600)
        return json.loads(out.read_text())


def stored_since(baseline: int) -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM iot_reading WHERE id > %s", [baseline])
        return cursor.fetchone()[0]


def newest_reading() -> int:
    from wuye.iot.models import Reading

    return Reading.objects.order_by("-id").values_list("id", flat=True).first() or 0


def wait_stored(baseline: int, expected: int, timeout: float, *, stall: float = 20) -> tuple[int, float]:
    """(readings stored, when the last of them was) — waiting until all are there, or nothing new came for `stall`."""
    deadline = time.time() + timeout
    count, last_change = 0, time.time()
    while time.time() < deadline and time.time() - last_change < stall:
        now_count = stored_since(baseline)
        if now_count != count:
            count, last_change = now_count, time.time()
        if count >= expected:
            break
        time.sleep(0.05)
    return count, last_change


def latencies(hot_rule, hot_index: dict, sent_at: list[float], since: dt.datetime) -> list[float]:
    from wuye.iot.models import Alarm

    out = []
    for device_id, raised_at, created_at in Alarm.objects.filter(rule=hot_rule, created_at__gte=since).values_list(
        "device_id", "raised_at", "created_at"
    ):
        index = hot_index.get((device_id, raised_at))
        if index is not None:
            out.append(created_at.timestamp() - sent_at[index])
    return out


def quantiles(values: list[float]) -> str:
    if len(values) < 2:
        return f"n={len(values)} (too few)"
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    return f"p50 {cuts[49] * 1000:.0f} ms, p99 {cuts[98] * 1000:.0f} ms (n={len(values)})"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--role", choices=["bare", "publish"], help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, default=1883)
    parser.add_argument("--topic", help=argparse.SUPPRESS)
    parser.add_argument("--expected", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    parser.add_argument("--payloads", help=argparse.SUPPRESS)
    parser.add_argument("--rate", type=float, default=0.0, help=argparse.SUPPRESS)
    parser.add_argument("--timeout", type=float, default=300)
    parser.add_argument("--readings", type=int, default=100_000, help="Readings in the saturation run")
    parser.add_argument("--per-message", type=int, default=20, help="Readings per message (a multiple of 5)")
    parser.add_argument("--devices", type=int, default=50)
    parser.add_argument("--latency-seconds", type=float, default=6.0, help="Length of the steady-load phase")
    parser.add_argument("--keep-db", action="store_true")
    args = parser.parse_args()
    if args.role == "bare":
        role_bare(args)
        return 0
    if args.role == "publish":
        role_publish(args)
        return 0

    instants = max(1, args.per_message // len(METRICS))
    per_message = instants * len(METRICS)
    messages = max(1, args.readings // per_message)
    database_url = os.environ.get("DATABASE_URL") or DEFAULT_DB
    throwaway = "DATABASE_URL" not in os.environ
    if throwaway:
        import psycopg

        with psycopg.connect("host=127.0.0.1 user=postgres dbname=postgres", autocommit=True) as admin:
            exists = admin.execute("SELECT 1 FROM pg_database WHERE datname = 'wuye_bench_iot'").fetchone()
            if exists and not args.keep_db:
                admin.execute("DROP DATABASE wuye_bench_iot WITH (FORCE)")
            if not exists or not args.keep_db:
                admin.execute("CREATE DATABASE wuye_bench_iot")
    setup_django(database_url)
    from django.core.management import call_command
    from django.db import connections

    from wuye.core import clock

    call_command("migrate", verbosity=0)
    root = f"wuye-bench-{uuid.uuid4().hex[:8]}"
    estate, hot_rule, devices = prepare(args.devices, root)
    client_id = f"bench-ingest-{root}"
    env = {**os.environ, "DATABASE_URL": database_url, "DJANGO_SETTINGS_MODULE": "bench.bench_settings"}
    profile = ["-m", "cProfile", "-o", os.environ["BENCH_PROFILE"]] if os.environ.get("BENCH_PROFILE") else []
    ingester = spawn(
        *profile,
        "manage.py",
        "iot_ingest",
        "--port",
        str(args.port),
        "--topic-root",
        root,
        "--client-id",
        client_id,
        "--session-expiry",
        "60",
        "--tick",
        "3600",
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    print(f"iot bench: {args.devices} devices, {per_message} readings per message ({instants} instants x 5 metrics)")
    try:
        # Warm up: the ingester connects, caches the devices and builds the estate's engine. Device time starts
        # after anything a kept database already holds, so no reading of this run is a duplicate.
        from wuye.iot.models import Reading

        newest = Reading.objects.order_by("-at").values_list("at", flat=True).first()
        start = clock.now().replace(microsecond=0) - dt.timedelta(minutes=30)
        if newest is not None and newest >= start:
            start = newest.replace(microsecond=0) + dt.timedelta(seconds=1)
        warm, _ = build_stream(devices, messages=len(devices), instants=instants, start=start, hot_every=0)
        baseline = newest_reading()
        deadline = time.time() + 60
        while stored_since(baseline) < len(warm) * per_message and time.time() < deadline:
            publish(args.port, warm)  # repeated until the ingester is up; repeats are duplicates
            wait_stored(baseline, len(warm) * per_message, 3)

        # Phase 1: saturation.
        bare_out = Path(tempfile.mkstemp(suffix=".json")[1])
        bare = spawn(
            __file__,
            "--role",
            "bare",
            "--port",
            str(args.port),
            "--topic",
            f"{root}/+/+/telemetry",
            "--expected",
            str(messages),
            "--out",
            str(bare_out),
            "--timeout",
            str(args.timeout),
            stdout=subprocess.PIPE,
        )
        bare.stdout.readline()  # "ready"
        stream, hot_index = build_stream(
            devices, messages=messages, instants=instants, start=start + dt.timedelta(minutes=1)
        )
        baseline = newest_reading()
        phase1_from = clock.now()
        published = {}
        publisher = threading.Thread(target=lambda: published.update(publish(args.port, stream)))
        publisher.start()
        stored, done_at = wait_stored(baseline, messages * per_message, args.timeout)
        publisher.join()
        bare.wait(args.timeout)
        bare_result = json.loads(bare_out.read_text())
        bare_out.unlink()
        first = published["sent_at"][0]
        ingest_rate = stored / (done_at - first)
        bare_rate = bare_result["messages"] * per_message / (bare_result["last"][0] - first)
        publish_rate = messages * per_message / (published["acked"] - first)
        saturated = latencies(hot_rule, hot_index, published["sent_at"], phase1_from)

        # Phase 2: a steady load at half the measured rate, for alarm latency without a flood's queue.
        steady_rate = max(1.0, ingest_rate / 2 / per_message)
        steady_messages = max(len(devices), int(steady_rate * args.latency_seconds))
        steady, steady_hot = build_stream(
            devices,
            messages=steady_messages,
            instants=instants,
            start=start + dt.timedelta(minutes=1, seconds=(messages // len(devices) + 2) * instants),
            hot_every=5,
        )
        baseline = newest_reading()
        phase2_from = clock.now()
        steady_published = publish(args.port, steady, rate=steady_rate)
        wait_stored(baseline, steady_messages * per_message, 60)
        steady_latency = latencies(hot_rule, steady_hot, steady_published["sent_at"], phase2_from)
    finally:
        ingester.send_signal(signal.SIGTERM)
        ingest_output = ingester.communicate(timeout=60)[0].decode(errors="replace").strip().splitlines()

    print()
    print(f"saturation run: {messages} messages x {per_message} readings = {messages * per_message} readings")
    print(f"  publisher (paho, QoS 1, broker-acknowledged) {publish_rate:>10,.0f} readings/s")
    print(f"  bare paho subscriber received                {bare_rate:>10,.0f} readings/s")
    print(f"  iot_ingest stored + evaluated                {ingest_rate:>10,.0f} readings/s")
    print(f"  ratio ingest / bare                          {ingest_rate / bare_rate:>10.2f}")
    complete = "complete" if stored == messages * per_message else "MISSING: the broker dropped messages?"
    print(f"  stored {stored} of {messages * per_message} ({complete})")
    print(f"  alarm latency (publish -> alarm row), flood: {quantiles(saturated)}")
    print(f"steady run at {steady_rate * per_message:,.0f} readings/s for {args.latency_seconds:.0f} s:")
    print(f"  alarm latency (publish -> alarm row):        {quantiles(steady_latency)}")
    for line in ingest_output[1:]:
        print(f"ingester: {line}")
    connections.close_all()
    if throwaway and not args.keep_db:
        import psycopg

        with psycopg.connect("host=127.0.0.1 user=postgres dbname=postgres", autocommit=True) as admin:
            admin.execute("DROP DATABASE IF EXISTS wuye_bench_iot WITH (FORCE)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
