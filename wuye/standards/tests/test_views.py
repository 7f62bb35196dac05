"""The desk's standards pages: service levels and changing an estate's level, the SOP library by discipline, plans,
my tasks today with start and done (with the evidence), and constant query counts on the lists."""

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext

from wuye.standards.models import EstateProfile, Task, TaskPhoto
from wuye.workorders.tests import factories as wf

from . import factories as sf
from .factories import NOW

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def at_now():
    with time_machine.travel(NOW, tick=False):
        yield


def text(response) -> str:
    return response.content.decode()


def english(cast, member: str):
    """A signed-in client reading the pages in English (the msgids), so assertions do not depend on the catalogue."""
    client = cast.browser(member)
    client.cookies["django_language"] = "en"
    return client


def test_the_profiles_page_shows_the_three_levels_and_the_estates_current_one(cast):
    sf.assign(cast, "level_1", contract_ref="2026 物业服务合同")
    page = english(cast, "supervisor").get("/desk/standards/profiles/")
    assert page.status_code == 200
    body = text(page)
    for code, minutes in (("level_1", 30), ("level_2", 60), ("level_3", 120)):
        assert f'data-testid="emergency-{code}">{minutes} min<' in body
    assert "Level 1 service standard" in body and "2026 物业服务合同" in body
    assert 'data-testid="assign-form"' not in body  # a supervisor does not change the contract


def test_a_manager_changes_the_estates_level_and_work_orders_follow(cast):
    wf.seed_catalogue(cast)
    sf.assign(cast, "level_1")
    page = cast.browser("manager").get("/desk/standards/profiles/")
    assert 'data-testid="assign-form"' in text(page)
    response = cast.browser("manager").post(
        f"/desk/standards/estates/{cast.estate.id}/profile/",
        {"profile": sf.profile(cast, "level_2").id, "valid_from": "2026-11-27T08:00", "contract_ref": "补充协议"},
    )
    assert response.status_code == 302
    cast.estate.refresh_from_db()
    assert cast.estate.service_level == "level_2"
    latest = EstateProfile.objects.filter(estate=cast.estate).order_by("-valid_from").first()
    assert (latest.profile.code, latest.contract_ref, latest.created_by) == ("level_2", "补充协议", cast.manager)


def test_a_contract_overrides_the_levels_emergency_arrival(cast):
    wf.seed_catalogue(cast)
    sf.assign(cast, "level_1")
    response = cast.browser("manager").post(
        f"/desk/standards/estates/{cast.estate.id}/profile/",
        {
            "profile": sf.profile(cast, "level_2").id,
            "valid_from": "2026-11-27T08:00",
            "override_emergency_arrival_minutes": "45",
            "override_lights_working_pct": "",
        },
    )
    assert response.status_code == 302
    latest = EstateProfile.objects.filter(estate=cast.estate).order_by("-valid_from").first()
    assert (latest.profile.code, latest.overrides) == ("level_2", {"emergency_arrival_minutes": 45})


def test_a_contract_value_out_of_range_is_refused_naming_it(cast):
    sf.assign(cast, "level_1")
    response = english(cast, "manager").post(
        f"/desk/standards/estates/{cast.estate.id}/profile/",
        {
            "profile": sf.profile(cast, "level_2").id,
            "valid_from": "2026-11-27T08:00",
            "override_emergency_arrival_minutes": "2",
        },
    )
    assert response.status_code == 422
    assert 'data-field="overrides.emergency_arrival_minutes"' in text(response)
    assert "Emergency repair arrival (minutes):" in text(response)
    assert EstateProfile.objects.filter(estate=cast.estate).count() == 1


def test_the_company_edits_a_level_and_work_orders_follow_its_new_limit(cast):
    from wuye.workorders.models import SlaTarget

    wf.seed_catalogue(cast)
    sf.assign(cast, "level_2")
    profile = sf.profile(cast, "level_2")
    frequency = '{"kind": "daily", "windows": [{"start": "08:00", "end": "20:00"}], "every_minutes": 180}'
    response = cast.browser("company_admin").post(
        f"/desk/standards/profiles/{profile.id}/edit/",
        {
            "emergency_arrival_minutes": "50",
            "satisfaction_target_pct": "76",
            "lift_hours": "06:00-24:00",
            "frequencies.key_area_patrol": frequency,
            "frequencies.glass_cleaning": "",
        },
    )
    assert response.status_code == 302
    profile.refresh_from_db()
    assert (profile.emergency_arrival_minutes, profile.satisfaction_target_pct) == (50, 76)
    assert profile.frequencies["key_area_patrol"]["every_minutes"] == 180
    assert profile.frequencies["glass_cleaning"] is None
    assert SlaTarget.objects.filter(
        policy__company=cast.company, service_level="level_2", priority="emergency", step="arrive", limit_minutes=50
    ).exists()


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("emergency_arrival_minutes", "soon"),
        ("emergency_arrival_minutes", "2"),
        ("lift_hours", "all day"),
        ("frequencies.road_sweeping", "{not json"),
        ("frequencies.road_sweeping", '{"kind": "hourly"}'),
    ],
)
def test_a_bad_profile_value_is_refused_naming_the_field(cast, field, value):
    sf.seed(cast)
    profile = sf.profile(cast, "level_1")
    before = (profile.emergency_arrival_minutes, profile.lift_hours, profile.frequencies)
    response = cast.browser("company_admin").post(f"/desk/standards/profiles/{profile.id}/edit/", {field: value})
    assert response.status_code == 422
    assert f'data-field="{field}"' in text(response)
    profile.refresh_from_db()
    assert (profile.emergency_arrival_minutes, profile.lift_hours, profile.frequencies) == before


def test_a_backdated_change_is_refused_on_the_page_with_the_reason(cast):
    sf.assign(cast, "level_1")
    response = cast.browser("manager").post(
        f"/desk/standards/estates/{cast.estate.id}/profile/",
        {"profile": sf.profile(cast, "level_2").id, "valid_from": "2025-01-01T08:00"},
    )
    assert response.status_code == 422
    assert 'data-testid="assign-errors"' in text(response)
    assert EstateProfile.objects.filter(estate=cast.estate).count() == 1


def test_the_sop_library_filters_by_discipline(cast):
    sf.seed(cast)
    page = cast.browser("technician").get("/desk/standards/sop/?discipline=greening")
    body = text(page)
    assert body.count('data-testid="sop-item"') >= 10
    assert 'data-discipline="cleaning"' not in body
    assert "草坪修剪" in body and "草高控制在 6–8 cm" in body
    everything = text(english(cast, "technician").get("/desk/standards/sop/"))
    assert everything.count('data-testid="sop-item"') >= 40
    assert "Every week on Tue 09:00–17:00" in everything  # weeding
    assert "Every month: the last day 09:00–17:00" in everything  # drains, month end


def test_the_sop_library_is_in_english_for_english_readers(cast):
    sf.seed(cast)
    body = text(english(cast, "technician").get("/desk/standards/sop/?discipline=greening"))
    assert "Mow lawns" in body


def test_plans_list_says_when_and_who(cast):
    sf.assign(cast, "level_1")
    sf.plan(
        cast, name="道路清扫", items=("cln-road-sweep",), profile_dimension="road_sweeping", assignee_role="cleaner"
    )
    sf.plan(cast)
    body = text(english(cast, "supervisor").get("/desk/standards/plans/"))
    assert body.count('data-testid="plan"') == 2
    assert "Every day 07:00–09:00、14:00–16:00" in body
    assert "as the service level sets (Roads and squares swept)" in body
    assert "Cleaner" in body  # the role


@pytest.mark.parametrize("day", ["0001-01-01", "9999-12-31", "yesterday"])
def test_a_day_that_makes_no_sense_shows_today(cast, day):
    task = sf.task(cast)
    page = cast.browser("technician").get(f"/desk/standards/tasks/?day={day}")
    assert page.status_code == 200 and f'data-task="{task.id}"' in text(page)


def test_a_valid_from_outside_the_calendar_is_refused(cast):
    sf.assign(cast, "level_1")
    response = cast.browser("manager").post(
        f"/desk/standards/estates/{cast.estate.id}/profile/",
        {"profile": sf.profile(cast, "level_2").id, "valid_from": "0001-01-01T00:00"},
    )
    assert response.status_code == 422


def test_start_then_done_on_the_phone_page(cast):
    task = sf.task(cast)
    client = cast.browser("technician")
    page = client.get("/desk/standards/tasks/")
    assert f'data-task="{task.id}"' in text(page) and 'data-testid="do-start"' in text(page)
    started = client.post(f"/desk/standards/tasks/{task.id}/act/start/", {"next": "/desk/standards/tasks/"})
    assert started.status_code == 302 and started.headers["Location"] == "/desk/standards/tasks/"
    missing = client.post(f"/desk/standards/tasks/{task.id}/act/finish/", {})
    assert missing.status_code == 422 and 'data-testid="item-error"' in text(missing)
    done = client.post(f"/desk/standards/tasks/{task.id}/act/finish/", {"tick-cln-stairwell": "on"})
    assert done.status_code == 302
    task.refresh_from_db()
    assert task.status == "done" and task.done_by == cast.technician


def test_done_with_a_photo_and_a_reading_from_one_form(cast):
    def two_items(c, **extra):
        return sf.plan(c, items=("cln-lobby", "eng-pump-room"), **extra)

    task = sf.task(cast, plan_maker=two_items)
    client = cast.browser("technician")
    photo = SimpleUploadedFile("p.png", sf.png_bytes(), content_type="image/png")
    response = client.post(
        f"/desk/standards/tasks/{task.id}/act/finish/",
        {"photo-cln-lobby": photo, "reading-eng-pump-room": "0.38", "note-eng-pump-room": "正常"},
    )
    assert response.status_code == 302
    task.refresh_from_db()
    assert task.status == "done"
    assert task.evidence["eng-pump-room"] == {"evidence": "reading", "reading": 0.38, "unit": "MPa", "note": "正常"}
    assert TaskPhoto.objects.filter(task=task, item="cln-lobby").count() == 1
    detail = client.get(f"/desk/standards/tasks/{task.id}/")
    assert "0.38 MPa" in text(detail) and "/photos/" in text(detail)


def test_a_reading_that_is_not_a_number_is_named_on_the_page(cast):
    def pump_room(c, **extra):
        extra["schedule"] = {"kind": "daily", "windows": [{"start": "07:00", "end": "09:00"}]}
        return sf.plan(c, items=("eng-pump-room",), **extra)

    task = sf.task(cast, plan_maker=pump_room)
    response = english(cast, "technician").post(
        f"/desk/standards/tasks/{task.id}/act/finish/", {"reading-eng-pump-room": "高"}
    )
    assert response.status_code == 422
    assert "Enter the reading as a number." in text(response)
    assert Task.objects.get(pk=task.id).status == "pending"


def _queries(client, url) -> int:
    client.get(url)
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


def test_list_pages_cost_the_same_queries_for_more_rows(cast):
    sf.assign(cast, "level_1")
    client = cast.browser("technician")
    sf.task(cast)
    before = {
        url: _queries(client, url)
        for url in ("/desk/standards/tasks/", "/desk/standards/plans/", "/desk/standards/sop/")
    }
    for _ in range(4):
        sf.task(cast)
    after = {url: _queries(client, url) for url in before}
    assert before == after
    profiles_before = _queries(client, "/desk/standards/profiles/")
    other = cast.estate.__class__.objects.create(company=cast.company, name="二期", code="phase-2")
    from wuye.accounts import services as account_services

    account_services.membership_ensure(user=cast.technician, estate=other, role="technician")
    sf.assign(cast, "level_2", estate=other)
    assert _queries(client, "/desk/standards/profiles/") == profiles_before


def plan_form(cast, **changes):
    sf.seed(cast)
    return {
        "create": "1",
        "estate": cast.estate.id,
        "discipline": "cleaning",
        "name": "周末楼道保洁",
        "sop_items": [sf.sop(cast, "cln-stairwell").id],
        "grid": cast.grid.id,
        "assignee_role": "cleaner",
        "timetable": "own",
        "schedule_kind": "weekly",
        "weekdays": ["6", "7"],
        "windows": "08:00-10:00, 14:00-16:00",
        "grace_minutes": "60",
        **changes,
    }


def test_a_supervisor_creates_a_weekend_plan_and_its_tasks_are_generated(cast):
    from wuye.standards.models import Plan

    response = cast.browser("supervisor").post("/desk/standards/plans/new/", plan_form(cast))
    assert response.status_code == 302
    plan = Plan.objects.get(name="周末楼道保洁")
    assert plan.schedule == {
        "kind": "weekly",
        "windows": [{"start": "08:00", "end": "10:00"}, {"start": "14:00", "end": "16:00"}],
        "weekdays": [6, 7],
    }
    assert (plan.grid_id, plan.assignee_role, plan.grace_minutes) == (cast.grid.id, "cleaner", 60)
    assert list(plan.sop_items.values_list("code", flat=True)) == ["cln-stairwell"]
    # NOW is Friday 27 November: two tasks on Saturday and two on Sunday within the two-week horizon's first days.
    weekdays = {task.window_start.astimezone(NOW.tzinfo).isoweekday() for task in Task.objects.filter(plan=plan)}
    assert weekdays == {6, 7}


def test_a_plan_following_the_service_level_needs_no_windows(cast):
    from wuye.standards.models import Plan

    sf.assign(cast, "level_1")
    form = plan_form(cast, timetable="road_sweeping", windows="", weekdays=[])
    assert cast.browser("manager").post("/desk/standards/plans/new/", form).status_code == 302
    plan = Plan.objects.get(name="周末楼道保洁")
    assert (plan.schedule, plan.profile_dimension) == (None, "road_sweeping")


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"windows": "morning"}, "windows"),
        ({"windows": "08:00-08:00"}, "windows"),
        ({"weekdays": []}, "weekdays"),
        ({"name": ""}, "name"),
        ({"sop_items": []}, "sop_items"),
        ({"assignee_role": "owner"}, "assignee_role"),
        ({"grace_minutes": "soon"}, "grace_minutes"),
        ({"starts_on": "2026-12-10", "ends_on": "2026-12-01"}, "ends_on"),
        ({"grid": "999999"}, "grid"),
    ],
    ids=lambda value: value if isinstance(value, str) else None,
)
def test_a_bad_plan_form_is_refused_naming_the_field(cast, changes, field):
    from wuye.standards.models import Plan

    response = cast.browser("supervisor").post("/desk/standards/plans/new/", plan_form(cast, **changes))
    assert response.status_code == 422
    assert f'data-field="{field}"' in text(response)
    assert not Plan.objects.filter(name="周末楼道保洁").exists()


def pump(cast, estate=None):
    from wuye.equipment.services import NewEquipment, equipment_create

    estate = estate or cast.estate
    return equipment_create(
        estate=estate,
        new=NewEquipment(code="PUMP-1", name="生活水泵 1号", category="water_pump", building=estate.buildings.first()),
        now=NOW,
    )


def test_a_plan_can_be_on_one_item_of_equipment(cast):
    from wuye.standards.models import Plan

    sf.seed(cast)
    item = pump(cast)
    form = plan_form(cast, discipline="engineering", sop_items=[sf.sop(cast, "eng-pump-room").id], equipment=item.id)
    form["assignee_role"] = "technician"
    assert cast.browser("supervisor").post("/desk/standards/plans/new/", form).status_code == 302
    plan = Plan.objects.get(name="周末楼道保洁")
    assert plan.equipment_id == item.id and "生活水泵 1号" in plan.place_label


def test_equipment_of_another_estate_is_refused_naming_the_field(cast):
    sf.seed(cast)
    foreign = pump(cast, estate=cast.other_estate)
    response = cast.browser("supervisor").post("/desk/standards/plans/new/", plan_form(cast, equipment=foreign.id))
    assert response.status_code == 422
    assert 'data-field="equipment"' in text(response)
