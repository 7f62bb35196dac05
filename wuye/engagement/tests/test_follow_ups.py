"""Low scores close the loop: which ratings, visits and survey answers open a follow-up, for whom, once."""

import datetime as dt

import pytest

from wuye.core.errors import ValidationFailed
from wuye.engagement import services
from wuye.engagement.choices import FollowUpCause, FollowUpStatus, QuestionKind, SurveyKind
from wuye.engagement.models import FollowUp, Survey
from wuye.notifications.models import Notification, OutboxMessage
from wuye.workorders import services as order_services
from wuye.workorders.choices import Action, Status
from wuye.workorders.tests import factories as wf

from . import factories as ef

pytestmark = pytest.mark.django_db

LATER = dt.datetime(2026, 11, 23, 12, 0, tzinfo=dt.UTC)


def rate(cast, order, *, verdict: str, score: int, comment: str = ""):
    return order_services.workorder_act(
        actor=cast.owner,
        order_id=order.id,
        action=Action.RATE,
        params={"verdict": verdict, "score": score, "comment": comment},
        now=LATER,
    )


@pytest.fixture
def resolved(cast):
    wf.seed_catalogue(cast)
    return wf.order(cast, status="resolved")


def test_a_bad_rating_opens_a_follow_up_for_the_grid_leader_due_in_two_days(cast, resolved):
    rate(cast, resolved, verdict="bad", score=3, comment="师傅态度差")
    follow_up = FollowUp.objects.get(work_order=resolved)
    assert follow_up.cause == FollowUpCause.LOW_RATING
    assert follow_up.assignee == cast.grid.leader == cast.supervisor
    assert (follow_up.grid, follow_up.estate, follow_up.score) == (cast.grid, cast.estate, 3)
    assert follow_up.detail == "师傅态度差"
    assert follow_up.due_at == LATER + dt.timedelta(hours=48)
    note = Notification.objects.get(kind="followup.opened")
    assert note.recipient == cast.supervisor and resolved.number in note.title
    sms = OutboxMessage.objects.get(kind="followup.opened")
    assert (sms.recipient, sms.channel, sms.to) == (cast.supervisor, "sms", cast.supervisor.phone)


def test_a_satisfied_rating_with_a_high_score_opens_nothing(cast, resolved):
    rate(cast, resolved, verdict="good", score=3)
    assert not FollowUp.objects.exists()


def test_a_satisfied_verdict_with_a_score_of_two_still_opens_one(cast, resolved):
    rate(cast, resolved, verdict="good", score=2)
    assert FollowUp.objects.get().score == 2


def test_a_returned_order_rated_low_twice_has_one_follow_up(cast, resolved):
    rate(cast, resolved, verdict="returned", score=1)
    resolved.refresh_from_db()
    assert resolved.status == Status.ACCEPTED  # the rating sent it back
    for action in (Action.DISPATCH, Action.TAKE, Action.ARRIVE, Action.START, Action.RESOLVE):
        order_services.workorder_act(
            actor=wf.actor_for(cast, action), order_id=resolved.id, action=action, params=wf.params_for(cast, action)
        )
    order_services.workorder_act(
        actor=cast.owner, order_id=resolved.id, action=Action.RATE, params={"verdict": "bad", "score": 1}
    )
    assert FollowUp.objects.filter(work_order=resolved).count() == 1
    assert Notification.objects.filter(kind="followup.opened").count() == 1


def test_an_unsatisfied_return_visit_opens_its_own_follow_up(cast, resolved):
    rate(cast, resolved, verdict="good", score=5)
    order_services.workorder_act(
        actor=cast.service_agent,
        order_id=resolved.id,
        action=Action.VISIT,
        params={"satisfied": False, "note": "业主说还在漏"},
        now=LATER + dt.timedelta(hours=1),
    )
    follow_up = FollowUp.objects.get(work_order=resolved)
    assert (follow_up.cause, follow_up.detail) == (FollowUpCause.UNSATISFIED_VISIT, "业主说还在漏")


def test_a_satisfied_return_visit_opens_nothing(cast):
    wf.seed_catalogue(cast)
    wf.order(cast, status="visited")
    assert not FollowUp.objects.exists()


def test_without_a_grid_leader_the_estates_supervisors_are_told_and_nobody_is_assigned(cast, resolved):
    cast.grid.leader = None
    cast.grid.save(update_fields=["leader"])
    rate(cast, resolved, verdict="bad", score=2)
    follow_up = FollowUp.objects.get()
    assert follow_up.assignee is None
    told = set(Notification.objects.filter(kind="followup.opened").values_list("recipient__username", flat=True))
    assert told == {"supervisor"}  # the estate's only supervisor; managers and the stranger are not told


def test_a_low_answer_to_the_survey_after_the_order_opens_a_follow_up(cast):
    wf.seed_catalogue(cast)
    order = wf.order(cast, status="closed")
    survey = Survey.objects.get(work_order=order)
    question = survey.questions.get()
    services.response_submit(
        user=cast.owner, survey=survey, answers={question.id: 2}, now=survey.opens_at + dt.timedelta(hours=1)
    )
    follow_up = FollowUp.objects.get(work_order=order)
    assert (follow_up.cause, follow_up.score, follow_up.assignee) == (
        FollowUpCause.LOW_SURVEY_ANSWER,
        2,
        cast.supervisor,
    )


def test_a_good_answer_to_the_survey_after_the_order_opens_nothing(cast):
    wf.seed_catalogue(cast)
    order = wf.order(cast, status="closed")
    survey = Survey.objects.get(work_order=order)
    services.response_submit(
        user=cast.owner,
        survey=survey,
        answers={survey.questions.get().id: 4},
        now=survey.opens_at + dt.timedelta(hours=1),
    )
    assert not FollowUp.objects.exists()


def test_low_answers_to_an_anonymous_survey_open_no_follow_up_and_name_nobody(cast):
    survey = ef.published(cast, anonymous=True, kind=SurveyKind.YEARLY_SATISFACTION)
    answers = ef.answers(survey, scale=1, nps=0, text="太差了")
    services.response_submit(user=cast.owner, survey=survey, answers=answers, now=survey.opens_at + dt.timedelta(1))
    assert not FollowUp.objects.exists()
    assert not Notification.objects.filter(kind="followup.opened").exists()
    assert survey.questions.filter(kind=QuestionKind.SCALE).exists()


def test_the_leader_records_what_was_done_once_and_must_say_what(cast, resolved):
    rate(cast, resolved, verdict="bad", score=2)
    follow_up = FollowUp.objects.get()
    with pytest.raises(ValidationFailed) as problem:
        services.follow_up_done(actor=cast.supervisor, follow_up_id=follow_up.id, note="  ", now=LATER)
    assert problem.value.errors[0].field == "note"
    done = services.follow_up_done(actor=cast.supervisor, follow_up_id=follow_up.id, note="已电话回访", now=LATER)
    assert (done.status, done.done_by, done.note) == (FollowUpStatus.DONE, cast.supervisor, "已电话回访")
    with pytest.raises(services.FollowUpDone):
        services.follow_up_done(actor=cast.supervisor, follow_up_id=follow_up.id, note="again", now=LATER)
