"""Survey pages: the owner's list and answer form, the desk's list, results (charts), publish / close, the yearly
survey form and the Excel export — including what an anonymous survey hides from staff."""

import datetime as dt
import io
import json

import pytest
from openpyxl import load_workbook

from wuye.accounts import services as account_services
from wuye.core import clock
from wuye.engagement import services
from wuye.engagement.models import Answer, Invitation, Response, Survey
from wuye.testing import factories

from . import factories as ef

pytestmark = pytest.mark.django_db


def form_data(survey, **options) -> dict:
    return {f"q{key}": value for key, value in ef.answers(survey, **options).items()}


def third_resident(cast, name="赵业主"):
    room = factories.RoomFactory(unit=cast.room.unit, number="103")
    person = factories.UserFactory(name=name)
    account_services.residency_create(user=person, room=room)
    return person


def answered_by_three(cast, *, anonymous: bool) -> Survey:
    third = third_resident(cast)
    survey = ef.published(cast, anonymous=anonymous)
    for person, text in ((cast.owner, "=HYPERLINK(1)"), (cast.other_owner, "电梯老坏"), (third, "保安很负责")):
        services.response_submit(user=person, survey=survey, answers=ef.answers(survey, text=text), now=clock.now())
    return survey


# ---------------------------------------------------------------- portal


def test_my_surveys_lists_the_invitation_then_shows_it_answered(cast):
    survey = ef.published(cast)
    client = cast.browser("owner")
    page = client.get("/portal/surveys/")
    assert page.status_code == 200
    assert survey.title in page.content.decode()
    assert b'data-testid="survey-phase"' in page.content and b'data-testid="survey-answered"' not in page.content
    services.response_submit(user=cast.owner, survey=survey, answers=ef.answers(survey), now=clock.now())
    assert b'data-testid="survey-answered"' in client.get("/portal/surveys/").content


def test_the_answer_form_shows_every_question_and_stores_the_answers(cast):
    survey = ef.published(cast)
    client = cast.browser("owner")
    page = client.get(f"/portal/surveys/{survey.id}/")
    html = page.content.decode()
    assert html.count('data-testid="question"') == 5
    for kind in ("single", "multiple", "scale", "nps", "text"):
        assert f'data-kind="{kind}"' in html
    sent = client.post(f"/portal/surveys/{survey.id}/", data=form_data(survey, scale=2, text="草坪没人修剪"))
    assert sent.status_code == 302 and sent["Location"] == "/portal/surveys/"
    response = Response.objects.get(survey=survey)
    assert Answer.objects.get(response=response, question__kind="scale").number == 2
    assert Answer.objects.get(response=response, question__kind="multiple").choices.count() == 2
    assert b'data-testid="survey-done"' in client.get(f"/portal/surveys/{survey.id}/").content


def test_a_missing_answer_is_shown_beside_its_question_and_the_choices_are_kept(cast):
    survey = ef.published(cast)
    data = form_data(survey)
    ids = ef.question_ids(survey)
    del data[f"q{ids[2]}"]
    page = cast.browser("owner").post(f"/portal/surveys/{survey.id}/", data=data)
    assert page.status_code == 422
    html = page.content.decode()
    assert html.count('data-testid="question-error"') == 1
    assert f'value="{data[f"q{ids[0]}"]}" checked' in html
    assert not Response.objects.exists()


def test_answering_a_closed_survey_shows_409(cast):
    survey = ef.published(cast)
    services.survey_close(actor=cast.manager, survey_id=survey.id, now=clock.now())
    client = cast.browser("owner")
    assert b'data-testid="survey-not-open"' in client.get(f"/portal/surveys/{survey.id}/").content
    page = client.post(f"/portal/surveys/{survey.id}/", data=form_data(survey))
    assert page.status_code == 409 and b'data-testid="survey-problem"' in page.content
    assert not Response.objects.exists()


def test_a_resident_outside_the_sample_gets_403(cast):
    second = factories.BuildingFactory(estate=cast.estate, name="2")
    survey = ef.published(cast, building_ids=[second.id])
    assert cast.browser("owner").get(f"/portal/surveys/{survey.id}/").status_code == 403


# ---------------------------------------------------------------- desk


def test_the_desk_list_shows_response_rates_in_a_fixed_number_of_queries(cast, django_assert_max_num_queries):
    first = ef.published(cast)
    services.response_submit(user=cast.owner, survey=first, answers=ef.answers(first), now=clock.now())
    client = cast.browser("manager")
    with django_assert_max_num_queries(12) as few:
        page = client.get("/desk/surveys/")
    assert page.status_code == 200
    assert 'data-testid="survey-rate">50%' in page.content.decode()
    for _ in range(5):
        ef.published(cast)
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert client.get("/desk/surveys/").content.decode().count('data-testid="survey-row"') == 6


def test_the_results_page_draws_charts_from_node_modules(cast, django_assert_max_num_queries):
    survey = answered_by_three(cast, anonymous=False)
    client = cast.browser("supervisor")
    with django_assert_max_num_queries(18):
        page = client.get(f"/desk/surveys/{survey.id}/")
    html = page.content.decode()
    assert page.status_code == 200
    assert "/static/vendor/echarts/echarts.min.js" in html and "http" not in html.split("echarts.min.js")[0][-80:]
    charts = json.loads(html.split('<script id="survey-charts" type="application/json">')[1].split("</script>")[0])
    ids = ef.question_ids(survey)
    assert charts["questions"][str(ids[0])] == {"type": "choices", "labels": ["是", "否"], "values": [3, 0]}
    assert charts["questions"][str(ids[2])]["values"] == [0, 0, 0, 3, 0]
    assert html.count('data-testid="text-respondent"') == 3  # a named survey says who wrote what


def test_an_anonymous_survey_page_and_export_never_name_the_respondents(cast):
    survey = answered_by_three(cast, anonymous=True)
    names = ("王业主", "李业主", "赵业主", "owner", "other_owner")
    client = cast.browser("manager")
    html = client.get(f"/desk/surveys/{survey.id}/").content.decode()
    assert "电梯老坏" in html and 'data-testid="text-respondent"' not in html
    assert not any(name in html.split('id="main"')[1] for name in names)
    workbook = load_workbook(io.BytesIO(client.get(f"/desk/surveys/{survey.id}/export.xlsx").content))
    cells = [str(cell) for sheet in workbook for row in sheet.iter_rows(values_only=True) for cell in row if cell]
    assert "电梯老坏" in cells
    assert not any(name in cell for cell in cells for name in names)


def test_an_anonymous_survey_with_one_response_hides_its_answers(cast):
    survey = ef.published(cast, anonymous=True)
    services.response_submit(user=cast.owner, survey=survey, answers=ef.answers(survey), now=clock.now())
    html = cast.browser("manager").get(f"/desk/surveys/{survey.id}/").content.decode()
    assert 'data-testid="survey-hidden"' in html and 'data-testid="question-result"' not in html
    assert "保洁阿姨很勤快" not in html


def test_the_export_has_a_sheet_per_view_and_defuses_formulas(cast):
    survey = answered_by_three(cast, anonymous=False)
    response = cast.browser("manager").get(f"/desk/surveys/{survey.id}/export.xlsx")
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    workbook = load_workbook(io.BytesIO(response.content))
    assert len(workbook.sheetnames) == 4
    responses = list(workbook.worksheets[3].iter_rows(values_only=True))
    assert len(responses) == 4  # a header and three responses
    cells = [cell for sheet in workbook for row in sheet.iter_rows(values_only=True) for cell in row if cell]
    assert "'=HYPERLINK(1)" in cells and "=HYPERLINK(1)" not in cells
    assert "王业主" in cells  # named survey: the respondent column


def test_publishing_from_the_results_page_invites_the_sample(cast):
    survey = ef.draft(cast)
    client = cast.browser("service_agent")
    page = client.post(f"/desk/surveys/{survey.id}/publish/")
    assert page.status_code == 302
    survey.refresh_from_db()
    assert survey.status == "published"
    assert Invitation.objects.filter(survey=survey).count() == 2
    again = client.post(f"/desk/surveys/{survey.id}/publish/")
    assert again.status_code == 409 and b'data-testid="survey-problem"' in again.content


def test_the_yearly_survey_form_saves_a_draft_with_the_built_in_questions(cast):
    now = clock.now()
    data = {
        "estate": cast.estate.id,
        "title": "2026年度业主满意度调查",
        "opens_at": now.strftime("%Y-%m-%dT%H:%M"),
        "closes_at": (now + dt.timedelta(days=30)).strftime("%Y-%m-%dT%H:%M"),
        "anonymous": "on",
        "sampling_rate": "0.5",
        "buildings": [cast.building.id],
    }
    page = cast.browser("manager").post("/desk/surveys/new/", data=data)
    assert page.status_code == 302
    survey = Survey.objects.get()
    assert survey.kind == "yearly_satisfaction" and survey.anonymous and survey.status == "draft"
    assert survey.questions.count() == 8
    assert list(survey.target_buildings.all()) == [cast.building]
    bad = cast.browser("manager").post("/desk/surveys/new/", data={**data, "closes_at": data["opens_at"]})
    assert bad.status_code == 422 and Survey.objects.count() == 1
