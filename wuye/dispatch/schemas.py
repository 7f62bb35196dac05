import datetime as dt

from ninja import Field, Schema


class PoolOrderOut(Schema):
    id: int
    number: str
    estate_id: int
    category: str
    priority: str
    place: str
    description: str
    arrive_due_at: dt.datetime
    walk_minutes: int = Field(description="from where I last checked in today (the gate if nowhere)")
    eligible: bool
    why_not: list[str]


class BoardFilters(Schema):
    estate_id: int = Field(..., ge=1)


class BoardOrderOut(Schema):
    id: int
    number: str
    grid: str
    priority: str
    category: str
    place: str
    arrive_due_at: dt.datetime
    slack_minutes: int = Field(description="minutes until the arrival is due; negative when already late")
    suggested_id: int | None
    suggestion_reasons: list[str]
    eligible_ids: list[int]


class BoardStaffOut(Schema):
    id: int
    name: str
    on_shift: bool
    on_call: bool
    last_seen: str
    open_orders: int
    current_order: str | None


class BoardOut(Schema):
    estate_id: int
    orders: list[BoardOrderOut]
    staff: list[BoardStaffOut]
