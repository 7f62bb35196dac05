"""The desk's satisfaction page (chart data, dimensions, negative comments, drill-down, target), My follow-ups, and the
desk home links."""

import datetime as dt
import json

import pytest

from wuye.core import clock
from wuye.engagement import services
from wuye.engagement.choices import SurveyKind
from wuye.engagement.models import FollowUp
from wuye.standards.services import profiles_seed
from wuye.workorders import services as order_services
from wuye.workorders.choices import Action
from wuye.workorders.tests import factories as wf

pytestmark = pytest.mark.django_db


@pytest.fixture
def surveyed(cast):
    """A named yearly survey answered by both owners today (cleaning 2 and 5; one complains in text)."""
    now = clock.now()
    survey = services.survey_create(
        actor=cast.manager,
        new=services.NewSurvey(
            title="年度满意度",
            estate=cast.estate,
            kind=SurveyKind.YEARLY_SATISFACTION,
            opens_at=now - dt.timedelta(hours=1),
            closes_at=now + dt.timedelta(days=10),
            questions=services.yearly_satisfaction_questions(),
        ),
        now=now,
    )
    survey = services.survey_publish(actor=cast.manager, survey_id=survey.id, now=now)
    questions = list(survey.questions.order_by("position"))
    for owner, cleaning, text in ((cast.owner, 2, "楼道垃圾好几天没人清理，太脏了"), (cast.other_owner, 5, "")):
        raw = {q.id: 4 for q in questions[:6]} | {questions[1].id: cleaning, questions[6].id: 9, questions[7].id: text}
        response = services.response_submit(user=owner, survey=survey, answers=raw, now=now)
        services.text_answers_classify(response_id=response.id)
    return survey


def test_the_page_shows_each_dimension_with_its_index_and_negative_comments(cast, surveyed):
    response = cast.browser("manager").get(f"/desk/surveys/satisfaction/?estate={cast.estate.id}")
    assert response.status_code == 200
    report = response.context["report"]
    cleaning = next(line for line in report.lines if line.dimension == "cleaning")
    assert cleaning.index == pytest.approx(50.0)  # one of two satisfied, no order feedback
    assert (cleaning.yearly.satisfied, cleaning.yearly.total) == (1, 2)
    assert cleaning.negative.count == 1 and "楼道垃圾" in cleaning.negative.examples[0]
    assert report.overall == pytest.approx((50 + 100 * 4) / 5)
    html = response.content.decode()
    assert 'data-dimension="cleaning"' in html and "楼道垃圾" in html
    chart = json.loads(html.split('id="satisfaction-data" type="application/json">')[1].split("</script>")[0])
    assert chart["this_year"][0] == 50.0 and len(chart["dimensions"]) == 5
    assert "vendor/echarts/echarts.min.js" in html and 'id="satisfaction-data"' in html


def test_the_estate_drills_into_its_grids_and_a_grid_into_its_buildings(cast, surveyed):
    client = cast.browser("manager")
    estate = client.get(f"/desk/surveys/satisfaction/?estate={cast.estate.id}")
    grids = estate.context["report"].children
    assert [(c.kind, c.id) for c in grids] == [("grid", cast.grid.id)]
    grid = client.get(f"/desk/surveys/satisfaction/?estate={cast.estate.id}&grid={cast.grid.id}")
    buildings = grid.context["report"].children
    assert [(c.kind, c.id, c.answers) for c in buildings] == [("building", cast.building.id, 10)]
    overview = client.get("/desk/surveys/satisfaction/")
    assert [c.id for c in overview.context["report"].children] == [cast.estate.id]


def test_the_index_is_compared_with_the_service_level_target(cast, surveyed):
    from wuye.standards.models import EstateProfile, ServiceLevelProfile

    profiles_seed(company=cast.company)
    level_one = ServiceLevelProfile.objects.get(company=cast.company, code="level_1")
    EstateProfile.objects.create(
        estate=cast.estate, profile=level_one, valid_from=clock.now() - dt.timedelta(days=400), overrides={}
    )
    report = cast.browser("manager").get(f"/desk/surveys/satisfaction/?estate={cast.estate.id}").context["report"]
    assert report.target == 80.0
    assert report.status == "good"  # 90 ≥ 80


def test_the_page_costs_a_bounded_number_of_queries(cast, surveyed, django_assert_max_num_queries):
    client = cast.browser("manager")
    with django_assert_max_num_queries(30):
        client.get(f"/desk/surveys/satisfaction/?estate={cast.estate.id}")


def test_my_follow_ups_lists_the_leaders_and_records_what_was_done(cast):
    wf.seed_catalogue(cast)
    order = wf.order(cast, status="resolved")
    order_services.workorder_act(
        actor=cast.owner, order_id=order.id, action=Action.RATE, params={"verdict": "bad", "score": 1}
    )
    client = cast.browser("supervisor")
    page = client.get("/desk/surveys/follow-ups/")
    assert order.number in page.content.decode()
    follow_up = FollowUp.objects.get()
    done = client.post(f"/desk/surveys/follow-ups/{follow_up.id}/done/", {"note": "已电话回访，明日复修"})
    assert done.status_code == 302
    follow_up.refresh_from_db()
    assert (follow_up.status, follow_up.note, follow_up.done_by) == ("done", "已电话回访，明日复修", cast.supervisor)
    assert "已电话回访" in client.get("/desk/surveys/follow-ups/?status=done").content.decode()


@pytest.mark.parametrize(
    ("member", "links"),
    [
        ("manager", {"link-satisfaction", "link-follow-ups", "link-kpis"}),
        ("supervisor", {"link-satisfaction", "link-follow-ups", "link-kpis"}),
        ("service_agent", {"link-satisfaction"}),
        ("technician", set()),
    ],
)
def test_the_desk_home_links_only_to_pages_the_role_may_open(cast, member, links):
    html = cast.browser(member).get("/desk/").content.decode()
    shown = {name for name in ("link-satisfaction", "link-follow-ups", "link-kpis") if f'data-testid="{name}"' in html}
    assert shown == links


def test_my_follow_ups_costs_the_same_queries_with_more_follow_ups(cast):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from wuye.engagement.choices import FollowUpCause

    wf.seed_catalogue(cast)
    client = cast.browser("supervisor")

    def follow_up():
        order = wf.order(cast, status="resolved")
        services.follow_up_open(order=order, cause=FollowUpCause.LOW_RATING, score=1, now=clock.now())

    follow_up()
    client.get("/desk/surveys/follow-ups/")
    with CaptureQueriesContext(connection) as few:
        client.get("/desk/surveys/follow-ups/")
    follow_up()
    follow_up()
    with CaptureQueriesContext(connection) as many:
        html = client.get("/desk/surveys/follow-ups/").content.decode()
    assert html.count('data-testid="follow-up"') == 3
    assert len(many) == len(few) <= 12
