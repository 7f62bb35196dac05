"""The work-order API with the cast: reporting, the queue, one order's clocks and timeline, actions, photos."""

import datetime as dt
import re

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext

from wuye.workorders import services
from wuye.workorders.choices import Kind, Status
from wuye.workorders.models import WorkOrder, WorkOrderEvent, WorkOrderPhoto

from . import factories as wf

pytestmark = pytest.mark.django_db

LIST = "/api/v1/workorders"
# Tuesday 24 Nov 2026, 12:00 in Shanghai: inside the default service hours (08:00–20:00).
NOON = dt.datetime(2026, 11, 24, 4, 0, tzinfo=dt.UTC)


@pytest.fixture
def wo_cast(cast):
    wf.seed_catalogue(cast)
    return cast


def detail_url(order_id: int) -> str:
    return f"{LIST}/{order_id}"


def action_url(order_id: int, action: str) -> str:
    return f"{LIST}/{order_id}/actions/{action}"


def post_json(client, url: str, body=None, **headers):
    if body is None:  # no body at all, as `fetch(url, {method: "POST"})` sends
        return client.generic("POST", url, b"", headers=headers)
    return client.post(url, data=body, content_type="application/json", headers=headers)


def repair_body(cast, **changes) -> dict:
    body = {
        "estate_id": cast.estate.id,
        "kind": Kind.REPAIR_HOME,
        "category_id": wf.category(cast, "plumbing").id,
        "room_id": cast.room.id,
        "description": "卫生间下水道堵塞",
    }
    body.update(changes)
    return body


def upload(name: str, content: bytes, content_type: str = "image/png") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type=content_type)


def post_photos(client, order_id: int, files: list, stage: str = "report"):
    return client.post(f"{LIST}/{order_id}/photos", data={"file": files, "stage": stage})


def other_owners_order(cast) -> WorkOrder:
    new = services.NewOrder(
        estate=cast.estate,
        kind=Kind.REPAIR_HOME,
        category=wf.category(cast),
        description="阳台漏水",
        room=cast.other_room,
        reporter=cast.other_owner,
    )
    return services.workorder_create(actor=cast.other_owner, new=new)[0]


def field_names(response) -> set[str]:
    return {error["field"] for error in response.json().get("errors", [])}


# ---------------------------------------------------------------- create


def test_owner_reports_a_repair_and_gets_201_with_a_dated_number(wo_cast):
    response = post_json(wo_cast.api("owner"), LIST, repair_body(wo_cast))

    assert response.status_code == 201, response.json()
    data = response.json()
    assert re.fullmatch(r"WO\d{8}-\d{6}", data["number"])
    assert data["status"] == Status.SUBMITTED
    assert data["channel"] == "portal"
    assert data["reporter"] == {"id": wo_cast.owner.id, "name": "王业主"}
    assert data["place"] == "翠湖花园 1-1-101"
    assert data["contact_phone"] == wo_cast.owner.phone
    assert WorkOrder.objects.get(pk=data["id"]).created_by == wo_cast.owner


def test_a_retry_with_the_same_idempotency_key_returns_the_first_order_and_creates_nothing(wo_cast):
    client = wo_cast.api("owner")
    first = post_json(client, LIST, repair_body(wo_cast), **{"Idempotency-Key": "portal-7f3a"})
    retry = post_json(client, LIST, repair_body(wo_cast), **{"Idempotency-Key": "portal-7f3a"})

    assert first.status_code == 201
    assert retry.status_code == 200
    assert retry.json()["id"] == first.json()["id"]
    assert retry.json()["number"] == first.json()["number"]
    assert WorkOrder.objects.count() == 1
    assert WorkOrderEvent.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_outside_any_transaction_a_retry_also_returns_the_first_order_and_the_next_number_follows(cast):
    """As in production (autocommit): on PostgreSQL the create is then one statement with no transaction of its own,
    and the refused replay must leave the connection usable and the day's counter where the first create left it."""
    wf.seed_catalogue(cast)
    client = cast.api("owner")
    body = repair_body(cast)
    first = post_json(client, LIST, body, **{"Idempotency-Key": "autocommit-1"})
    retry = post_json(client, LIST, body, **{"Idempotency-Key": "autocommit-1"})
    other = post_json(client, LIST, body, **{"Idempotency-Key": "autocommit-2"})
    assert (first.status_code, retry.status_code, other.status_code) == (201, 200, 201)
    assert retry.json()["number"] == first.json()["number"]
    assert int(other.json()["number"][-6:]) == int(first.json()["number"][-6:]) + 1
    assert WorkOrder.objects.count() == 2 and WorkOrderEvent.objects.count() == 2


def test_the_create_answer_is_the_order_as_every_other_answer_shows_it(wo_cast):
    """The 201 body is rendered without a second validation pass: it must be exactly what GET /workorders/{id} and
    the validated replay answer (200) return, with every field of the schema, for an owner's report and for a
    staff member's phone entry with contacts and an appointment."""
    from wuye.workorders.schemas import WorkOrderOut

    owner = wo_cast.api("owner")
    staff = wo_cast.api("service_agent")
    cases = [
        (owner, repair_body(wo_cast)),
        (
            staff,
            repair_body(
                wo_cast,
                on_behalf_of_user_id=wo_cast.owner.id,
                contact_name="王先生",
                contact_phone="13800138000",
                appointment_start="2026-11-25T09:00:00",
                appointment_end="2026-11-25T11:00:00",
            ),
        ),
    ]
    with time_machine.travel(NOON, tick=False):
        for client, body in cases:
            created = post_json(client, LIST, body, **{"Idempotency-Key": f"same-{len(body)}"})
            assert created.status_code == 201, created.json()
            replay = post_json(client, LIST, body, **{"Idempotency-Key": f"same-{len(body)}"})
            fetched = client.get(detail_url(created.json()["id"]))
            assert replay.status_code == 200 and fetched.status_code == 200
            # (The first run of this test found the appointment shown at +08:00 in the answer, Z everywhere else.)
            assert created.json() == fetched.json() == replay.json()
            assert set(created.json()) == set(WorkOrderOut.model_fields)
            assert created["Content-Type"] == fetched["Content-Type"]
    assert created.json()["appointment_start"] is not None and created.json()["sla"]


def test_another_idempotency_key_creates_another_order(wo_cast):
    client = wo_cast.api("owner")
    first = post_json(client, LIST, repair_body(wo_cast), **{"Idempotency-Key": "a"})
    second = post_json(client, LIST, repair_body(wo_cast), **{"Idempotency-Key": "b"})

    assert {first.status_code, second.status_code} == {201}
    assert first.json()["id"] != second.json()["id"]


def test_an_idempotency_key_over_80_characters_is_refused_naming_the_header(wo_cast):
    response = post_json(wo_cast.api("owner"), LIST, repair_body(wo_cast), **{"Idempotency-Key": "k" * 81})

    assert response.status_code == 422
    assert field_names(response) == {"Idempotency-Key"}
    assert not WorkOrder.objects.exists()


def test_owner_reporting_for_someone_elses_room_gets_422_naming_room_id(wo_cast):
    response = post_json(wo_cast.api("owner"), LIST, repair_body(wo_cast, room_id=wo_cast.other_room.id))

    assert response.status_code == 422
    assert response.json()["errors"] == [
        {"field": "room_id", "code": "not_your_room", "message": "只能为您居住的房屋报事。"}
    ]
    assert not WorkOrder.objects.exists()


def test_owner_reporting_in_an_estate_they_do_not_live_in_gets_404(wo_cast):
    body = repair_body(wo_cast, estate_id=wo_cast.other_estate.id, room_id=wo_cast.stranger_room.id)

    response = post_json(wo_cast.api("owner"), LIST, body)

    assert response.status_code == 404


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"estate_id": "one"}, "estate_id"),
        ({"kind": "burglary"}, "kind"),
        ({"room_id": [1]}, "room_id"),
        ({"description": "x" * 2001}, "description"),
        ({"priority": "whenever"}, "priority"),
        ({"appointment_start": "tomorrow"}, "appointment_start"),
    ],
)
def test_a_badly_typed_field_is_422_naming_it(wo_cast, changes, field):
    response = post_json(wo_cast.api("owner"), LIST, repair_body(wo_cast, **changes))

    assert response.status_code == 422
    assert field in field_names(response)
    assert not WorkOrder.objects.exists()


def test_a_category_of_another_company_is_422(wo_cast):
    foreign = wf.Category.objects.get(company=wo_cast.other_company, code="plumbing")

    response = post_json(wo_cast.api("owner"), LIST, repair_body(wo_cast, category_id=foreign.id))

    assert response.status_code == 422
    assert field_names(response) == {"category_id"}


def test_owners_may_not_raise_staff_kinds(wo_cast):
    response = post_json(wo_cast.api("owner"), LIST, repair_body(wo_cast, kind=Kind.MAINTENANCE))

    assert response.status_code == 422
    assert "kind" in field_names(response)


def test_owner_may_not_enter_a_request_on_someone_elses_behalf(wo_cast):
    body = repair_body(wo_cast, on_behalf_of_user_id=wo_cast.other_owner.id)

    response = post_json(wo_cast.api("owner"), LIST, body)

    assert response.status_code == 403
    assert not WorkOrder.objects.exists()


def test_customer_service_enters_a_phone_request_for_an_owner_who_then_sees_it(wo_cast):
    body = repair_body(wo_cast, on_behalf_of_user_id=wo_cast.owner.id, contact_phone="138 1234 5678")

    response = post_json(wo_cast.api("service_agent"), LIST, body)

    assert response.status_code == 201, response.json()
    data = response.json()
    assert data["channel"] == "phone"
    assert data["reporter"]["id"] == wo_cast.owner.id
    assert data["contact_phone"] == "13812345678"
    order = WorkOrder.objects.get(pk=data["id"])
    assert order.created_by == wo_cast.service_agent
    assert [item["id"] for item in wo_cast.api("owner").get(LIST).json()["items"]] == [order.id]


def test_staff_entering_for_a_person_who_does_not_live_in_the_estate_is_422(wo_cast):
    body = repair_body(wo_cast, on_behalf_of_user_id=wo_cast.stranger_supervisor.id)

    response = post_json(wo_cast.api("service_agent"), LIST, body)

    assert response.status_code == 422
    assert "on_behalf_of_user_id" in field_names(response)


def test_staff_entering_for_an_owner_must_use_a_room_the_owner_lives_in(wo_cast):
    body = repair_body(wo_cast, on_behalf_of_user_id=wo_cast.owner.id, room_id=wo_cast.other_room.id)

    response = post_json(wo_cast.api("service_agent"), LIST, body)

    assert response.status_code == 422
    assert field_names(response) == {"room_id"}


@time_machine.travel(NOON, tick=False)
def test_an_appointment_without_an_offset_is_shanghai_time(wo_cast):
    body = repair_body(wo_cast, appointment_start="2026-11-25T09:00:00", appointment_end="2026-11-25T11:00:00")

    response = post_json(wo_cast.api("owner"), LIST, body)

    assert response.status_code == 201, response.json()
    order = WorkOrder.objects.get(pk=response.json()["id"])
    assert order.appointment_start == dt.datetime(2026, 11, 25, 1, 0, tzinfo=dt.UTC)
    arrive = next(step for step in response.json()["sla"] if step["step"] == "arrive")
    assert dt.datetime.fromisoformat(arrive["due_at"]) == dt.datetime(2026, 11, 25, 3, 0, tzinfo=dt.UTC)


# ---------------------------------------------------------------- list


def test_owners_see_only_their_own_orders(wo_cast):
    mine = wf.order(wo_cast)
    theirs = other_owners_order(wo_cast)

    owner_ids = [item["id"] for item in wo_cast.api("owner").get(LIST).json()["items"]]
    other_ids = [item["id"] for item in wo_cast.api("other_owner").get(LIST).json()["items"]]
    staff = wo_cast.api("service_agent").get(LIST).json()

    assert owner_ids == [mine.id]
    assert other_ids == [theirs.id]
    assert staff["count"] == 2
    assert wo_cast.api("stranger_supervisor").get(LIST).json() == {"count": 0, "items": []}


@time_machine.travel(NOON, tick=False)
def test_staff_filter_the_queue_by_status_and_sla_state(wo_cast):
    late = wf.order(wo_cast, now=NOON - dt.timedelta(minutes=60))  # accept due 11:30 local: breached at noon
    warned = wf.order(wo_cast, now=NOON - dt.timedelta(minutes=26))  # warning at 11:58, due 12:04
    fresh = wf.order(wo_cast, now=NOON - dt.timedelta(minutes=5))
    client = wo_cast.api("supervisor")
    post_json(wo_cast.api("service_agent"), action_url(fresh.id, "accept"))

    def ids(**params):
        response = client.get(LIST, params)
        assert response.status_code == 200, response.json()
        return [item["id"] for item in response.json()["items"]]

    assert ids(sla_state="breached") == [late.id]
    assert ids(sla_state="warning") == [warned.id]
    assert ids(sla_state="ok") == [fresh.id]
    assert ids(status="accepted") == [fresh.id]
    assert ids(status="submitted") == [warned.id, late.id]
    assert ids(status="submitted", sla_state="breached") == [late.id]
    items = {item["id"]: item for item in client.get(LIST).json()["items"]}
    assert items[late.id]["sla_state"] == "breached"
    assert items[late.id]["sla_step"] == "accept"
    assert items[warned.id]["sla_state"] == "warning"
    assert items[fresh.id]["sla_state"] == "ok"
    assert items[fresh.id]["sla_step"] == "dispatch"


def test_the_queue_filters_by_assignee_and_text(wo_cast):
    dispatched = wf.order(wo_cast, status="dispatched")
    waiting = wf.order(wo_cast)

    mine = wo_cast.api("technician").get(LIST, {"assignee": "me"}).json()
    unassigned = wo_cast.api("supervisor").get(LIST, {"assignee": "none"}).json()
    by_number = wo_cast.api("supervisor").get(LIST, {"q": waiting.number[-6:]}).json()

    assert [item["id"] for item in mine["items"]] == [dispatched.id]
    assert mine["items"][0]["assignee_name"] == "technician-员工"
    assert [item["id"] for item in unassigned["items"]] == [waiting.id]
    assert [item["id"] for item in by_number["items"]] == [waiting.id]


def test_bad_list_filters_are_422_naming_the_field(wo_cast):
    client = wo_cast.api("supervisor")

    assert field_names(client.get(LIST, {"sla_state": "late"})) == {"sla_state"}
    assert field_names(client.get(LIST, {"assignee": "everyone"})) == {"assignee"}
    assert field_names(client.get(LIST, {"limit": 101})) == {"limit"}
    assert field_names(client.get(LIST, {"status": "done"})) == {"status"}


def test_listing_twenty_orders_costs_the_same_queries_as_two(wo_cast, django_assert_max_num_queries):
    for _ in range(2):
        wf.order(wo_cast, status="dispatched")
    client = wo_cast.api("supervisor")
    client.get(LIST)  # the token's first use updates its last-used time
    with CaptureQueriesContext(connection) as two:
        assert client.get(LIST).json()["count"] == 2
    for _ in range(18):
        wf.order(wo_cast, status="dispatched")

    with django_assert_max_num_queries(len(two.captured_queries)):
        response = client.get(LIST)

    assert len(response.json()["items"]) == 20
    assert len(two.captured_queries) <= 10


# ---------------------------------------------------------------- detail


def test_detail_has_the_timeline_from_submission_and_a_clock_per_step(wo_cast):
    order = wf.order(wo_cast, status="accepted")

    data = wo_cast.api("owner").get(detail_url(order.id)).json()

    assert [event["action"] for event in data["events"]] == ["submit", "accept"]
    assert data["events"][0]["actor"] == {"id": wo_cast.owner.id, "name": "王业主"}
    assert data["events"][1]["actor"]["name"] == "service_agent-员工"
    assert data["events"][1]["to_status"] == "accepted"
    assert [step["step"] for step in data["sla"]] == ["accept", "dispatch", "arrive", "resolve"]
    accept = data["sla"][0]
    assert accept["state"] == "met"
    assert accept["met_at"] is not None
    assert accept["overdue_minutes"] is None
    assert data["category"]["id"] == order.category_id
    assert data["category"]["code"] == "plumbing"


def test_a_new_repair_runs_accept_arrive_and_resolve_clocks(wo_cast):
    created = post_json(wo_cast.api("owner"), LIST, repair_body(wo_cast)).json()

    steps = {step["step"]: step for step in created["sla"]}

    assert set(steps) == {"accept", "arrive", "resolve"}
    assert all(step["state"] == "pending" for step in steps.values())
    assert created["events"][0]["action"] == "submit"


def test_an_overdue_step_shows_how_late_it_is(wo_cast):
    order = wf.order(wo_cast, now=NOON - dt.timedelta(hours=2))  # accept due 10:30 local

    with time_machine.travel(NOON, tick=False):
        accept = wo_cast.api("supervisor").get(detail_url(order.id)).json()["sla"][0]

    assert accept["state"] == "breached"
    assert accept["overdue_minutes"] == 90


def test_allowed_actions_are_what_the_role_and_the_state_both_allow(wo_cast):
    order = wf.order(wo_cast)

    def allowed(member):
        return wo_cast.api(member).get(detail_url(order.id)).json()["allowed_actions"]

    assert allowed("owner") == ["cancel", "urge"]
    assert allowed("service_agent") == ["accept", "classify", "cancel"]
    assert allowed("technician") == []
    assert allowed("supervisor") == ["accept", "classify", "force_close", "cancel"]


def test_the_contact_phone_is_masked_except_for_reporter_assignee_and_desk(wo_cast):
    order = wf.order(wo_cast, status="dispatched")
    wf.second_technician(wo_cast)
    full = wo_cast.owner.phone

    def phone(member):
        return wo_cast.api(member).get(detail_url(order.id)).json()["contact_phone"]

    assert phone("owner") == full
    assert phone("technician") == full  # the assignee calls the owner
    assert phone("service_agent") == full
    assert phone("manager") == full
    assert phone("technician2") == f"{full[:3]}****{full[-4:]}"


# ---------------------------------------------------------------- actions


def test_the_whole_loop_through_the_api_from_report_to_closed(wo_cast):
    created = post_json(wo_cast.api("owner"), LIST, repair_body(wo_cast)).json()
    steps = [
        ("service_agent", "accept", None, "accepted"),
        ("supervisor", "dispatch", {"assignee_id": wo_cast.technician.id}, "dispatched"),
        ("technician", "take", None, "taken"),
        ("technician", "arrive", {}, "arrived"),
        ("technician", "start", {}, "in_progress"),
        (
            "technician",
            "resolve",
            {"resolution": "疏通下水道", "materials": [{"name": "疏通剂", "quantity": 1, "unit": "瓶"}]},
            "resolved",
        ),
        ("owner", "rate", {"verdict": "good", "score": 5, "comment": "很及时"}, "rated"),
        ("service_agent", "visit", {"satisfied": True, "note": "业主满意"}, "visited"),
        ("supervisor", "close", None, "closed"),
    ]
    for member, action, body, status in steps:
        response = post_json(wo_cast.api(member), action_url(created["id"], action), body)
        assert response.status_code == 200, (action, response.json())
        assert response.json()["status"] == status

    data = response.json()
    assert data["closed_at"] is not None
    assert data["score"] == 5
    assert data["materials"] == [{"name": "疏通剂", "quantity": 1.0, "unit": "瓶"}]
    assert data["assignee"]["id"] == wo_cast.technician.id
    assert [event["action"] for event in data["events"]] == ["submit"] + [step[1] for step in steps]
    assert data["allowed_actions"] == ["reopen"]


def test_an_impossible_move_is_409_naming_the_current_status(wo_cast):
    order = wf.order(wo_cast, status="accepted")

    response = post_json(wo_cast.api("service_agent"), action_url(order.id, "accept"))

    assert response.status_code == 409
    assert response.json()["code"] == "invalid_transition"
    message = response.json()["message"]
    assert "Accepted" in message or "已受理" in message
    assert WorkOrder.objects.get(pk=order.id).status == Status.ACCEPTED


def test_an_unknown_action_is_422_naming_the_action(wo_cast):
    order = wf.order(wo_cast)

    response = post_json(wo_cast.api("service_agent"), action_url(order.id, "approve"))

    assert response.status_code == 422
    assert field_names(response) == {"action"}
    assert "accept" in response.json()["errors"][0]["message"]


def test_acting_on_an_order_the_user_cannot_see_is_404(wo_cast):
    order = wf.order(wo_cast)

    assert post_json(wo_cast.api("other_owner"), action_url(order.id, "urge")).status_code == 404
    assert post_json(wo_cast.api("stranger_supervisor"), action_url(order.id, "accept")).status_code == 404


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"verdict": "good", "score": "five"}, "score"),
        ({"verdict": "good", "score": 6}, "score"),
        ({"verdict": "meh", "score": 3}, "verdict"),
        ({"verdict": "good", "score": 5, "comment": "x" * 501}, "comment"),
    ],
)
def test_badly_typed_action_fields_are_422_naming_the_field(wo_cast, body, field):
    order = wf.order(wo_cast, status="resolved")

    response = post_json(wo_cast.api("owner"), action_url(order.id, "rate"), body)

    assert response.status_code == 422
    assert field_names(response) == {field}
    assert WorkOrder.objects.get(pk=order.id).status == Status.RESOLVED


def test_a_missing_required_parameter_is_422_from_the_service(wo_cast):
    order = wf.order(wo_cast, status="in_progress")

    response = post_json(wo_cast.api("technician"), action_url(order.id, "resolve"), {})

    assert response.status_code == 422
    assert field_names(response) == {"resolution"}


def test_a_malformed_material_is_422_naming_the_nested_field(wo_cast):
    order = wf.order(wo_cast, status="in_progress")
    body = {"resolution": "换阀门", "materials": [{"name": "阀门", "quantity": -1}]}

    response = post_json(wo_cast.api("technician"), action_url(order.id, "resolve"), body)

    assert response.status_code == 422
    assert field_names(response) == {"materials.0.quantity"}


def test_a_complaint_closes_only_with_a_supervisors_sign_off(wo_cast):
    complaint = wf.order(wo_cast, status="visited", kind=Kind.COMPLAINT, code="noise")

    refused = post_json(wo_cast.api("service_agent"), action_url(complaint.id, "close"))
    signed = post_json(wo_cast.api("supervisor"), action_url(complaint.id, "close"))

    assert refused.status_code == 403
    assert signed.status_code == 200
    assert signed.json()["status"] == Status.CLOSED


def test_urging_twice_within_30_minutes_is_429(wo_cast):
    order = wf.order(wo_cast, status="taken")
    client = wo_cast.api("owner")

    with time_machine.travel(NOON, tick=False):
        first = post_json(client, action_url(order.id, "urge"))
    with time_machine.travel(NOON + dt.timedelta(minutes=20), tick=False):
        second = post_json(client, action_url(order.id, "urge"))
    with time_machine.travel(NOON + dt.timedelta(minutes=31), tick=False):
        third = post_json(client, action_url(order.id, "urge"))

    assert first.status_code == 200
    assert second.status_code == 429
    assert second.json()["code"] == "throttled"
    assert third.status_code == 200
    assert WorkOrder.objects.get(pk=order.id).urge_count == 2


def test_dispatch_candidates_are_the_estates_front_line_staff(wo_cast):
    order = wf.order(wo_cast, status="accepted")
    wf.second_technician(wo_cast)
    wf.order(wo_cast, status="dispatched")

    response = wo_cast.api("supervisor").get(f"{LIST}/{order.id}/candidates")

    assert response.status_code == 200
    people = {person["id"]: person for person in response.json()}
    assert set(people) == {wo_cast.technician.id, wo_cast.technician2.id}
    assert people[wo_cast.technician.id]["open_orders"] == 1
    assert people[wo_cast.technician2.id]["open_orders"] == 0


def test_owners_get_the_categories_of_the_kinds_they_may_report(wo_cast):
    url = "/api/v1/workorder-categories"
    owner = wo_cast.api("owner").get(url, {"estate_id": wo_cast.estate.id, "kind": "complaint"}).json()
    staff = wo_cast.api("supervisor").get(url, {"estate_id": wo_cast.estate.id, "kind": "alarm"}).json()
    owner_alarm = wo_cast.api("owner").get(url, {"estate_id": wo_cast.estate.id, "kind": "alarm"}).json()

    assert "noise" in {category["code"] for category in owner}
    assert "plumbing" not in {category["code"] for category in owner}
    assert "lift" in {category["code"] for category in staff}
    assert owner_alarm == []


# ---------------------------------------------------------------- photos


def test_a_real_png_is_stored_re_encoded_and_served_back(wo_cast):
    order = wf.order(wo_cast)

    response = post_photos(wo_cast.api("owner"), order.id, [upload("leak.png", wf.png_bytes())])

    assert response.status_code == 201, response.json()
    (photo,) = response.json()["photos"]
    assert photo["stage"] == "report"
    assert (photo["width"], photo["height"]) == (64, 48)
    stored = WorkOrderPhoto.objects.get(pk=photo["id"])
    assert stored.file.startswith(f"workorders/{wo_cast.estate.id}/")
    assert "leak" not in stored.file
    served = wo_cast.api("technician").get(photo["url"])
    assert served.status_code == 200
    assert served["Content-Type"] in ("image/jpeg", "image/png")
    body = b"".join(served.streaming_content)
    assert body.startswith(b"\xff\xd8\xff") or body.startswith(b"\x89PNG")


def test_a_text_file_named_jpg_is_422_not_an_image(wo_cast):
    order = wf.order(wo_cast)

    response = post_photos(
        wo_cast.api("owner"), order.id, [upload("photo.jpg", b"this is not a photo\n", "image/jpeg")]
    )

    assert response.status_code == 422
    assert response.json()["code"] == "not_an_image"
    assert response.json()["errors"][0]["field"] == "file"
    assert response.json()["errors"][0]["code"] == "not_an_image"
    assert not WorkOrderPhoto.objects.exists()


def test_a_seventh_photo_of_a_stage_is_422(wo_cast):
    order = wf.order(wo_cast)
    client = wo_cast.api("owner")
    six = [upload(f"{n}.png", wf.png_bytes(color=(n * 30, 0, 0))) for n in range(6)]

    assert post_photos(client, order.id, six).status_code == 201
    response = post_photos(client, order.id, [upload("7.png", wf.png_bytes())])

    assert response.status_code == 422
    assert response.json()["errors"][0]["code"] == "too_many_photos"
    assert WorkOrderPhoto.objects.filter(order=order).count() == 6


def test_the_assignee_adds_before_photos_and_the_owner_may_not(wo_cast):
    order = wf.order(wo_cast, status="arrived")

    technician = post_photos(wo_cast.api("technician"), order.id, [upload("b.png", wf.png_bytes())], stage="before")
    owner = post_photos(wo_cast.api("owner"), order.id, [upload("b.png", wf.png_bytes())], stage="before")

    assert technician.status_code == 201
    assert owner.status_code == 403


def test_report_photos_close_once_the_order_is_dispatched(wo_cast):
    order = wf.order(wo_cast, status="dispatched")

    response = post_photos(wo_cast.api("owner"), order.id, [upload("late.png", wf.png_bytes())])

    assert response.status_code == 409
    assert "Dispatched" in response.json()["message"] or "已派单" in response.json()["message"]


def test_a_photo_of_an_order_the_user_cannot_see_is_404(wo_cast):
    order = wf.order(wo_cast)
    photo = wf.photo(order)
    url = f"{LIST}/{order.id}/photos/{photo.id}"

    assert wo_cast.api("other_owner").get(url).status_code == 404
    assert wo_cast.api("stranger_supervisor").get(url).status_code == 404
    other = other_owners_order(wo_cast)
    assert wo_cast.api("owner").get(f"{LIST}/{other.id}/photos/{photo.id}").status_code == 404
