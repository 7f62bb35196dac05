"""The standards API and desk pages: what every member of the cast gets, on every route.

Tasks are the technician's (a plan assigned to them) with their window open at NOW; the clock is moved there with
time-machine. Supervisors, customer service, managers and the company see every task of the estate but may not do
someone else's (403); owners never see tasks (404 on the API, 403 on the desk, which is staff-only); the stranger
supervisor works in another company's estate (404). Changing an estate's service level is the manager's and the
company's; each call gets its own later `valid_from` because the history only grows.
"""

import datetime as dt
import itertools

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile

from wuye.core.images import clean_image
from wuye.standards import services
from wuye.testing.matrix import Case, assert_matrix

from . import factories as sf
from .factories import NOW

OWNERS = ("owner", "other_owner")
OVERSIGHT = ("service_agent", "supervisor", "manager", "company_admin")
STAFF = ("service_agent", "technician", "supervisor", "manager", "company_admin")
# A list page of the desk: staff of any estate 200 (their own estate's content), owners 403.
DESK_LIST = {**dict.fromkeys(OWNERS, 403), **dict.fromkeys(STAFF, 200), "stranger_supervisor": 200, "anonymous": 401}


def see_task(owners: int, status: int = 200) -> dict[str, int]:
    """Who sees the technician's task: the technician and the estate-wide roles."""
    return {
        **dict.fromkeys(OWNERS, owners),
        **dict.fromkeys(STAFF, status),
        "stranger_supervisor": 404,
        "anonymous": 401,
    }


def only_technician(ok: int, *, owners: int, refused: int = 403) -> dict[str, int]:
    return {**see_task(owners), **dict.fromkeys(OVERSIGHT, refused), "technician": ok}


def photo_plan(cast, **extra):
    """A plan with one photo item (lobby cleaning: 07:00–09:00 and 14:00–16:00), open at NOW."""
    return sf.plan(cast, items=("cln-lobby",), **extra)


def fresh(status="pending", plan_maker=sf.tick_plan):
    """A url part: each call (each member) gets a new task of the technician's, walked to `status`."""

    def make(cast):
        return sf.task(cast, status=status, plan_maker=plan_maker).id

    return make


def shared_task(cast):
    if "matrix_task" not in cast.__dict__:
        cast.matrix_task = sf.task(cast, plan_maker=photo_plan)
    return cast.matrix_task


def shared_photo(cast):
    if "matrix_photo" not in cast.__dict__:
        task = shared_task(cast)
        (cast.matrix_photo,) = services.task_photos_add(
            actor=cast.technician, task_id=task.id, item="cln-lobby", photos=[clean_image(sf.png_bytes())], now=NOW
        )
    return cast.matrix_photo


def tick_done(cast):
    return {"evidence": {"cln-stairwell": {"tick": True}}}


def png_upload(cast):
    return {"file": [SimpleUploadedFile("p.png", sf.png_bytes(), content_type="image/png")], "item": "cln-lobby"}


_minutes = itertools.count(1)


def assign_form(cast):
    """A later moment for every call: the estate's service level history only grows."""
    sf.seed(cast)
    valid_from = NOW + dt.timedelta(minutes=next(_minutes))
    return {
        "profile": sf.profile(cast, "level_2").id,
        "valid_from": valid_from.strftime("%Y-%m-%dT%H:%M"),
        "contract_ref": "物业服务合同",
    }


_plan_names = itertools.count(1)


def plan_form(cast, **changes):
    sf.seed(cast)
    return {
        "create": "1",
        "estate": cast.estate.id,
        "discipline": "cleaning",
        "name": f"楼道保洁{next(_plan_names)}",
        "sop_items": [sf.sop(cast, "cln-stairwell").id],
        "grid": cast.grid.id,
        "assignee_role": "cleaner",
        "timetable": "own",
        "schedule_kind": "daily",
        "windows": "08:00-10:00",
        **changes,
    }


MANAGE_PLANS = {
    **dict.fromkeys(OWNERS, 403),
    **dict.fromkeys(("service_agent", "technician"), 403),
    **dict.fromkeys(("supervisor", "manager", "company_admin"), 200),
    "stranger_supervisor": 404,
    "anonymous": 401,
}


def manage_plans(status: int) -> dict[str, int]:
    return {k: (status if v == 200 else v) for k, v in MANAGE_PLANS.items()}


def api_url(path_maker, suffix=""):
    def url(cast):
        return f"/api/v1/standards/tasks/{path_maker(cast)}{suffix}"

    return url


def desk_url(path_maker, suffix=""):
    def url(cast):
        return f"/desk/standards/tasks/{path_maker(cast)}/{suffix}"

    return url


CASES = [
    # ---------------------------------------------------------------- API
    Case(
        "GET",
        "/api/v1/standards/tasks",
        {**dict.fromkeys((*OWNERS, *STAFF), 200), "stranger_supervisor": 200, "anonymous": 401},
    ),
    Case(
        "GET",
        api_url(lambda c: shared_task(c).id),
        see_task(owners=404),
        label="GET /api/v1/standards/tasks/{technician's task}",
    ),
    Case(
        "POST",
        api_url(fresh(), "/actions/start"),
        only_technician(200, owners=404),
        json=lambda c: {},
        label="POST /api/v1/standards/tasks/{task}/actions/start",
    ),
    Case(
        "POST",
        api_url(fresh("in_progress"), "/actions/finish"),
        only_technician(200, owners=404),
        json=tick_done,
        label="POST /api/v1/standards/tasks/{task}/actions/finish (with the evidence)",
    ),
    Case(
        "POST",
        api_url(fresh("in_progress"), "/actions/finish"),
        only_technician(422, owners=404),
        json=lambda c: {"evidence": {"cln-stairwell": {"tick": False}}},
        label="POST /api/v1/standards/tasks/{task}/actions/finish (evidence missing)",
    ),
    Case(
        "POST",
        api_url(fresh("done"), "/actions/start"),
        only_technician(409, owners=404),
        json=lambda c: {},
        label="POST /api/v1/standards/tasks/{done task}/actions/start",
    ),
    Case(
        "POST",
        api_url(fresh(plan_maker=photo_plan), "/photos"),
        only_technician(201, owners=404),
        data=png_upload,
        label="POST /api/v1/standards/tasks/{task}/photos",
    ),
    Case(
        "GET",
        lambda c: f"/api/v1/standards/tasks/{shared_task(c).id}/photos/{shared_photo(c).id}",
        see_task(owners=404),
        label="GET /api/v1/standards/tasks/{task}/photos/{photo}",
    ),
    # ---------------------------------------------------------------- desk pages
    Case("GET", "/desk/standards/profiles/", DESK_LIST, page=True),
    Case(
        "POST",
        lambda c: f"/desk/standards/estates/{c.estate.id}/profile/",
        {
            **dict.fromkeys(OWNERS, 403),
            **dict.fromkeys(("service_agent", "technician", "supervisor"), 403),
            **dict.fromkeys(("manager", "company_admin"), 302),
            "stranger_supervisor": 404,
            "anonymous": 401,
        },
        page=True,
        data=assign_form,
        label="POST /desk/standards/estates/{estate}/profile/",
    ),
    Case(
        "POST",
        lambda c: f"/desk/standards/estates/{c.estate.id}/profile/",
        {
            **dict.fromkeys(OWNERS, 403),
            **dict.fromkeys(("service_agent", "technician", "supervisor"), 403),
            **dict.fromkeys(("manager", "company_admin"), 422),
            "stranger_supervisor": 404,
            "anonymous": 401,
        },
        page=True,
        data={"profile": "", "valid_from": "not a date"},
        label="POST /desk/standards/estates/{estate}/profile/ (bad input)",
    ),
    Case(
        "GET",
        lambda c: f"/desk/standards/profiles/{sf.seed(c) or sf.profile(c, 'level_2').id}/edit/",
        {
            **dict.fromkeys(OWNERS, 403),
            **dict.fromkeys(("service_agent", "technician", "supervisor", "manager"), 403),
            "company_admin": 200,
            "stranger_supervisor": 404,
            "anonymous": 401,
        },
        page=True,
        label="GET /desk/standards/profiles/{profile}/edit/",
    ),
    Case(
        "POST",
        lambda c: f"/desk/standards/profiles/{sf.seed(c) or sf.profile(c, 'level_2').id}/edit/",
        {
            **dict.fromkeys(OWNERS, 403),
            **dict.fromkeys(("service_agent", "technician", "supervisor", "manager"), 403),
            "company_admin": 302,
            "stranger_supervisor": 404,
            "anonymous": 401,
        },
        page=True,
        data={"emergency_arrival_minutes": "45", "satisfaction_target_pct": "78"},
        label="POST /desk/standards/profiles/{profile}/edit/",
    ),
    Case(
        "POST",
        lambda c: f"/desk/standards/profiles/{sf.seed(c) or sf.profile(c, 'level_2').id}/edit/",
        {
            **dict.fromkeys(OWNERS, 403),
            **dict.fromkeys(("service_agent", "technician", "supervisor", "manager"), 403),
            "company_admin": 422,
            "stranger_supervisor": 404,
            "anonymous": 401,
        },
        page=True,
        data={"emergency_arrival_minutes": "0"},
        label="POST /desk/standards/profiles/{profile}/edit/ (out of range)",
    ),
    Case("GET", "/desk/standards/sop/", DESK_LIST, page=True),
    Case("GET", "/desk/standards/sop/?discipline=greening", DESK_LIST, page=True, label="GET sop ?discipline"),
    Case("GET", "/desk/standards/plans/new/", {**MANAGE_PLANS, "stranger_supervisor": 200}, page=True),
    Case("POST", "/desk/standards/plans/new/", manage_plans(302), page=True, data=plan_form, label="POST plans/new/"),
    Case(
        "POST",
        "/desk/standards/plans/new/",
        manage_plans(422),
        page=True,
        data=lambda c: plan_form(c, windows="morning"),
        label="POST /desk/standards/plans/new/ (unreadable windows)",
    ),
    Case("GET", "/desk/standards/plans/", DESK_LIST, page=True),
    Case("GET", "/desk/standards/tasks/", DESK_LIST, page=True),
    Case(
        "GET",
        desk_url(lambda c: shared_task(c).id),
        see_task(owners=403),
        page=True,
        label="GET /desk/standards/tasks/{task}/",
    ),
    Case(
        "POST",
        desk_url(fresh(), "act/start/"),
        only_technician(302, owners=403),
        page=True,
        data={},
        label="POST /desk/standards/tasks/{task}/act/start/",
    ),
    Case(
        "POST",
        desk_url(fresh(), "act/finish/"),
        only_technician(302, owners=403),
        page=True,
        data={"tick-cln-stairwell": "on"},
        label="POST /desk/standards/tasks/{task}/act/finish/",
    ),
    Case(
        "POST",
        desk_url(fresh(), "act/finish/"),
        only_technician(422, owners=403),
        page=True,
        data={"note": "忘了打勾"},
        label="POST /desk/standards/tasks/{task}/act/finish/ (no tick)",
    ),
    Case(
        "GET",
        lambda c: f"/desk/standards/tasks/{shared_task(c).id}/photos/{shared_photo(c).id}",
        see_task(owners=403),
        page=True,
        label="GET /desk/standards/tasks/{task}/photos/{photo}",
    ),
]


@pytest.mark.django_db
@pytest.mark.parametrize("case", CASES, ids=str)
def test_permission_matrix(cast, case):
    with time_machine.travel(NOW):
        assert_matrix(cast, case)
