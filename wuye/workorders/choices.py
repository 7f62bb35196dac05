"""Kinds, statuses and actions of a work order (工单), and the one table of allowed moves."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Kind(models.TextChoices):
    REPAIR_HOME = "repair_home", _("In-home repair")
    REPAIR_PUBLIC = "repair_public", _("Public-area repair")
    COMPLAINT = "complaint", _("Complaint")
    INQUIRY = "inquiry", _("Inquiry")
    SUGGESTION = "suggestion", _("Suggestion")
    PRAISE = "praise", _("Praise")
    RECTIFICATION = "rectification", _("Rectification")
    ALARM = "alarm", _("Alarm")
    MAINTENANCE = "maintenance", _("Maintenance")


# Kinds answered rather than fixed: accepted → answered → closed.
SHORT_PATH_KINDS = frozenset({Kind.INQUIRY, Kind.SUGGESTION, Kind.PRAISE})
# Kinds an owner may report from the portal (the rest are raised by staff, inspections, devices and plans).
OWNER_KINDS = (Kind.REPAIR_HOME, Kind.REPAIR_PUBLIC, Kind.COMPLAINT, Kind.INQUIRY, Kind.SUGGESTION, Kind.PRAISE)


class Channel(models.TextChoices):
    PORTAL = "portal", _("Owner portal")
    PHONE = "phone", _("Phone")
    WALK_IN = "walk_in", _("Walk-in")
    STAFF = "staff", _("Found by staff")
    DEVICE = "device", _("Device")
    SYSTEM = "system", _("System")


class Priority(models.TextChoices):
    EMERGENCY = "emergency", _("Emergency")
    URGENT = "urgent", _("Urgent")
    NORMAL = "normal", _("Normal")
    LOW = "low", _("Low")


class Status(models.TextChoices):
    SUBMITTED = "submitted", _("Submitted")
    ACCEPTED = "accepted", _("Accepted")
    DISPATCHED = "dispatched", _("Dispatched")
    TAKEN = "taken", _("Taken")
    ARRIVED = "arrived", _("Arrived")
    IN_PROGRESS = "in_progress", _("In progress")
    ON_HOLD = "on_hold", _("On hold")
    RESOLVED = "resolved", _("Resolved")
    RATED = "rated", _("Rated")
    VISITED = "visited", _("Return visit done")
    ANSWERED = "answered", _("Answered")
    CLOSED = "closed", _("Closed")
    CANCELLED = "cancelled", _("Cancelled")


TERMINAL = frozenset({Status.CLOSED, Status.CANCELLED})
# The Bootstrap badge each status wears on the portal and the desk, so both shells show one colour per status.
STATUS_BADGES = {
    Status.SUBMITTED: "text-bg-info",
    Status.ACCEPTED: "text-bg-primary",
    Status.DISPATCHED: "text-bg-primary",
    Status.TAKEN: "text-bg-primary",
    Status.ARRIVED: "text-bg-primary",
    Status.IN_PROGRESS: "text-bg-primary",
    Status.ON_HOLD: "text-bg-warning",
    Status.RESOLVED: "text-bg-success",
    Status.RATED: "text-bg-success",
    Status.VISITED: "text-bg-success",
    Status.ANSWERED: "text-bg-success",
    Status.CLOSED: "text-bg-secondary",
    Status.CANCELLED: "text-bg-light border",
}
# Someone is responsible on site: the assignee is set exactly in these statuses.
ASSIGNED = frozenset({Status.DISPATCHED, Status.TAKEN, Status.ARRIVED, Status.IN_PROGRESS, Status.ON_HOLD})


class Action(models.TextChoices):
    SUBMIT = "submit", _("Submit")
    ACCEPT = "accept", _("Accept")
    CLASSIFY = "classify", _("Classify")
    DISPATCH = "dispatch", _("Dispatch")
    TAKE = "take", _("Take")
    GRAB = "grab", _("Grab from the pool")
    RETURN = "return", _("Return")
    TRANSFER = "transfer", _("Transfer")
    ARRIVE = "arrive", _("Check in on site")
    START = "start", _("Start work")
    HOLD = "hold", _("Put on hold")
    RESUME = "resume", _("Resume")
    RESOLVE = "resolve", _("Finish")
    RATE = "rate", _("Rate")
    REOPEN = "reopen", _("Reopen")
    VISIT = "visit", _("Return visit")
    ANSWER = "answer", _("Answer")
    CLOSE = "close", _("Close")
    AUTO_CLOSE = "auto_close", _("Closed automatically")
    FORCE_CLOSE = "force_close", _("Force close")
    CANCEL = "cancel", _("Cancel")
    URGE = "urge", _("Urge")
    ESCALATE = "escalate", _("Escalate")
    WARN = "warn", _("SLA warning")


# Resume returns to the status the order was held from (`WorkOrder.held_from_status`).
PREVIOUS = "previous"
OPEN = frozenset(Status) - TERMINAL

# action → (statuses it may start from, status it leads to). An event-only action leads to None (no change).
TRANSITIONS: dict[str, tuple[frozenset[str], str | None]] = {
    Action.ACCEPT: (frozenset({Status.SUBMITTED}), Status.ACCEPTED),
    # Change the category or priority before anyone is sent; the clocks follow the new policy.
    Action.CLASSIFY: (frozenset({Status.SUBMITTED, Status.ACCEPTED}), None),
    Action.DISPATCH: (frozenset({Status.ACCEPTED}), Status.DISPATCHED),
    Action.TAKE: (frozenset({Status.DISPATCHED}), Status.TAKEN),
    # 抢单: a technician takes a waiting order of a grab-mode category from the pool; the first one wins.
    Action.GRAB: (frozenset({Status.ACCEPTED}), Status.TAKEN),
    Action.RETURN: (frozenset({Status.DISPATCHED, Status.TAKEN}), Status.ACCEPTED),
    Action.TRANSFER: (frozenset({Status.DISPATCHED, Status.TAKEN}), Status.DISPATCHED),
    Action.ARRIVE: (frozenset({Status.TAKEN}), Status.ARRIVED),
    Action.START: (frozenset({Status.ARRIVED}), Status.IN_PROGRESS),
    Action.HOLD: (frozenset({Status.TAKEN, Status.ARRIVED, Status.IN_PROGRESS}), Status.ON_HOLD),
    Action.RESUME: (frozenset({Status.ON_HOLD}), PREVIOUS),
    Action.RESOLVE: (frozenset({Status.IN_PROGRESS}), Status.RESOLVED),
    Action.RATE: (frozenset({Status.RESOLVED}), Status.RATED),
    Action.REOPEN: (frozenset({Status.RESOLVED, Status.RATED, Status.VISITED, Status.CLOSED}), Status.ACCEPTED),
    Action.VISIT: (frozenset({Status.RESOLVED, Status.RATED}), Status.VISITED),
    Action.ANSWER: (frozenset({Status.ACCEPTED}), Status.ANSWERED),
    Action.CLOSE: (frozenset({Status.VISITED, Status.ANSWERED}), Status.CLOSED),
    Action.AUTO_CLOSE: (frozenset({Status.RESOLVED}), Status.CLOSED),
    Action.FORCE_CLOSE: (OPEN, Status.CLOSED),
    Action.CANCEL: (frozenset({Status.SUBMITTED, Status.ACCEPTED}), Status.CANCELLED),
    Action.URGE: (OPEN - {Status.RESOLVED, Status.RATED, Status.VISITED, Status.ANSWERED}, None),
}

# Actions that only make sense on one path.
LONG_PATH_ONLY = frozenset(
    {
        Action.DISPATCH,
        Action.TAKE,
        Action.GRAB,
        Action.RETURN,
        Action.TRANSFER,
        Action.ARRIVE,
        Action.START,
        Action.HOLD,
        Action.RESUME,
        Action.RESOLVE,
        Action.RATE,
        Action.VISIT,
        Action.AUTO_CLOSE,
    }
)
SHORT_PATH_ONLY = frozenset({Action.ANSWER})
# Actions people call through the API (the rest are the system's).
USER_ACTIONS = frozenset(TRANSITIONS) - {Action.AUTO_CLOSE}


class Step(models.TextChoices):
    """The steps with a time limit (SLA). Each starts at an event and is met by another."""

    ACCEPT = "accept", _("Accept")
    DISPATCH = "dispatch", _("Dispatch")
    ARRIVE = "arrive", _("Arrive")
    RESOLVE = "resolve", _("Resolve")
    VISIT = "visit", _("Return visit")


class StepState(models.TextChoices):
    PENDING = "pending", _("Pending")
    MET = "met", _("Met")
    BREACHED = "breached", _("Breached")
    PAUSED = "paused", _("Paused")


class Verdict(models.TextChoices):
    GOOD = "good", _("Satisfied")
    BAD = "bad", _("Not satisfied")
    RETURNED = "returned", _("Not fixed: return it")


class PhotoStage(models.TextChoices):
    REPORT = "report", _("Reported")
    BEFORE = "before", _("Before work")
    AFTER = "after", _("After work")
