"""The alarms API: list with filters, detail with history, acknowledge, assign, clear — and who may do what."""

import pytest

from wuye.iot.choices import AlarmStatus

from .alarm_fixtures import fresh_alarm

pytestmark = pytest.mark.django_db


def test_the_list_shows_only_the_callers_estates_open_first_and_filters(cast):
    mine = fresh_alarm(cast.estate, severity="critical")
    cleared = fresh_alarm(cast.estate)
    cleared.status = AlarmStatus.CLEARED
    cleared.save(update_fields=["status"])
    fresh_alarm(cast.other_estate)
    api = cast.api("supervisor")
    everything = api.get("/api/v1/alarms").json()
    assert everything["count"] == 2
    only_open = api.get("/api/v1/alarms?status=open").json()
    assert [item["id"] for item in only_open["items"]] == [mine.id]
    assert only_open["items"][0]["reason"] == "pressure 为 1.5 MPa，超过上限 1 MPa"  # the reader's language
    critical = api.get(f"/api/v1/alarms?severity=critical&device_id={mine.device_id}").json()
    assert [item["id"] for item in critical["items"]] == [mine.id]
    assert api.get("/api/v1/alarms?severity=minor").json()["count"] == 0
    stranger = cast.api("stranger_supervisor").get("/api/v1/alarms").json()
    assert stranger["count"] == 1


def test_a_bad_filter_names_the_field(cast):
    response = cast.api("supervisor").get("/api/v1/alarms?status=gone")
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "status"


def test_acknowledging_twice_is_a_conflict_naming_the_status(cast):
    alarm = fresh_alarm(cast.estate)
    api = cast.api("technician")
    first = api.post(f"/api/v1/alarms/{alarm.id}/acknowledge", content_type="application/json")
    assert first.status_code == 200
    body = first.json()
    assert (body["status"], body["acknowledged_by"]["id"]) == ("acknowledged", cast.technician.id)
    assert [event["action"] for event in body["events"]] == ["raise", "acknowledge"]
    assert body["allowed_actions"] == ["clear"]
    again = api.post(f"/api/v1/alarms/{alarm.id}/acknowledge", content_type="application/json")
    assert again.status_code == 409
    assert again.json()["code"] == "invalid_transition"


def test_clearing_without_a_note_is_refused_naming_the_note(cast):
    alarm = fresh_alarm(cast.estate)
    response = cast.api("technician").post(
        f"/api/v1/alarms/{alarm.id}/clear", {"note": ""}, content_type="application/json"
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "note"
    alarm.refresh_from_db()
    assert alarm.status == AlarmStatus.RAISED


def test_assigning_to_someone_who_cannot_answer_alarms_is_refused_naming_the_assignee(cast):
    alarm = fresh_alarm(cast.estate)
    for who in (cast.service_agent, cast.stranger_supervisor):
        response = cast.api("supervisor").post(
            f"/api/v1/alarms/{alarm.id}/assign", {"assignee_id": who.id}, content_type="application/json"
        )
        assert response.status_code == 422
        assert response.json()["errors"][0]["field"] == "assignee_id"
    missing = cast.api("supervisor").post(f"/api/v1/alarms/{alarm.id}/assign", {}, content_type="application/json")
    assert missing.status_code == 422
    assert missing.json()["errors"][0]["field"] == "assignee_id"


def test_the_list_costs_the_same_few_queries_for_one_alarm_or_many(cast, django_assert_max_num_queries):
    for _ in range(15):
        fresh_alarm(cast.estate)
    api = cast.api("supervisor")
    api.get("/api/v1/alarms")  # the token is looked up and cached on the first call
    with django_assert_max_num_queries(8):
        assert len(api.get("/api/v1/alarms?limit=100").json()["items"]) == 15
