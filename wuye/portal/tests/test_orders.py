"""The owner's work-order pages: report with photos, follow, urge, cancel, rate and reopen (Django test client)."""

import datetime as dt
import io
import uuid

import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import translation
from django.utils.translation import gettext
from PIL import Image

from wuye.core import clock
from wuye.testing import factories
from wuye.workorders import services
from wuye.workorders.choices import Action, Kind, PhotoStage, Status
from wuye.workorders.models import WorkOrder, WorkOrderEvent, WorkOrderPhoto
from wuye.workorders.tests import factories as wf

pytestmark = pytest.mark.django_db

NEW = "/portal/orders/new/"


@pytest.fixture
def catalogue(cast):
    wf.seed_catalogue(cast)
    return cast


def png(name: str = "leak.png", size=(64, 48)) -> SimpleUploadedFile:
    buffer = io.BytesIO()
    Image.new("RGB", size, (30, 120, 200)).save(buffer, format="PNG")
    return SimpleUploadedFile(name, buffer.getvalue(), content_type="image/png")


def report(cast, **overrides) -> dict:
    data = {
        "token": uuid.uuid4().hex,
        "kind": Kind.REPAIR_HOME,
        "category": wf.category(cast, "plumbing").id,
        "room": cast.room.id,
        "description": "厨房水管漏水，地上有积水",
    }
    data.update(overrides)
    return data


def their_order(cast) -> WorkOrder:
    """An order other_owner reported for their own room."""
    new = services.NewOrder(
        estate=cast.estate,
        kind=Kind.REPAIR_HOME,
        category=wf.category(cast, "plumbing"),
        description="卫生间漏水",
        room=cast.other_room,
        reporter=cast.other_owner,
    )
    order, _created = services.workorder_create(actor=cast.other_owner, new=new)
    return order


def zh(text) -> str:
    with translation.override("zh-hans"):
        return str(gettext(text) if isinstance(text, str) else text)


def stored_files(prefix: str = "workorders") -> set[str]:
    """Every file under a prefix of the default storage (in memory during tests)."""
    directories, files = default_storage.listdir(prefix) if default_storage.exists(prefix) else ([], [])
    found = {f"{prefix}/{name}" for name in files}
    for directory in directories:
        found |= stored_files(f"{prefix}/{directory}")
    return found


def page_text(response) -> str:
    return response.content.decode()


# ---------------------------------------------------------------- report


def test_owner_reports_a_repair_with_a_photo_and_lands_on_the_order(catalogue):
    cast = catalogue
    response = cast.browser("owner").post(NEW, report(cast, photos=[png()]))

    order = WorkOrder.objects.get()
    assert response.status_code == 302
    assert response.headers["Location"] == f"/portal/orders/{order.id}/"
    assert (order.kind, order.status, order.channel) == (Kind.REPAIR_HOME, Status.SUBMITTED, "portal")
    assert (order.reporter, order.created_by, order.room) == (cast.owner, cast.owner, cast.room)
    photo = order.photos.get()
    assert (photo.stage, photo.uploaded_by, photo.width, photo.height) == (PhotoStage.REPORT, cast.owner, 64, 48)
    assert default_storage.exists(photo.file)
    assert order.events.get().action == Action.SUBMIT


def test_a_text_file_posing_as_a_jpeg_is_refused_naming_the_file_and_nothing_is_created(catalogue):
    cast = catalogue
    fake = SimpleUploadedFile("notes.jpg", b"these are my notes, not a photo", content_type="image/jpeg")

    response = cast.browser("owner").post(NEW, report(cast, photos=[png(), fake]))

    assert response.status_code == 422
    errors = response.context["form"].errors["photos"]
    assert len(errors) == 1 and "notes.jpg" in errors[0]
    assert "notes.jpg" in page_text(response)
    assert not WorkOrder.objects.exists()
    assert not WorkOrderPhoto.objects.exists()
    # The description typed is kept; the browser cannot keep the chosen files, so the owner is told to choose again.
    assert "厨房水管漏水" in page_text(response)
    assert 'data-testid="photos-lost"' in page_text(response)


def test_more_than_six_photos_are_refused(catalogue):
    cast = catalogue
    photos = [png(f"p{i}.png") for i in range(7)]

    response = cast.browser("owner").post(NEW, report(cast, photos=photos))

    assert response.status_code == 422
    assert "photos" in response.context["form"].errors
    assert not WorkOrder.objects.exists()


def test_six_photos_are_accepted(catalogue):
    cast = catalogue
    response = cast.browser("owner").post(NEW, report(cast, photos=[png(f"p{i}.png") for i in range(6)]))

    assert response.status_code == 302
    assert WorkOrder.objects.get().photos.count() == 6


def test_a_double_submit_with_the_same_token_creates_one_order(catalogue):
    cast = catalogue
    client = cast.browser("owner")
    data = report(cast)
    files_before = stored_files()

    first = client.post(NEW, {**data, "photos": [png()]})
    second = client.post(NEW, {**data, "photos": [png()]})

    assert first.status_code == second.status_code == 302
    assert first.headers["Location"] == second.headers["Location"]
    assert WorkOrder.objects.count() == 1
    photo = WorkOrderPhoto.objects.get()
    assert stored_files() - files_before == {photo.file}  # the replay's photo was not kept


def test_an_order_the_service_refuses_keeps_none_of_its_photos(catalogue):
    cast = catalogue
    files_before = stored_files()

    response = cast.browser("owner").post(NEW, report(cast, description="漏", photos=[png()]))

    assert response.status_code == 422
    assert not WorkOrder.objects.exists()
    assert stored_files() == files_before


def test_the_services_rules_show_next_to_their_fields(catalogue):
    cast = catalogue
    yesterday = clock.today() - dt.timedelta(days=1)

    response = cast.browser("owner").post(
        NEW,
        report(
            cast,
            description="漏",
            appointment_date=yesterday.isoformat(),
            appointment_start="09:00",
            appointment_end="11:00",
        ),
    )

    assert response.status_code == 422
    errors = response.context["form"].errors
    assert set(errors) == {"description", "appointment_start"}
    assert not WorkOrder.objects.exists()


def test_an_incomplete_appointment_window_is_refused(catalogue):
    cast = catalogue
    response = cast.browser("owner").post(NEW, report(cast, appointment_date=clock.today().isoformat()))

    assert response.status_code == 422
    assert set(response.context["form"].errors) == {"appointment_start", "appointment_end"}


def test_an_in_home_repair_keeps_the_preferred_window_in_local_time(catalogue):
    cast = catalogue
    tomorrow = clock.today() + dt.timedelta(days=1)

    response = cast.browser("owner").post(
        NEW,
        report(cast, appointment_date=tomorrow.isoformat(), appointment_start="09:00", appointment_end="11:00"),
    )

    assert response.status_code == 302
    order = WorkOrder.objects.get()
    local = dt.datetime.combine(tomorrow, dt.time(9, 0), tzinfo=clock.local_tz())
    assert order.appointment_start == local
    assert order.appointment_end == local + dt.timedelta(hours=2)


def test_a_complaint_ignores_the_appointment_fields(catalogue):
    cast = catalogue
    tomorrow = clock.today() + dt.timedelta(days=1)
    data = report(
        cast,
        kind=Kind.COMPLAINT,
        category=wf.category(cast, "noise").id,
        appointment_date=tomorrow.isoformat(),
        appointment_start="09:00",
        appointment_end="11:00",
    )

    response = cast.browser("owner").post(NEW, data)

    assert response.status_code == 302
    order = WorkOrder.objects.get()
    assert (order.kind, order.room, order.appointment_start) == (Kind.COMPLAINT, cast.room, None)


def test_a_category_of_another_kind_is_refused(catalogue):
    cast = catalogue
    response = cast.browser("owner").post(NEW, report(cast, kind=Kind.COMPLAINT))  # plumbing is not a complaint

    assert response.status_code == 422
    assert "category" in response.context["form"].errors
    assert not WorkOrder.objects.exists()


def test_the_owner_can_report_only_for_their_own_rooms(catalogue):
    cast = catalogue
    response = cast.browser("owner").post(NEW, report(cast, room=cast.other_room.id))

    assert response.status_code == 422
    assert "room" in response.context["form"].errors
    assert not WorkOrder.objects.exists()


def test_a_public_area_repair_names_the_area_not_the_room(catalogue):
    cast = catalogue
    garage = factories.PublicAreaFactory(estate=cast.estate, name="地下车库", grid=cast.grid)
    factories.PublicAreaFactory(estate=cast.other_estate, name="别人的车库")
    client = cast.browser("owner")

    form_page = client.get(NEW, {"kind": Kind.REPAIR_PUBLIC})
    assert [label for _value, label in form_page.context["form"].fields["public_area"].choices][1:] == ["地下车库"]

    data = report(cast, kind=Kind.REPAIR_PUBLIC, category=wf.category(cast, "lift").id, public_area=garage.id)
    response = client.post(NEW, data)

    assert response.status_code == 302
    order = WorkOrder.objects.get()
    assert (order.public_area, order.room, order.grid) == (garage, None, cast.grid)


def test_changing_the_kind_reloads_the_categories_through_htmx(catalogue):
    cast = catalogue
    response = cast.browser("owner").get(
        NEW, {"kind": Kind.COMPLAINT}, headers={"HX-Request": "true", "HX-Target": "order-kind-fields"}
    )

    assert response.status_code == 200
    html = page_text(response)
    assert html.lstrip().startswith('<div id="order-kind-fields"')
    categories = dict(response.context["form"].fields["category"].choices)
    assert wf.category(cast, "noise").id in categories
    assert wf.category(cast, "plumbing").id not in categories
    assert "噪音扰民" in html
    assert 'name="appointment_date"' not in html  # appointments are for in-home repairs


def test_without_javascript_the_refresh_button_reshows_the_form_for_the_new_kind(catalogue):
    cast = catalogue
    data = report(cast, kind=Kind.COMPLAINT, refresh="1")

    response = cast.browser("owner").post(NEW, data)

    assert response.status_code == 200
    assert not WorkOrder.objects.exists()
    categories = dict(response.context["form"].fields["category"].choices)
    assert wf.category(cast, "noise").id in categories
    assert wf.category(cast, "plumbing").id not in categories
    assert f'value="{data["token"]}"' in page_text(response)  # the same form: a double submit still counts once
    assert "厨房水管漏水" in page_text(response)


# ---------------------------------------------------------------- list


def test_the_list_shows_my_orders_with_status_assignee_and_promise(catalogue):
    cast = catalogue
    dispatched = wf.order(cast, status="dispatched")
    theirs = their_order(cast)

    response = cast.browser("owner").get("/portal/orders/")

    assert response.status_code == 200
    cards = response.context["cards"]
    assert [card["order"] for card in cards] == [dispatched]
    html = page_text(response)
    assert theirs.number not in html
    assert cast.technician.display_name in html
    assert cast.technician.phone not in html
    assert cards[0]["promise"]["overdue"]  # created on 2026-11-23: the arrival promise has long passed
    assert 'data-testid="order-new-link"' in html


def test_the_list_costs_the_same_queries_for_one_order_or_many(catalogue):
    cast = catalogue
    client = cast.browser("owner")
    wf.order(cast)
    client.get("/portal/orders/")  # warm the session and the content types

    with CaptureQueriesContext(connection) as one:
        assert client.get("/portal/orders/").status_code == 200
    for status in ("accepted", "dispatched", "resolved", "cancelled"):
        wf.order(cast, status=status)
    with CaptureQueriesContext(connection) as five:
        response = client.get("/portal/orders/")

    assert len(response.context["cards"]) == 5
    assert len(five) == len(one), [query["sql"] for query in five.captured_queries]


# ---------------------------------------------------------------- detail


def test_the_order_page_shows_the_timeline_the_assignee_and_the_promised_times(catalogue):
    cast = catalogue
    order = wf.order(cast, status="dispatched")

    response = cast.browser("owner").get(f"/portal/orders/{order.id}/")

    assert response.status_code == 200
    timeline = response.context["timeline"]
    assert [entry["event"].action for entry in timeline] == [Action.SUBMIT, Action.ACCEPT, Action.DISPATCH]
    assert [entry["actor"] for entry in timeline] == [
        zh("You"),
        cast.service_agent.display_name,
        cast.supervisor.display_name,
    ]
    html = page_text(response)
    assert cast.technician.display_name in html
    assert cast.technician.phone not in html
    steps = {step["step"]: step for step in response.context["steps"]}
    assert steps["accept"]["done"] and steps["arrive"]["overdue"]
    assert 'data-testid="order-step-overdue"' in html
    assert response.context["actions"] == {Action.URGE}  # dispatched: no cancel, nothing to rate yet


def test_the_system_is_named_as_such_and_sla_warnings_are_not_shown_to_owners(catalogue):
    cast = catalogue
    order = wf.order(cast)
    now = clock.now()
    WorkOrderEvent.objects.create(order=order, action=Action.WARN, actor=None, at=now, payload={})
    WorkOrderEvent.objects.create(
        order=order, action=Action.AUTO_CLOSE, actor=None, at=now, from_status="resolved", to_status="closed"
    )

    response = cast.browser("owner").get(f"/portal/orders/{order.id}/")

    timeline = response.context["timeline"]
    assert [entry["event"].action for entry in timeline] == [Action.SUBMIT, Action.AUTO_CLOSE]
    assert timeline[1]["actor"] == zh("System")


def test_the_owner_sees_the_photo_and_other_people_get_404(catalogue):
    cast = catalogue
    cast.browser("owner").post(NEW, report(cast, photos=[png()]))
    order = WorkOrder.objects.get()
    photo = order.photos.get()
    url = f"/portal/orders/{order.id}/photos/{photo.id}"

    mine = cast.browser("owner").get(url)
    assert mine.status_code == 200
    assert mine.headers["Content-Type"] == "image/jpeg"
    assert Image.open(io.BytesIO(b"".join(mine.streaming_content))).size == (64, 48)
    assert f'src="{url}"' in page_text(cast.browser("owner").get(f"/portal/orders/{order.id}/"))
    assert cast.browser("other_owner").get(url).status_code == 404
    assert cast.browser("owner").get(f"/portal/orders/{order.id}/photos/{photo.id + 1}").status_code == 404


def test_other_owner_can_neither_see_the_order_nor_act_on_it(catalogue):
    cast = catalogue
    order = wf.order(cast, status="resolved")
    client = cast.browser("other_owner")

    assert client.get(f"/portal/orders/{order.id}/").status_code == 404
    for action, data in [
        ("urge", {}),
        ("cancel", {}),
        ("rate", {"verdict": "good", "score": "5"}),
        ("reopen", {"reason": "还是漏"}),
    ]:
        assert client.post(f"/portal/orders/{order.id}/{action}/", data).status_code == 404, action
    order.refresh_from_db()
    assert (order.status, order.urge_count) == (Status.RESOLVED, 0)


# ---------------------------------------------------------------- actions


def test_the_owner_cancels_a_submitted_order(catalogue):
    cast = catalogue
    order = wf.order(cast)
    client = cast.browser("owner")

    response = client.post(f"/portal/orders/{order.id}/cancel/", {"reason": "自己修好了"})

    assert response.status_code == 303
    assert response.headers["Location"] == f"/portal/orders/{order.id}/"
    order.refresh_from_db()
    assert order.status == Status.CANCELLED
    assert order.events.last().note == "自己修好了"
    after = client.get(f"/portal/orders/{order.id}/")
    assert after.context["actions"] == set()
    assert 'class="alert alert-success"' in page_text(after)


def test_cancelling_after_dispatch_is_refused_with_a_message_and_changes_nothing(catalogue):
    cast = catalogue
    order = wf.order(cast, status="dispatched")
    events = order.events.count()

    response = cast.browser("owner").post(f"/portal/orders/{order.id}/cancel/")

    assert response.status_code == 403
    assert response.context["alert"]
    assert zh(Status.DISPATCHED.label) in response.context["alert"]
    assert 'data-testid="order-alert"' in page_text(response)
    order.refresh_from_db()
    assert order.status == Status.DISPATCHED
    assert order.events.count() == events


def test_the_owner_rates_a_resolved_order(catalogue):
    cast = catalogue
    order = wf.order(cast, status="resolved")
    client = cast.browser("owner")
    assert client.get(f"/portal/orders/{order.id}/").context["actions"] == {Action.RATE, Action.REOPEN}

    response = client.post(
        f"/portal/orders/{order.id}/rate/", {"verdict": "good", "score": "4", "comment": "师傅很专业"}
    )

    assert response.status_code == 303
    order.refresh_from_db()
    assert (order.status, order.verdict, order.score, order.rating_comment) == (Status.RATED, "good", 4, "师傅很专业")
    page = client.get(f"/portal/orders/{order.id}/")
    assert 'data-testid="order-rating"' in page_text(page)
    assert Action.RATE not in page.context["actions"]


def test_a_bad_rating_needs_a_reason(catalogue):
    cast = catalogue
    order = wf.order(cast, status="resolved")

    response = cast.browser("owner").post(f"/portal/orders/{order.id}/rate/", {"verdict": "bad", "score": "2"})

    assert response.status_code == 422
    assert "reasons" in response.context["forms"][Action.RATE].errors
    order.refresh_from_db()
    assert order.status == Status.RESOLVED


def test_a_rating_without_a_score_is_refused(catalogue):
    cast = catalogue
    order = wf.order(cast, status="resolved")

    response = cast.browser("owner").post(f"/portal/orders/{order.id}/rate/", {"verdict": "good"})

    assert response.status_code == 422
    assert 'data-testid="error-score"' in page_text(response)


def test_rating_it_as_not_fixed_with_reasons_sends_it_back(catalogue):
    cast = catalogue
    order = wf.order(cast, status="resolved")

    response = cast.browser("owner").post(
        f"/portal/orders/{order.id}/rate/", {"verdict": "returned", "score": "1", "reasons": ["not_fixed", "slow"]}
    )

    assert response.status_code == 303
    order.refresh_from_db()
    assert (order.status, order.reopen_count) == (Status.ACCEPTED, 1)
    rating = order.events.get(action=Action.RATE)
    assert rating.payload["reasons"] == ["not_fixed", "slow"]


def test_the_owner_reopens_a_resolved_order_with_a_reason(catalogue):
    cast = catalogue
    order = wf.order(cast, status="resolved")

    response = cast.browser("owner").post(f"/portal/orders/{order.id}/reopen/", {"reason": "水管还在滴水"})

    assert response.status_code == 303
    order.refresh_from_db()
    assert (order.status, order.reopen_count, order.assignee) == (Status.ACCEPTED, 1, None)
    assert order.events.last().note == "水管还在滴水"


def test_reopening_needs_a_reason(catalogue):
    cast = catalogue
    order = wf.order(cast, status="resolved")

    response = cast.browser("owner").post(f"/portal/orders/{order.id}/reopen/", {"reason": "  "})

    assert response.status_code == 422
    order.refresh_from_db()
    assert (order.status, order.reopen_count) == (Status.RESOLVED, 0)


def test_urging_twice_within_30_minutes_is_refused_the_second_time(catalogue):
    cast = catalogue
    order = wf.order(cast, status="dispatched")
    client = cast.browser("owner")

    first = client.post(f"/portal/orders/{order.id}/urge/")
    second = client.post(f"/portal/orders/{order.id}/urge/")

    assert first.status_code == 303
    assert second.status_code == 429
    assert "30" in second.context["alert"]
    assert 'class="alert alert-warning"' in page_text(second)
    order.refresh_from_db()
    assert order.urge_count == 1


def test_rating_an_order_that_is_not_finished_is_refused_with_409(catalogue):
    cast = catalogue
    order = wf.order(cast, status="dispatched")

    response = cast.browser("owner").post(f"/portal/orders/{order.id}/rate/", {"verdict": "good", "score": "5"})

    assert response.status_code == 409
    assert zh(Status.DISPATCHED.label) in response.context["alert"]
    order.refresh_from_db()
    assert order.status == Status.DISPATCHED


def test_with_htmx_an_action_re_renders_the_order_in_place(catalogue):
    cast = catalogue
    order = wf.order(cast, status="dispatched")
    client = cast.browser("owner")
    htmx = {"HX-Request": "true", "HX-Target": "order-detail"}

    done = client.post(f"/portal/orders/{order.id}/urge/", headers=htmx)
    refused = client.post(f"/portal/orders/{order.id}/urge/", headers=htmx)

    assert done.status_code == 200
    assert page_text(done).lstrip().startswith('<div id="order-detail"')
    assert 'data-testid="order-notice"' in page_text(done)
    assert refused.status_code == 429
    assert page_text(refused).lstrip().startswith('<div id="order-detail"')
    assert 'data-testid="order-alert"' in page_text(refused)
