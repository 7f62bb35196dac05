"""The patrol pages through the test client: the guard's day, scanning on the round page (accepted, refused with
the rule, replayed), reporting an incident, routes, label sheets and retiring a checkpoint; query counts of the
list pages."""

import datetime as dt
import io

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from PIL import Image

from wuye.inspections.choices import RoundStatus
from wuye.inspections.models import Round, Scan
from wuye.standards.tests.factories import png_bytes
from wuye.workorders.models import Category, WorkOrder

from . import factories as pf
from .factories import NOW

pytestmark = pytest.mark.django_db


@pytest.fixture
def clock():
    with time_machine.travel(NOW + dt.timedelta(minutes=5), tick=False) as traveller:
        yield traveller


def as_guard(cast):
    pf.guard(cast)
    return cast.browser("guard")


def test_the_guard_sees_todays_rounds_open_one_first(cast, clock):
    route = pf.route(cast)
    response = as_guard(cast).get("/desk/patrol/")
    assert response.status_code == 200
    cards = response.context["rounds"]
    assert [r.window_start for r in cards] == [pf.local(2026, 11, 27, 8, 0), pf.local(2026, 11, 27, 20, 0)]
    assert cards[0].is_open_now and cards[0].route_id == route.id
    assert 'data-testid="round-card"' in response.content.decode()


def test_someone_else_s_role_rounds_are_not_on_my_page(cast, clock):
    pf.route(cast)
    response = cast.browser("technician").get("/desk/patrol/")
    assert response.status_code == 200 and response.context["rounds"] == []


def test_scanning_three_codes_completes_the_round_on_the_page(cast, clock):
    points = pf.checkpoints(cast)
    round_ = pf.round_at(pf.route(cast, points=points), NOW)
    client = as_guard(cast)
    for point in points:
        response = client.post(f"/desk/patrol/rounds/{round_.id}/scan/", {"code": pf.code(point), "method": "manual"})
        assert response.status_code == 302
    page = client.get(f"/desk/patrol/rounds/{round_.id}/")
    assert page.context["round"].status == RoundStatus.COMPLETE
    assert 'data-status="complete"' in page.content.decode()
    assert list(Scan.objects.filter(round=round_).values_list("method", flat=True)) == ["manual"] * 3


@pytest.mark.parametrize(
    ("code_of", "status", "text"),
    [
        (lambda points: "ABCDE-FGHJK-MNPQR-STVWX", 422, "forged"),
        (lambda points: "hello", 422, "not a patrol checkpoint code"),
        (lambda points: pf.code(points[1]), 409, "in order"),
    ],
)
def test_a_refused_scan_is_shown_on_the_page_with_its_reason(cast, clock, code_of, status, text):
    points = pf.checkpoints(cast)
    round_ = pf.round_at(pf.route(cast, points=points), NOW)
    guard = as_guard(cast)
    guard.cookies["django_language"] = "en"  # pages are Chinese unless the user chose English
    response = guard.post(f"/desk/patrol/rounds/{round_.id}/scan/", {"code": code_of(points), "method": "manual"})
    assert response.status_code == status
    assert text in response.context["alert"]
    assert not Scan.objects.exists()


def test_a_replayed_code_is_acknowledged_and_counted_once(cast, clock):
    points = pf.checkpoints(cast)
    round_ = pf.round_at(pf.route(cast, points=points), NOW)
    client = as_guard(cast)
    for _ in range(2):
        assert (
            client.post(
                f"/desk/patrol/rounds/{round_.id}/scan/", {"code": pf.qr(points[0]), "method": "qr"}
            ).status_code
            == 302
        )
    round_.refresh_from_db()
    assert round_.scanned_count == 1


def test_a_scan_after_the_window_is_409(cast):
    points = pf.checkpoints(cast)
    round_ = pf.round_at(pf.route(cast, points=points), NOW)
    client = as_guard(cast)
    with time_machine.travel(pf.local(2026, 11, 27, 9, 0), tick=False):
        response = client.post(f"/desk/patrol/rounds/{round_.id}/scan/", {"code": pf.code(points[0])})
    assert response.status_code == 409
    assert not response.context["can_scan"]


def test_an_incident_with_a_photo_becomes_a_work_order(cast, clock):
    pf.catalogue(cast)
    points = pf.checkpoints(cast)
    round_ = pf.round_at(pf.route(cast, points=points), NOW)
    client = as_guard(cast)
    client.post(f"/desk/patrol/rounds/{round_.id}/scan/", {"code": pf.code(points[0])})
    form = client.get(f"/desk/patrol/rounds/{round_.id}/incident/")
    assert form.status_code == 200
    security = Category.objects.get(company=cast.company, code="security")
    response = client.post(
        f"/desk/patrol/rounds/{round_.id}/incident/",
        {
            "category": security.id,
            "description": "南门道闸被车撞坏，无法抬杆",
            "photos": [SimpleUploadedFile("gate.png", png_bytes(), content_type="image/png")],
        },
    )
    assert response.status_code == 302
    order = WorkOrder.objects.get()
    assert (order.source_type, order.public_area_id, order.photos.count()) == (
        "patrol_round",
        points[0].public_area_id,
        1,
    )


def test_an_incident_without_a_description_is_422_naming_it(cast, clock):
    pf.catalogue(cast)
    round_ = pf.round_at(pf.route(cast), NOW)
    security = Category.objects.get(company=cast.company, code="security")
    response = as_guard(cast).post(f"/desk/patrol/rounds/{round_.id}/incident/", {"category": security.id})
    assert response.status_code == 422
    assert "description" in response.context["errors"]
    assert not WorkOrder.objects.exists()


def test_the_label_sheet_has_a_qr_and_the_typed_code_of_every_checkpoint(cast, clock):
    points = pf.checkpoints(cast)
    route = pf.route(cast, points=points)
    response = cast.browser("supervisor").get(f"/desk/patrol/routes/{route.id}/labels/")
    assert response.status_code == 200
    html = response.content.decode()
    assert html.count('class="segno"') == 3
    for point in points:
        assert pf.code(point) in html and pf.qr(point) in html


def test_the_png_sheet_is_an_image_two_labels_across(cast, clock):
    route = pf.route(cast)
    response = cast.browser("manager").get(f"/desk/patrol/routes/{route.id}/labels.png")
    assert response.status_code == 200 and response["Content-Type"] == "image/png"
    image = Image.open(io.BytesIO(response.content))
    assert image.size == (1240, 2 * 560)  # three labels: two rows


def test_retiring_a_checkpoint_from_the_route_page(cast, clock):
    points = pf.checkpoints(cast)
    route = pf.route(cast, points=points)
    response = cast.browser("supervisor").post(f"/desk/patrol/checkpoints/{points[0].id}/retire/", {"route": route.id})
    assert response.status_code == 302 and response["Location"] == f"/desk/patrol/routes/{route.id}/"
    assert list(route.stops.values_list("checkpoint_id", flat=True)) == [points[1].id, points[2].id]


def _queries(client, url) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


def test_patrol_lists_cost_the_same_queries_for_more_routes(cast, clock):
    points = pf.checkpoints(cast)
    pf.route(cast, name="一号线", points=points)
    guard = as_guard(cast)
    supervisor = cast.browser("supervisor")
    before = {
        "guard": _queries(guard, "/desk/patrol/"),
        "routes": _queries(supervisor, "/desk/patrol/routes/"),
        "route": _queries(supervisor, f"/desk/patrol/routes/{Round.objects.first().route_id}/"),
    }
    for index in range(4):
        pf.route(cast, name=f"加密线{index}", points=points)
    after = {
        "guard": _queries(guard, "/desk/patrol/"),
        "routes": _queries(supervisor, "/desk/patrol/routes/"),
        "route": _queries(supervisor, f"/desk/patrol/routes/{Round.objects.first().route_id}/"),
    }
    assert after == before, (before, after)
