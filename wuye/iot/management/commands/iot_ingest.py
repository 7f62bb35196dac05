"""`manage.py iot_ingest`: the long-running MQTT telemetry ingester.

    manage.py iot_ingest [--host 127.0.0.1 --port 1883] [--estates 3,7] [--max-seconds N | --once]

It subscribes to `wuye/+/+/telemetry` at QoS 1 with a persistent session (fixed client id, clean_start false, a
session expiry), so the broker keeps queueing while it is down. Messages are buffered and handled in batches:
checked (topic, signature, body), stored with duplicates skipped, evaluated by the rule engine, alarms applied — one
transaction — and only then acknowledged (paho `manual_ack=True`, `client.ack(mid, qos)`). A crash before the commit
means the broker delivers the batch again; a crash after it means the repeat is recognised as duplicates. Refused
messages are counted by reason (TelemetryRejection) and acknowledged, so they are not delivered forever.

SIGTERM/SIGINT: the current batch is finished and acknowledged, then the client disconnects (the session stays).
"""

import datetime as dt
import gc
import logging
import queue
import signal
import threading
import time
from collections import Counter
from dataclasses import dataclass

import paho.mqtt.client as mqtt
from django.core.management.base import BaseCommand
from django.db import InterfaceError, OperationalError, close_old_connections
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.subscribeoptions import SubscribeOptions

from wuye.core import clock
from wuye.iot import ingest, services
from wuye.iot.choices import Channel, Rejection

log = logging.getLogger("wuye.iot.ingest")


@dataclass(frozen=True)
class Received:
    generation: int  # which connection delivered it: a message id means nothing on another connection
    mid: int
    qos: int
    topic: str
    payload: bytes


@dataclass
class Parsed:
    """One message after the pure checks: where it claims to come from, and its readings or why not."""

    message: Received
    refusal: ingest.Refused | None = None
    estate_id: int = 0
    code: str = ""
    claimed: str = ""
    body: bytes = b""
    result: ingest.ParsedMessage | ingest.Refused | None = None


@dataclass
class ParsedBatch:
    now: dt.datetime
    messages: list[Received]
    items: list[Parsed]


@dataclass
class IngestStats:
    messages: int = 0
    stored: int = 0
    duplicates: int = 0
    alarms_raised: int = 0
    alarms_cleared: int = 0
    batches: int = 0
    acked: int = 0
    parse_seconds: float = 0.0
    store_seconds: float = 0.0
    rejected: Counter | None = None

    def __post_init__(self):
        self.rejected = Counter()

    def line(self) -> str:
        rejected = ",".join(f"{reason}:{n}" for reason, n in sorted(self.rejected.items())) or "-"
        return (
            f"messages={self.messages} stored={self.stored} duplicates={self.duplicates} "
            f"alarms_raised={self.alarms_raised} alarms_cleared={self.alarms_cleared} batches={self.batches} "
            f"acked={self.acked} rejected={rejected} parse_s={self.parse_seconds:.2f} store_s={self.store_seconds:.2f}"
        )


class Ingester:
    """One MQTT connection feeding `services.telemetry_store` in batches. `run()` returns when asked to stop."""

    def __init__(
        self,
        *,
        host: str,
        port: int,
        client_id: str,
        topics: list[str],
        session_expiry: int,
        root: str | None = None,
        batch_messages: int = 1000,
        receive_maximum: int = 10_000,
        max_wait: float = 0.2,
        quiet_gap: float = 0.005,
        tick_every: float = 15.0,
    ) -> None:
        self.host, self.port, self.topics = host, port, topics
        self.batch_messages, self.max_wait, self.quiet_gap, self.tick_every = (
            batch_messages,
            max_wait,
            quiet_gap,
            tick_every,
        )
        self.stats = IngestStats()
        self.stop_requested = threading.Event()
        self._cond = threading.Condition()
        self._inbox: list[Received] = []
        self._generation = 0
        self._last_message_at = time.monotonic()
        self._closing = False
        self._parsing = False
        # One parsed batch waits while the main thread stores another; meanwhile new messages pile up in the inbox,
        # so under load the next batch (one transaction, one commit) grows with the backlog.
        self._parsed: queue.Queue[ParsedBatch] = queue.Queue(maxsize=1)
        self._parser_stop = threading.Event()
        self._connect_properties = Properties(PacketTypes.CONNECT)
        self._connect_properties.SessionExpiryInterval = session_expiry
        # How many unacknowledged messages the broker may send at once (MQTT 5 Receive Maximum; Mosquitto 2 honours
        # it over its max_inflight_messages). It bounds this process's memory, and it keeps a backlog here rather
        # than in the broker's per-client queue, which drops QoS 1 messages beyond max_queued_messages (1000).
        self._connect_properties.ReceiveMaximum = min(65535, max(20, receive_maximum))
        self.client = mqtt.Client(
            mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5, manual_ack=True
        )
        self.client.reconnect_delay_set(min_delay=1, max_delay=10)
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self.client.on_message = self._on_message
        self.directory = services.device_directory()
        self.root = root or services.topic_root()

    # -- paho callbacks (network thread)

    def _on_connect(self, client, userdata, flags, reason_code, properties):
        if reason_code.is_failure:
            log.warning("MQTT connection refused: %s", reason_code)
            return
        with self._cond:
            self._generation += 1
        log.info("connected to %s:%s (session present: %s)", self.host, self.port, flags.session_present)
        client.subscribe([(topic, SubscribeOptions(qos=1)) for topic in self.topics])

    def _on_disconnect(self, client, userdata, flags, reason_code, properties):
        if not self._closing:
            log.warning("MQTT connection lost (%s); reconnecting", reason_code)

    def _on_message(self, client, userdata, message):
        with self._cond:
            self._inbox.append(
                Received(self._generation, message.mid, message.qos, message.topic, bytes(message.payload))
            )
            self._last_message_at = time.monotonic()
            self._cond.notify()

    # -- the loop: a parser thread (pure work, no database) feeds the main thread (database work, acks)

    def run(self, *, max_seconds: float | None = None, idle_exit: float | None = None) -> IngestStats:
        started = time.monotonic()
        self.client.connect_async(
            self.host, self.port, keepalive=30, clean_start=False, properties=self._connect_properties
        )
        self.client.loop_start()
        parser = threading.Thread(target=self._parse_loop, name="iot-ingest-parser", daemon=True)
        parser.start()
        next_tick = time.monotonic() + self.tick_every
        try:
            while not self.stop_requested.is_set():
                try:
                    parsed = self._parsed.get(timeout=0.2)
                except queue.Empty:
                    parsed = None
                if parsed is not None:
                    self._handle_parsed(parsed)
                now = time.monotonic()
                if now >= next_tick:
                    self._tick()
                    next_tick = now + self.tick_every
                if max_seconds is not None and now - started >= max_seconds:
                    break
                if idle_exit is not None and self._idle() and now - self._last_message_at >= idle_exit:
                    break
            # Finish what has arrived, so a stop loses nothing that could be acknowledged now.
            self._parser_stop.set()
            parser.join(timeout=10)
            while not self._parsed.empty():
                self._handle_parsed(self._parsed.get())
            with self._cond:
                rest, self._inbox = self._inbox, []
            if rest:
                self._handle(rest)
        finally:
            self._parser_stop.set()
            self._closing = True
            self.client.disconnect()
            self.client.loop_stop()
        return self.stats

    def _idle(self) -> bool:
        with self._cond:
            return not self._inbox and not self._parsing and self._parsed.empty()

    def _parse_loop(self) -> None:
        """Parse batches while the main thread stores the previous one: JSON and checks here overlap with the
        database's work there (psycopg releases the GIL while it waits). While the main thread is busy, the waiting
        batch grows with whatever arrives (up to `batch_messages`), so under load one transaction and one commit
        take the whole backlog; when the main thread is idle a batch goes at once."""
        pending: ParsedBatch | None = None
        while not self._parser_stop.is_set():
            if pending is None:
                batch = self._next_batch()
                if not batch:
                    continue
                pending = self._parse(batch)
            try:
                self._parsed.put_nowait(pending)
                pending = None
                with self._cond:
                    self._parsing = False
                continue
            except queue.Full:
                pass
            room = self.batch_messages - len(pending.messages)
            more = self._take(room, wait=0.005) if room > 0 else []
            if more:
                grown = self._parse(more)
                pending = ParsedBatch(
                    now=grown.now, messages=pending.messages + more, items=pending.items + grown.items
                )
            elif room <= 0:
                time.sleep(0.005)
        if pending is not None:
            self._parsed.put(pending)  # the main thread drains the queue after stopping us

    def _take(self, limit: int, *, wait: float) -> list[Received]:
        with self._cond:
            if not self._inbox:
                self._cond.wait(timeout=wait)
            taken, self._inbox = self._inbox[:limit], self._inbox[limit:]
            return taken

    def _next_batch(self) -> list[Received]:
        """Wait for messages, then keep collecting while they keep coming (at most `max_wait`), so a burst becomes
        one batch (one transaction, one round of acks)."""
        with self._cond:
            if not self._inbox:
                self._cond.wait(timeout=0.2)
                if not self._inbox:
                    return []
            first = time.monotonic()
            while len(self._inbox) < self.batch_messages and time.monotonic() - first < self.max_wait:
                count = len(self._inbox)
                self._cond.wait(timeout=self.quiet_gap)
                if len(self._inbox) == count:
                    break
            batch, self._inbox = self._inbox[: self.batch_messages], self._inbox[self.batch_messages :]
            self._parsing = True  # until the batch is handed to the main thread
            return batch

    def _parse(self, batch: list[Received]) -> ParsedBatch:
        """The pure part of checking: topic, signature frame and body. No database, so it runs beside the store."""
        started = time.perf_counter()
        now = clock.now()
        limits = services.limits(now)
        items = []
        for message in batch:
            try:
                if len(message.payload) > limits.max_payload_bytes + 80:
                    raise ingest.Refused(Rejection.TOO_LARGE, f"{len(message.payload)} bytes")
                estate_id, code = ingest.parse_topic(message.topic, self.root)
                claimed, body = ingest.split_signed(message.payload)
            except ingest.Refused as refusal:
                items.append(Parsed(message, refusal=refusal))
                continue
            except Exception:  # a bug must cost one message, never the ingester
                log.exception("could not parse a message on %s", message.topic)
                items.append(Parsed(message, refusal=ingest.Refused(Rejection.INTERNAL_ERROR, message.topic)))
                continue
            try:
                body_result = ingest.parse_body(body, now=now, limits=limits, require_sent_at=True)
            except ingest.Refused as refusal:
                body_result = refusal
            except Exception:  # a bug must cost one message, never the ingester
                log.exception("could not parse a message on %s", message.topic)
                body_result = ingest.Refused(Rejection.INTERNAL_ERROR, message.topic)
            items.append(
                Parsed(message, estate_id=estate_id, code=code, claimed=claimed, body=body, result=body_result)
            )
        self.stats.parse_seconds += time.perf_counter() - started
        return ParsedBatch(now=now, messages=batch, items=items)

    def _verify(self, item: Parsed) -> services.DeviceBatch:
        """Who sent it (device, signature) — checked before what the body says, so a forged message is counted as
        forged whatever its body — then the parsed readings."""
        if item.refusal is not None:
            raise item.refusal
        topic = item.message.topic
        device = self.directory.get(item.estate_id, item.code)
        if device is not None and not device.is_active:
            raise ingest.Refused(Rejection.INACTIVE_DEVICE, topic)
        if device is None or not ingest.signature_matches(device.key, topic, item.body, item.claimed):
            # Only on a failure: is it a device of another estate publishing on this estate's topic?
            for other in self.directory.elsewhere(item.estate_id, item.code):
                if ingest.signature_matches(other.key, topic, item.body, item.claimed):
                    raise ingest.Refused(
                        Rejection.WRONG_ESTATE, f"device {other.id} of estate {other.estate_id} on {topic}"
                    )
            raise ingest.Refused(Rejection.UNKNOWN_DEVICE if device is None else Rejection.BAD_SIGNATURE, topic)
        if isinstance(item.result, ingest.Refused):
            raise item.result
        return services.DeviceBatch(device_id=device.id, estate_id=device.estate_id, readings=item.result.readings)

    def _handle(self, batch: list[Received]) -> None:
        """Parse, verify, store and acknowledge one batch in this thread."""
        self._handle_parsed(self._parse(batch))

    def _handle_parsed(self, parsed: ParsedBatch) -> None:
        started = time.perf_counter()
        accepted: list[services.DeviceBatch] = []
        refused: dict[str, tuple[int, str]] = {}
        for item in parsed.items:
            try:
                accepted.append(self._verify(item))
            except ingest.Refused as refusal:
                count, _example = refused.get(refusal.reason, (0, ""))
                refused[refusal.reason] = (count + 1, f"{item.message.topic}: {refusal.detail}")
            except Exception as error:  # a bug must cost one message, never the ingester
                log.exception("could not check a message on %s", item.message.topic)
                _after_error(error)
                count, _example = refused.get(Rejection.INTERNAL_ERROR, (0, ""))
                refused[Rejection.INTERNAL_ERROR] = (count + 1, item.message.topic)
        self._store(accepted, parsed.messages, refused)
        if refused:
            for reason, (count, _example) in refused.items():
                self.stats.rejected[reason] += count
            try:
                services.rejections_record(channel=Channel.MQTT, counts=refused, now=parsed.now)
            except Exception as error:
                log.exception("could not record rejections")
                _after_error(error)
        self._ack(parsed.messages)
        self.stats.messages += len(parsed.messages)
        self.stats.batches += 1
        self.stats.store_seconds += time.perf_counter() - started

    def _store(self, accepted: list, batch: list[Received], refused: dict) -> None:
        """Store the batch, retrying while the database is unreachable (nothing is acknowledged meanwhile, so the
        broker holds the rest). Any other failure is retried device by device: one poisoned message is refused as
        internal_error instead of blocking everything behind it."""
        if not accepted:
            return
        delay = 0.5
        while True:
            try:
                result = services.telemetry_store(batches=accepted, now=clock.now())
                self._count(result)
                return
            except (OperationalError, InterfaceError):
                log.exception("database unavailable; retrying in %.1f s", delay)
                close_old_connections()
                if self.stop_requested.wait(delay):
                    raise SystemExit(1) from None  # stop without acknowledging: the broker redelivers
                delay = min(delay * 2, 10)
            except Exception:
                log.exception("storing a batch failed; retrying its messages one by one")
                break
        for single in accepted:
            try:
                self._count(services.telemetry_store(batches=[single], now=clock.now()))
            except (OperationalError, InterfaceError):
                raise
            except Exception:
                log.exception("device %s: a message could not be stored", single.device_id)
                count, _example = refused.get(Rejection.INTERNAL_ERROR, (0, ""))
                refused[Rejection.INTERNAL_ERROR] = (count + 1, f"device {single.device_id}")

    def _count(self, result: services.StoreResult) -> None:
        self.stats.stored += result.stored
        self.stats.duplicates += result.duplicates
        self.stats.alarms_raised += result.raised
        self.stats.alarms_cleared += result.cleared

    def _ack(self, batch: list[Received]) -> None:
        with self._cond:
            generation = self._generation
        for message in batch:
            # A message from an earlier connection is redelivered on this one (persistent session) and acknowledged
            # then; its old id may now name another message.
            if message.qos > 0 and message.generation == generation:
                self.client.ack(message.mid, message.qos)
                self.stats.acked += 1

    def _tick(self) -> None:
        try:
            services.engines_tick(now=clock.now())
        except Exception as error:
            log.exception("rule engine tick failed")
            _after_error(error)


def _after_error(error: Exception) -> None:
    """Drop a broken database connection (the next query opens a new one); leave a healthy one alone."""
    if isinstance(error, OperationalError | InterfaceError):
        close_old_connections()


class Command(BaseCommand):
    help = "Receive device telemetry over MQTT, store it, evaluate alarm rules (runs until stopped)."

    def add_arguments(self, parser):
        parser.add_argument("--host", default=None, help="MQTT broker (IOT_MQTT_HOST, default 127.0.0.1)")
        parser.add_argument("--port", type=int, default=None, help="MQTT port (IOT_MQTT_PORT, default 1883)")
        parser.add_argument("--client-id", default=None, help="Fixed client id of the persistent session")
        parser.add_argument(
            "--estates", default="", help="Comma-separated estate ids: subscribe to these estates only (partitions)"
        )
        parser.add_argument("--session-expiry", type=int, default=None, help="Seconds the broker keeps the session")
        parser.add_argument("--topic-root", default=None, help="First topic level (IOT_MQTT_TOPIC_ROOT, default wuye)")
        parser.add_argument("--batch-messages", type=int, default=1000, help="Most messages stored in one transaction")
        parser.add_argument(
            "--receive-maximum", type=int, default=None, help="Unacknowledged messages in flight (default 10000)"
        )
        parser.add_argument("--max-seconds", type=float, default=None, help="Stop after this many seconds")
        parser.add_argument("--once", action="store_true", help="Handle what is queued, stop when idle")
        parser.add_argument("--idle", type=float, default=2.0, help="With --once: seconds without a message")
        parser.add_argument("--tick", type=float, default=15.0, help="Seconds between rule-engine ticks")

    def handle(self, *args, **options):
        estates = [int(part) for part in options["estates"].split(",") if part.strip()]
        root = options["topic_root"] or services.topic_root()
        topics = [ingest.topic_for(estate_id, "+", root) for estate_id in estates] or [ingest.topic_filter(root)]
        client_id = options["client_id"] or services.setting("IOT_MQTT_CLIENT_ID", "wuye-ingest")
        if estates:
            client_id += "-" + "-".join(str(estate_id) for estate_id in estates)
        ingester = Ingester(
            host=options["host"] or services.setting("IOT_MQTT_HOST", "127.0.0.1"),
            port=options["port"] or services.setting("IOT_MQTT_PORT", 1883),
            client_id=client_id,
            topics=topics,
            session_expiry=options["session_expiry"] or services.setting("IOT_MQTT_SESSION_EXPIRY_SECONDS", 86400),
            root=root,
            batch_messages=options["batch_messages"],
            receive_maximum=options["receive_maximum"] or services.setting("IOT_MQTT_RECEIVE_MAXIMUM", 10_000),
            tick_every=options["tick"],
        )

        def stop(signum, frame):
            ingester.stop_requested.set()

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        # Everything loaded so far (Django, the app registry) lives as long as the process: keep the collector from
        # scanning it again and again while batches allocate and free many small objects.
        gc.collect()
        gc.freeze()
        self.stdout.write(f"iot_ingest: {client_id} on {ingester.host}:{ingester.port} {' '.join(topics)}")
        stats = ingester.run(max_seconds=options["max_seconds"], idle_exit=options["idle"] if options["once"] else None)
        self.stdout.write(f"iot_ingest done: {stats.line()}")
