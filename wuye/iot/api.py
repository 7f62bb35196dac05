"""HTTP telemetry: `POST /api/v1/telemetry`, for devices that cannot hold an MQTT connection.

A device authenticates with `Authorization: Device <device id>:<token>` (the token issued with its credentials; only
its hash is stored). The body is the same JSON as on MQTT (one instant, or {"readings": [...]}), checked by the same
rules (wuye.iot.ingest) and stored and evaluated by the same service (`services.telemetry_store`). People's bearer
tokens and sessions do not work here. Refused bodies answer 422 with the reason as `code` and count as rejections.
"""

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Router
from ninja.security import APIKeyHeader

from wuye.core import clock
from wuye.core.errors import FieldError, Unauthenticated, ValidationFailed

from . import ingest, services
from .choices import Channel, Rejection
from .schemas import TELEMETRY_BODY_OPENAPI, TelemetryOut

router = Router(tags=["iot"])

_SCHEME = "Device "


class DeviceToken(APIKeyHeader):
    """`Authorization: Device <device id>:<token>`."""

    param_name = "Authorization"

    def authenticate(self, request: HttpRequest, key: str | None):
        device = None
        if key and key.startswith(_SCHEME):
            device_id, _colon, token = key[len(_SCHEME) :].strip().partition(":")
            if device_id.isdigit() and len(device_id) < 19 and token:
                device = services.device_token_authenticate(device_id=int(device_id), token=token)
        if device is None:
            services.rejections_record(
                channel=Channel.HTTP,
                counts={Rejection.BAD_TOKEN: (1, request.headers.get("Authorization", "")[:20])},
                now=clock.now(),
            )
            raise Unauthenticated(
                _("Send the device's credentials: Authorization: Device <device id>:<token>."), code="bad_token"
            )
        return device


def _refusal(refused: ingest.Refused) -> ValidationFailed:
    label = str(Rejection(refused.reason).label)
    message = f"{label}: {refused.detail}" if refused.detail else label
    return ValidationFailed(
        _("The telemetry was refused."),
        code=refused.reason,
        errors=[FieldError(refused.field or "body", refused.reason, message)],
    )


@router.post(
    "/telemetry",
    auth=DeviceToken(),
    response={200: TelemetryOut},
    summary="A device sends readings: one instant {ts, values} or a batch {readings: [...]}",
    openapi_extra=TELEMETRY_BODY_OPENAPI,
)
def telemetry_post(request):
    device = request.auth
    now = clock.now()
    limits = services.limits(now)
    try:
        length = int(request.headers.get("Content-Length") or 0)
        if length > limits.max_payload_bytes:
            # Refused before reading the body into memory.
            raise ingest.Refused(Rejection.TOO_LARGE, f"{length} bytes, at most {limits.max_payload_bytes}", "body")
        parsed = ingest.parse_body(request.body, now=now, limits=limits, require_sent_at=False)
    except ingest.Refused as refused:
        services.rejections_record(
            channel=Channel.HTTP, counts={refused.reason: (1, f"device {device.pk}: {refused.detail}")}, now=now
        )
        raise _refusal(refused) from None
    result = services.telemetry_store(
        batches=[services.DeviceBatch(device_id=device.pk, estate_id=device.estate_id, readings=parsed.readings)],
        now=now,
    )
    return {
        "received": result.received,
        "stored": result.stored,
        "duplicates": result.duplicates,
        "alarms_raised": result.raised,
        "alarms_cleared": result.cleared,
    }
