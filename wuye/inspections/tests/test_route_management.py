"""Managing patrol routes and checkpoints on the desk: settings changed (rounds not begun follow, history keeps what
it was judged against), checkpoints added (new, with a fresh code), removed and reordered, renamed without
invalidating the printed label, the label sheet as PDF and PNG, and every refusal naming its field."""

import datetime as dt

import pytest
import time_machine

from wuye.accounts.choices import Role
from wuye.core.errors import ValidationFailed
from wuye.inspections import codes, services
from wuye.inspections.choices import RoundStatus
from wuye.inspections.models import Checkpoint, Round, Route

from . import factories as pf
from .factories import NOW

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _clock():
    with time_machine.travel(NOW + dt.timedelta(minutes=5), tick=False):
        yield


def settings_of(route: Route, **changes) -> services.RouteSettings:
    values = {
        "name": route.name,
        "grid": route.grid,
        "order_rule": route.order_rule,
        "schedule": route.schedule,
        "profile_dimension": route.profile_dimension,
        "tolerance_minutes": route.tolerance_minutes,
        "assignee": route.assignee,
        "assignee_role": route.assignee_role,
        "is_active": route.is_active,
    }
    return services.RouteSettings(**{**values, **changes})


def stop_names(route: Route) -> list[str]:
    return list(route.stops.order_by("position").values_list("checkpoint__name", flat=True))


def test_new_windows_regenerate_the_rounds_not_begun_and_keep_the_open_and_past_ones(cast):
    route = pf.route(cast)  # 08:00–09:00 and 20:00–21:00; NOW is 08:05
    morning = pf.round_at(route, NOW)
    services.round_scan(
        actor=pf.guard(cast),
        round_id=morning.id,
        code=pf.code(pf.checkpoints(cast)[0]),
        now=NOW + dt.timedelta(minutes=5),
    )
    night = {"kind": "daily", "windows": [{"start": "22:00", "end": "23:00"}]}
    services.route_update(
        actor=cast.supervisor, route_id=route.id, settings=settings_of(route, schedule=night), now=NOW
    )
    starts = {r.window_start.astimezone(pf.SH).strftime("%H:%M") for r in Round.objects.filter(route=route)}
    assert starts == {"08:00", "22:00"}  # the walked morning round stays; 20:00 rounds became 22:00 ones
    morning.refresh_from_db()
    assert morning.status == RoundStatus.IN_PROGRESS and morning.scanned_count == 1


def test_a_route_taken_out_of_use_loses_its_future_rounds(cast):
    route = pf.route(cast)
    services.route_update(
        actor=cast.supervisor, route_id=route.id, settings=settings_of(route, is_active=False), now=NOW
    )
    assert not Round.objects.filter(route=route, window_start__gt=NOW).exists()
    assert Round.objects.filter(route=route, window_start=NOW).exists()  # open now: kept


def test_a_window_shorter_than_a_planned_stop_is_refused_naming_the_windows(cast):
    route = pf.route(cast, offsets=[0, 20, 40])
    short = {"kind": "daily", "windows": [{"start": "20:00", "end": "20:30"}]}
    with pytest.raises(ValidationFailed) as refusal:
        services.route_update(
            actor=cast.supervisor, route_id=route.id, settings=settings_of(route, schedule=short), now=NOW
        )
    assert [error.field for error in refusal.value.errors] == ["schedule.windows"]


def test_reordering_checkpoints_changes_rounds_not_begun_only(cast):
    route = pf.route(cast)
    morning = pf.round_at(route, NOW)
    first, second, third = pf.checkpoints(cast)
    services.round_scan(actor=pf.guard(cast), round_id=morning.id, code=pf.code(first), now=NOW)
    services.route_stops_set(
        actor=cast.supervisor, route_id=route.id, stops=[(third, None), (first, None), (second, None)], now=NOW
    )
    assert stop_names(route) == [third.name, first.name, second.name]
    evening = pf.round_at(route, pf.local(2026, 11, 27, 20, 0))
    assert [stop["checkpoint"] for stop in evening.stops] == [third.id, first.id, second.id]
    morning.refresh_from_db()
    assert [stop["checkpoint"] for stop in morning.stops] == [first.id, second.id, third.id]


def test_a_route_keeps_at_least_one_checkpoint_and_each_only_once(cast):
    route = pf.route(cast)
    first = pf.checkpoints(cast)[0]
    for stops, field in (([], "stops"), ([(first, None), (first, None)], "stops[1].checkpoint_id")):
        with pytest.raises(ValidationFailed) as refusal:
            services.route_stops_set(actor=cast.supervisor, route_id=route.id, stops=stops, now=NOW)
        assert refusal.value.errors[0].field == field
    assert len(stop_names(route)) == 3


def test_a_checkpoint_of_another_estate_cannot_join_the_route(cast):
    route = pf.route(cast)
    foreign = pf.checkpoints(cast, names=("他山大门",), estate=cast.other_estate)[0]
    with pytest.raises(ValidationFailed) as refusal:
        services.route_checkpoint_add(actor=cast.supervisor, route_id=route.id, checkpoint=foreign, now=NOW)
    assert refusal.value.errors[0].field == "stops[3].checkpoint_id"


def test_the_desk_adds_a_new_checkpoint_with_its_own_code_at_the_end(cast):
    route = pf.route(cast)
    area = pf.public_area(cast.estate, "北门", cast.grid)
    response = cast.browser("supervisor").post(
        f"/desk/patrol/routes/{route.id}/stops/add/",
        {"name": "北门岗亭", "public_area": area.id, "position": "岗亭门右侧", "offset_minutes": ""},
    )
    assert response.status_code == 302
    added = Checkpoint.objects.get(estate=cast.estate, name="北门岗亭")
    assert stop_names(route)[-1] == "北门岗亭" and added.position == "岗亭门右侧"
    assert codes.verify(cast.estate.id, codes.parse(pf.code(added)))
    # The rounds not begun expect it; the route's label sheet has it.
    evening = pf.round_at(route, pf.local(2026, 11, 27, 20, 0))
    assert evening.stops[-1]["checkpoint"] == added.id
    labels = cast.browser("supervisor").get(f"/desk/patrol/routes/{route.id}/labels/")
    assert pf.code(added) in labels.content.decode()


def test_the_desk_moves_a_checkpoint_up_and_takes_one_off(cast):
    route = pf.route(cast)
    client = cast.browser("manager")
    stops = list(route.stops.order_by("position"))
    names = stop_names(route)
    assert (
        client.post(f"/desk/patrol/routes/{route.id}/stops/{stops[2].id}/move/", {"direction": "up"}).status_code == 302
    )
    assert stop_names(route) == [names[0], names[2], names[1]]
    remove = f"/desk/patrol/routes/{route.id}/stops/{route.stops.get(position=1).id}/remove/"
    assert client.post(remove).status_code == 302
    assert stop_names(route) == [names[2], names[1]]
    assert Checkpoint.objects.get(name=names[0]).is_active  # off the route, still in the estate


def test_removing_the_last_checkpoint_is_refused_on_the_page(cast):
    only = pf.checkpoints(cast)[:1]
    route = pf.route(cast, points=only)
    stop = route.stops.get()
    client = cast.browser("supervisor")
    client.cookies["django_language"] = "en"
    response = client.post(f"/desk/patrol/routes/{route.id}/stops/{stop.id}/remove/")
    assert response.status_code == 422
    assert "A route needs at least one checkpoint." in response.content.decode()
    assert stop_names(route) == [only[0].name]


def test_renaming_a_checkpoint_keeps_its_printed_code(cast):
    checkpoint = pf.checkpoints(cast)[0]
    printed = pf.code(checkpoint)
    response = cast.browser("supervisor").post(
        f"/desk/patrol/checkpoints/{checkpoint.id}/edit/",
        {"name": "南门岗亭（新）", "public_area": checkpoint.public_area_id, "position": "新岗亭左侧"},
    )
    assert response.status_code == 302
    checkpoint.refresh_from_db()
    assert (checkpoint.name, checkpoint.position, pf.code(checkpoint)) == ("南门岗亭（新）", "新岗亭左侧", printed)


def test_a_checkpoint_name_taken_in_the_estate_is_refused_naming_the_field(cast):
    first, second, _third = pf.checkpoints(cast)
    response = cast.browser("supervisor").post(
        f"/desk/patrol/checkpoints/{second.id}/edit/", {"name": first.name, "public_area": second.public_area_id}
    )
    assert response.status_code == 422
    assert 'data-field="name"' in response.content.decode()


def new_route_form(cast, **changes):
    return {
        "estate": cast.estate.id,
        "name": "西区夜巡",
        "grid": cast.grid.id,
        "order_rule": "strict",
        "timetable": "own",
        "schedule_kind": "weekly",
        "weekdays": ["6", "7"],
        "windows": "20:00-06:00",
        "every_minutes": "120",
        "tolerance_minutes": "15",
        "assignee_role": "guard",
        "checkpoints": [c.id for c in pf.checkpoints(cast)],
        **changes,
    }


def test_the_desk_creates_a_weekend_night_route_with_rounds_every_two_hours(cast):
    response = cast.browser("supervisor").post("/desk/patrol/routes/new/", new_route_form(cast))
    assert response.status_code == 302
    route = Route.objects.get(name="西区夜巡")
    assert route.schedule == {
        "kind": "weekly",
        "windows": [{"start": "20:00", "end": "06:00"}],
        "every_minutes": 120,
        "weekdays": [6, 7],
    }
    assert (route.tolerance_minutes, route.assignee_role, route.grid_id) == (15, Role.GUARD, cast.grid.id)
    # NOW is Friday 27 November, 08:05; rounds are generated two days ahead: Saturday night's five windows.
    starts = [r.window_start.astimezone(pf.SH) for r in Round.objects.filter(route=route).order_by("window_start")]
    assert [(s.day, s.hour) for s in starts] == [(28, 20), (28, 22), (29, 0), (29, 2), (29, 4)]
    assert all(r.window_end - r.window_start == dt.timedelta(hours=2) for r in Round.objects.filter(route=route))


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"windows": "after dinner"}, "windows"),
        ({"windows": "25:00-26:00"}, "windows"),
        ({"weekdays": []}, "weekdays"),
        ({"every_minutes": "two hours"}, "every_minutes"),
        ({"name": ""}, "name"),
        ({"tolerance_minutes": "999"}, "tolerance_minutes"),
        ({"order_rule": "backwards"}, "order_rule"),
        ({"checkpoints": []}, "stops"),
        ({"timetable": "moon_phase"}, "timetable"),
    ],
    ids=lambda value: value if isinstance(value, str) else None,
)
def test_a_bad_route_form_is_refused_naming_the_field(cast, changes, field):
    response = cast.browser("supervisor").post("/desk/patrol/routes/new/", new_route_form(cast, **changes))
    assert response.status_code == 422
    assert f'data-field="{field}"' in response.content.decode()
    assert not Route.objects.filter(name="西区夜巡").exists()


def test_the_edit_form_shows_the_route_as_it_is(cast):
    route = pf.route(cast)
    page = cast.browser("supervisor").get(f"/desk/patrol/routes/{route.id}/edit/").content.decode()
    assert 'value="08:00-09:00, 20:00-21:00"' in page and f'value="{route.name}"' in page


def test_the_label_sheet_comes_as_a_pdf_and_a_png(cast):
    route = pf.route(cast)
    client = cast.browser("supervisor")
    pdf = client.get(f"/desk/patrol/routes/{route.id}/labels.pdf")
    assert pdf["Content-Type"] == "application/pdf" and pdf.content.startswith(b"%PDF-")
    assert b"/Count 1" in pdf.content  # three labels: one A4 page
    png = client.get(f"/desk/patrol/routes/{route.id}/labels.png")
    assert png["Content-Type"] == "image/png" and png.content.startswith(b"\x89PNG")


def test_seven_labels_take_two_pdf_pages():
    from wuye.inspections import labels

    text = labels.LabelText(title="南门巡更点", subtitle="翠湖花园 · 夜巡 · 1", payload="WYP1:X", code="X")
    one_page = labels.sheet_pdf([text] * 6)
    two_pages = labels.sheet_pdf([text] * 7)
    assert b"/Count 1" in one_page and b"/Count 2" in two_pages


def test_an_estate_without_checkpoints_gets_its_first_route_and_checkpoint_together(cast):
    area = pf.public_area(cast.estate, "东门", cast.grid)
    form = new_route_form(cast, checkpoints=[], checkpoint_name="东门岗亭", checkpoint_public_area=area.id)
    response = cast.browser("supervisor").post("/desk/patrol/routes/new/", form)
    assert response.status_code == 302
    route = Route.objects.get(name="西区夜巡")
    assert stop_names(route) == ["东门岗亭"]
    assert Checkpoint.objects.get(name="东门岗亭").public_area_id == area.id


def test_a_first_checkpoint_without_a_place_is_refused_and_nothing_is_kept(cast):
    form = new_route_form(cast, checkpoints=[], checkpoint_name="东门岗亭")
    response = cast.browser("supervisor").post("/desk/patrol/routes/new/", form)
    assert response.status_code == 422
    assert 'data-field="checkpoint_public_area"' in response.content.decode()
    assert not Route.objects.filter(name="西区夜巡").exists()
    assert not Checkpoint.objects.filter(name="东门岗亭").exists()


def test_a_refused_route_leaves_no_first_checkpoint_behind(cast):
    area = pf.public_area(cast.estate, "东门", cast.grid)
    form = new_route_form(cast, checkpoints=[], checkpoint_name="东门岗亭", checkpoint_public_area=area.id)
    response = cast.browser("supervisor").post("/desk/patrol/routes/new/", {**form, "windows": "25:00-26:00"})
    assert response.status_code == 422
    assert 'data-field="windows"' in response.content.decode()
    assert not Checkpoint.objects.filter(name="东门岗亭").exists()
