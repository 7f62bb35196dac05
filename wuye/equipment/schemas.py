import datetime as dt
from typing import Literal

from ninja import Schema
from pydantic import Field

from .choices import EquipmentCategory, EquipmentStatus, Importance

# ---------------------------------------------------------------- input


class EquipmentFilters(Schema):
    estate_id: int | None = None
    category: EquipmentCategory | None = None
    importance: Importance | None = None
    status: EquipmentStatus | None = None
    q: str | None = Field(None, max_length=60, description="Asset number, name, maker, model or serial number.")


class ReliabilityFilters(Schema):
    estate_id: int
    days: int = Field(365, ge=1, le=3650)


class PlanFilters(Schema):
    estate_id: int | None = None
    equipment_id: int | None = None


class PlanIn(Schema):
    """A preventive-maintenance plan. calendar: interval, interval_unit, basis, starts_at; meter: device_id, metric,
    meter_value (meter_every for a recurrent meter, min_wait_hours between orders)."""

    equipment_id: int
    name: str = Field(..., max_length=100)
    trigger: Literal["calendar", "meter"]
    checklist: list[str] = Field(default_factory=list, max_length=50)
    category_id: int | None = None
    priority: Literal["emergency", "urgent", "normal", "low"] = "low"
    interval: int | None = Field(None, ge=1, le=3650)
    interval_unit: Literal["day", "week", "month"] | None = None
    basis: Literal["schedule", "completion"] | None = None
    starts_at: dt.datetime | None = None
    lead_days: int = Field(3, ge=0, le=90)
    device_id: int | None = None
    metric: str = Field("", max_length=40)
    meter_condition: Literal[">=", "<="] = ">="
    meter_value: float | None = None
    meter_every: float | None = None
    min_wait_hours: int = Field(0, ge=0, le=24 * 366)
    is_active: bool = True


class PlanPatch(Schema):
    """Only the fields given change (the equipment stays)."""

    name: str | None = Field(None, max_length=100)
    trigger: Literal["calendar", "meter"] | None = None
    checklist: list[str] | None = Field(None, max_length=50)
    category_id: int | None = None
    priority: Literal["emergency", "urgent", "normal", "low"] | None = None
    interval: int | None = Field(None, ge=1, le=3650)
    interval_unit: Literal["day", "week", "month"] | None = None
    basis: Literal["schedule", "completion"] | None = None
    starts_at: dt.datetime | None = None
    lead_days: int | None = Field(None, ge=0, le=90)
    device_id: int | None = None
    metric: str | None = Field(None, max_length=40)
    meter_condition: Literal[">=", "<="] | None = None
    meter_value: float | None = None
    meter_every: float | None = None
    min_wait_hours: int | None = Field(None, ge=0, le=24 * 366)
    is_active: bool | None = None


# ---------------------------------------------------------------- output


class EquipmentOut(Schema):
    id: int
    estate_id: int
    code: str
    name: str
    category: str
    category_label: str
    importance: str
    status: str
    status_label: str
    place: str
    building_id: int | None
    public_area_id: int | None
    room_id: int | None
    maker: str
    model_number: str
    serial_number: str
    installed_on: dt.date | None
    url: str


class DeviceStateOut(Schema):
    id: int
    code: str
    name: str
    is_active: bool
    last_seen_at: dt.datetime | None
    expected_minutes: float
    state: Literal["online", "offline", "never"]
    online: bool


class ReliabilityOut(Schema):
    period_hours: float
    failures: int
    repairs: int
    open_failures: int
    downtime_hours: float
    planned_downtime_hours: float
    uptime_hours: float
    availability: float | None
    mtbf_hours: float | None
    mttr_hours: float | None


class AlarmBriefOut(Schema):
    id: int
    rule: str
    severity: str
    status: str
    reason: str
    raised_at: dt.datetime


class DocumentOut(Schema):
    id: int
    title: str
    url: str


class EquipmentDetailOut(EquipmentOut):
    label_code: str
    label_url: str
    fault_report_url: str
    notes: str
    documents: list[DocumentOut]
    devices: list[DeviceStateOut]
    open_alarms: list[AlarmBriefOut]
    reliability: ReliabilityOut
    reliability_days: int
    plan_ids: list[int]


class EquipmentReliabilityOut(Schema):
    equipment_id: int
    code: str
    name: str
    reliability: ReliabilityOut


class PlanOut(Schema):
    id: int
    estate_id: int
    equipment_id: int
    name: str
    trigger: str
    checklist: list[str]
    category_id: int
    priority: str
    interval: int | None
    interval_unit: str
    basis: str
    starts_at: dt.datetime | None
    lead_days: int
    device_id: int | None
    metric: str
    meter_condition: str
    meter_value: float | None
    meter_every: float | None
    meter_next: float | None
    min_wait_hours: int
    last_triggered_at: dt.datetime | None
    is_active: bool
    next_due: dt.datetime | None
    orders: list[int]
