"""The desk's work-order pages, through the test client: the queue and its filters, a technician's orders, entering
an order on an owner's behalf, acting on an order from its page, return visits, and every refusal as a status."""

import datetime as dt
import io
import re

import pytest
import time_machine
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import translation
from django.utils.translation import gettext as _
from PIL import Image

from wuye.accounts import services as account_services
from wuye.testing.factories import UserFactory
from wuye.workorders import services
from wuye.workorders.choices import Channel, Kind, PhotoStage, Status
from wuye.workorders.models import Category, WorkOrder
from wuye.workorders.tests import factories as orders

pytestmark = pytest.mark.django_db

# Monday 24 November 2025, 11:00 in Shanghai: inside the default business hours (08:00–20:00), and in the past, so
# actions taken now (at the real clock) come after the ones the factories took.
NOW = dt.datetime(2025, 11, 24, 3, 0, tzinfo=dt.UTC)


@pytest.fixture
def wo(cast):
    orders.seed_catalogue(cast)
    return cast


def english(client):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


def desk(cast, member: str):
    return english(cast.browser(member))


def png(width: int = 40, height: int = 30) -> io.BytesIO:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (200, 30, 30)).save(buffer, format="PNG")
    buffer.seek(0)
    buffer.name = "after.png"
    return buffer


def stranger_order(cast) -> WorkOrder:
    category = Category.objects.get(company=cast.other_company, code="plumbing")
    new = services.NewOrder(
        estate=cast.other_estate,
        kind=Kind.REPAIR_HOME,
        category=category,
        description="他山小区漏水",
        channel=Channel.STAFF,
        room=cast.stranger_room,
    )
    order, _created = services.workorder_create(actor=cast.stranger_supervisor, new=new, now=NOW)
    return order


def numbers(response) -> set[str]:
    return set(re.findall(r'data-testid="order-number">(WO[\d-]+)<', response.content.decode()))


def act(client, order, action: str, data=None):
    return client.post(f"/desk/orders/{order.id}/act/{action}/", data or {})


# ---------------------------------------------------------------- the queue


def test_queue_shows_only_the_orders_of_the_estates_the_user_works_in(wo):
    ours = orders.order(wo, now=NOW)
    theirs = stranger_order(wo)
    assert numbers(desk(wo, "supervisor").get("/desk/orders/")) == {ours.number}
    assert numbers(desk(wo, "stranger_supervisor").get("/desk/orders/")) == {theirs.number}


def test_queue_filters_by_status(wo):
    submitted = orders.order(wo, now=NOW)
    dispatched = orders.order(wo, status="dispatched", now=NOW)
    client = desk(wo, "service_agent")
    assert numbers(client.get("/desk/orders/?status=dispatched")) == {dispatched.number}
    assert numbers(client.get("/desk/orders/?status=submitted")) == {submitted.number}
    assert numbers(client.get("/desk/orders/")) == {submitted.number, dispatched.number}


def test_queue_shows_open_orders_by_default_and_closed_ones_on_request(wo):
    open_order = orders.order(wo, now=NOW)
    cancelled = orders.order(wo, status="cancelled", now=NOW)
    client = desk(wo, "service_agent")
    assert numbers(client.get("/desk/orders/")) == {open_order.number}
    assert numbers(client.get("/desk/orders/?status=all")) == {open_order.number, cancelled.number}


def test_queue_filters_by_sla_state(wo):
    late = orders.order(wo, now=NOW - dt.timedelta(hours=2))  # acceptance was due 30 minutes after it came in
    warned = orders.order(wo, now=NOW - dt.timedelta(minutes=25))  # past the 80 % warning point of 30 minutes
    fresh = orders.order(wo, now=NOW - dt.timedelta(minutes=1))
    client = desk(wo, "supervisor")
    with time_machine.travel(NOW, tick=False):
        assert numbers(client.get("/desk/orders/?sla=breached")) == {late.number}
        assert numbers(client.get("/desk/orders/?sla=warning")) == {warned.number}
        assert numbers(client.get("/desk/orders/?sla=ok")) == {fresh.number}


def test_queue_rows_carry_a_live_countdown_to_the_most_urgent_open_step(wo):
    order = orders.order(wo, now=NOW - dt.timedelta(hours=2))
    with time_machine.travel(NOW, tick=False):
        response = desk(wo, "supervisor").get("/desk/orders/")
    html = response.content.decode()
    accept_due = order.steps.get(step="accept").due_at
    badge = re.search(r'<span class="badge ([^"]+) countdown" data-testid="countdown" data-due="([^"]+)"', html)
    assert badge, "no countdown badge"
    assert dt.datetime.fromisoformat(badge.group(2)) == accept_due
    assert "text-bg-danger" in badge.group(1)  # already breached when the page was made
    assert 'id="countdown-words"' in html
    assert "wuye/countdown.js" in html


def test_queue_filter_by_estate_of_another_company_is_refused_as_an_invalid_choice(wo):
    orders.order(wo, now=NOW)
    response = desk(wo, "supervisor").get(f"/desk/orders/?estate={wo.other_estate.id}")
    assert response.status_code == 200
    assert 'data-testid="filter-errors"' in response.content.decode()


def test_queue_costs_the_same_number_of_queries_for_one_order_as_for_twenty(wo):
    orders.order(wo, status="dispatched", now=NOW)
    client = desk(wo, "supervisor")
    with CaptureQueriesContext(connection) as one:
        assert client.get("/desk/orders/").status_code == 200
    for index in range(19):
        orders.order(wo, status=["submitted", "dispatched", "in_progress"][index % 3], now=NOW)
    with CaptureQueriesContext(connection) as twenty:
        response = client.get("/desk/orders/")
    assert len(numbers(response)) == 20
    assert len(twenty) == len(one), [q["sql"] for q in twenty.captured_queries]


def test_queue_with_twenty_orders_stays_within_its_query_budget(wo, django_assert_max_num_queries):
    for index in range(20):
        orders.order(wo, status=["submitted", "dispatched", "in_progress", "resolved"][index % 4], now=NOW)
    client = desk(wo, "supervisor")
    with django_assert_max_num_queries(20):
        response = client.get("/desk/orders/?status=all&sla=&priority=")
    assert len(numbers(response)) == 20


@pytest.mark.parametrize(
    ("member", "url", "status", "age"),
    [
        ("technician", "/desk/orders/mine/", "dispatched", dt.timedelta(0)),
        ("supervisor", "/desk/orders/overdue/", "submitted", dt.timedelta(hours=2)),
        ("service_agent", "/desk/orders/visits/", "resolved", dt.timedelta(0)),
    ],
)
def test_other_lists_cost_the_same_number_of_queries_for_one_order_as_for_five(wo, member, url, status, age):
    client = desk(wo, member)
    orders.order(wo, status=status, now=NOW - age)
    with time_machine.travel(NOW, tick=False), CaptureQueriesContext(connection) as one:
        first = client.get(url)
    for _index in range(4):
        orders.order(wo, status=status, now=NOW - age)
    with time_machine.travel(NOW, tick=False), CaptureQueriesContext(connection) as five:
        response = client.get(url)
    html = response.content.decode()
    assert first.status_code == response.status_code == 200
    assert len({*re.findall(r'data-order="(\d+)"', html)}) == 5
    assert len(five) == len(one), [q["sql"] for q in five.captured_queries]


# ---------------------------------------------------------------- my orders, overdue


def test_technician_sees_only_the_open_orders_assigned_to_them(wo):
    mine = orders.order(wo, status="dispatched", now=NOW)
    orders.order(wo, now=NOW)  # not dispatched yet
    other = orders.order(wo, status="accepted", now=NOW)
    services.workorder_act(
        actor=wo.supervisor,
        order_id=other.id,
        action="dispatch",
        params={"assignee_id": orders.second_technician(wo).id},
        now=NOW,
    )
    response = desk(wo, "technician").get("/desk/orders/mine/")
    html = response.content.decode()
    assert numbers(response) == {mine.number}
    assert 'data-testid="do-take"' in html  # one tap on the phone


def test_overdue_board_lists_open_steps_past_due_grouped_by_grid(wo):
    late = orders.order(wo, now=NOW - dt.timedelta(hours=2))
    orders.order(wo, now=NOW - dt.timedelta(minutes=1))
    with time_machine.travel(NOW, tick=False):
        html = desk(wo, "supervisor").get("/desk/orders/overdue/").content.decode()
    assert html.count('data-testid="overdue-row"') == 1
    assert f'data-order="{late.id}" data-step="accept"' in html
    assert "一网格" in html


# ---------------------------------------------------------------- entering an order


def test_service_agent_enters_a_phone_order_for_the_owner_found_by_phone(wo):
    client = desk(wo, "service_agent")
    phone = wo.owner.phone
    found = client.get(f"/desk/orders/new/rooms/?estate={wo.estate.id}&q={phone}")
    assert found.status_code == 200
    assert "1-1-101" in found.content.decode()
    picked = client.get(f"/desk/orders/new/room/?room={wo.room.id}&q={phone}").content.decode()
    assert f'<option value="{wo.owner.id}" selected>' in picked

    page = client.get("/desk/orders/new/")
    token = re.search(r'name="token" value="([^"]+)"', page.content.decode()).group(1)
    data = {
        "token": token,
        "estate": wo.estate.id,
        "channel": Channel.PHONE,
        "room": wo.room.id,
        "reporter": wo.owner.id,
        "kind": Kind.REPAIR_HOME,
        "category": orders.category(wo).id,
        "priority": "",
        "description": "业主来电：卫生间漏水",
    }
    response = client.post("/desk/orders/new/", data)
    order = WorkOrder.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/desk/orders/{order.id}/"
    assert (order.reporter, order.channel, order.created_by) == (wo.owner, Channel.PHONE, wo.service_agent)
    assert order.contact_phone == phone
    # A double submit of the same form creates nothing more.
    assert client.post("/desk/orders/new/", data).status_code == 302
    assert WorkOrder.objects.count() == 1


def test_a_phone_order_needs_the_owner_but_a_staff_found_one_does_not(wo):
    client = desk(wo, "technician")
    data = {
        "token": "a" * 32,
        "estate": wo.estate.id,
        "channel": Channel.PHONE,
        "room": wo.room.id,
        "kind": Kind.REPAIR_HOME,
        "category": orders.category(wo).id,
        "description": "楼道灯不亮",
    }
    refused = client.post("/desk/orders/new/", data)
    assert refused.status_code == 422
    assert "only orders found by staff may have no owner" in refused.content.decode()
    assert not WorkOrder.objects.exists()
    created = client.post("/desk/orders/new/", {**data, "channel": Channel.STAFF})
    assert created.status_code == 302
    order = WorkOrder.objects.get()
    assert (order.reporter, order.channel) == (None, Channel.STAFF)


def test_a_staff_found_order_keeps_its_photo_of_the_problem(wo):
    data = {
        "token": "e" * 32,
        "estate": wo.estate.id,
        "channel": Channel.STAFF,
        "kind": Kind.REPAIR_HOME,
        "room": wo.room.id,
        "category": orders.category(wo).id,
        "description": "天花板渗水",
        "photos": [png()],
    }
    client = desk(wo, "technician")
    assert client.post("/desk/orders/new/", data).status_code == 302
    order = WorkOrder.objects.get()
    photo = order.photos.get()
    assert (photo.stage, photo.uploaded_by, order.created_by) == (PhotoStage.REPORT, wo.technician, wo.technician)
    assert client.get(f"/desk/orders/{order.id}/photos/{photo.id}").status_code == 200


def test_only_staff_who_see_the_resident_register_find_a_room_by_phone(wo):
    url = f"/desk/orders/new/rooms/?estate={wo.estate.id}&q={wo.owner.phone}"
    assert "1-1-101" in desk(wo, "service_agent").get(url).content.decode()
    refused = desk(wo, "technician").get(url).content.decode()
    assert "1-1-101" not in refused
    assert "is for customer service" in refused
    assert "1-1-101" in desk(wo, "technician").get(url.replace(wo.owner.phone, "1-1-101")).content.decode()


def test_acting_on_an_order_that_does_not_exist_is_404(wo):
    assert desk(wo, "supervisor").post("/desk/orders/999999/act/force_close/", {"reason": "x"}).status_code == 404


def test_a_resident_of_another_room_cannot_be_chosen_as_the_owner(wo):
    data = {
        "token": "b" * 32,
        "estate": wo.estate.id,
        "channel": Channel.WALK_IN,
        "room": wo.room.id,
        "reporter": wo.other_owner.id,
        "kind": Kind.REPAIR_HOME,
        "category": orders.category(wo).id,
        "description": "门锁坏了",
    }
    response = desk(wo, "service_agent").post("/desk/orders/new/", data)
    assert response.status_code == 422
    assert "Choose one of the room&#x27;s current residents." in response.content.decode()
    assert not WorkOrder.objects.exists()


def test_a_bad_photo_refuses_the_new_order_and_writes_nothing(wo):
    data = {
        "token": "c" * 32,
        "estate": wo.estate.id,
        "channel": Channel.STAFF,
        "kind": Kind.REPAIR_HOME,
        "room": wo.room.id,
        "category": orders.category(wo).id,
        "description": "水管爆裂",
        "photos": [png(), io.BytesIO(b"not a photo at all")],
    }
    response = desk(wo, "service_agent").post("/desk/orders/new/", data)
    assert response.status_code == 422
    assert "Photo 2: This file is not a photo." in response.content.decode()
    assert not WorkOrder.objects.exists()


def test_the_service_refusal_of_a_category_that_does_not_fit_the_kind_is_shown_with_422(wo):
    data = {
        "token": "d" * 32,
        "estate": wo.estate.id,
        "channel": Channel.STAFF,
        "kind": Kind.REPAIR_HOME,
        "room": wo.room.id,
        "category": orders.category(wo, "noise").id,
        "description": "噪音",
    }
    response = desk(wo, "service_agent").post("/desk/orders/new/", data)
    assert response.status_code == 422
    assert "This category does not apply to this kind of order." in response.content.decode()


# ---------------------------------------------------------------- acting on an order


def test_supervisor_dispatches_from_the_order_page_to_the_technician(wo):
    order = orders.order(wo, status="accepted", now=NOW)
    client = desk(wo, "supervisor")
    page = client.get(f"/desk/orders/{order.id}/").content.decode()
    assert 'data-testid="act-dispatch"' in page
    assert f'<option value="{wo.technician.id}">' in page
    response = act(client, order, "dispatch", {"assignee": wo.technician.id})
    assert response.status_code == 302
    order.refresh_from_db()
    assert (order.status, order.assignee) == (Status.DISPATCHED, wo.technician)


def test_technician_takes_arrives_starts_and_finishes_with_materials_and_an_after_photo(wo):
    order = orders.order(wo, status="dispatched", now=NOW)
    client = desk(wo, "technician")
    for action in ("take", "arrive", "start"):
        assert act(client, order, action, {"next": "/desk/orders/mine/"})["Location"] == "/desk/orders/mine/"
    response = act(
        client,
        order,
        "resolve",
        {
            "resolution": "更换了角阀",
            "material_name": ["角阀", "生料带", ""],
            "material_quantity": ["2", "0.5", ""],
            "material_unit": ["个", "卷", ""],
            "photos": [png()],
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    order.refresh_from_db()
    assert order.status == Status.RESOLVED
    assert order.resolution == "更换了角阀"
    assert order.materials == [
        {"name": "角阀", "quantity": 2, "unit": "个"},
        {"name": "生料带", "quantity": 0.5, "unit": "卷"},
    ]
    photo = order.photos.get()
    assert photo.stage == PhotoStage.AFTER
    page = client.get(f"/desk/orders/{order.id}/").content.decode()
    assert f"/desk/orders/{order.id}/photos/{photo.id}" in page
    image = client.get(f"/desk/orders/{order.id}/photos/{photo.id}")
    assert image.status_code == 200
    assert image["Content-Type"] == "image/jpeg"  # re-encoded from its pixels
    assert b"".join(image.streaming_content)[:3] == b"\xff\xd8\xff"
    assert desk(wo, "stranger_supervisor").get(f"/desk/orders/{order.id}/photos/{photo.id}").status_code == 404


def test_photos_past_the_limit_per_stage_refuse_the_whole_action(wo):
    order = orders.order(wo, status="taken", now=NOW)
    client = desk(wo, "technician")
    assert act(client, order, "arrive", {"photos": [png() for _index in range(6)]}).status_code == 302
    assert order.photos.filter(stage=PhotoStage.BEFORE).count() == 6
    refused = act(client, order, "start", {"photos": [png()]})
    assert refused.status_code == 422
    assert "At most 6 photos per stage; this order already has 6." in refused.content.decode()
    order.refresh_from_db()
    assert order.status == Status.ARRIVED  # the start was undone with the refused photo
    assert order.photos.count() == 6


def test_a_material_row_without_a_quantity_is_refused_with_422(wo):
    order = orders.order(wo, status="in_progress", now=NOW)
    response = act(
        desk(wo, "technician"),
        order,
        "resolve",
        {"resolution": "修好了", "material_name": ["阀门"], "material_quantity": [""], "material_unit": ["个"]},
    )
    assert response.status_code == 422
    assert "Material row 1: give the quantity as a number." in response.content.decode()
    order.refresh_from_db()
    assert order.status == Status.IN_PROGRESS


def test_hold_with_a_reason_then_resume(wo):
    order = orders.order(wo, status="in_progress", now=NOW)
    client = desk(wo, "technician")
    assert act(client, order, "hold", {"reason": "parts", "note": "角阀缺货"}).status_code == 302
    order.refresh_from_db()
    assert order.status == Status.ON_HOLD
    with translation.override(settings.LANGUAGE_CODE):  # kept in the installation's language
        assert order.pauses.get().reason == _("%(reason)s: %(note)s") % {
            "reason": _("Waiting for parts"),
            "note": "角阀缺货",
        }
    assert act(client, order, "resume").status_code == 302
    order.refresh_from_db()
    assert order.status == Status.IN_PROGRESS


def test_return_needs_a_reason(wo):
    order = orders.order(wo, status="taken", now=NOW)
    client = desk(wo, "technician")
    assert act(client, order, "return").status_code == 422
    assert act(client, order, "return", {"reason": "不在我的片区"}).status_code == 302
    order.refresh_from_db()
    assert (order.status, order.assignee) == (Status.ACCEPTED, None)


def test_an_unsatisfied_return_visit_reopens_the_order(wo):
    order = orders.order(wo, status="resolved", now=NOW)
    client = desk(wo, "service_agent")
    page = client.get("/desk/orders/visits/").content.decode()
    assert f'data-order="{order.id}"' in page
    assert f'href="tel:{wo.owner.phone}"' in page  # the full number: calling is the job
    response = client.post(
        f"/desk/orders/{order.id}/act/visit/", {"satisfied": "no", "note": "还在漏", "next": "/desk/orders/visits/"}
    )
    assert response.status_code == 302
    assert response["Location"] == "/desk/orders/visits/"
    order.refresh_from_db()
    assert (order.status, order.reopen_count) == (Status.ACCEPTED, 1)
    assert f'data-order="{order.id}"' not in client.get("/desk/orders/visits/").content.decode()


def test_a_satisfied_return_visit_moves_the_order_to_visited(wo):
    order = orders.order(wo, status="rated", now=NOW)
    assert act(desk(wo, "service_agent"), order, "visit", {"satisfied": "yes"}).status_code == 302
    order.refresh_from_db()
    assert (order.status, order.visit_satisfied, order.reopen_count) == (Status.VISITED, True, 0)


def test_closing_a_complaint_is_not_offered_to_customer_service_and_refused_with_403(wo):
    order = orders.order(wo, status="visited", kind=Kind.COMPLAINT, code="noise", now=NOW)
    agent = desk(wo, "service_agent")
    assert 'data-testid="act-close"' not in agent.get(f"/desk/orders/{order.id}/").content.decode()
    refused = act(agent, order, "close")
    assert refused.status_code == 403
    assert "You may not do this on this order." in refused.content.decode()
    order.refresh_from_db()
    assert order.status == Status.VISITED
    supervisor = desk(wo, "supervisor")
    assert 'data-testid="act-close"' in supervisor.get(f"/desk/orders/{order.id}/").content.decode()
    assert act(supervisor, order, "close").status_code == 302
    order.refresh_from_db()
    assert order.status == Status.CLOSED


def test_force_close_needs_a_reason(wo):
    order = orders.order(wo, status="in_progress", now=NOW)
    client = desk(wo, "supervisor")
    refused = act(client, order, "force_close")
    assert refused.status_code == 422
    assert 'data-testid="action-alert"' in refused.content.decode()
    order.refresh_from_db()
    assert order.status == Status.IN_PROGRESS
    assert act(client, order, "force_close", {"reason": "重复工单"}).status_code == 302
    order.refresh_from_db()
    assert order.status == Status.CLOSED


def test_an_impossible_move_answers_409_naming_the_current_status(wo):
    order = orders.order(wo, status="dispatched", now=NOW)
    response = act(desk(wo, "technician"), order, "start")
    assert response.status_code == 409
    assert "The order is Dispatched; “Start work” is not possible now." in response.content.decode()
    order.refresh_from_db()
    assert order.status == Status.DISPATCHED


def test_urging_from_the_desk_is_not_a_desk_action(wo):
    order = orders.order(wo, now=NOW)
    assert act(desk(wo, "supervisor"), order, "urge").status_code == 404


def test_the_contact_phone_is_masked_for_staff_who_do_not_call_the_owner(wo):
    order = orders.order(wo, now=NOW)
    cleaner = UserFactory(username="cleaner", name="保洁员")
    account_services.membership_ensure(user=cleaner, estate=wo.estate, role="cleaner")
    wo.users["cleaner"] = cleaner
    masked = english(wo.browser("cleaner")).get(f"/desk/orders/{order.id}/").content.decode()
    full = desk(wo, "service_agent").get(f"/desk/orders/{order.id}/").content.decode()
    assert wo.owner.phone not in masked
    assert wo.owner.masked_phone in masked
    assert f'href="tel:{wo.owner.phone}"' in full


def test_an_order_seen_only_as_an_owner_is_not_on_the_desk(wo):
    order = stranger_order(wo)
    account_services.residency_create(user=wo.supervisor, room=wo.stranger_room)
    assert desk(wo, "supervisor").get(f"/desk/orders/{order.id}/").status_code == 404


def test_service_agent_reclassifies_an_incoming_order_from_the_detail_page(wo):
    order = orders.order(wo, now=NOW)
    client = wo.browser("service_agent")
    page = client.get(f"/desk/orders/{order.id}/").content.decode()
    assert "/act/classify/" in page
    electrical = orders.category(wo, "electrical")
    response = client.post(f"/desk/orders/{order.id}/act/classify/", {"category": electrical.id, "priority": "urgent"})
    assert response.status_code in (302, 303)
    order.refresh_from_db()
    assert (order.category_id, order.priority) == (electrical.id, "urgent")
