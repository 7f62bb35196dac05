"""The survey API: building and publishing, answering with its refusals, results, and anonymity towards staff."""

import datetime as dt
import json

import pytest

from wuye.accounts import services as account_services
from wuye.core import clock
from wuye.engagement import services
from wuye.engagement.models import Response, Survey
from wuye.testing import factories

from . import factories as ef

pytestmark = pytest.mark.django_db


def post(client, url, body):
    return client.post(url, data=json.dumps(body), content_type="application/json")


def new_body(cast, **changes):
    now = clock.now()
    body = {
        "estate_id": cast.estate.id,
        "title": "停车管理意见征集",
        "opens_at": now.isoformat(),
        "closes_at": (now + dt.timedelta(days=14)).isoformat(),
        "sampling_rate": "0.5",
        "questions": [
            {"kind": "single", "text": "您有固定车位吗？", "choices": ["有", "没有"]},
            {"kind": "text", "text": "您的建议", "required": False},
        ],
    }
    body.update(changes)
    return body


def answer_body(survey, **options):
    return {"answers": {str(key): value for key, value in ef.answers(survey, **options).items()}}


def third_resident(cast):
    room = factories.RoomFactory(unit=cast.room.unit, number="103")
    person = factories.UserFactory(name="赵业主")
    account_services.residency_create(user=person, room=room)
    return person


# ---------------------------------------------------------------- building


def test_a_manager_creates_a_draft_and_publishes_it(cast):
    client = cast.api("manager")
    created = post(client, "/api/v1/surveys", new_body(cast))
    assert created.status_code == 201, created.json()
    body = created.json()
    assert body["status"] == "draft" and body["sampling_rate"] == "0.500"
    assert [q["kind"] for q in body["questions"]] == ["single", "text"]
    assert [c["text"] for c in body["questions"][0]["choices"]] == ["有", "没有"]
    published = client.post(f"/api/v1/surveys/{body['id']}/publish")
    assert published.status_code == 200
    assert published.json()["status"] == "published" and published.json()["phase"] == "open"
    again = client.post(f"/api/v1/surveys/{body['id']}/publish")
    assert again.status_code == 409 and again.json()["code"] == "invalid_state"


def test_a_yearly_survey_without_questions_gets_the_built_in_set(cast):
    response = post(cast.api("manager"), "/api/v1/surveys", new_body(cast, kind="yearly_satisfaction", questions=[]))
    assert response.status_code == 201
    questions = response.json()["questions"]
    assert [q["kind"] for q in questions] == ["scale"] * 6 + ["nps", "text"]
    assert [q["dimension"] for q in questions[1:6]] == [
        "cleaning",
        "greening",
        "security",
        "engineering",
        "customer_service",
    ]


@pytest.mark.parametrize(
    ("changes", "field", "code"),
    [
        ({"closes_at": "2020-01-01T00:00:00+08:00"}, "closes_at", "before_opening"),
        ({"questions": []}, "questions", "required"),
        (
            {"questions": [{"kind": "single", "text": "只有一个选项", "choices": ["是"]}]},
            "questions.0.choices",
            "count",
        ),
        ({"questions": [{"kind": "scale", "text": "评分", "choices": ["1"]}]}, "questions.0.choices", "not_allowed"),
        ({"kind": "after_order"}, "kind", "not_allowed"),
        ({"building_ids": [999999]}, "building_ids", "not_in_estate"),
    ],
)
def test_a_bad_survey_is_refused_naming_the_field(cast, changes, field, code):
    response = post(cast.api("manager"), "/api/v1/surveys", new_body(cast, **changes))
    assert response.status_code == 422, response.json()
    assert (field, code) in {(e["field"], e["code"]) for e in response.json()["errors"]}
    assert not Survey.objects.exists()


def test_a_sampling_rate_above_one_is_refused_by_the_schema(cast):
    response = post(cast.api("manager"), "/api/v1/surveys", new_body(cast, sampling_rate="1.5"))
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "sampling_rate"


def test_a_company_wide_survey_is_for_company_administrators(cast):
    body = new_body(cast, estate_id=None, company_id=cast.company.id)
    assert post(cast.api("manager"), "/api/v1/surveys", body).status_code == 403
    created = post(cast.api("company_admin"), "/api/v1/surveys", body)
    assert created.status_code == 201 and created.json()["estate_id"] is None
    assert post(cast.api("stranger_supervisor"), "/api/v1/surveys", body).status_code == 404


# ---------------------------------------------------------------- answering


def test_an_owner_sees_the_survey_answers_it_once_and_sees_it_answered(cast):
    survey = ef.published(cast)
    client = cast.api("owner")
    detail = client.get(f"/api/v1/surveys/{survey.id}").json()
    assert detail["invited_me"] and not detail["answered"] and not detail["can_manage"]
    assert detail["invited"] is None and detail["responses"] is None  # figures are for staff
    first = post(client, f"/api/v1/surveys/{survey.id}/responses", answer_body(survey))
    assert first.status_code == 201 and first.json() == {"survey_id": survey.id, "submitted": True}
    assert client.get(f"/api/v1/surveys/{survey.id}").json()["answered"]
    second = post(client, f"/api/v1/surveys/{survey.id}/responses", answer_body(survey))
    assert second.status_code == 409 and second.json()["code"] == "already_answered"


def test_invalid_answers_get_422_naming_the_question(cast):
    survey = ef.published(cast)
    ids = ef.question_ids(survey)
    body = answer_body(survey)
    body["answers"][str(ids[3])] = 11
    response = post(cast.api("owner"), f"/api/v1/surveys/{survey.id}/responses", body)
    assert response.status_code == 422
    [error] = response.json()["errors"]
    assert (error["field"], error["code"]) == (f"answers.{ids[3]}", "out_of_range")
    assert "推荐" in error["message"]


def test_answers_to_a_closed_survey_get_409(cast):
    survey = ef.published(cast)
    assert cast.api("manager").post(f"/api/v1/surveys/{survey.id}/close").status_code == 200
    response = post(cast.api("owner"), f"/api/v1/surveys/{survey.id}/responses", answer_body(survey))
    assert response.status_code == 409 and response.json()["code"] == "survey_closed"


def test_a_resident_outside_the_target_gets_403_not_targeted(cast):
    second = factories.BuildingFactory(estate=cast.estate, name="2")
    survey = ef.published(cast, building_ids=[second.id])
    response = post(cast.api("owner"), f"/api/v1/surveys/{survey.id}/responses", answer_body(survey))
    assert response.status_code == 403 and response.json()["code"] == "not_targeted"


# ---------------------------------------------------------------- results and anonymity


def answered_by_three(cast, *, anonymous: bool) -> Survey:
    third = third_resident(cast)
    survey = ef.published(cast, anonymous=anonymous)
    for person, text in ((cast.owner, "保洁很好"), (cast.other_owner, "电梯老坏"), (third, "保安很负责")):
        services.response_submit(user=person, survey=survey, answers=ef.answers(survey, text=text), now=clock.now())
    return survey


def test_staff_read_results_with_counts_means_and_nps(cast):
    survey = answered_by_three(cast, anonymous=False)
    body = cast.api("supervisor").get(f"/api/v1/surveys/{survey.id}/results").json()
    assert (body["invited"], body["responses"], body["response_rate"]) == (3, 3, 1.0)
    single, multiple, scale, nps, text = body["questions"]
    assert [c["count"] for c in single["choices"]] == [3, 0]
    assert scale["mean"] == 4.0 and scale["distribution"]["4"] == 3
    assert nps["nps"] == {"promoters": 3, "passives": 0, "detractors": 0, "score": 100.0}
    # A named survey says who wrote what.
    assert {t["respondent"] for t in text["texts"]} == {"王业主", "李业主", "赵业主"}


def test_an_anonymous_survey_never_shows_staff_who_answered(cast):
    survey = answered_by_three(cast, anonymous=True)
    people = [cast.owner, cast.other_owner]
    for member in ("supervisor", "manager", "company_admin", "service_agent"):
        client = cast.api(member)
        results = client.get(f"/api/v1/surveys/{survey.id}/results")
        detail = client.get(f"/api/v1/surveys/{survey.id}")
        listing = client.get("/api/v1/surveys")
        assert results.status_code == 200
        texts = [t for q in results.json()["questions"] for t in q["texts"]]
        assert {t["text"] for t in texts} == {"保洁很好", "电梯老坏", "保安很负责"}
        assert all(t["respondent"] is None for t in texts)
        for answer in (results, detail, listing):
            content = answer.content.decode()
            for person in people:
                assert person.display_name not in content and person.username not in content
    # What is stored names nobody either.
    assert not Response.objects.filter(survey=survey, respondent__isnull=False).exists()


def test_owners_and_the_technician_may_not_read_results(cast):
    survey = answered_by_three(cast, anonymous=False)
    assert cast.api("owner").get(f"/api/v1/surveys/{survey.id}/results").status_code == 403
    assert cast.api("technician").get(f"/api/v1/surveys/{survey.id}/results").status_code == 404


def test_the_list_gives_staff_the_response_rate(cast):
    survey = ef.published(cast)
    services.response_submit(user=cast.owner, survey=survey, answers=ef.answers(survey), now=clock.now())
    [item] = cast.api("manager").get("/api/v1/surveys").json()
    assert (item["invited"], item["responses"], item["response_rate"]) == (2, 1, 0.5)
    [mine] = cast.api("owner").get("/api/v1/surveys").json()
    assert mine["id"] == survey.id and mine["response_rate"] is None
