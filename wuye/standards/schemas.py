import datetime as dt
from typing import Literal

from ninja import Schema
from pydantic import Field

from .choices import TaskStatus

# ---------------------------------------------------------------- input


class TaskFilters(Schema):
    day: dt.date | None = Field(
        None,
        ge=dt.date(2000, 1, 1),
        le=dt.date(2100, 12, 31),
        description="Local date (Asia/Shanghai) the windows start on; default today.",
    )
    scope: Literal["mine", "all"] = Field(
        "mine", description="mine: my tasks and my roles' open pools; all: every task I may see (supervisors)."
    )
    estate_id: int | None = None
    status: TaskStatus | None = None


class EvidenceIn(Schema):
    tick: bool | None = None
    reading: float | None = Field(None, ge=-1_000_000, le=1_000_000)
    note: str | None = Field(None, max_length=200)


class TaskActionIn(Schema):
    """finish: the evidence of each item, by item code (photos are uploaded first to /photos)."""

    evidence: dict[str, EvidenceIn] | None = Field(None, max_length=50)
    note: str | None = Field(None, max_length=500)


# ---------------------------------------------------------------- output


class PersonOut(Schema):
    id: int
    name: str


class TaskItemOut(Schema):
    key: str
    title: str
    standard: str
    evidence: str
    evidence_label: str
    reading_unit: str
    photos: int


class TaskPhotoOut(Schema):
    id: int
    item: str
    url: str
    uploaded_at: dt.datetime


class TaskEventOut(Schema):
    action: str
    action_label: str
    actor: PersonOut | None
    at: dt.datetime
    from_status: str
    to_status: str


class TaskListItemOut(Schema):
    id: int
    estate_id: int
    plan_id: int
    plan_name: str
    discipline: str
    discipline_label: str
    place: str
    window_start: dt.datetime
    window_end: dt.datetime
    grace_until: dt.datetime
    status: str
    status_label: str
    assignee: PersonOut | None
    assignee_role: str
    allowed_actions: list[str]


class TaskOut(TaskListItemOut):
    items: list[TaskItemOut]
    evidence: dict
    note: str
    started_at: dt.datetime | None
    done_at: dt.datetime | None
    photos: list[TaskPhotoOut]
    photos_url: str
    events: list[TaskEventOut]
