"""Devices, their telemetry, alarm rules and alarms.

A device (a sensor, a gateway, a pump controller) belongs to an estate and usually to an item of equipment; it sends
readings over MQTT or HTTP. Readings are kept raw for a while (IOT_RAW_RETENTION_DAYS) and rolled up per hour for
history. Alarm rules say when readings mean trouble; an alarm is one episode of trouble for one rule and device.
"""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from wuye.core.models import TimeStampedModel
from wuye.equipment.choices import EquipmentCategory
from wuye.equipment.models import Equipment
from wuye.estates.models import Estate
from wuye.workorders.models import WorkOrder

from .choices import AlarmAction, AlarmStatus, Channel, Rejection, RuleKind, Severity

METRIC_MAX_LENGTH = 40
ESCALATION_LEVELS = 3  # choices.ESCALATION_CHAIN: assignee, supervisors, managers


def validate_escalation_minutes(value) -> None:
    """A rule's escalation minutes: at most three whole numbers of minutes, each at least 1 and later than the one
    before (each counts from the raise)."""
    from .rules import escalation_problem

    if escalation_problem(value, levels=ESCALATION_LEVELS) is not None:
        raise ValidationError(
            _("Give up to %(levels)d increasing numbers of minutes, each at least 1, e.g. [5, 15, 30]."),
            code="invalid_escalation",
            params={"levels": ESCALATION_LEVELS},
        )


class Device(TimeStampedModel):
    """A device that reports readings, e.g. the vibration sensor on lift 3-1 or the pressure gauge of the domestic
    water pumps. It publishes to `wuye/<estate id>/<code>/telemetry`.

    Credentials: the MQTT signing key is derived on demand from the server's master key, the device id and
    `key_version` (so the database alone does not reveal it; bumping the version rotates it); the HTTP token is
    random and only its SHA-256 is stored. See docs/iot-ingest.md.
    """

    estate = models.ForeignKey(Estate, on_delete=models.PROTECT, related_name="devices", verbose_name=_("estate"))
    equipment = models.ForeignKey(
        Equipment,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="devices",
        verbose_name=_("equipment"),
    )
    code = models.SlugField(_("code"), max_length=40, help_text=_("Unique in the estate; part of the MQTT topic."))
    name = models.CharField(_("name"), max_length=100)
    key_version = models.PositiveIntegerField(_("signing key version"), default=1, editable=False)
    token_hash = models.CharField(max_length=64, blank=True, editable=False)
    token_prefix = models.CharField(_("token prefix"), max_length=8, blank=True, editable=False)
    last_seen_at = models.DateTimeField(_("last seen at"), null=True, blank=True, editable=False)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("device")
        verbose_name_plural = _("devices")
        ordering = ["estate_id", "code"]
        constraints = [models.UniqueConstraint(fields=["estate", "code"], name="device_code_unique_in_estate")]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"

    @property
    def topic(self) -> str:
        from . import ingest

        return ingest.topic_for(
            self.estate_id, self.code, getattr(settings, "IOT_MQTT_TOPIC_ROOT", ingest.DEFAULT_ROOT)
        )


class Reading(models.Model):
    """One value of one metric from one device at one instant (e.g. pump-2 pressure 0.42 MPa at 09:30:05).

    (device, at, metric) is unique: a message delivered twice (MQTT is at-least-once) stores each reading once,
    because the insert skips conflicts. Kept for IOT_RAW_RETENTION_DAYS, then purged; hourly rollups stay.
    """

    id = models.BigAutoField(primary_key=True)
    # No database-level foreign key: PostgreSQL would queue a deferred check per inserted row and run them all at
    # commit, which costs as much as the insert. Readings are written only by services.telemetry_store for devices
    # it has just looked up; devices are disabled, not deleted (and Django still cascades a delete).
    device = models.ForeignKey(
        Device,
        on_delete=models.CASCADE,
        related_name="readings",
        db_index=False,
        db_constraint=False,
        verbose_name=_("device"),
    )
    metric = models.CharField(_("metric"), max_length=METRIC_MAX_LENGTH)
    at = models.DateTimeField(_("at"))
    value = models.FloatField(_("value"))

    class Meta:
        verbose_name = _("reading")
        verbose_name_plural = _("readings")
        constraints = [
            # De-duplication, and the only index: it also serves "recent readings of a device" (device, at desc),
            # one metric's chart (device, at range, metric filtered in the index) and the per-device purge.
            models.UniqueConstraint(fields=["device", "at", "metric"], name="reading_unique_device_at_metric"),
        ]

    def __str__(self) -> str:
        return f"{self.device_id} {self.metric}={self.value} @ {self.at:%Y-%m-%d %H:%M:%S}"


class HourlyRollup(models.Model):
    """Count, minimum, maximum and sum of one metric of one device over one hour (UTC hour start): the history that
    stays after raw readings are purged, and the cheap source of long-range charts."""

    device = models.ForeignKey(
        Device, on_delete=models.CASCADE, related_name="rollups", db_index=False, verbose_name=_("device")
    )
    metric = models.CharField(_("metric"), max_length=METRIC_MAX_LENGTH)
    hour = models.DateTimeField(_("hour"))
    count = models.PositiveIntegerField(_("count"))
    min = models.FloatField(_("minimum"))
    max = models.FloatField(_("maximum"))
    sum = models.FloatField(_("sum"))

    class Meta:
        verbose_name = _("hourly rollup")
        verbose_name_plural = _("hourly rollups")
        constraints = [
            # One row per bucket; also serves a metric's long-range chart (device, metric, hour range).
            models.UniqueConstraint(fields=["device", "metric", "hour"], name="rollup_unique_bucket"),
        ]
        indexes = [
            # The KPI dashboard's "equipment monitored" (kpis.service_rollup._equipment): did a device report at all in
            # a period, any metric? The bucket index cannot seek on the hour without the metric, so each probe
            # would read all of a device's rollups (measured: 2.4 s → 0.3 s for 500 items × 26 periods).
            models.Index(fields=["device", "hour"], name="rollup_device_hour_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.device_id} {self.metric} {self.hour:%Y-%m-%d %H}:00 n={self.count}"

    @property
    def mean(self) -> float:
        return self.sum / self.count if self.count else 0.0


class IngestCursor(models.Model):
    """How far a background pass (the hourly rollup) has read the readings table, by reading id.

    `position` is the last id done; `pending` the highest id seen at the previous pass, which the next pass may read
    up to: waiting one pass lets every transaction that took a lower id commit first (ids are handed out before
    commit, so they can become visible out of order)."""

    name = models.CharField(max_length=40, primary_key=True)
    position = models.BigIntegerField(default=0)
    pending = models.BigIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("ingest cursor")
        verbose_name_plural = _("ingest cursors")

    def __str__(self) -> str:
        return f"{self.name}: {self.position}"


class EngineState(models.Model):
    """The rule engine's memory for one estate (open conditions, counters, anomaly models), shared by every process
    that evaluates its readings (the MQTT ingester, HTTP workers).

    A process evaluates an estate's readings only while holding this row's lock, in the transaction that stores
    them. `version` goes up on every evaluation; `state` is a snapshot as of reading id `watermark`, written now and
    then. A process whose cached engine is not at `version` rebuilds it from the snapshot and the readings stored
    after `watermark` (their alarms were applied when they were stored, so only the memory is rebuilt)."""

    estate = models.OneToOneField(
        Estate, on_delete=models.CASCADE, primary_key=True, related_name="+", verbose_name=_("estate")
    )
    version = models.BigIntegerField(default=0)
    state = models.JSONField(default=dict, blank=True)
    watermark = models.BigIntegerField(default=0)
    saved_at = models.DateTimeField(null=True, blank=True)
    fed_since_save = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("rule engine state")
        verbose_name_plural = _("rule engine states")

    def __str__(self) -> str:
        return f"{self.estate_id} v{self.version}"


class AlarmRule(TimeStampedModel):
    """A condition on one metric that raises an alarm, e.g. "lift cabin temperature above 40 °C for 5 minutes,
    major, nights only", for one device, for every device on equipment of a category, or for every device of the
    estate. `params` holds the kind's numbers (see docs/iot.md); the schedule limits when it applies."""

    estate = models.ForeignKey(Estate, on_delete=models.CASCADE, related_name="alarm_rules", verbose_name=_("estate"))
    name = models.CharField(_("name"), max_length=100)
    equipment_category = models.CharField(
        _("equipment category"),
        max_length=30,
        choices=EquipmentCategory.choices,
        blank=True,
        help_text=_("Applies to the devices on equipment of this category. Empty: see device."),
    )
    device = models.ForeignKey(
        Device,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="alarm_rules",
        verbose_name=_("device"),
        help_text=_("Applies to this device only. Neither device nor category: every device of the estate."),
    )
    metric = models.CharField(_("metric"), max_length=METRIC_MAX_LENGTH)
    kind = models.CharField(_("kind"), max_length=20, choices=RuleKind.choices)
    severity = models.CharField(_("severity"), max_length=20, choices=Severity.choices, default=Severity.MAJOR)
    params = models.JSONField(_("parameters"), default=dict, blank=True)
    schedule_weekdays = models.JSONField(
        _("weekdays"), default=list, blank=True, help_text=_("0 = Monday … 6 = Sunday; empty: every day.")
    )
    schedule_start = models.TimeField(_("active from"), null=True, blank=True)
    schedule_end = models.TimeField(
        _("active until"), null=True, blank=True, help_text=_("May be earlier than the start: a night window.")
    )
    escalation_minutes = models.JSONField(
        _("escalation (minutes)"),
        default=list,
        blank=True,
        validators=[validate_escalation_minutes],
        help_text=_(
            "Minutes after an alarm is raised, unacknowledged, to tell the assignee, then the supervisors, then the "
            "managers, e.g. [5, 15, 30]. Empty: the default for the severity."
        ),
    )
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("alarm rule")
        verbose_name_plural = _("alarm rules")
        ordering = ["estate_id", "name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(device__isnull=True) | Q(equipment_category=""), name="alarmrule_device_or_category"
            ),
            models.CheckConstraint(
                condition=Q(schedule_start__isnull=True, schedule_end__isnull=True)
                | Q(schedule_start__isnull=False, schedule_end__isnull=False),
                name="alarmrule_schedule_both_ends",
            ),
        ]
        indexes = [
            # The engine loads an estate's active rules.
            models.Index(fields=["estate", "is_active"], name="alarmrule_estate_idx"),
        ]

    def __str__(self) -> str:
        return self.name


class Alarm(TimeStampedModel):
    """One episode of trouble: rule R held for device D from `raised_at` until `cleared_at`.

    At most one alarm per rule and device is open (raised or acknowledged), enforced by a partial unique index, so a
    duplicated or replayed message never opens a second one. Raised → acknowledged → cleared (choices.TRANSITIONS),
    only through the services. While nobody acknowledges it, it escalates at `escalate_at` (then the next level's
    time; None when no level is left). A critical alarm has a `work_order` of kind alarm (several alarms of one rule
    and device may share an order that is still being worked on)."""

    estate = models.ForeignKey(Estate, on_delete=models.PROTECT, related_name="alarms", verbose_name=_("estate"))
    rule = models.ForeignKey(AlarmRule, on_delete=models.PROTECT, related_name="alarms", verbose_name=_("rule"))
    device = models.ForeignKey(Device, on_delete=models.PROTECT, related_name="alarms", verbose_name=_("device"))
    status = models.CharField(_("status"), max_length=20, choices=AlarmStatus.choices, default=AlarmStatus.RAISED)
    severity = models.CharField(_("severity"), max_length=20, choices=Severity.choices)
    reason = models.CharField(_("reason"), max_length=300)
    reason_code = models.CharField(_("reason code"), max_length=40, blank=True)
    reason_params = models.JSONField(_("reason details"), default=dict, blank=True)
    raised_at = models.DateTimeField(_("raised at"))
    acknowledged_at = models.DateTimeField(_("acknowledged at"), null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("acknowledged by"),
    )
    cleared_at = models.DateTimeField(_("cleared at"), null=True, blank=True)
    cleared_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("cleared by"),
        help_text=_("Empty when the condition cleared by itself."),
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="assigned_alarms",
        verbose_name=_("assignee"),
    )
    work_order = models.ForeignKey(
        WorkOrder,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="alarms",
        verbose_name=_("work order"),  # indexed (a foreign key): a work order's page shows its alarms
    )
    escalate_at = models.DateTimeField(_("escalates at"), null=True, blank=True)
    raise_value = models.FloatField(_("value when raised"), null=True, blank=True)
    last_value = models.FloatField(_("last value"), null=True, blank=True)
    escalation_level = models.PositiveSmallIntegerField(_("escalation level"), default=0)

    class Meta:
        verbose_name = _("alarm")
        verbose_name_plural = _("alarms")
        ordering = ["-raised_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["rule", "device"],
                condition=~Q(status=AlarmStatus.CLEARED),
                name="alarm_one_open_per_rule_device",
            ),
        ]
        indexes = [
            # The alarms console: an estate's alarms by status, newest first.
            models.Index(fields=["estate", "status", "raised_at"], name="alarm_console_idx"),
            # An equipment page: the alarms of its devices.
            models.Index(fields=["device", "raised_at"], name="alarm_device_idx"),
            # The escalation scan: unacknowledged alarms whose next level is due (only those carry a time).
            models.Index(fields=["escalate_at"], condition=Q(escalate_at__isnull=False), name="alarm_escalate_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.rule_id}/{self.device_id} {self.status} @ {self.raised_at:%Y-%m-%d %H:%M}"


class AlarmEvent(models.Model):
    """Something that happened to an alarm: raised, condition changed, acknowledged, escalated, cleared — by whom
    (None: the system), when, from which status to which. Never updated: the alarm's timeline and audit trail."""

    alarm = models.ForeignKey(Alarm, on_delete=models.CASCADE, related_name="events", verbose_name=_("alarm"))
    action = models.CharField(_("action"), max_length=20, choices=AlarmAction.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("by"),
    )
    at = models.DateTimeField(_("at"))
    from_status = models.CharField(_("from"), max_length=20, choices=AlarmStatus.choices, blank=True)
    to_status = models.CharField(_("to"), max_length=20, choices=AlarmStatus.choices, blank=True)
    note = models.CharField(_("note"), max_length=500, blank=True)
    payload = models.JSONField(_("details"), default=dict, blank=True)

    class Meta:
        verbose_name = _("alarm event")
        verbose_name_plural = _("alarm events")
        ordering = ["at", "id"]
        indexes = [
            # The timeline of one alarm.
            models.Index(fields=["alarm", "at"], name="alarm_event_alarm_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.alarm_id} {self.action} @ {self.at:%Y-%m-%d %H:%M}"


class TelemetryRejection(models.Model):
    """How many telemetry messages were refused on one day, on one channel, for one reason, with the last example:
    what an operator looks at when a device "sends but nothing arrives"."""

    day = models.DateField(_("day"))
    channel = models.CharField(_("channel"), max_length=10, choices=Channel.choices)
    reason = models.CharField(_("reason"), max_length=30, choices=Rejection.choices)
    count = models.PositiveBigIntegerField(_("count"), default=0)
    last_at = models.DateTimeField(_("last at"))
    last_detail = models.CharField(_("last example"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("telemetry rejection count")
        verbose_name_plural = _("telemetry rejection counts")
        ordering = ["-day", "channel", "reason"]
        constraints = [
            models.UniqueConstraint(fields=["day", "channel", "reason"], name="rejection_unique_day_channel_reason")
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.channel} {self.reason}: {self.count}"
