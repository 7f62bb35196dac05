import datetime as dt
from typing import Literal

from ninja import Schema
from pydantic import Field

from .choices import Severity


class TelemetryOut(Schema):
    received: int
    stored: int
    duplicates: int
    alarms_raised: int
    alarms_cleared: int


TELEMETRY_BODY_OPENAPI = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "oneOf": [
                        {
                            "type": "object",
                            "required": ["ts", "values"],
                            "properties": {
                                "ts": {"oneOf": [{"type": "string", "format": "date-time"}, {"type": "number"}]},
                                "values": {"type": "object", "additionalProperties": {"type": "number"}},
                            },
                        },
                        {
                            "type": "object",
                            "required": ["readings"],
                            "properties": {
                                "readings": {
                                    "type": "array",
                                    "items": {
                                        "type": "object",
                                        "required": ["ts", "values"],
                                        "properties": {
                                            "ts": {
                                                "oneOf": [
                                                    {"type": "string", "format": "date-time"},
                                                    {"type": "number"},
                                                ]
                                            },
                                            "values": {"type": "object", "additionalProperties": {"type": "number"}},
                                        },
                                    },
                                }
                            },
                        },
                    ]
                },
                "example": {"ts": "2026-11-27T09:30:05+08:00", "values": {"pressure": 0.42, "motor_temp": 51.3}},
            }
        },
    }
}


# ---------------------------------------------------------------- alarms


class AlarmFilters(Schema):
    estate_id: int | None = None
    status: Literal["open", "raised", "acknowledged", "cleared"] | None = Field(
        None, description='A status, or "open" for raised and acknowledged.'
    )
    severity: Severity | None = None
    device_id: int | None = None
    equipment_id: int | None = None
    limit: int = Field(20, ge=1, le=100)
    offset: int = Field(0, ge=0, le=1_000_000)


class AlarmNoteIn(Schema):
    note: str = Field("", max_length=500)


class AlarmClearIn(Schema):
    note: str = Field(max_length=500, description="Why it is cleared by hand (required).")


class AlarmAssignIn(Schema):
    assignee_id: int = Field(ge=1)
    note: str = Field("", max_length=500)


class PersonOut(Schema):
    id: int
    name: str


class AlarmOrderOut(Schema):
    id: int
    number: str
    status: str
    status_label: str
    url: str


class AlarmEventOut(Schema):
    id: int
    action: str
    action_label: str
    actor: PersonOut | None
    at: dt.datetime
    from_status: str
    to_status: str
    note: str
    payload: dict


class AlarmItemOut(Schema):
    id: int
    estate_id: int
    rule: PersonOut = Field(description="id and name of the rule")
    device: PersonOut = Field(description="id and name of the device")
    equipment: PersonOut | None = Field(description="id and name of the equipment the device is on")
    status: str
    status_label: str
    severity: str
    severity_label: str
    reason: str = Field(description="what the rule said, in the caller's language")
    raised_at: dt.datetime
    acknowledged_at: dt.datetime | None
    cleared_at: dt.datetime | None
    assignee: PersonOut | None
    escalation_level: int
    escalate_at: dt.datetime | None
    raise_value: float | None
    last_value: float | None
    work_order: AlarmOrderOut | None


class AlarmOut(AlarmItemOut):
    acknowledged_by: PersonOut | None
    cleared_by: PersonOut | None
    allowed_actions: list[str]
    events: list[AlarmEventOut]


class AlarmPageOut(Schema):
    count: int
    items: list[AlarmItemOut]
