"""The satisfaction index from stored answers and events, checked against an independent computation.

Five owners in two grids answer a named yearly satisfaction survey, two of them an anonymous one too; they report,
rate and answer the survey after orders of three categories. The oracle below walks every stored answer and rating
event itself, with its own table of which order is which dimension, and applies docs/engagement.md's formula.
"""

import datetime as dt
from collections import defaultdict

import pytest

from wuye.accounts import services as account_services
from wuye.core import clock
from wuye.engagement import rules, selectors, services
from wuye.engagement.choices import QuestionKind, SurveyKind
from wuye.engagement.models import Answer, Survey
from wuye.testing import factories
from wuye.workorders import services as order_services
from wuye.workorders.choices import Action, Channel, Kind
from wuye.workorders.models import WorkOrder, WorkOrderEvent
from wuye.workorders.tests import factories as wf

pytestmark = pytest.mark.django_db

T0 = dt.datetime(2026, 11, 2, 2, 0, tzinfo=dt.UTC)  # 10:00 in Shanghai
START, END = dt.date(2026, 1, 1), dt.date(2026, 11, 30)
# The oracle's own reading of the catalogue: (kind, category code) → dimension.
ORACLE_DIMENSIONS = {
    (Kind.REPAIR_HOME, "plumbing"): "engineering",
    (Kind.REPAIR_PUBLIC, "cleaning"): "cleaning",
    (Kind.COMPLAINT, "cleaning"): "customer_service",
    (Kind.COMPLAINT, "security"): "customer_service",
}
# Per owner: yearly scores (cleaning, greening, security, engineering, customer service), then orders as
# (kind, category, rating verdict, rating score, after-order answer or None).
PEOPLE = [
    ((5, 4, 4, 3, 5), [(Kind.REPAIR_HOME, "plumbing", "good", 5, 5), (Kind.COMPLAINT, "cleaning", "bad", 2, 1)]),
    ((4, 2, 5, 4, 3), [(Kind.REPAIR_PUBLIC, "cleaning", "good", 4, 4)]),
    ((3, 5, 1, 5, 4), [(Kind.REPAIR_HOME, "plumbing", "bad", 3, None), (Kind.COMPLAINT, "security", "good", 5, 2)]),
    ((2, 4, 4, 2, 5), [(Kind.REPAIR_PUBLIC, "cleaning", "bad", 1, 3)]),
    ((5, 5, 5, 4, 4), [(Kind.REPAIR_HOME, "plumbing", "good", 4, 4)]),
]


@pytest.fixture
def world(cast):
    wf.seed_catalogue(cast)
    grid2 = factories.GridFactory(estate=cast.estate, name="二网格")
    unit2 = factories.UnitFactory(building=factories.BuildingFactory(estate=cast.estate, name="2", grid=grid2))
    rooms = [cast.room, cast.other_room] + [
        factories.RoomFactory(unit=unit2, number=f"20{i}", floor=2) for i in range(1, 4)
    ]
    owners = [cast.owner, cast.other_owner]
    for index, room in enumerate(rooms[2:], start=3):
        person = factories.UserFactory(username=f"owner{index}", name=f"业主{index}")
        account_services.residency_create(user=person, room=room)
        owners.append(person)

    def yearly(anonymous: bool) -> Survey:
        survey = services.survey_create(
            actor=cast.manager,
            new=services.NewSurvey(
                title="年度满意度",
                estate=cast.estate,
                kind=SurveyKind.YEARLY_SATISFACTION,
                anonymous=anonymous,
                opens_at=T0,
                closes_at=T0 + dt.timedelta(days=20),
                questions=services.yearly_satisfaction_questions(),
            ),
            now=T0,
        )
        return services.survey_publish(actor=cast.manager, survey_id=survey.id, now=T0)

    named, anonymous = yearly(False), yearly(True)
    for number, (owner, (scores, orders)) in enumerate(zip(owners, PEOPLE, strict=True)):
        questions = list(named.questions.order_by("position"))
        raw = {questions[0].id: 4, questions[6].id: 8}
        raw |= {question.id: score for question, score in zip(questions[1:6], scores, strict=True)}
        services.response_submit(user=owner, survey=named, answers=raw, now=T0 + dt.timedelta(hours=number + 1))
        if number >= 3:  # two anonymous answers, both in building 2: too few to show for the grid or building
            raw = {
                q.id: v for q, v in zip(anonymous.questions.order_by("position"), (1, 1, 1, 1, 1, 1, 0), strict=False)
            }
            services.response_submit(user=owner, survey=anonymous, answers=raw, now=T0 + dt.timedelta(hours=9))
        for kind, code, verdict, score, answer in orders:
            walk(cast, owner, rooms[number], kind, code, verdict, score, answer)
    return {"grid2": grid2, "rooms": rooms}


def walk(cast, owner, room, kind, code, verdict, score, answer):
    at = T0 + dt.timedelta(days=1)
    order, _ = order_services.workorder_create(
        actor=owner,
        new=order_services.NewOrder(
            estate=cast.estate,
            kind=kind,
            category=wf.category(cast, code),
            description="问题描述",
            channel=Channel.PORTAL,
            reporter=owner,
            room=room,
        ),
        now=at,
    )
    path = [Action.ACCEPT, Action.DISPATCH, Action.TAKE, Action.ARRIVE, Action.START, Action.RESOLVE, Action.RATE]
    for step, action in enumerate(path, start=1):
        params = {"verdict": verdict, "score": score} if action == Action.RATE else wf.params_for(cast, action)
        actor = owner if action == Action.RATE else wf.actor_for(cast, action)
        order_services.workorder_act(
            actor=actor, order_id=order.id, action=action, params=params, now=at + dt.timedelta(minutes=step)
        )
    if answer is None or verdict == "returned":
        return
    for step, action in enumerate((Action.VISIT, Action.CLOSE), start=20):
        order_services.workorder_act(
            actor=wf.actor_for(cast, action),
            order_id=order.id,
            action=action,
            params=wf.params_for(cast, action),
            now=at + dt.timedelta(minutes=step),
        )
    survey = Survey.objects.get(work_order=order)
    services.response_submit(
        user=owner, survey=survey, answers={survey.questions.get().id: answer}, now=at + dt.timedelta(hours=2)
    )


def oracle(keep) -> dict[str, float | None]:
    """The index computed again from the rows: `keep(estate_id, grid_id, building_id)` says which rows count."""
    yearly = defaultdict(lambda: [0, 0])
    anonymous = defaultdict(lambda: [0, 0])
    for answer in Answer.objects.select_related("question__survey", "response__building"):
        survey, building = answer.question.survey, answer.response.building
        yearly_scale = survey.kind == SurveyKind.YEARLY_SATISFACTION and answer.question.kind == QuestionKind.SCALE
        if yearly_scale and answer.question.dimension and keep(building.estate_id, building.grid_id, building.id):
            into = anonymous if survey.anonymous else yearly
            into[answer.question.dimension][0] += answer.number >= 4
            into[answer.question.dimension][1] += 1
    orders = defaultdict(lambda: [0, 0])
    for event in WorkOrderEvent.objects.filter(action=Action.RATE).select_related("order__category", "order__room"):
        order = event.order
        if keep(order.estate_id, order.grid_id, order.room.building_id):
            dim = ORACLE_DIMENSIONS[(order.kind, order.category.code)]
            orders[dim][0] += event.payload["verdict"] == "good"
            orders[dim][1] += 1
    for answer in Answer.objects.filter(question__survey__kind=SurveyKind.AFTER_ORDER).select_related(
        "question__survey__work_order__category", "question__survey__work_order__room"
    ):
        order: WorkOrder = answer.question.survey.work_order
        if keep(order.estate_id, order.grid_id, order.room.building_id):
            dim = ORACLE_DIMENSIONS[(order.kind, order.category.code)]
            orders[dim][0] += answer.number >= 4
            orders[dim][1] += 1
    return yearly, anonymous, orders


def combine(yearly, anonymous, orders, *, small: bool) -> dict[str, float | None]:
    result = {}
    for dim in ("cleaning", "greening", "security", "engineering", "customer_service"):
        sat, total = yearly[dim]
        if not small or anonymous[dim][1] >= 3:
            sat, total = sat + anonymous[dim][0], total + anonymous[dim][1]
        y = sat / total if total else None
        o = orders[dim][0] / orders[dim][1] if orders[dim][1] else None
        result[dim] = (
            None
            if y is None and o is None
            else 100 * (0.6 * y + 0.4 * o if y is not None and o is not None else (y if o is None else o))
        )
    present = [value for value in result.values() if value is not None]
    result["overall"] = sum(present) / len(present) if present else None
    return result


def ours(place, **kw):
    index = selectors.satisfaction_for(place, START, END, **kw)
    return {
        node: {**{d: item.index for d, item in value.dimensions.items()}, "overall": value.overall}
        for node, value in index.items()
    }


def assert_close(actual: dict, expected: dict):
    assert actual.keys() == expected.keys()
    for key, value in expected.items():
        assert actual[key] == pytest.approx(value), key


def test_the_estate_index_equals_the_independent_computation(cast, world):
    expected = combine(*oracle(lambda e, g, b: e == cast.estate.id), small=False)
    assert_close(ours(selectors.Place((cast.estate.id,)))[None], expected)
    assert expected["overall"] is not None and 0 < expected["overall"] < 100


def test_each_grid_and_building_equals_the_independent_computation(cast, world):
    grid2 = world["grid2"]
    for grid in (cast.grid, grid2):
        expected = combine(*oracle(lambda e, g, b, grid=grid: g == grid.id), small=True)
        assert_close(ours(selectors.Place((cast.estate.id,), grid_id=grid.id))[None], expected)
        assert_close(ours(selectors.Place((cast.estate.id,)), by="grid")[grid.id], expected)
    building2 = world["rooms"][2].building
    expected = combine(*oracle(lambda e, g, b: b == building2.id), small=True)
    assert_close(ours(selectors.Place((cast.estate.id,)), by="building")[building2.id], expected)


def test_two_anonymous_answers_count_for_the_estate_but_not_for_their_grid(cast, world):
    estate = selectors.satisfaction_tallies(selectors.Place((cast.estate.id,)), START, END)[None][0]
    grid = selectors.satisfaction_tallies(selectors.Place((cast.estate.id,), grid_id=world["grid2"].id), START, END)
    assert estate["cleaning"].total == 5 + 2
    assert grid[None][0]["cleaning"].total == 3  # the three named answers of grid 2 only


def test_hand_computed_cleaning_for_the_estate(cast, world):
    # Yearly cleaning: named 5,4,3,2,5 → 3 of 5 satisfied; anonymous 1,1 → 0 of 2: 3/7.
    # Orders, cleaning: two public cleaning repairs rated good(4) and bad(1); after-order answers 4 and 3: 2/4.
    expected = 100 * (0.6 * 3 / 7 + 0.4 * 2 / 4)
    index = selectors.satisfaction_for(selectors.Place((cast.estate.id,)), START, END)[None]
    assert index.dimensions["cleaning"].index == pytest.approx(expected)


def test_a_year_later_the_order_feedback_is_gone_and_the_yearly_survey_too(cast, world):
    later = selectors.satisfaction_for(selectors.Place((cast.estate.id,)), dt.date(2027, 12, 1), dt.date(2027, 12, 31))
    assert later[None].overall is None


def test_the_kpi_dashboard_shows_the_same_overall_index(cast, world):
    """The dashboard reads the index from the KPI rollups (kpis.service_rollup): the same number as the index
    computed here from the answers and ratings, for the estate, a grid (where the anonymity rule applies) and periods
    of months, days and both."""
    from wuye.kpis import selectors as kpi_selectors
    from wuye.kpis import service_rollup

    now = dt.datetime(2026, 12, 1, 12, tzinfo=clock.local_tz())
    service_rollup.rollup_rebuild(now=now)
    periods = [(START, END), (dt.date(2026, 11, 1), dt.date(2026, 11, 2)), (dt.date(2026, 11, 3), END)]
    periods.append((dt.date(2025, 1, 1), dt.date(2025, 11, 30)))  # before any answer: no index
    places = [
        (kpi_selectors.scope_for(cast.manager, estate=str(cast.estate.id)), selectors.Place((cast.estate.id,))),
        (
            kpi_selectors.scope_for(cast.manager, grid=str(world["grid2"].id)),
            selectors.Place((cast.estate.id,), grid_id=world["grid2"].id),
        ),
    ]
    for scope, place in places:
        found = kpi_selectors.hooks_for_periods(scope, periods, today=now.date())
        for period in periods:
            index = selectors.satisfaction_overall(place, *period)
            if index is None:
                assert found[period].survey_satisfaction is None, (scope.key, period)
            else:
                assert found[period].survey_satisfaction == pytest.approx(index), (scope.key, period)
    assert selectors.satisfaction_overall(places[0][1], START, END) is not None
    assert selectors.satisfaction_overall(places[0][1], *periods[-1]) is None
    assert rules.dimension_index(rules.Tally(1, 2), rules.Tally()) == 50
