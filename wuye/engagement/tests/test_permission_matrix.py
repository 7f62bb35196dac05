"""Every survey route (API and pages) for every cast member.

The cast's estate has owner (1-1-101) and other_owner (1-1-102); a published survey with sampling rate 1 invites
both. Survey roles: customer service, supervisor, manager and company administrator run surveys; the technician has
none (their estate's surveys are not visible to them: 404 in the API, 403 on the desk). Cases that change state build
a fresh survey for each member (url and body callables are resolved per call).
"""

import datetime as dt

import pytest

from wuye.core import clock
from wuye.engagement import services
from wuye.testing.matrix import Case, assert_matrix

from . import factories as ef

OWNERS = ("owner", "other_owner")
RUNNERS = ("service_agent", "supervisor", "manager", "company_admin")
OUTSIDERS = {"stranger_supervisor": 404, "anonymous": 401}


def expect(**groups) -> dict[str, int]:
    """owners=, runners=, technician=, stranger_supervisor=, anonymous= → one status per cast member."""
    result = {}
    result.update(dict.fromkeys(OWNERS, groups.pop("owners")))
    result.update(dict.fromkeys(RUNNERS, groups.pop("runners")))
    result.update(groups)
    return result


def draft_id(cast):
    return ef.draft(cast).id


def published_id(cast):
    return ef.published(cast).id


def answered_id(cast):
    survey = ef.published(cast)
    services.response_submit(user=cast.owner, survey=survey, answers=ef.answers(survey), now=clock.now())
    return survey.id


def new_survey_body(cast):
    now = clock.now()
    return {
        "estate_id": cast.estate.id,
        "title": "绿化满意度调查",
        "opens_at": now.isoformat(),
        "closes_at": (now + dt.timedelta(days=7)).isoformat(),
        "questions": [{"kind": "scale", "text": "您对绿化满意吗？", "dimension": "greening"}],
    }


def fresh_response():
    """A url and a body for the same fresh survey: the url callable makes the survey, the body reads it back."""
    made = {}

    def url(cast):
        survey = ef.published(cast)
        made["survey"] = survey
        return f"/api/v1/surveys/{survey.id}/responses"

    def body(cast):
        return {"answers": {str(key): value for key, value in ef.answers(made["survey"]).items()}}

    return url, body


def fresh_portal_answer():
    made = {}

    def url(cast):
        survey = ef.published(cast)
        made["survey"] = survey
        return f"/portal/surveys/{survey.id}/"

    def body(cast):
        data = {}
        for question_id, value in ef.answers(made["survey"]).items():
            data[f"q{question_id}"] = value
        return data

    return url, body


def desk_new_body(cast):
    now = clock.now()
    return {
        "estate": cast.estate.id,
        "title": "2026年度满意度调查",
        "opens_at": now.strftime("%Y-%m-%dT%H:%M"),
        "closes_at": (now + dt.timedelta(days=30)).strftime("%Y-%m-%dT%H:%M"),
        "anonymous": "on",
        "sampling_rate": "1",
    }


api_response_url, api_response_body = fresh_response()
portal_answer_url, portal_answer_body = fresh_portal_answer()

CASES = [
    # ---------------------------------------------------------------- API
    Case(
        "GET",
        "/api/v1/surveys",
        expect(owners=200, runners=200, technician=200, stranger_supervisor=200, anonymous=401),
    ),
    Case(
        "POST",
        "/api/v1/surveys",
        expect(owners=403, runners=201, technician=403, **OUTSIDERS),
        json=new_survey_body,
        label="POST /api/v1/surveys (a draft in the cast's estate)",
    ),
    Case(
        "GET",
        lambda c: f"/api/v1/surveys/{published_id(c)}",
        expect(owners=200, runners=200, technician=404, **OUTSIDERS),
        label="GET /api/v1/surveys/{published}",
    ),
    Case(
        "GET",
        lambda c: f"/api/v1/surveys/{draft_id(c)}",
        expect(owners=404, runners=200, technician=404, **OUTSIDERS),
        label="GET /api/v1/surveys/{draft}",
    ),
    Case(
        "POST",
        lambda c: f"/api/v1/surveys/{draft_id(c)}/publish",
        expect(owners=404, runners=200, technician=404, **OUTSIDERS),
        label="POST /api/v1/surveys/{draft}/publish",
    ),
    Case(
        "POST",
        lambda c: f"/api/v1/surveys/{published_id(c)}/close",
        expect(owners=403, runners=200, technician=404, **OUTSIDERS),
        label="POST /api/v1/surveys/{published}/close",
    ),
    Case(
        "POST",
        api_response_url,
        # Staff see the survey but were not invited (403 not_targeted).
        expect(owners=201, runners=403, technician=404, **OUTSIDERS),
        json=api_response_body,
        label="POST /api/v1/surveys/{published}/responses",
    ),
    Case(
        "GET",
        lambda c: f"/api/v1/surveys/{answered_id(c)}/results",
        expect(owners=403, runners=200, technician=404, **OUTSIDERS),
        label="GET /api/v1/surveys/{answered}/results",
    ),
    # ---------------------------------------------------------------- portal pages
    Case(
        "GET",
        "/portal/surveys/",
        expect(owners=200, runners=403, technician=403, stranger_supervisor=403, anonymous=401),
        page=True,
    ),
    Case(
        "GET",
        lambda c: f"/portal/surveys/{published_id(c)}/",
        expect(owners=200, runners=403, technician=403, stranger_supervisor=403, anonymous=401),
        page=True,
        label="GET /portal/surveys/{published}/",
    ),
    Case(
        "POST",
        portal_answer_url,
        expect(owners=302, runners=403, technician=403, stranger_supervisor=403, anonymous=401),
        page=True,
        data=portal_answer_body,
        label="POST /portal/surveys/{published}/ (answers)",
    ),
    # ---------------------------------------------------------------- desk pages
    Case(
        "GET",
        "/desk/surveys/",
        expect(owners=403, runners=200, technician=403, stranger_supervisor=200, anonymous=401),
        page=True,
    ),
    Case(
        "GET",
        "/desk/surveys/new/",
        expect(owners=403, runners=200, technician=403, stranger_supervisor=200, anonymous=401),
        page=True,
    ),
    Case(
        "POST",
        "/desk/surveys/new/",
        # The stranger may create surveys, but only in their own estate: the cast's estate is not a valid choice.
        expect(owners=403, runners=302, technician=403, stranger_supervisor=422, anonymous=401),
        page=True,
        data=desk_new_body,
        label="POST /desk/surveys/new/ (a yearly survey in the cast's estate)",
    ),
    Case(
        "GET",
        lambda c: f"/desk/surveys/{answered_id(c)}/",
        expect(owners=403, runners=200, technician=403, **OUTSIDERS),
        page=True,
        label="GET /desk/surveys/{answered}/",
    ),
    Case(
        "GET",
        lambda c: f"/desk/surveys/{answered_id(c)}/export.xlsx",
        expect(owners=403, runners=200, technician=403, **OUTSIDERS),
        page=True,
        label="GET /desk/surveys/{answered}/export.xlsx",
    ),
    Case(
        "POST",
        lambda c: f"/desk/surveys/{draft_id(c)}/publish/",
        expect(owners=403, runners=302, technician=403, **OUTSIDERS),
        page=True,
        label="POST /desk/surveys/{draft}/publish/",
    ),
    Case(
        "POST",
        lambda c: f"/desk/surveys/{published_id(c)}/close/",
        expect(owners=403, runners=302, technician=403, **OUTSIDERS),
        page=True,
        label="POST /desk/surveys/{published}/close/",
    ),
]


@pytest.mark.django_db
@pytest.mark.parametrize("case", CASES, ids=str)
def test_permission_matrix(cast, case):
    assert_matrix(cast, case)
