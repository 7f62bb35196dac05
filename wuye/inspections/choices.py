"""Patrol rounds (巡更), inspections (巡检), re-checks and quality spot checks (品质核查): their kinds, statuses and the
tables of allowed moves."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class OrderRule(models.TextChoices):
    """Whether a route's checkpoints must be scanned in their order or in any order."""

    STRICT = "strict", _("In the route's order")
    ANY = "any", _("In any order")


class ScanMethod(models.TextChoices):
    """How the guard's phone read the checkpoint (reported by the phone; the code is checked the same way)."""

    QR = "qr", _("QR code")
    NFC = "nfc", _("NFC tag")
    MANUAL = "manual", _("Typed in")


class RoundStatus(models.TextChoices):
    PENDING = "pending", _("Not started")
    IN_PROGRESS = "in_progress", _("Patrolling")
    COMPLETE = "complete", _("Complete")
    INCOMPLETE = "incomplete", _("Incomplete")
    MISSED = "missed", _("Missed")


ROUND_OPEN = frozenset({RoundStatus.PENDING, RoundStatus.IN_PROGRESS})
ROUND_STATUS_BADGES = {
    RoundStatus.PENDING: "text-bg-info",
    RoundStatus.IN_PROGRESS: "text-bg-primary",
    RoundStatus.COMPLETE: "text-bg-success",
    RoundStatus.INCOMPLETE: "text-bg-warning",
    RoundStatus.MISSED: "text-bg-danger",
}


class RoundAction(models.TextChoices):
    START = "start", _("First checkpoint scanned")
    COMPLETE = "complete", _("Every checkpoint scanned")
    CLOSE = "close", _("Window closed")
    INCIDENT = "incident", _("Incident reported")


# action → {from status: to status}. Closing a round depends on where it stands: nobody came (missed), some
# checkpoints were scanned (incomplete), or it was complete already (it stays complete; closing records the late
# checkpoints). Reporting an incident is an event only.
ROUND_TRANSITIONS: dict[str, dict[str, str]] = {
    RoundAction.START: {RoundStatus.PENDING: RoundStatus.IN_PROGRESS},
    RoundAction.COMPLETE: {RoundStatus.PENDING: RoundStatus.COMPLETE, RoundStatus.IN_PROGRESS: RoundStatus.COMPLETE},
    RoundAction.CLOSE: {
        RoundStatus.PENDING: RoundStatus.MISSED,
        RoundStatus.IN_PROGRESS: RoundStatus.INCOMPLETE,
        RoundStatus.COMPLETE: RoundStatus.COMPLETE,
    },
}


class InspectionKind(models.TextChoices):
    ROUTINE = "routine", _("Inspection")
    RECHECK = "recheck", _("Re-check after rectification")
    SPOT_CHECK = "spot_check", _("Quality spot check")


class InspectionStatus(models.TextChoices):
    OPEN = "open", _("To do")
    SUBMITTED = "submitted", _("Submitted")
    CANCELLED = "cancelled", _("Cancelled")


INSPECTION_STATUS_BADGES = {
    InspectionStatus.OPEN: "text-bg-info",
    InspectionStatus.SUBMITTED: "text-bg-success",
    InspectionStatus.CANCELLED: "text-bg-light border",
}


class InspectionAction(models.TextChoices):
    CREATE = "create", _("Created")
    SUBMIT = "submit", _("Submitted")
    CANCEL = "cancel", _("Cancelled")


# action → (statuses it may start from, status it leads to).
INSPECTION_TRANSITIONS: dict[str, tuple[frozenset[str], str]] = {
    InspectionAction.SUBMIT: (frozenset({InspectionStatus.OPEN}), InspectionStatus.SUBMITTED),
    InspectionAction.CANCEL: (frozenset({InspectionStatus.OPEN}), InspectionStatus.CANCELLED),
}


class ItemKind(models.TextChoices):
    """What an inspector records for a checklist item besides pass or fail."""

    CHECK = "check", _("Pass / fail")
    READING = "reading", _("Reading")
    PHOTO = "photo", _("Photo")


# The SOP item's required evidence → the kind of checklist item it becomes in an inspection.
EVIDENCE_ITEM_KIND = {"tick": ItemKind.CHECK, "reading": ItemKind.READING, "photo": ItemKind.PHOTO}


class ItemResult(models.TextChoices):
    PENDING = "pending", _("Not checked")
    PASS = "pass", _("Pass")  # noqa: S105 - a result, not a password
    FAIL = "fail", _("Fail")


class Rectification(models.TextChoices):
    """Where the rectification (整改) of a failed item stands; derived from its dates, never stored."""

    OPEN = "open", _("Being rectified")
    OVERDUE = "overdue", _("Rectification overdue")
    RECTIFIED = "rectified", _("Rectified, re-check due")
    VERIFIED = "verified", _("Re-checked and passed")
    FAILED_AGAIN = "failed_again", _("Re-check failed")


class AchievedStatus(models.TextChoices):
    """A line of the contracted-vs-achieved report."""

    PASS = "pass", _("Met")  # noqa: S105
    FAIL = "fail", _("Not met")
    NO_DATA = "no_data", _("No data")
    NOT_CONTRACTED = "not_contracted", _("Not contracted")
