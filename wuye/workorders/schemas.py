import datetime as dt
from typing import Annotated, Literal

from django.utils.translation import gettext as _
from ninja import Schema
from pydantic import Field, field_validator
from pydantic_core import PydanticCustomError

from .choices import Channel, Kind, PhotoStage, Priority, Status, Verdict

# ---------------------------------------------------------------- input


class WorkOrderIn(Schema):
    """A new request. Owners report for themselves (portal); staff may enter one on an owner's behalf (phone,
    walk-in) or report what they found themselves."""

    estate_id: int
    kind: Kind
    category_id: int
    description: str = Field(..., min_length=2, max_length=2000)
    priority: Priority | None = None
    room_id: int | None = None
    public_area_id: int | None = None
    appointment_start: dt.datetime | None = Field(None, description="Local time when no offset is given.")
    appointment_end: dt.datetime | None = None
    contact_name: str | None = Field(None, max_length=50)
    contact_phone: str | None = Field(None, max_length=20)
    on_behalf_of_user_id: int | None = Field(None, description="Staff only: the owner or resident the order is for.")
    channel: Channel | None = Field(None, description="Staff only: phone, walk_in or staff.")


class MaterialIn(Schema):
    name: str = Field(..., min_length=1, max_length=60)
    quantity: float = Field(..., gt=0, le=100_000)
    unit: str = Field("", max_length=10)


class ActionIn(Schema):
    """Everything an action may take; each action reads only the fields it needs (services)."""

    assignee_id: int | None = Field(None, ge=1, description="dispatch, transfer")
    category_id: int | None = Field(None, ge=1, description="classify")
    priority: Priority | None = Field(None, description="classify")
    reason: str | None = Field(None, max_length=500, description="return, hold, reopen, cancel, force_close")
    resolution: str | None = Field(None, max_length=2000, description="resolve, answer")
    materials: list[MaterialIn] | None = Field(None, max_length=30, description="resolve")
    verdict: Verdict | None = Field(None, description="rate")
    score: int | None = Field(None, ge=1, le=5, description="rate")
    reasons: list[Annotated[str, Field(max_length=60)]] | None = Field(
        None, max_length=10, description="rate: what was wrong"
    )
    comment: str | None = Field(None, max_length=500, description="rate")
    satisfied: bool | None = Field(None, description="visit")
    note: str | None = Field(None, max_length=500, description="any action: a remark for the timeline")


class WorkOrderFilters(Schema):
    status: str | None = Field(None, description='A status, or "open" for every order not closed or cancelled.')
    kind: Kind | None = None
    estate_id: int | None = None
    grid_id: int | None = None
    category_id: int | None = None
    priority: Priority | None = None
    sla_state: Literal["breached", "warning", "ok"] | None = None
    assignee: str | None = Field(None, pattern=r"^(me|none|\d{1,12})$", description='"me", "none" or a user id.')
    q: str | None = Field(None, max_length=100, description="Part of the number or of the description.")
    limit: int = Field(20, ge=1, le=100)
    offset: int = Field(0, ge=0, le=1_000_000)

    @field_validator("status")
    @classmethod
    def _status_known(cls, value: str | None) -> str | None:
        if value and value != "open" and value not in Status.values:
            message = _("Must be one of: %(choices)s.") % {"choices": ", ".join(["open", *Status.values])}
            raise PydanticCustomError("invalid_choice", message)
        return value or None


class CategoryFilters(Schema):
    estate_id: int
    kind: Kind | None = None


# ---------------------------------------------------------------- output


class PersonOut(Schema):
    id: int
    name: str


class CategoryRefOut(Schema):
    id: int
    code: str
    name: str


class CategoryOut(CategoryRefOut):
    kinds: list[str]
    default_priority: Priority
    default_priority_label: str


class StepOut(Schema):
    step: str
    label: str
    started_at: dt.datetime
    due_at: dt.datetime | None
    warn_at: dt.datetime | None
    met_at: dt.datetime | None
    state: Literal["pending", "met", "breached", "paused"]
    state_label: str
    warning: bool
    overdue_minutes: int | None
    limit_minutes: int


class EventOut(Schema):
    id: int
    action: str
    action_label: str
    actor: PersonOut | None
    at: dt.datetime
    from_status: str
    from_status_label: str
    to_status: str
    to_status_label: str
    note: str
    payload: dict


class PhotoOut(Schema):
    id: int
    stage: PhotoStage
    stage_label: str
    url: str
    content_type: str
    width: int
    height: int
    uploaded_at: dt.datetime


class WorkOrderOut(Schema):
    id: int
    number: str
    estate_id: int
    kind: Kind
    kind_label: str
    channel: Channel
    channel_label: str
    category: CategoryRefOut
    priority: Priority
    priority_label: str
    status: Status
    status_label: str
    description: str
    place: str
    room_id: int | None
    public_area_id: int | None
    grid_id: int | None
    reporter: PersonOut | None
    assignee: PersonOut | None
    contact_name: str
    contact_phone: str = Field(description="Masked (138****1234) except for the reporter, the assignee and the desk.")
    appointment_start: dt.datetime | None
    appointment_end: dt.datetime | None
    reopen_count: int
    urge_count: int
    verdict: Verdict | Literal[""]
    score: int | None
    rating_comment: str
    visit_satisfied: bool | None
    resolution: str
    materials: list[dict] = Field(description='[{"name", "quantity", "unit"}, …]')
    submitted_at: dt.datetime
    closed_at: dt.datetime | None
    allowed_actions: list[str]
    sla: list[StepOut]
    events: list[EventOut]
    photos: list[PhotoOut]
    photos_url: str = Field(description="POST photos here (multipart: file, stage).")


class WorkOrderItemOut(Schema):
    id: int
    number: str
    estate_id: int
    status: Status
    status_label: str
    kind: Kind
    kind_label: str
    category_name: str
    place: str
    priority: Priority
    priority_label: str
    assignee_name: str | None
    submitted_at: dt.datetime
    sla_step: str | None
    sla_due_at: dt.datetime | None
    sla_state: Literal["breached", "warning", "ok", "paused"] | None


class WorkOrderPageOut(Schema):
    count: int
    items: list[WorkOrderItemOut]


class CandidateOut(Schema):
    id: int
    name: str
    open_orders: int
    eligible: bool = Field(description="every required check passes (skill, licence, shift, estate)")
    why_not: list[str] = Field(description="the checks that block this person, explained")
    suggested: bool = Field(description="the optimiser's choice for this order")
    suggestion_reasons: list[str] = Field(description="why the suggested person (empty for the others)")
