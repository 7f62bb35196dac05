"""`manage.py iot_simulate`: publish realistic, signed readings for an estate's devices, with occasional faults.

    manage.py iot_simulate [--estate cuihu-garden] [--interval 5] [--duration 600] [--fault-rate 0.02] [--seed 1]

Every `--interval` seconds each active device publishes one message with its metrics (daily cycles plus noise) to
`wuye/<estate>/<device>/telemetry`, signed with its key. Now and then a device develops a fault for a few minutes:
a lift cabin overheats or vibrates, a pump loses pressure or its motor heats up fast, the generator's battery sags,
lift doors fault repeatedly, or a device goes silent — enough for the demo rules to raise and clear alarms.
Use `--seed-demo` to create the demo equipment, devices and rules first (services.seed_iot).
"""

import datetime as dt
import logging
import math
import random
import signal
import threading
import time
from dataclasses import dataclass, field

import paho.mqtt.client as mqtt
from django.core.management.base import BaseCommand, CommandError
from django.db import close_old_connections

from wuye.core import clock
from wuye.estates.models import Estate
from wuye.iot import ingest, services
from wuye.iot.choices import OPEN_STATUSES
from wuye.iot.models import Alarm, Device

log = logging.getLogger(__name__)

# metric → (base, daily amplitude, noise, decimals)
PROFILES: dict[str, tuple[float, float, float, int]] = {
    "cabin_temp": (26.0, 3.0, 0.4, 1),
    "vibration": (0.45, 0.05, 0.06, 2),
    "door_faults": (0.0, 0.0, 0.0, 0),
    "pressure": (0.45, 0.03, 0.01, 3),
    "motor_temp": (52.0, 4.0, 0.6, 1),
    "current": (12.0, 2.0, 0.5, 1),
    "battery_voltage": (26.2, 0.2, 0.08, 2),
    "fuel_level": (86.0, 0.0, 0.1, 1),
    "coolant_temp": (31.0, 3.0, 0.5, 1),
    "supply_temp": (7.0, 0.5, 0.2, 1),
    "return_temp": (12.0, 0.8, 0.2, 1),
}
FIRE_PRESSURE_BASE = 0.8
DEFAULT_METRICS = ("cabin_temp",)

# fault → (metrics it needs, minutes it lasts)
FAULTS: dict[str, tuple[tuple[str, ...], tuple[int, int]]] = {
    "overheat": (("cabin_temp",), (4, 10)),
    "vibration": (("vibration",), (3, 6)),
    "door": (("door_faults",), (3, 8)),
    "low_pressure": (("pressure",), (3, 8)),
    "motor_heating": (("motor_temp",), (6, 12)),
    "battery": (("battery_voltage",), (5, 10)),
    "silent": ((), (6, 9)),
}


@dataclass
class SimulatedDevice:
    id: int
    estate_id: int
    code: str
    key: bytes
    metrics: tuple[str, ...]
    fault: str | None = None
    fault_started: dt.datetime | None = None
    fault_ends: dt.datetime | None = None
    fire: bool = False
    state: dict[str, float] = field(default_factory=dict)

    @property
    def topic(self) -> str:
        return ingest.topic_for(self.estate_id, self.code, services.topic_root())


def metrics_of(device: Device) -> tuple[str, ...]:
    for code, _name, _equipment, metrics in services.DEMO_DEVICES:
        if code == device.code:
            return metrics
    return DEFAULT_METRICS


def normal_value(metric: str, now: dt.datetime, rng: random.Random, *, fire: bool = False) -> float:
    base, amplitude, noise, _decimals = PROFILES.get(metric, (20.0, 1.0, 0.2, 1))
    if metric == "pressure" and fire:
        base = FIRE_PRESSURE_BASE
    local = now.astimezone(clock.local_tz())
    hour = local.hour + local.minute / 60
    if metric == "current" and (7 <= hour < 18):
        base *= 0.7  # fewer flats drawing water in working hours; street lights are off by day too
    daily = amplitude * math.sin((hour - 9) / 24 * 2 * math.pi)
    if metric == "door_faults":
        return 1.0 if rng.random() < 0.01 else 0.0
    return base + daily + rng.gauss(0, noise)


def faulty_value(device: SimulatedDevice, metric: str, value: float, now: dt.datetime, rng: random.Random) -> float:
    minutes = (now - device.fault_started).total_seconds() / 60 if device.fault_started else 0
    match device.fault, metric:
        case "overheat", "cabin_temp":
            return 39.5 + min(minutes, 3) + rng.gauss(0, 0.3)
        case "vibration", "vibration":
            return 1.6 + rng.gauss(0, 0.1)
        case "door", "door_faults":
            return 1.0 if rng.random() < 0.6 else 0.0
        case "low_pressure", "pressure":
            return (0.5 if device.fire else 0.18) + rng.gauss(0, 0.01)
        case "motor_heating", "motor_temp":
            return value + 2.5 * minutes
        case "battery", "battery_voltage":
            return 22.4 + rng.gauss(0, 0.05)
    return value


def simulated_devices(estate: Estate) -> list[SimulatedDevice]:
    return [
        SimulatedDevice(
            id=device.pk,
            estate_id=device.estate_id,
            code=device.code,
            key=services.device_signing_key(device.pk, device.key_version),
            metrics=metrics_of(device),
            fire=device.equipment is not None and device.equipment.category == "fire_system",
        )
        for device in Device.objects.filter(estate=estate, is_active=True).select_related("equipment")
    ]


class Simulator:
    def __init__(self, devices: list[SimulatedDevice], *, fault_rate: float, rng: random.Random) -> None:
        self.devices, self.fault_rate, self.rng = devices, fault_rate, rng

    def readings(self, now: dt.datetime) -> list[tuple[SimulatedDevice, dict[str, float]]]:
        """(device, metric → value) for every device that reports at `now`."""
        out = []
        for device in self.devices:
            self._maybe_fault(device, now)
            if device.fault == "silent":
                continue
            values = {}
            for metric in device.metrics:
                value = normal_value(metric, now, self.rng, fire=device.fire)
                if device.fault:
                    value = faulty_value(device, metric, value, now, self.rng)
                values[metric] = round(value, PROFILES.get(metric, (0, 0, 0, 2))[3])
            out.append((device, values))
        return out

    def messages(self, now: dt.datetime) -> list[tuple[str, bytes]]:
        """(topic, signed payload) for every device that reports at `now`."""
        out = []
        for device, values in self.readings(now):
            body = ingest.encode_body({"ts": now.isoformat(), "values": values}, sent_at=now)
            out.append((device.topic, ingest.sign(device.key, device.topic, body)))
        return out

    def batches(self, now: dt.datetime) -> list[services.DeviceBatch]:
        """The same readings as checked batches, for storing in-process (no broker, no signature: the demo server's
        own feed, see feed_in_process)."""
        return [
            services.DeviceBatch(
                device_id=device.id, estate_id=device.estate_id, readings=[(m, now, v) for m, v in values.items()]
            )
            for device, values in self.readings(now)
        ]

    def hold_faults(self, open_metrics: list[tuple[int, str]], *, now: dt.datetime, until: dt.datetime) -> None:
        """Devices with an open alarm keep the fault that raised it until `until` (device id, metric pairs), so a
        story the demo was seeded with stays open until someone clears it, instead of the first normal reading
        clearing it."""
        faults = {needs[0]: name for name, (needs, _span) in FAULTS.items() if needs}
        for device in self.devices:
            for device_id, metric in open_metrics:
                if device_id == device.id and metric in faults and metric in device.metrics:
                    device.fault, device.fault_started, device.fault_ends = faults[metric], now, until

    def _maybe_fault(self, device: SimulatedDevice, now: dt.datetime) -> None:
        if device.fault and now >= device.fault_ends:
            device.fault = device.fault_started = device.fault_ends = None
        if device.fault or self.rng.random() >= self.fault_rate:
            return
        possible = [name for name, (needs, _span) in FAULTS.items() if set(needs) <= set(device.metrics)]
        if not possible:
            return
        device.fault = self.rng.choice(possible)
        low, high = FAULTS[device.fault][1]
        device.fault_started = now
        device.fault_ends = now + dt.timedelta(minutes=self.rng.randint(low, high))


def feed_in_process(estate: Estate, stop: threading.Event, *, interval: float = 10.0, fault_rate: float = 0.002) -> int:
    """`make run`'s demo devices: readings as the simulator makes them, stored by this process through
    services.telemetry_store every `interval` seconds until `stop` is set, so the equipment pages have live charts and
    the demo rules raise and clear the odd alarm without a broker. Returns how many readings it stored."""
    simulator = Simulator(simulated_devices(estate), fault_rate=fault_rate, rng=random.Random())
    now = clock.now()
    open_metrics = list(
        Alarm.objects.filter(estate=estate, status__in=OPEN_STATUSES).values_list("device_id", "rule__metric")
    )
    simulator.hold_faults(open_metrics, now=now, until=now + dt.timedelta(days=1))
    stored = 0
    while simulator.devices and not stop.wait(interval):
        try:
            result = services.telemetry_store(batches=simulator.batches(clock.now()))
            stored += result.stored
        except Exception:  # the demo feed must never take the server down
            log.exception("the demo feed could not store readings")
        finally:
            close_old_connections()
    return stored


class Command(BaseCommand):
    help = "Publish simulated, signed device readings (with occasional faults) for an estate's devices."

    def add_arguments(self, parser):
        parser.add_argument("--estate", default="cuihu-garden", help="Estate code or id (default: the demo estate)")
        parser.add_argument("--host", default=None)
        parser.add_argument("--port", type=int, default=None)
        parser.add_argument("--interval", type=float, default=5.0, help="Seconds between readings of a device")
        parser.add_argument("--duration", type=float, default=None, help="Stop after this many seconds")
        parser.add_argument("--fault-rate", type=float, default=0.01, help="Chance per device and interval")
        parser.add_argument("--seed", type=int, default=None)
        parser.add_argument("--seed-demo", action="store_true", help="Create the demo devices and rules first")

    def handle(self, *args, **options):
        lookup = {"pk": int(options["estate"])} if options["estate"].isdigit() else {"code": options["estate"]}
        estate = Estate.objects.filter(**lookup).first()
        if estate is None:
            raise CommandError(f"No estate {options['estate']!r}.")
        if options["seed_demo"]:
            services.seed_iot(estate)
        devices = simulated_devices(estate)
        if not devices:
            raise CommandError(f"{estate} has no devices: run with --seed-demo.")
        simulator = Simulator(devices, fault_rate=options["fault_rate"], rng=random.Random(options["seed"]))
        client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"wuye-simulator-{estate.pk}")
        client.connect(
            options["host"] or services.setting("IOT_MQTT_HOST", "127.0.0.1"),
            options["port"] or services.setting("IOT_MQTT_PORT", 1883),
        )
        client.loop_start()
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        signal.signal(signal.SIGINT, lambda *_: stop.set())
        started = time.monotonic()
        sent = 0
        self.stdout.write(f"iot_simulate: {len(devices)} devices of {estate} every {options['interval']} s")
        pending = []
        while not stop.is_set():
            now = clock.now()
            pending = [client.publish(topic, payload, qos=1) for topic, payload in simulator.messages(now)]
            sent += len(pending)
            faults = [f"{d.code}:{d.fault}" for d in devices if d.fault]
            if faults:
                self.stdout.write(f"{now:%H:%M:%S} faults: {' '.join(faults)}")
            if options["duration"] is not None and time.monotonic() - started >= options["duration"]:
                break
            stop.wait(options["interval"])
        for info in pending:
            info.wait_for_publish(timeout=5)
        client.disconnect()
        client.loop_stop()
        self.stdout.write(f"iot_simulate done: {sent} messages")
