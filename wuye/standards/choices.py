"""Disciplines, evidence kinds, the service-level dimensions that carry a frequency, and the one table of allowed task
moves (作业任务)."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Discipline(models.TextChoices):
    """The four front-line disciplines of the SOP library (作业指导书)."""

    CLEANING = "cleaning", _("Cleaning")
    GREENING = "greening", _("Greening")
    SECURITY = "security", _("Order and security")
    ENGINEERING = "engineering", _("Engineering")


class Evidence(models.TextChoices):
    """What a worker must leave behind to show an item was done."""

    PHOTO = "photo", _("Photo")
    READING = "reading", _("Reading")
    TICK = "tick", _("Tick")


class Dimension(models.TextChoices):
    """Dimensions of a service-level profile that are a frequency (a schedule), from the profile table in
    PRODUCT.md. Plans that follow the estate's profile name one of these instead of carrying their own schedule."""

    KEY_AREA_PATROL = "key_area_patrol", _("Key-area patrol")
    BUILDING_CHECK = "building_check", _("Common-area building check")
    GARBAGE_CLEARANCE = "garbage_clearance", _("Garbage clearance")
    ROAD_SWEEPING = "road_sweeping", _("Roads and squares swept")
    GLASS_CLEANING = "glass_cleaning", _("Common-area glass cleaned")


# The discipline whose staff carry out each profile frequency.
DIMENSION_DISCIPLINE = {
    Dimension.KEY_AREA_PATROL: Discipline.SECURITY,
    Dimension.BUILDING_CHECK: Discipline.ENGINEERING,
    Dimension.GARBAGE_CLEARANCE: Discipline.CLEANING,
    Dimension.ROAD_SWEEPING: Discipline.CLEANING,
    Dimension.GLASS_CLEANING: Discipline.CLEANING,
}


class TaskStatus(models.TextChoices):
    PENDING = "pending", _("To do")
    IN_PROGRESS = "in_progress", _("In progress")
    DONE = "done", _("Done")
    LATE = "late", _("Late")
    MISSED = "missed", _("Missed")


TASK_TERMINAL = frozenset({TaskStatus.DONE, TaskStatus.MISSED})
TASK_OPEN = frozenset(TaskStatus) - TASK_TERMINAL
TASK_STATUS_BADGES = {
    TaskStatus.PENDING: "text-bg-info",
    TaskStatus.IN_PROGRESS: "text-bg-primary",
    TaskStatus.DONE: "text-bg-success",
    TaskStatus.LATE: "text-bg-warning",
    TaskStatus.MISSED: "text-bg-danger",
}


class TaskAction(models.TextChoices):
    START = "start", _("Start")
    FINISH = "finish", _("Task done")
    OVERDUE = "overdue", _("Window closed")
    MISS = "miss", _("Missed")


# action → (statuses it may start from, status it leads to).
# A task whose window closes unfinished becomes late; it may still be finished (the event log keeps that it was
# late) until its grace period ends, when it is missed for good.
TASK_TRANSITIONS: dict[str, tuple[frozenset[str], str]] = {
    TaskAction.START: (frozenset({TaskStatus.PENDING}), TaskStatus.IN_PROGRESS),
    TaskAction.FINISH: (frozenset({TaskStatus.PENDING, TaskStatus.IN_PROGRESS, TaskStatus.LATE}), TaskStatus.DONE),
    TaskAction.OVERDUE: (frozenset({TaskStatus.PENDING, TaskStatus.IN_PROGRESS}), TaskStatus.LATE),
    TaskAction.MISS: (frozenset({TaskStatus.PENDING, TaskStatus.IN_PROGRESS, TaskStatus.LATE}), TaskStatus.MISSED),
}
# Actions people take; the others are the window scanner's.
TASK_USER_ACTIONS = frozenset({TaskAction.START, TaskAction.FINISH})
