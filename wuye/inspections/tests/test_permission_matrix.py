"""The patrol and inspection desk pages: what every member of the cast gets, on every route.

The cast has no guard, so the matrix's routes are walked by the technician's role (an engineering route through
the same checkpoints); rounds are open at NOW (the clock is moved there). Inspections are the technician's, set by
the supervisor. Estate-wide roles see all rounds and inspections but may not scan or fill in someone else's (403);
supervisors, managers and the company set up routes, print labels, cancel inspections, sample spot checks and read
the reports; customer service and the technician do not (403). Owners never reach the staff desk (403); the
stranger supervisor works in another company's estate (404 on ours, 200 on lists of their own).
"""

import datetime as dt
import itertools

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile

from wuye.accounts.choices import Role
from wuye.core.images import clean_image
from wuye.inspections import services
from wuye.inspections.models import Round
from wuye.standards.tests import factories as sf
from wuye.testing.matrix import Case, assert_matrix
from wuye.workorders.models import Category

from . import factories as pf
from .factories import NOW

OWNERS = ("owner", "other_owner")
OVERSIGHT = ("service_agent", "supervisor", "manager", "company_admin")
STAFF = ("service_agent", "technician", "supervisor", "manager", "company_admin")
MANAGERS = ("supervisor", "manager", "company_admin")
DESK_LIST = {**dict.fromkeys(OWNERS, 403), **dict.fromkeys(STAFF, 200), "stranger_supervisor": 200, "anonymous": 401}

_names = itertools.count(1)


def expect(*, ok: int, who=STAFF, others: int = 403, stranger: int = 404) -> dict[str, int]:
    """`ok` for the members in `who`, `others` for the rest of our staff, 403 for owners (staff-only desk)."""
    result = {**dict.fromkeys(OWNERS, 403), "stranger_supervisor": stranger, "anonymous": 401}
    for member in STAFF:
        result[member] = ok if member in who else others
    return result


def fresh_round(cast) -> Round:
    """A new route walked by the technician's role, and its round open at NOW."""
    route = pf.route(cast, name=f"工程巡检{next(_names)}", role=Role.TECHNICIAN)
    return pf.round_at(route, NOW)


def shared_round(cast) -> Round:
    if "insp_matrix_round" not in cast.__dict__:
        cast.insp_matrix_round = fresh_round(cast)
    return cast.insp_matrix_round


def evening_round(cast) -> Round:
    route = pf.route(cast, name=f"晚间巡检{next(_names)}", role=Role.TECHNICIAN)
    return pf.round_at(route, pf.local(2026, 11, 27, 20, 0))


def first_code(cast):
    return {"code": pf.code(pf.checkpoints(cast)[0]), "method": "manual"}


def incident_form(cast):
    pf.catalogue(cast)
    security = Category.objects.get(company=cast.company, code="security")
    return {"category": security.id, "description": "地库入口积水"}


def inspection(cast):
    sf.seed(cast)
    pf.catalogue(cast)
    return services.inspection_create(
        actor=cast.supervisor,
        new=services.NewInspection(
            estate=cast.estate,
            discipline="engineering",
            sop_items=[sf.sop(cast, "eng-lift-check")],
            inspector=cast.technician,
        ),
        now=NOW,
    )


def shared_inspection(cast):
    if "insp_matrix_inspection" not in cast.__dict__:
        cast.insp_matrix_inspection = inspection(cast)
    return cast.insp_matrix_inspection


def shared_photo(cast):
    if "insp_matrix_photo" not in cast.__dict__:
        sf.seed(cast)
        pf.catalogue(cast)
        made = services.inspection_create(
            actor=cast.supervisor,
            new=services.NewInspection(
                estate=cast.estate,
                discipline="engineering",
                sop_items=[sf.sop(cast, "eng-roof")],
                inspector=cast.technician,
            ),
            now=NOW,
        )
        (item,) = made.items.all()
        services.inspection_submit(
            actor=cast.technician,
            inspection_id=made.id,
            answers={item.id: {"result": "pass"}},
            photos={item.id: [clean_image(sf.png_bytes())]},
            now=NOW,
        )
        cast.insp_matrix_photo = (made, item.photos.get())
    return cast.insp_matrix_photo


def lift_check_passed(cast):
    made = cast.__dict__["insp_matrix_current"]
    (item,) = made.items.all()
    return {f"result-{item.id}": "pass"}


def fresh_inspection(cast):
    cast.insp_matrix_current = inspection(cast)
    return cast.insp_matrix_current.id


def new_inspection_form(cast):
    sf.seed(cast)
    return {
        "create": "1",
        "estate": cast.estate.id,
        "discipline": "engineering",
        "kind": "routine",
        "items": [sf.sop(cast, "eng-lift-check").id],
    }


def fresh_checkpoint(cast):
    return pf.checkpoints(cast, names=(f"临时{next(_names)}",))[0].id


def png_upload(cast):
    return {
        **incident_form(cast),
        "photos": [SimpleUploadedFile("p.png", sf.png_bytes(), content_type="image/png")],
    }


def route_form(cast, **changes):
    return {
        "estate": cast.estate.id,
        "name": f"新巡更路线{next(_names)}",
        "grid": cast.grid.id,
        "order_rule": "strict",
        "timetable": "own",
        "schedule_kind": "daily",
        "windows": "08:00-09:00, 20:00-06:00",
        "tolerance_minutes": "10",
        "assignee_role": "guard",
        "checkpoints": [checkpoint.id for checkpoint in pf.checkpoints(cast)],
        "is_active": "on",
        **changes,
    }


def fresh_route(cast):
    return pf.route(cast, name=f"管理路线{next(_names)}", role=Role.TECHNICIAN)


def fresh_stop(cast):
    route = fresh_route(cast)
    return route, route.stops.order_by("position").first()


def new_checkpoint_form(cast):
    return {"name": f"新巡更点{next(_names)}", "public_area": pf.public_area(cast.estate, "北门", cast.grid).id}


CASES = [
    # ---------------------------------------------------------------- patrols
    Case("GET", "/desk/patrol/", DESK_LIST, page=True),
    Case("GET", "/desk/patrol/?day=2026-11-26", DESK_LIST, page=True, label="GET /desk/patrol/?day"),
    Case(
        "GET",
        lambda c: f"/desk/patrol/rounds/{shared_round(c).id}/",
        expect(ok=200),
        page=True,
        label="GET /desk/patrol/rounds/{round}/",
    ),
    Case(
        "POST",
        lambda c: f"/desk/patrol/rounds/{fresh_round(c).id}/scan/",
        expect(ok=302, who=("technician",)),
        page=True,
        data=first_code,
        label="POST /desk/patrol/rounds/{round}/scan/",
    ),
    Case(
        "POST",
        lambda c: f"/desk/patrol/rounds/{fresh_round(c).id}/scan/",
        expect(ok=422, who=("technician",)),
        page=True,
        data={"code": "ABCDE-FGHJK-MNPQR-STVWX", "method": "manual"},
        label="POST /desk/patrol/rounds/{round}/scan/ (forged code)",
    ),
    Case(
        "POST",
        lambda c: f"/desk/patrol/rounds/{evening_round(c).id}/scan/",
        expect(ok=409, who=("technician",)),
        page=True,
        data=first_code,
        label="POST /desk/patrol/rounds/{evening round}/scan/ (not open yet)",
    ),
    Case(
        "GET",
        lambda c: f"/desk/patrol/rounds/{shared_round(c).id}/incident/",
        expect(ok=200, who=("technician",)),
        page=True,
        label="GET /desk/patrol/rounds/{round}/incident/",
    ),
    Case(
        "POST",
        lambda c: f"/desk/patrol/rounds/{fresh_round(c).id}/incident/",
        expect(ok=302, who=("technician",)),
        page=True,
        data=png_upload,
        label="POST /desk/patrol/rounds/{round}/incident/",
    ),
    Case(
        "POST",
        lambda c: f"/desk/patrol/rounds/{fresh_round(c).id}/incident/",
        expect(ok=422, who=("technician",)),
        page=True,
        data={"category": "", "description": ""},
        label="POST /desk/patrol/rounds/{round}/incident/ (nothing said)",
    ),
    Case("GET", "/desk/patrol/routes/", DESK_LIST, page=True),
    Case(
        "GET",
        lambda c: f"/desk/patrol/routes/{shared_round(c).route_id}/",
        expect(ok=200),
        page=True,
        label="GET /desk/patrol/routes/{route}/",
    ),
    Case(
        "GET",
        lambda c: f"/desk/patrol/routes/{shared_round(c).route_id}/labels/",
        expect(ok=200, who=MANAGERS),
        page=True,
        label="GET /desk/patrol/routes/{route}/labels/",
    ),
    Case(
        "GET",
        lambda c: f"/desk/patrol/routes/{shared_round(c).route_id}/labels.png",
        expect(ok=200, who=MANAGERS),
        page=True,
        label="GET /desk/patrol/routes/{route}/labels.png",
    ),
    Case(
        "POST",
        lambda c: f"/desk/patrol/checkpoints/{fresh_checkpoint(c)}/retire/",
        expect(ok=302, who=MANAGERS),
        page=True,
        data={},
        label="POST /desk/patrol/checkpoints/{checkpoint}/retire/",
    ),
    # ---------------------------------------------------------------- managing routes and checkpoints
    Case(
        "GET",
        "/desk/patrol/routes/new/",
        {**expect(ok=200, who=MANAGERS), "stranger_supervisor": 200},
        page=True,
    ),
    Case(
        "POST",
        "/desk/patrol/routes/new/",
        expect(ok=302, who=MANAGERS),
        page=True,
        data=route_form,
        label="POST /desk/patrol/routes/new/",
    ),
    Case(
        "POST",
        "/desk/patrol/routes/new/",
        expect(ok=422, who=MANAGERS),
        page=True,
        data=lambda c: route_form(c, windows="after dinner"),
        label="POST /desk/patrol/routes/new/ (unreadable windows)",
    ),
    Case(
        "GET",
        lambda c: f"/desk/patrol/routes/{fresh_route(c).id}/edit/",
        expect(ok=200, who=MANAGERS),
        page=True,
        label="GET /desk/patrol/routes/{route}/edit/",
    ),
    Case(
        "POST",
        lambda c: f"/desk/patrol/routes/{fresh_route(c).id}/edit/",
        expect(ok=302, who=MANAGERS),
        page=True,
        data=lambda c: route_form(c, order_rule="any", windows="21:00-22:00"),
        label="POST /desk/patrol/routes/{route}/edit/",
    ),
    Case(
        "POST",
        lambda c: f"/desk/patrol/routes/{fresh_route(c).id}/edit/",
        expect(ok=422, who=MANAGERS),
        page=True,
        data=lambda c: route_form(c, tolerance_minutes="999"),
        label="POST /desk/patrol/routes/{route}/edit/ (tolerance out of range)",
    ),
    Case(
        "POST",
        lambda c: f"/desk/patrol/routes/{fresh_route(c).id}/stops/add/",
        expect(ok=302, who=MANAGERS),
        page=True,
        data=new_checkpoint_form,
        label="POST /desk/patrol/routes/{route}/stops/add/",
    ),
    Case(
        "POST",
        lambda c: f"/desk/patrol/routes/{fresh_route(c).id}/stops/add/",
        expect(ok=422, who=MANAGERS),
        page=True,
        data={"name": "", "public_area": ""},
        label="POST /desk/patrol/routes/{route}/stops/add/ (no name, no place)",
    ),
    Case(
        "POST",
        lambda c: "/desk/patrol/routes/{}/stops/{}/move/".format(*(x.id for x in fresh_stop(c))),
        expect(ok=302, who=MANAGERS),
        page=True,
        data={"direction": "down"},
        label="POST /desk/patrol/routes/{route}/stops/{stop}/move/",
    ),
    Case(
        "POST",
        lambda c: "/desk/patrol/routes/{}/stops/{}/move/".format(*(x.id for x in fresh_stop(c))),
        expect(ok=422, who=MANAGERS),
        page=True,
        data={"direction": "sideways"},
        label="POST /desk/patrol/routes/{route}/stops/{stop}/move/ (no such direction)",
    ),
    Case(
        "POST",
        lambda c: "/desk/patrol/routes/{}/stops/{}/remove/".format(*(x.id for x in fresh_stop(c))),
        expect(ok=302, who=MANAGERS),
        page=True,
        data={},
        label="POST /desk/patrol/routes/{route}/stops/{stop}/remove/",
    ),
    Case(
        "GET",
        lambda c: f"/desk/patrol/checkpoints/{fresh_checkpoint(c)}/edit/",
        expect(ok=200, who=MANAGERS),
        page=True,
        label="GET /desk/patrol/checkpoints/{checkpoint}/edit/",
    ),
    Case(
        "POST",
        lambda c: f"/desk/patrol/checkpoints/{fresh_checkpoint(c)}/edit/",
        expect(ok=302, who=MANAGERS),
        page=True,
        data=new_checkpoint_form,
        label="POST /desk/patrol/checkpoints/{checkpoint}/edit/",
    ),
    Case(
        "POST",
        lambda c: f"/desk/patrol/checkpoints/{fresh_checkpoint(c)}/edit/",
        expect(ok=422, who=MANAGERS),
        page=True,
        data={"name": "", "public_area": ""},
        label="POST /desk/patrol/checkpoints/{checkpoint}/edit/ (no name, no place)",
    ),
    Case(
        "GET",
        lambda c: f"/desk/patrol/routes/{shared_round(c).route_id}/labels.pdf",
        expect(ok=200, who=MANAGERS),
        page=True,
        label="GET /desk/patrol/routes/{route}/labels.pdf",
    ),
    # ---------------------------------------------------------------- inspections
    Case("GET", "/desk/inspections/", DESK_LIST, page=True),
    Case("GET", "/desk/inspections/?all=1", DESK_LIST, page=True, label="GET /desk/inspections/?all=1"),
    Case(
        "GET",
        "/desk/inspections/new/",
        {**expect(ok=200, who=("technician", *MANAGERS)), "stranger_supervisor": 200},
        page=True,
    ),
    Case(
        "POST",
        "/desk/inspections/new/",
        expect(ok=302, who=("technician", *MANAGERS)),
        page=True,
        data=new_inspection_form,
        label="POST /desk/inspections/new/",
    ),
    Case(
        "POST",
        "/desk/inspections/new/",
        expect(ok=422, who=("technician", *MANAGERS)),
        page=True,
        data=lambda c: {**new_inspection_form(c), "items": []},
        label="POST /desk/inspections/new/ (no items)",
    ),
    Case(
        "GET",
        lambda c: f"/desk/inspections/{shared_inspection(c).id}/",
        expect(ok=200),
        page=True,
        label="GET /desk/inspections/{inspection}/",
    ),
    Case(
        "POST",
        lambda c: f"/desk/inspections/{fresh_inspection(c)}/submit/",
        expect(ok=302, who=("technician",)),
        page=True,
        data=lift_check_passed,
        label="POST /desk/inspections/{inspection}/submit/",
    ),
    Case(
        "POST",
        lambda c: f"/desk/inspections/{fresh_inspection(c)}/submit/",
        expect(ok=422, who=("technician",)),
        page=True,
        data={},
        label="POST /desk/inspections/{inspection}/submit/ (nothing answered)",
    ),
    Case(
        "POST",
        lambda c: f"/desk/inspections/{fresh_inspection(c)}/cancel/",
        expect(ok=302, who=MANAGERS),
        page=True,
        data={"reason": "设备停用检修"},
        label="POST /desk/inspections/{inspection}/cancel/",
    ),
    Case(
        "GET",
        lambda c: f"/desk/inspections/{shared_photo(c)[0].id}/photos/{shared_photo(c)[1].id}",
        expect(ok=200),
        page=True,
        label="GET /desk/inspections/{inspection}/photos/{photo}",
    ),
    # ---------------------------------------------------------------- quality and reports
    Case("GET", "/desk/inspections/quality/", {**expect(ok=200, who=MANAGERS), "stranger_supervisor": 200}, page=True),
    Case(
        "POST",
        "/desk/inspections/quality/sample/",
        expect(ok=302, who=MANAGERS),
        page=True,
        data=lambda c: {"estate": c.estate.id, "count": "3"},
        label="POST /desk/inspections/quality/sample/",
    ),
    Case(
        "POST",
        "/desk/inspections/quality/sample/",
        {**expect(ok=422, who=MANAGERS), "stranger_supervisor": 422},
        page=True,
        data={"estate": "", "count": "3"},
        label="POST /desk/inspections/quality/sample/ (no estate)",
    ),
    Case(
        "GET",
        lambda c: f"/desk/inspections/achieved/{c.estate.id}/",
        expect(ok=200, who=MANAGERS),
        page=True,
        label="GET /desk/inspections/achieved/{estate}/",
    ),
    Case(
        "GET",
        lambda c: f"/desk/inspections/achieved/{c.estate.id}/export.xlsx?month=2026-10",
        expect(ok=200, who=MANAGERS),
        page=True,
        label="GET /desk/inspections/achieved/{estate}/export.xlsx",
    ),
]


@pytest.mark.django_db
@pytest.mark.parametrize("case", CASES, ids=str)
def test_permission_matrix(cast, case):
    with time_machine.travel(NOW + dt.timedelta(minutes=5), tick=False):
        assert_matrix(cast, case)
