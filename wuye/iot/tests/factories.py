"""Test helpers for the IoT app: devices with credentials, rules, signed payloads, brokers."""

import contextlib
import datetime as dt
import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from wuye.equipment.services import NewEquipment, equipment_create
from wuye.iot import ingest, services
from wuye.iot.models import AlarmRule
from wuye.testing.plugin import require_service

MQTT_HOST = os.environ.get("WUYE_TEST_MQTT_HOST", "127.0.0.1")
MQTT_PORT = int(os.environ.get("WUYE_TEST_MQTT_PORT", "1883"))
MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"


def equipment(estate, code="PUMP-01", category="water_pump", now=None):
    return equipment_create(
        estate=estate,
        new=NewEquipment(code=code, name=f"{code} 设备", category=category, location_note="水泵房"),
        now=now or dt.datetime(2026, 11, 27, 1, 0, tzinfo=dt.UTC),
    )


def device(estate, code="pump-01", equipment=None):
    """A device and its credentials (signing key hex, HTTP token)."""
    return services.device_create(estate=estate, code=code, name=f"{code} 控制器", equipment=equipment)


def rule(estate, **fields):
    defaults = {
        "name": "压力过高",
        "metric": "pressure",
        "kind": "threshold",
        "severity": "major",
        "params": threshold_params(above=1.0, clear_below=0.9),
    }
    defaults.update(fields)
    return AlarmRule.objects.create(estate=estate, **defaults)


def threshold_params(*, above: float, clear_below: float) -> dict:
    return {"op": ">", "value": above, "clear": clear_below}


def signed_payload(credentials, body: dict, *, sent_at: dt.datetime, topic: str | None = None) -> bytes:
    topic = topic or credentials.topic
    encoded = ingest.encode_body(body.get("readings") if "readings" in body else body, sent_at=sent_at)
    return ingest.sign(bytes.fromhex(credentials.signing_key), topic, encoded)


def port_open(host: str, port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=1):
        return True
    return False


def require_mqtt() -> None:
    if not port_open(MQTT_HOST, MQTT_PORT):
        require_service("Mosquitto", f"start a broker on {MQTT_HOST}:{MQTT_PORT} (apt-get install mosquitto)")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class PrivateMosquitto:
    """A Mosquitto of the test's own on a free port, with persistence, so the test may restart it (never the
    system broker). Queues are unbounded so nothing is dropped while the ingester is down."""

    def __init__(self) -> None:
        if not os.path.exists(MOSQUITTO):
            require_service("mosquitto binary", "apt-get install mosquitto")
        self.dir = Path(tempfile.mkdtemp(prefix="wuye-mosquitto-"))
        # Mosquitto started as root drops to the `mosquitto` user: it must be able to write its persistence file.
        self.dir.chmod(0o777)
        self.port = free_port()
        self.config = self.dir / "mosquitto.conf"
        self.config.write_text(
            f"listener {self.port} 127.0.0.1\n"
            "allow_anonymous true\n"
            "persistence true\n"
            f"persistence_location {self.dir}/\n"
            "autosave_interval 1\n"
            "max_queued_messages 0\n"
            "max_inflight_messages 20\n"
            f"log_dest file {self.dir}/mosquitto.log\n"
        )
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        self.process = subprocess.Popen([MOSQUITTO, "-c", str(self.config)], stderr=subprocess.DEVNULL)  # noqa: S603
        deadline = time.monotonic() + 10
        while not port_open("127.0.0.1", self.port):
            if time.monotonic() > deadline or self.process.poll() is not None:
                raise RuntimeError(f"private mosquitto did not start: {(self.dir / 'mosquitto.log').read_text()}")
            time.sleep(0.05)

    def stop(self) -> None:
        """A graceful stop: Mosquitto writes its persistence file (sessions, queued messages) on SIGTERM."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)
        self.process = None

    def restart(self) -> None:
        self.stop()
        self.start()

    def log(self) -> str:
        path = self.dir / "mosquitto.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)
