"""Inspection, quality and report pages through the test client: starting an inspection, answering it on the phone
form (a failure opens a rectification order shown on the page), errors named per item, the quality roll-up page,
sampling, the contracted-vs-achieved page and its Excel export; query counts of the list pages."""

import datetime as dt
import io

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from openpyxl import load_workbook

from wuye.inspections import services
from wuye.inspections.choices import InspectionKind, InspectionStatus
from wuye.inspections.models import Inspection
from wuye.standards.tests import factories as sf
from wuye.workorders.choices import Kind
from wuye.workorders.models import WorkOrder

from . import factories as pf
from .factories import NOW

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


def made(cast, codes=("eng-lift-check", "eng-roof")):
    sf.seed(cast)
    pf.catalogue(cast)
    return services.inspection_create(
        actor=cast.supervisor,
        new=services.NewInspection(
            estate=cast.estate,
            discipline="engineering",
            sop_items=[sf.sop(cast, code) for code in codes],
            public_area=pf.public_area(cast.estate, "天台", cast.grid),
            inspector=cast.technician,
        ),
        now=NOW,
    )


def test_the_technician_starts_an_inspection_from_the_sop_items(cast):
    sf.seed(cast)
    client = cast.browser("technician")
    page = client.get(f"/desk/inspections/new/?estate={cast.estate.id}&discipline=security")
    assert page.status_code == 200
    assert {item.discipline for item in page.context["items"]} == {"security"}
    extinguisher = sf.sop(cast, "sec-extinguisher")
    response = client.post(
        "/desk/inspections/new/",
        {"create": "1", "estate": cast.estate.id, "discipline": "security", "items": [extinguisher.id]},
    )
    inspection = Inspection.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/desk/inspections/{inspection.id}/"
    assert (inspection.inspector_id, inspection.kind) == (cast.technician.id, InspectionKind.ROUTINE)


def test_a_technician_cannot_start_a_spot_check(cast):
    sf.seed(cast)
    response = cast.browser("technician").post(
        "/desk/inspections/new/",
        {
            "create": "1",
            "estate": cast.estate.id,
            "discipline": "cleaning",
            "kind": "spot_check",
            "items": [sf.sop(cast, "cln-lobby").id],
        },
    )
    assert response.status_code == 403 and not Inspection.objects.exists()


def test_answering_on_the_phone_form_opens_a_rectification_for_the_failure(cast):
    inspection = made(cast)
    lift, roof = inspection.items.order_by("position")
    client = cast.browser("technician")
    response = client.post(
        f"/desk/inspections/{inspection.id}/submit/",
        {
            f"result-{lift.id}": "pass",
            f"result-{roof.id}": "fail",
            f"note-{roof.id}": "天台门锁损坏，门无法关闭",
            f"photo-{roof.id}": [SimpleUploadedFile("roof.png", sf.png_bytes(), content_type="image/png")],
        },
    )
    assert response.status_code == 302
    order = WorkOrder.objects.get()
    assert order.kind == Kind.RECTIFICATION and order.photos.count() == 1
    page = client.get(f"/desk/inspections/{inspection.id}/")
    html = page.content.decode()
    assert order.number in html and 'data-testid="rectification"' in html
    assert page.context["inspection"].status == InspectionStatus.SUBMITTED


def test_missing_answers_are_named_next_to_each_item(cast):
    inspection = made(cast)
    lift, roof = inspection.items.order_by("position")
    response = cast.browser("technician").post(
        f"/desk/inspections/{inspection.id}/submit/", {f"result-{lift.id}": "fail", f"reading-{roof.id}": "abc"}
    )
    # The lift check failed without saying what is wrong; the roof has neither a result nor its photo.
    assert response.status_code == 422
    rows = {row["item"].id: row["errors"] for row in response.context["rows"]}
    assert rows[lift.id] and rows[roof.id]
    assert not WorkOrder.objects.exists()


def test_the_quality_page_rolls_up_submitted_spot_checks_and_samples_more(cast, clock):
    sf.seed(cast)
    pf.catalogue(cast)
    sf.assign(cast, "level_1")
    task = sf.task(cast, status="done")
    clock.shift(dt.timedelta(hours=1))
    client = cast.browser("supervisor")
    response = client.post("/desk/inspections/quality/sample/", {"estate": cast.estate.id, "count": "5"})
    assert response.status_code == 302
    (check,) = Inspection.objects.filter(kind=InspectionKind.SPOT_CHECK)
    assert check.task_id == task.id
    (item,) = check.items.all()
    client.post(f"/desk/inspections/{check.id}/submit/", {f"result-{item.id}": "pass"})
    page = client.get("/desk/inspections/quality/")
    assert page.status_code == 200
    assert page.context["rollup"].checks == 1
    assert 'data-testid="rollup-row"' in page.content.decode()


def test_the_achieved_page_lists_every_dimension_and_exports_excel(cast):
    sf.assign(cast, "level_1")
    client = cast.browser("manager")
    page = client.get(f"/desk/inspections/achieved/{cast.estate.id}/?month=2026-10")
    assert page.status_code == 200
    codes = [line.code for line in page.context["report"].lines]
    assert codes[:5] == ["key_area_patrol", "building_check", "garbage_clearance", "road_sweeping", "glass_cleaning"]
    assert {"emergency_arrival", "satisfaction", "lights_working", "patrol_checkpoints", "rectification"} <= set(codes)
    export = client.get(f"/desk/inspections/achieved/{cast.estate.id}/export.xlsx?month=2026-10")
    assert export.status_code == 200
    assert export["Content-Disposition"].endswith('2026-10.xlsx"')
    sheet = load_workbook(io.BytesIO(export.content)).active
    assert sheet.title == "2026-10" and sheet.max_row == 4 + len(codes)


def test_a_nonsense_month_shows_this_month(cast):
    response = cast.browser("manager").get(f"/desk/inspections/achieved/{cast.estate.id}/?month=2026-13")
    assert response.status_code == 200 and response.context["month"] == "2026-11"


def _queries(client, url) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


def test_inspection_lists_and_reports_cost_the_same_queries_for_more_rows(cast):
    made(cast)
    supervisor = cast.browser("supervisor")
    urls = [
        "/desk/inspections/?all=1",
        "/desk/inspections/quality/",
        f"/desk/inspections/achieved/{cast.estate.id}/",
    ]
    before = {url: _queries(supervisor, url) for url in urls}
    technician_before = _queries(cast.browser("technician"), "/desk/inspections/")
    for _ in range(4):
        made(cast)
    after = {url: _queries(supervisor, url) for url in urls}
    assert after == before
    assert _queries(cast.browser("technician"), "/desk/inspections/") == technician_before
