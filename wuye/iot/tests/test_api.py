"""POST /api/v1/telemetry: device tokens, the same checks and the same store-and-evaluate path as MQTT."""

import datetime as dt
import json

import pytest
from django.test import Client

from wuye.core import clock
from wuye.iot import services
from wuye.iot.models import Alarm, Reading, TelemetryRejection

from . import factories as f

URL = "/api/v1/telemetry"
pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fresh_caches():
    services.caches_clear()
    yield
    services.caches_clear()


def post(body, authorization: str | None, **headers):
    client = Client()
    if authorization is not None:
        headers["Authorization"] = authorization
    data = body if isinstance(body, bytes | str) else json.dumps(body)
    return client.post(URL, data=data, content_type="application/json", headers=headers)


def reading(minutes_ago: int = 0, **values):
    at = clock.now() - dt.timedelta(minutes=minutes_ago)
    return {"ts": at.isoformat(), "values": values or {"pressure": 0.42}}


def test_a_device_posts_a_batch_and_a_repeat_is_recognised_as_duplicate(cast):
    device, credentials = f.device(cast.estate)
    batch = {"readings": [reading(2, pressure=0.4, temp=30.5), reading(1, pressure=0.41)]}
    first = post(batch, credentials.authorization)
    again = post(batch, credentials.authorization)
    assert first.status_code == 200, first.content
    assert first.json() == {"received": 3, "stored": 3, "duplicates": 0, "alarms_raised": 0, "alarms_cleared": 0}
    assert again.json()["duplicates"] == 3
    assert Reading.objects.filter(device=device).count() == 3


def test_http_readings_are_evaluated_like_mqtt_ones(cast):
    device, credentials = f.device(cast.estate)
    rule = f.rule(cast.estate, device=device)
    response = post(reading(0, pressure=1.8), credentials.authorization)
    assert response.json()["alarms_raised"] == 1
    assert Alarm.objects.get(rule=rule, device=device).raise_value == 1.8


@pytest.mark.parametrize(
    "authorization",
    [None, "Device", "Device 1", "Device x:abc", "Bearer abc", "Device 999999:abc"],
)
def test_without_a_valid_device_token_the_answer_is_401(cast, authorization):
    f.device(cast.estate)
    response = post(reading(), authorization)
    assert response.status_code == 401
    assert response.json()["code"] == "bad_token"


def test_a_token_of_another_estates_device_is_refused(cast):
    mine, _mine = f.device(cast.estate, code="pump-01")
    _theirs, theirs = f.device(cast.other_estate, code="pump-01")
    # Their token presented for our device (same code, other estate) — and a plain wrong token.
    response = post(reading(), f"Device {mine.id}:{theirs.http_token}")
    assert response.status_code == 401
    assert post(reading(), f"Device {mine.id}:not-the-token").status_code == 401
    assert not Reading.objects.exists()
    assert TelemetryRejection.objects.get(channel="http", reason="bad_token").count == 2


def test_a_user_bearer_token_is_no_device_token(cast):
    response = cast.api("manager").post(URL, data=json.dumps(reading()), content_type="application/json")
    assert response.status_code == 401


@pytest.mark.parametrize(
    ("body", "code", "field"),
    [
        ("{oops", "bad_json", "payload"),
        ({"ts": "2026-11-27T09:30:05", "values": {"p": 1}}, "bad_timestamp", "payload.ts"),
        ({"readings": [{"ts": 1795000000, "values": {"p": "high"}}]}, "bad_type", "readings.0.values.p"),
        ({"ts": 4102444800, "values": {"p": 1}}, "future_timestamp", "payload"),
        ({"readings": [{"ts": 1795000000, "values": {"p": 1}}] * 5001}, "too_many_readings", "readings"),
    ],
)
def test_bad_bodies_are_refused_with_422_naming_the_field_and_counted(cast, body, code, field):
    _device, credentials = f.device(cast.estate)
    response = post(body, credentials.authorization)
    assert response.status_code == 422, response.content
    answer = response.json()
    assert answer["code"] == code
    assert answer["errors"][0]["field"] == field
    assert answer["errors"][0]["code"] == code
    assert TelemetryRejection.objects.get(channel="http", reason=code).count == 1
    assert not Reading.objects.exists()


def test_a_body_over_the_size_limit_is_refused_before_it_is_read(cast, settings):
    settings.IOT_MAX_PAYLOAD_BYTES = 1000
    _device, credentials = f.device(cast.estate)
    response = post({"readings": [reading(1)] * 40}, credentials.authorization)
    assert response.status_code == 422
    assert response.json()["code"] == "too_large"


def test_a_disabled_device_is_refused(cast):
    device, credentials = f.device(cast.estate)
    device.is_active = False
    device.save(update_fields=["is_active"])
    assert post(reading(), credentials.authorization).status_code == 401
