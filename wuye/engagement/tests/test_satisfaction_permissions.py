"""Every satisfaction-index and follow-up route (API and pages) for every cast member, and bad input.

Readers of the index: customer service, supervisor, manager, company administrator (the survey roles). Follow-ups:
the grid leader (the cast's supervisor leads the grid) and the supervisors, managers and company administrators above;
customer service, the technician and owners get 403; the stranger supervisor sees their own (empty) list and 404 for
the cast's follow-ups.
"""

import pytest

from wuye.core import clock
from wuye.engagement import services
from wuye.engagement.choices import FollowUpCause
from wuye.testing.matrix import Case, assert_matrix
from wuye.workorders.tests import factories as wf

pytestmark = pytest.mark.django_db

OUTSIDERS = {"stranger_supervisor": 404, "anonymous": 401}


def expect(owners: int, readers: int, technician: int, **rest) -> dict[str, int]:
    result = dict.fromkeys(("owner", "other_owner"), owners)
    result |= dict.fromkeys(("service_agent", "supervisor", "manager", "company_admin"), readers)
    result["technician"] = technician
    return result | rest


def follow_up_matrix(owners: int, leaders: int, others: int, **rest) -> dict[str, int]:
    result = dict.fromkeys(("owner", "other_owner"), owners)
    result |= dict.fromkeys(("supervisor", "manager", "company_admin"), leaders)
    result |= dict.fromkeys(("service_agent", "technician"), others)
    return result | rest


def fresh_follow_up_id(cast) -> int:
    if not cast.company.categories.exists():
        wf.seed_catalogue(cast)
    order = wf.order(cast, status="resolved")
    return services.follow_up_open(order=order, cause=FollowUpCause.LOW_RATING, score=1, now=clock.now()).id


CASES = [
    Case(
        "GET",
        lambda c: f"/api/v1/satisfaction?estate_id={c.estate.id}",
        expect(403, 200, 403, **OUTSIDERS),
        label="GET /api/v1/satisfaction?estate_id=",
    ),
    Case(
        "GET",
        lambda c: f"/api/v1/satisfaction?estate_id={c.estate.id}&grid_id={c.grid.id}",
        expect(403, 200, 403, **OUTSIDERS),
        label="GET /api/v1/satisfaction?estate_id=&grid_id=",
    ),
    Case(
        "GET",
        "/api/v1/satisfaction",
        expect(403, 200, 403, stranger_supervisor=200, anonymous=401),
        label="GET /api/v1/satisfaction (every estate one may read)",
    ),
    Case(
        "GET",
        lambda c: f"/desk/surveys/satisfaction/?estate={c.estate.id}",
        expect(403, 200, 403, **OUTSIDERS),
        page=True,
        label="GET /desk/surveys/satisfaction/?estate=",
    ),
    Case(
        "GET",
        lambda c: f"/desk/surveys/satisfaction/?estate={c.estate.id}&grid={c.grid.id}&building={c.building.id}",
        expect(403, 200, 403, **OUTSIDERS),
        page=True,
        label="GET /desk/surveys/satisfaction/ building",
    ),
    Case(
        "GET",
        "/api/v1/follow-ups",
        follow_up_matrix(403, 200, 403, stranger_supervisor=200, anonymous=401),
    ),
    Case(
        "POST",
        lambda c: f"/api/v1/follow-ups/{fresh_follow_up_id(c)}/done",
        follow_up_matrix(403, 200, 403, **OUTSIDERS),
        json={"note": "已电话联系业主，约好明天复修"},
        label="POST /api/v1/follow-ups/{id}/done",
    ),
    Case(
        "GET",
        "/desk/surveys/follow-ups/",
        follow_up_matrix(403, 200, 403, stranger_supervisor=200, anonymous=401),
        page=True,
    ),
    Case(
        "POST",
        lambda c: f"/desk/surveys/follow-ups/{fresh_follow_up_id(c)}/done/",
        follow_up_matrix(403, 302, 403, **OUTSIDERS),
        page=True,
        data={"note": "已上门道歉"},
        label="POST /desk/surveys/follow-ups/{id}/done/",
    ),
]


@pytest.mark.parametrize("case", CASES, ids=str)
def test_permission_matrix(cast, case):
    assert_matrix(cast, case)


@pytest.mark.parametrize(
    ("query", "field"),
    [("estate_id=abc", "estate_id"), ("year=1999", "year"), ("grid_id=1", "estate_id")],
)
def test_bad_input_to_the_api_answers_422_naming_the_parameter(cast, query, field):
    response = cast.api("manager").get(f"/api/v1/satisfaction?{query}")
    assert response.status_code == 422
    assert field in response.content.decode()


def test_a_grid_of_another_estate_answers_404(cast):
    from wuye.testing import factories

    foreign = factories.GridFactory(estate=cast.other_estate, name="外网格")
    response = cast.api("manager").get(f"/api/v1/satisfaction?estate_id={cast.estate.id}&grid_id={foreign.id}")
    assert response.status_code == 404


@pytest.mark.parametrize("query", ["estate=abc", "year=1999", "year=x"])
def test_bad_input_to_the_page_answers_400(cast, query):
    response = cast.browser("manager").get(f"/desk/surveys/satisfaction/?{query}")
    assert response.status_code == 400


def test_recording_a_follow_up_without_a_note_answers_422_naming_note(cast):
    follow_up_id = fresh_follow_up_id(cast)
    response = cast.api("supervisor").post(
        f"/api/v1/follow-ups/{follow_up_id}/done", data={"note": " "}, content_type="application/json"
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "note"
    page = cast.browser("supervisor").post(f"/desk/surveys/follow-ups/{follow_up_id}/done/", {"note": ""})
    assert page.status_code == 422


def test_recording_a_follow_up_twice_answers_409(cast):
    follow_up_id = fresh_follow_up_id(cast)
    client = cast.api("manager")
    url = f"/api/v1/follow-ups/{follow_up_id}/done"
    assert client.post(url, data={"note": "ok"}, content_type="application/json").status_code == 200
    assert client.post(url, data={"note": "ok"}, content_type="application/json").status_code == 409
