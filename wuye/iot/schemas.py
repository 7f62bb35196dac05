from ninja import Schema


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
