"""The equipment API beyond its permission matrix: filters, an item's devices and figures, plans created and
changed with bad input refused naming each field."""

import datetime as dt

import pytest

from wuye.equipment import services
from wuye.equipment.models import MaintenancePlan
from wuye.iot.models import Device
from wuye.iot.services import seed_iot

from . import factories as ef
from .factories import NOW

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo(cast):
    ef.seed_catalogue(cast)
    seed_iot(cast.estate, now=NOW - dt.timedelta(days=60))
    return cast


def test_the_list_filters_and_refuses_an_unknown_filter_value_naming_it(demo):
    client = demo.api("technician")
    body = client.get("/api/v1/equipment", {"importance": "A", "category": "lift"}).json()
    assert [row["code"] for row in body] == ["LIFT-1-1", "LIFT-3-1"]
    assert client.get("/api/v1/equipment", {"q": "GEN"}).json()[0]["code"] == "GEN-01"
    refused = client.get("/api/v1/equipment", {"importance": "Z"})
    assert refused.status_code == 422
    assert [error["field"] for error in refused.json()["errors"]] == ["importance"]


def test_the_detail_has_devices_online_state_and_reliability(demo):
    # The air-conditioning plant: no alarm story of seed_iot's touches it, so this fault report is its only failure.
    plant = demo.estate.equipment.get(code="HVAC-01")
    Device.objects.filter(code="hvac-01").update(last_seen_at=dt.datetime.now(dt.UTC))
    order = ef.fault_report(demo, plant, at=NOW - dt.timedelta(days=3))
    ef.finish(demo, order.id, at=NOW - dt.timedelta(days=3) + dt.timedelta(hours=2))
    body = demo.api("technician").get(f"/api/v1/equipment/{plant.id}").json()
    assert [(d["code"], d["state"], d["online"]) for d in body["devices"]] == [("hvac-01", "online", True)]
    assert body["reliability"]["failures"] == 1 and body["reliability"]["mttr_hours"] == 2.0
    assert body["fault_report_url"] == f"/desk/orders/new/?equipment={plant.id}"
    assert body["label_url"].endswith(f"/desk/equipment/l/{plant.label_code}/")
    rows = demo.api("manager").get("/api/v1/equipment/reliability", {"estate_id": demo.estate.id}).json()
    assert {row["code"]: row["reliability"]["repairs"] for row in rows}["PUMP-01"] == 1
    assert (
        demo.api("manager").get("/api/v1/equipment/reliability", {"estate_id": demo.other_estate.id}).status_code == 404
    )


def test_a_supervisor_creates_a_meter_plan_and_changes_it(demo):
    pump = demo.estate.equipment.get(code="PUMP-01")
    controller = Device.objects.get(code="pump-01")
    client = demo.api("supervisor")
    response = client.post(
        "/api/v1/maintenance-plans",
        {
            "equipment_id": pump.id,
            "name": "运行小时保养",
            "trigger": "meter",
            "device_id": controller.id,
            "metric": "run_hours",
            "meter_value": 2000,
            "meter_every": 500,
            "min_wait_hours": 24,
            "checklist": ["更换润滑脂"],
        },
        content_type="application/json",
    )
    assert response.status_code == 201, response.json()
    plan = MaintenancePlan.objects.get(pk=response.json()["id"])
    assert (plan.trigger, plan.category.code, plan.created_by) == ("meter", "plumbing", demo.supervisor)
    changed = client.patch(
        f"/api/v1/maintenance-plans/{plan.id}", {"min_wait_hours": 48}, content_type="application/json"
    )
    assert changed.status_code == 200 and changed.json()["min_wait_hours"] == 48
    assert changed.json()["meter_value"] == 2000
    listed = demo.api("technician").get("/api/v1/maintenance-plans", {"equipment_id": pump.id}).json()
    assert [row["id"] for row in listed] == [plan.id]


def test_a_plan_with_bad_input_is_refused_naming_each_field(demo):
    pump = demo.estate.equipment.get(code="PUMP-01")
    far_item = ef.pump(demo, code="PUMP-09", estate=demo.other_estate)
    far_device = ef.device(demo, far_item, code="far")
    client = demo.api("manager")
    response = client.post(
        "/api/v1/maintenance-plans",
        {"equipment_id": pump.id, "name": "x", "trigger": "calendar", "interval_unit": "week", "basis": "schedule"},
        content_type="application/json",
    )
    assert response.status_code == 422
    assert {error["field"] for error in response.json()["errors"]} == {"interval", "starts_at"}
    response = client.post(
        "/api/v1/maintenance-plans",
        {"equipment_id": pump.id, "name": "x", "trigger": "meter", "device_id": far_device.id, "meter_value": 1},
        content_type="application/json",
    )
    assert response.status_code == 422
    assert [error["field"] for error in response.json()["errors"]] == ["device_id"]
    response = client.post(
        "/api/v1/maintenance-plans",
        {"equipment_id": pump.id, "name": "x", "trigger": "hourly", "lead_days": 500},
        content_type="application/json",
    )
    assert response.status_code == 422
    assert {error["field"] for error in response.json()["errors"]} == {"trigger", "lead_days"}
    assert not MaintenancePlan.objects.exists()


def test_a_plan_created_through_the_api_opens_its_orders_when_the_scheduler_runs(demo):
    lift = demo.estate.equipment.get(code="LIFT-1-1")
    response = demo.api("manager").post(
        "/api/v1/maintenance-plans",
        {
            "equipment_id": lift.id,
            "name": "电梯半月保养",
            "trigger": "calendar",
            "interval": 15,
            "interval_unit": "day",
            "basis": "schedule",
            "starts_at": (NOW + dt.timedelta(days=1)).isoformat(),
            "lead_days": 1,
            "checklist": ["检查曳引机", "检查门锁回路"],
        },
        content_type="application/json",
    )
    assert response.status_code == 201
    assert services.plans_run(now=NOW) == 1
    body = demo.api("manager").get(f"/api/v1/maintenance-plans?equipment_id={lift.id}").json()[0]
    assert len(body["orders"]) == 1
    assert body["next_due"].startswith((NOW + dt.timedelta(days=16)).date().isoformat())


def test_odd_plan_input_is_refused_naming_the_field_never_a_server_error(demo):
    pump = demo.estate.equipment.get(code="PUMP-01")
    controller = Device.objects.get(code="pump-01")
    client = demo.api("manager")
    calendar = {"equipment_id": pump.id, "name": "x", "trigger": "calendar", "interval": 1, "basis": "schedule"}
    cases = [
        ({**calendar, "interval_unit": "month", "interval": 121, "starts_at": "2026-12-01T09:00:00+08:00"}, "interval"),
        ({**calendar, "interval_unit": "day", "starts_at": "2026-12-01T09:00:00"}, "starts_at"),
        ({**calendar, "interval_unit": "day", "starts_at": "tomorrow"}, "starts_at"),
        (
            {**calendar, "interval_unit": "day", "starts_at": "2026-12-01T09:00:00+08:00", "checklist": ["x" * 201]},
            "checklist.1",
        ),
        (
            {
                "equipment_id": pump.id,
                "name": "m",
                "trigger": "meter",
                "device_id": controller.id,
                "metric": "a",
                "meter_value": "nan",
            },
            "meter_value",
        ),
        (
            {
                "equipment_id": pump.id,
                "name": "m",
                "trigger": "meter",
                "device_id": controller.id,
                "metric": "a",
                "meter_value": 1,
                "meter_every": "inf",
            },
            "meter_every",
        ),
        ({**calendar, "category_id": 999999, "interval_unit": "day"}, "category_id"),
    ]
    for body, field in cases:
        response = client.post("/api/v1/maintenance-plans", body, content_type="application/json")
        assert response.status_code == 422, (body, response.content)
        assert field in [error["field"] for error in response.json()["errors"]], (body, response.json())
    missing = client.post(
        "/api/v1/maintenance-plans", {**calendar, "equipment_id": 999999}, content_type="application/json"
    )
    assert missing.status_code == 404
    assert client.patch("/api/v1/maintenance-plans/999999", {}, content_type="application/json").status_code == 404
    assert client.get("/api/v1/equipment", {"q": "x" * 61}).status_code == 422
