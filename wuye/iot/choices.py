"""Rule kinds, severities, alarm statuses (with the one table of allowed moves) and why telemetry is refused."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class RuleKind(models.TextChoices):
    THRESHOLD = "threshold", _("Threshold with hysteresis")
    DURATION = "duration", _("Condition lasting N minutes")
    REPEAT = "repeat", _("Repeated N times within M minutes")
    RATE = "rate", _("Rate of change")
    NO_DATA = "no_data", _("No data for N minutes")
    ANOMALY = "anomaly", _("Anomaly against learned behaviour")


class Severity(models.TextChoices):
    CRITICAL = "critical", _("Critical")
    MAJOR = "major", _("Major")
    MINOR = "minor", _("Minor")
    WARNING = "warning", _("Warning")


class AlarmStatus(models.TextChoices):
    RAISED = "raised", _("Raised")
    ACKNOWLEDGED = "acknowledged", _("Acknowledged")
    CLEARED = "cleared", _("Cleared")


OPEN_STATUSES = frozenset({AlarmStatus.RAISED, AlarmStatus.ACKNOWLEDGED})


class AlarmAction(models.TextChoices):
    RAISE = "raise", _("Raised")
    UPDATE = "update", _("Condition changed")
    ACKNOWLEDGE = "acknowledge", _("Acknowledged")
    ASSIGN = "assign", _("Assigned")
    CLEAR = "clear", _("Cleared")
    ESCALATE = "escalate", _("Escalated")
    ORDER = "order", _("Work order opened")
    ORDER_DONE = "order_done", _("Work order finished")


# action → (statuses it may start from, status it leads to); None: an event only, the status stays.
# A raise creates the alarm (no status before it). Escalation is for alarms nobody has acknowledged yet; an order
# finished while the alarm is still open is recorded on the alarm, which stays open until it clears.
TRANSITIONS: dict[str, tuple[frozenset[str], str | None]] = {
    AlarmAction.UPDATE: (OPEN_STATUSES, None),
    AlarmAction.ACKNOWLEDGE: (frozenset({AlarmStatus.RAISED}), AlarmStatus.ACKNOWLEDGED),
    AlarmAction.ASSIGN: (OPEN_STATUSES, None),
    AlarmAction.CLEAR: (OPEN_STATUSES, AlarmStatus.CLEARED),
    AlarmAction.ESCALATE: (frozenset({AlarmStatus.RAISED}), None),
    AlarmAction.ORDER: (OPEN_STATUSES, None),
    AlarmAction.ORDER_DONE: (OPEN_STATUSES, None),
}
# Actions people take on the desk and through the API (the rest are the engine's and the scheduler's).
USER_ACTIONS = (AlarmAction.ACKNOWLEDGE, AlarmAction.ASSIGN, AlarmAction.CLEAR)

# Who is told at each escalation level (IOT_ALARM_ESCALATION_MINUTES gives when). "assignee": the person the alarm
# is assigned to, else the grid leader of the equipment's place, else the estate's supervisors.
ESCALATION_CHAIN = ("assignee", "supervisor", "manager")

SEVERITY_BADGES = {
    Severity.CRITICAL: "text-bg-danger",
    Severity.MAJOR: "text-bg-warning",
    Severity.MINOR: "text-bg-info",
    Severity.WARNING: "text-bg-light border",
}
STATUS_BADGES = {
    AlarmStatus.RAISED: "text-bg-danger",
    AlarmStatus.ACKNOWLEDGED: "text-bg-primary",
    AlarmStatus.CLEARED: "text-bg-secondary",
}


class Channel(models.TextChoices):
    MQTT = "mqtt", _("MQTT")
    HTTP = "http", _("HTTP")


class Rejection(models.TextChoices):
    """Why a telemetry message was refused. Each refusal is counted per day, channel and reason."""

    TOO_LARGE = "too_large", _("Payload too large")
    BAD_TOPIC = "bad_topic", _("Topic not wuye/<estate>/<device>/telemetry")
    UNSIGNED = "unsigned", _("Not signed")
    BAD_SIGNATURE = "bad_signature", _("Signature does not match")
    STALE_SIGNATURE = "stale_signature", _("Signed too long ago or in the future")
    BAD_TOKEN = "bad_token", _("Wrong device token")
    UNKNOWN_DEVICE = "unknown_device", _("Unknown device")
    INACTIVE_DEVICE = "inactive_device", _("Device disabled")
    WRONG_ESTATE = "wrong_estate", _("Device belongs to another estate")
    BAD_JSON = "bad_json", _("Not valid JSON")
    BAD_SHAPE = "bad_shape", _("JSON of the wrong shape")
    BAD_TYPE = "bad_type", _("Value of the wrong type")
    BAD_METRIC = "bad_metric", _("Invalid metric name")
    BAD_TIMESTAMP = "bad_timestamp", _("Invalid timestamp")
    FUTURE_TIMESTAMP = "future_timestamp", _("Timestamp in the future")
    TOO_OLD = "too_old", _("Timestamp older than raw retention")
    TOO_MANY_READINGS = "too_many_readings", _("Too many readings in one message")
    EMPTY = "empty", _("No readings")
    INTERNAL_ERROR = "internal_error", _("Could not be processed (see the log)")
