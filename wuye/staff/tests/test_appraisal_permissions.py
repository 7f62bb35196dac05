"""The appraisal routes' permission matrix (pages and API) for every cast member: supervisors, managers and company
administrators read their estate's scores; other staff only their own breakdown; only managers and company
administrators decide a 服务之星; owners see confirmed stars of their estate; another estate answers 404."""

import datetime as dt
from decimal import Decimal

import pytest

from wuye.staff import rules
from wuye.staff.choices import StarStatus
from wuye.staff.models import AppraisalScore, ServiceStar
from wuye.testing import factories
from wuye.testing.matrix import Case, assert_matrix

OCTOBER = dt.date(2026, 10, 1)
SEPTEMBER = dt.date(2026, 9, 1)
NOW = dt.datetime(2026, 11, 2, 1, 0, tzinfo=dt.UTC)
READERS = ("supervisor", "manager", "company_admin")


def score_for(estate, person, post="technician", on_time=17) -> AppraisalScore:
    facts = rules.PersonFacts(steps_on_time={"arrive": on_time}, steps_total={"arrive": 20}, resolved=12)
    score, lines = rules.appraisal_score(facts, rules.DEFAULT_WEIGHTS[post])
    return AppraisalScore.objects.create(
        estate=estate,
        month=OCTOBER,
        person=person,
        post=post,
        score=score,
        volume=facts.volume,
        components=[line.as_dict() for line in lines],
        computed_at=NOW,
    )


@pytest.fixture
def scored(cast):
    cast.tech_score = score_for(cast.estate, cast.technician)
    cast.agent_score = score_for(cast.estate, cast.service_agent, post="customer_service", on_time=12)
    cast.stranger_score = score_for(cast.other_estate, cast.stranger_supervisor, post="supervisor")
    cast.nominated = ServiceStar.objects.create(
        estate=cast.estate,
        month=OCTOBER,
        person=cast.technician,
        post="technician",
        score=cast.tech_score.score,
        volume=12,
        citation="17 of 20 steps on time",
        nominated_at=NOW,
    )
    cast.confirmed = ServiceStar.objects.create(
        estate=cast.estate,
        month=SEPTEMBER,
        person=cast.service_agent,
        post="customer_service",
        score=Decimal("90.00"),
        volume=20,
        citation="回访满意率100%",
        nominated_at=NOW,
        status=StarStatus.CONFIRMED,
    )
    return cast


def members(**expect) -> dict[str, int]:
    """Every member of the cast: the keyword arguments, the rest from `default`."""
    default = expect.pop("default")
    names = (
        "owner",
        "other_owner",
        "service_agent",
        "technician",
        "supervisor",
        "manager",
        "company_admin",
        "stranger_supervisor",
        "anonymous",
    )
    return {name: expect.get(name, default) for name in names}


READ_ESTATE = {**dict.fromkeys(READERS, 200)}
API_ANON = {"anonymous": 401}
PAGE_ANON = {"anonymous": 401}


def scores_url(query):
    return lambda c: f"/api/v1/appraisal/scores?estate={c.estate.id}{query}"


def ranking_url(query):
    return lambda c: f"/desk/appraisal/?estate={c.estate.id}{query}"


CASES = [
    # ---------------------------------------------------------------- API
    Case("GET", scores_url("&month=2026-10"), members(default=403, stranger_supervisor=404, **READ_ESTATE, **API_ANON),
         label="GET scores"),
    Case("GET", scores_url("&month=2026-13"), members(default=403, stranger_supervisor=404,
         **dict.fromkeys(READERS, 422), **API_ANON), label="GET scores bad month"),
    Case("GET", scores_url("&post=astronaut"), members(default=403, stranger_supervisor=404,
         **dict.fromkeys(READERS, 422), **API_ANON), label="GET scores bad post"),
    Case("GET", lambda c: f"/api/v1/appraisal/scores/{c.tech_score.id}",
         members(default=404, service_agent=403, technician=200, **READ_ESTATE, **API_ANON), label="GET breakdown"),
    Case("GET", lambda c: f"/api/v1/appraisal/scores/{c.stranger_score.id}",
         members(default=404, stranger_supervisor=200, **API_ANON), label="GET breakdown of the other estate"),
    Case("GET", lambda c: f"/api/v1/appraisal/stars?estate={c.estate.id}",
         members(default=200, stranger_supervisor=404, **API_ANON), label="GET stars"),
    Case("GET", "/api/v1/appraisal/stars?month=October", members(default=422, **API_ANON), label="GET stars bad month"),
    Case("POST", lambda c: f"/api/v1/appraisal/stars/{c.nominated.id}/reject", json={},
         expect=members(default=404, service_agent=403, technician=403, supervisor=403, manager=422,
                        company_admin=422, **API_ANON), label="POST reject without a reason"),
    # The manager confirms; the company administrator, next in line, finds it already decided.
    Case("POST", lambda c: f"/api/v1/appraisal/stars/{c.nominated.id}/confirm", json={},
         expect=members(default=404, service_agent=403, technician=403, supervisor=403, manager=200,
                        company_admin=409, **API_ANON), label="POST confirm"),
    # ---------------------------------------------------------------- desk pages
    Case("GET", ranking_url("&month=2026-10"), members(default=403, stranger_supervisor=404, **READ_ESTATE,
         **PAGE_ANON), page=True, label="GET /desk/appraisal/"),
    Case("GET", ranking_url("&month=13-2026"), members(default=403, stranger_supervisor=404,
         **dict.fromkeys(READERS, 400), **PAGE_ANON), page=True, label="GET /desk/appraisal/ bad month"),
    Case("GET", "/desk/appraisal/mine/", members(default=200, owner=403, other_owner=403, **PAGE_ANON), page=True,
         label="GET mine"),
    Case("GET", lambda c: f"/desk/appraisal/scores/{c.tech_score.id}/",
         members(default=404, owner=403, other_owner=403, service_agent=403, technician=200, **READ_ESTATE,
                 **PAGE_ANON), page=True, label="GET breakdown page"),
    Case("GET", lambda c: f"/desk/appraisal/people/{c.estate.id}/{c.technician.id}/",
         members(default=404, owner=403, other_owner=403, service_agent=403, technician=302,
                 **dict.fromkeys(READERS, 302), **PAGE_ANON), page=True, label="GET person page"),
    Case("GET", "/desk/appraisal/stars/", members(default=200, owner=403, other_owner=403, **PAGE_ANON), page=True,
         label="GET stars page"),
    Case("POST", lambda c: f"/desk/appraisal/stars/{c.nominated.id}/reject/", data={"reason": ""},
         expect=members(default=404, owner=403, other_owner=403, service_agent=403, technician=403, supervisor=403,
                        manager=422, company_admin=422, **PAGE_ANON), page=True, label="POST reject page, no reason"),
    Case("POST", lambda c: f"/desk/appraisal/stars/{c.nominated.id}/confirm/", data={},
         expect=members(default=404, owner=403, other_owner=403, service_agent=403, technician=403, supervisor=403,
                        manager=302, company_admin=409, **PAGE_ANON), page=True, label="POST confirm page"),
    # ---------------------------------------------------------------- portal
    Case("GET", "/portal/stars/", members(default=403, owner=200, other_owner=200, **PAGE_ANON), page=True,
         label="GET /portal/stars/"),
]  # fmt: skip


@pytest.mark.parametrize("case", CASES, ids=str)
def test_permission_matrix(scored, case):
    assert_matrix(scored, case)


def test_owners_see_only_confirmed_stars_of_their_estate(scored):
    stars = scored.api("owner").get("/api/v1/appraisal/stars").json()
    assert [(s["person"]["name"], s["month"], s["status"]) for s in stars] == [
        (scored.service_agent.display_name, "2026-09", "confirmed")
    ]
    page = scored.browser("owner").get("/portal/stars/").content.decode()
    assert "回访满意率100%" in page and "17 of 20 steps on time" not in page


def test_the_manager_sees_the_nomination_waiting_with_its_forms(scored):
    page = scored.browser("manager").get("/desk/appraisal/stars/").content.decode()
    assert 'data-testid="star-confirm-form"' in page and "17 of 20 steps on time" in page
    technician_page = scored.browser("technician").get("/desk/appraisal/stars/").content.decode()
    assert 'data-testid="star-confirm-form"' not in technician_page
    assert "17 of 20 steps on time" not in technician_page


def test_the_breakdown_api_lists_every_line_and_the_contributions_add_up(scored):
    body = scored.api("technician").get(f"/api/v1/appraisal/scores/{scored.tech_score.id}").json()
    counted = [line for line in body["components"] if line["counted"]]
    assert sum(Decimal(line["contribution"]) for line in counted) == Decimal(body["score"])
    sla = next(line for line in body["components"] if line["code"] == "sla_on_time")
    assert sla["raw"]["on_time"] == 17 and sla["raw"]["total"] == 20 and sla["normalised"] == 85.0


def test_the_ranking_api_ranks_best_first_within_the_estate_and_the_post(scored):
    body = scored.api("manager").get(f"/api/v1/appraisal/scores?estate={scored.estate.id}&month=2026-10").json()
    assert [(row["person"]["id"], row["rank"], row["post_rank"]) for row in body["scores"]] == [
        (scored.technician.id, 1, 1),
        (scored.service_agent.id, 2, 1),
    ]
    only = scored.api("manager").get(f"/api/v1/appraisal/scores?estate={scored.estate.id}&post=technician").json()
    assert [row["person"]["id"] for row in only["scores"]] == [scored.technician.id]


def test_the_technician_following_the_desk_link_lands_on_their_own_appraisal(scored):
    response = scored.browser("technician").get("/desk/appraisal/")
    assert response.status_code == 302 and response.headers["Location"] == "/desk/appraisal/mine/"
    mine = scored.browser("technician").get("/desk/appraisal/mine/").content.decode()
    assert f"/desk/appraisal/scores/{scored.tech_score.id}/" in mine
    assert f"/desk/appraisal/scores/{scored.agent_score.id}/" not in mine


def test_the_ranking_page_reads_in_a_fixed_number_of_queries(scored, django_assert_max_num_queries):
    client = scored.browser("manager")
    for index in range(8):
        person = factories.UserFactory(username=f"extra{index}")
        score_for(scored.estate, person, on_time=index)
    with django_assert_max_num_queries(14):
        response = client.get(f"/desk/appraisal/?estate={scored.estate.id}&month=2026-10")
    assert response.content.decode().count('data-testid="ranking-row"') == 10


def test_desk_and_portal_homes_link_to_the_appraisal_and_the_stars(scored):
    assert 'data-testid="link-appraisal"' in scored.browser("technician").get("/desk/").content.decode()
    assert 'data-testid="stars-link"' in scored.browser("owner").get("/portal/").content.decode()
