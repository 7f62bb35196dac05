"""The task API end to end: my tasks of a day, the role pool, one task with what it asks for, proof photos, start
and finish, and clear refusals."""

import datetime as dt

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext

from wuye.standards import services
from wuye.standards.models import Task

from . import factories as sf
from .factories import NOW, local

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def at_now():
    with time_machine.travel(NOW, tick=False):
        yield


def test_my_tasks_today_lists_my_task_with_what_i_can_do(cast):
    task = sf.task(cast)
    response = cast.api("technician").get("/api/v1/standards/tasks")
    assert response.status_code == 200
    (item,) = response.json()
    assert item["id"] == task.id
    assert item["status"] == "pending" and item["status_label"]
    assert item["allowed_actions"] == ["start", "finish"]
    assert dt.datetime.fromisoformat(item["window_start"]) == local(2026, 11, 27, 7)


def test_a_supervisor_sees_the_estates_tasks_only_with_scope_all(cast):
    sf.task(cast)
    supervisor = cast.api("supervisor")
    assert supervisor.get("/api/v1/standards/tasks").json() == []
    (item,) = supervisor.get("/api/v1/standards/tasks?scope=all").json()
    assert item["allowed_actions"] == []  # seeing is not doing
    assert cast.api("stranger_supervisor").get("/api/v1/standards/tasks?scope=all").json() == []


def test_another_day_and_a_status_filter(cast):
    task = sf.task(cast)
    technician = cast.api("technician")
    tomorrow = technician.get("/api/v1/standards/tasks?day=2026-11-28").json()
    assert [dt.datetime.fromisoformat(t["window_start"]).astimezone(sf.SH) for t in tomorrow] == [
        local(2026, 11, 28, 7)
    ]
    assert technician.get("/api/v1/standards/tasks?status=done").json() == []
    assert [t["id"] for t in technician.get("/api/v1/standards/tasks?status=pending").json()] == [task.id]


def test_bad_filters_are_named(cast):
    response = cast.api("technician").get("/api/v1/standards/tasks?status=finished&day=tomorrow")
    assert response.status_code == 422
    assert {error["field"] for error in response.json()["errors"]} == {"status", "day"}


def test_a_day_outside_the_calendar_is_refused_not_crashed(cast):
    for day in ("0001-01-01", "9999-12-31"):
        response = cast.api("technician").get(f"/api/v1/standards/tasks?day={day}")
        assert response.status_code == 422
        assert response.json()["errors"][0]["field"] == "day"


def test_the_role_pool_shows_to_each_holder_until_one_takes_it(cast):
    cleaner = sf.cleaner(cast)
    task = sf.task(cast, assignee_role="cleaner")
    client = cast.api("cleaner")
    assert [t["id"] for t in client.get("/api/v1/standards/tasks").json()] == [task.id]
    assert cast.api("technician").get("/api/v1/standards/tasks").json() == []
    started = client.post(f"/api/v1/standards/tasks/{task.id}/actions/start", data={}, content_type="application/json")
    assert started.status_code == 200
    assert started.json()["assignee"] == {"id": cleaner.id, "name": cleaner.display_name}


def test_finishing_a_photo_item_needs_the_photo_first(cast):
    task = sf.task(cast, plan_maker=lambda c, **extra: sf.plan(c, items=("cln-lobby", "eng-pump-room"), **extra))
    client = cast.api("technician")
    detail = client.get(f"/api/v1/standards/tasks/{task.id}").json()
    assert [(i["key"], i["evidence"], i["photos"]) for i in detail["items"]] == [
        ("cln-lobby", "photo", 0),
        ("eng-pump-room", "reading", 0),
    ]
    finish = f"/api/v1/standards/tasks/{task.id}/actions/finish"
    refused = client.post(
        finish, data={"evidence": {"eng-pump-room": {"reading": 0.36}}}, content_type="application/json"
    )
    assert refused.status_code == 422
    assert [(e["field"], e["code"]) for e in refused.json()["errors"]] == [("evidence.cln-lobby", "photo_required")]
    upload = client.post(
        detail["photos_url"],
        data={"file": [SimpleUploadedFile("a.png", sf.png_bytes(), content_type="image/png")], "item": "cln-lobby"},
    )
    assert upload.status_code == 201
    photo = upload.json()["photos"][0]
    assert client.get(photo["url"]).status_code == 200
    done = client.post(finish, data={"evidence": {"eng-pump-room": {"reading": 0.36}}}, content_type="application/json")
    assert done.status_code == 200
    body = done.json()
    assert body["status"] == "done" and body["allowed_actions"] == []
    assert body["evidence"]["eng-pump-room"] == {"evidence": "reading", "reading": 0.36, "unit": "MPa"}
    assert [e["action"] for e in body["events"]] == ["finish"]


def test_a_photo_for_an_item_without_photos_or_not_an_image_is_refused(cast):
    task = sf.task(cast)
    client = cast.api("technician")
    url = f"/api/v1/standards/tasks/{task.id}/photos"
    wrong_item = client.post(
        url,
        data={"file": [SimpleUploadedFile("a.png", sf.png_bytes(), content_type="image/png")], "item": "cln-stairwell"},
    )
    assert wrong_item.status_code == 422 and wrong_item.json()["errors"][0]["field"] == "item"
    not_image = client.post(
        url, data={"file": [SimpleUploadedFile("a.png", b"hello", content_type="image/png")], "item": "x"}
    )
    assert not_image.status_code == 422 and not_image.json()["errors"][0]["field"] == "file"


def test_an_unknown_action_is_named(cast):
    task = sf.task(cast)
    response = cast.api("technician").post(
        f"/api/v1/standards/tasks/{task.id}/actions/overdue", data={}, content_type="application/json"
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "action"


def test_a_window_days_ahead_answers_409(cast):
    plan = sf.tick_plan(cast)
    services.tasks_generate(plan=plan, now=NOW, horizon_days=3)
    later = Task.objects.get(plan=plan, window_start=local(2026, 11, 29, 7))
    response = cast.api("technician").post(
        f"/api/v1/standards/tasks/{later.id}/actions/start", data={}, content_type="application/json"
    )
    assert response.status_code == 409
    assert response.json()["code"] == "invalid_transition"


def _list_queries(cast, count: int) -> int:
    for _ in range(count):
        sf.task(cast)
    client = cast.api("technician")
    client.get("/api/v1/standards/tasks")  # warm the token
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/api/v1/standards/tasks")
    assert len(response.json()) == Task.objects.filter(window_start__lte=NOW).count()
    return len(queries)


def test_the_list_costs_the_same_queries_for_2_or_8_tasks(cast):
    few = _list_queries(cast, 2)
    many = _list_queries(cast, 6)
    assert few == many
