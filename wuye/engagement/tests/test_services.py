"""Survey services: targeting and sampling, publishing and closing, one response each (also racing), the refusals,
and the survey after a closed work order."""

import datetime as dt
import threading

import pytest
from django.db import IntegrityError, close_old_connections, connection, transaction

from wuye.accounts import services as account_services
from wuye.core import clock
from wuye.core.errors import Forbidden, ValidationFailed
from wuye.engagement import rules, selectors, services
from wuye.engagement.choices import TRANSITIONS, SurveyAction, SurveyStatus
from wuye.engagement.models import Answer, Invitation, Response, Survey, SurveyEvent
from wuye.notifications.models import Notification
from wuye.testing import factories
from wuye.workorders.choices import Status
from wuye.workorders.tests import factories as wf

from . import factories as ef

pytestmark = pytest.mark.django_db


def resident(building, number: str, *, move_out_on=None):
    """A new owner living in `number` of `building` (unit 1)."""
    unit = building.units.first() or factories.UnitFactory(building=building, name="1")
    room = factories.RoomFactory(unit=unit, number=number)
    person = factories.UserFactory()
    residency = account_services.residency_create(user=person, room=room)
    if move_out_on is not None:
        residency.move_in_on = dt.date(2020, 1, 1)
        residency.move_out_on = move_out_on
        residency.save(update_fields=["move_in_on", "move_out_on"])
    return person


def invited(survey: Survey) -> set[int]:
    return set(Invitation.objects.filter(survey=survey).values_list("user_id", flat=True))


# ---------------------------------------------------------------- targeting and sampling


def test_publishing_invites_every_current_resident_of_the_estate(cast):
    moved_out = resident(cast.building, "201", move_out_on=dt.date(2024, 1, 1))
    stranger = resident(cast.stranger_room.building, "301")
    survey = ef.published(cast)
    assert invited(survey) == {cast.owner.id, cast.other_owner.id}
    assert moved_out.id not in invited(survey) and stranger.id not in invited(survey)


def test_targeting_a_building_invites_only_its_residents(cast):
    second = factories.BuildingFactory(estate=cast.estate, name="2")
    neighbour = resident(second, "101")
    survey = ef.published(cast, building_ids=[second.id])
    assert invited(survey) == {neighbour.id}


def test_targeting_a_grid_invites_the_residents_of_its_buildings(cast):
    other_grid = factories.GridFactory(estate=cast.estate, name="二网格")
    second = factories.BuildingFactory(estate=cast.estate, name="2", grid=other_grid)
    neighbour = resident(second, "101")
    assert invited(ef.published(cast, grid_ids=[cast.grid.id])) == {cast.owner.id, cast.other_owner.id}
    assert invited(ef.published(cast, grid_ids=[other_grid.id])) == {neighbour.id}


def test_a_company_wide_survey_invites_every_estate_of_the_company_and_no_other(cast):
    second_estate = factories.EstateFactory(company=cast.company, name="翠湖二期", code="cuihu-2")
    far = resident(factories.BuildingFactory(estate=second_estate, name="1"), "101")
    cast.users["company_admin"]._wuye_roles_by_estate = None  # the new estate joins the admin's roles
    survey = ef.published(cast, company=cast.company, actor=cast.company_admin)
    assert invited(survey) == {cast.owner.id, cast.other_owner.id, far.id}


def test_targets_outside_the_estate_are_refused(cast):
    outside = cast.stranger_room.building
    with pytest.raises(ValidationFailed) as refusal:
        ef.draft(cast, building_ids=[outside.id])
    assert [error.field for error in refusal.value.errors] == ["building_ids"]


def test_sampling_is_deterministic_for_a_seed_and_close_to_the_rate(cast):
    second = factories.BuildingFactory(estate=cast.estate, name="2")
    people = [resident(second, f"{floor}{door:02d}") for floor in range(1, 21) for door in range(1, 11)]
    survey = ef.published(cast, building_ids=[second.id], rate="0.3")
    picked = invited(survey)
    assert 40 <= len(picked) <= 80  # 200 people at 30 %
    expected = {p.id for p in people if rules.is_sampled(survey.sampling_seed, p.id, survey.sampling_rate)}
    assert picked == expected
    # Generating again changes nothing: the same seed keeps the same people.
    assert services.invitations_generate(survey=survey, now=clock.now()) == 0
    assert invited(survey) == picked
    # Another survey draws its own seed, so its sample differs.
    other = ef.published(cast, building_ids=[second.id], rate="0.3")
    assert other.sampling_seed != survey.sampling_seed
    assert invited(other) != picked


def test_a_resident_who_moves_in_later_joins_when_invitations_are_generated_again(cast):
    survey = ef.published(cast)
    newcomer = resident(cast.building, "301")
    assert services.invitations_generate(survey=survey, now=clock.now()) == 1
    assert newcomer.id in invited(survey)


def test_invitees_are_notified_once_after_publication(cast, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        survey = ef.published(cast)
    notes = Notification.objects.filter(kind="survey.invited")
    assert set(notes.values_list("recipient_id", flat=True)) == {cast.owner.id, cast.other_owner.id}
    assert all(note.link == f"/portal/surveys/{survey.id}/" for note in notes)
    assert services.invitations_notify(survey_id=survey.id, now=clock.now()) == 0
    assert notes.count() == 2


# ---------------------------------------------------------------- state


@pytest.mark.parametrize("action", list(TRANSITIONS))
@pytest.mark.parametrize("status", list(SurveyStatus))
def test_transitions_table(cast, action, status):
    survey = ef.published(cast) if status != SurveyStatus.DRAFT else ef.draft(cast)
    if status == SurveyStatus.CLOSED:
        services.survey_close(actor=cast.manager, survey_id=survey.id, now=clock.now())
    events_before = SurveyEvent.objects.filter(survey=survey).count()
    allowed_from, target = TRANSITIONS[action]
    if status in allowed_from:
        result = services.survey_transition(actor=cast.manager, survey_id=survey.id, action=action, now=clock.now())
        assert result.status == target
        assert SurveyEvent.objects.filter(survey=survey).count() == events_before + 1
        assert SurveyEvent.objects.filter(survey=survey).last().action == action
    else:
        with pytest.raises(services.SurveyStateError):
            services.survey_transition(actor=cast.manager, survey_id=survey.id, action=action, now=clock.now())
        assert SurveyEvent.objects.filter(survey=survey).count() == events_before


def test_a_survey_whose_closing_time_has_passed_cannot_be_published(cast, time_machine):
    survey = ef.draft(cast)
    time_machine.move_to(survey.closes_at + dt.timedelta(minutes=1))
    with pytest.raises(ValidationFailed) as refusal:
        services.survey_publish(actor=cast.manager, survey_id=survey.id, now=clock.now())
    assert refusal.value.errors[0].field == "closes_at"


# ---------------------------------------------------------------- responses


def test_an_invited_owner_answers_once(cast):
    survey = ef.published(cast)
    response = services.response_submit(user=cast.owner, survey=survey, answers=ef.answers(survey), now=clock.now())
    assert response.respondent == cast.owner
    assert Answer.objects.filter(response=response).count() == 5
    with pytest.raises(services.AlreadyAnswered) as refusal:
        services.response_submit(user=cast.owner, survey=survey, answers=ef.answers(survey), now=clock.now())
    assert refusal.value.status == 409
    assert Response.objects.filter(survey=survey).count() == 1


def test_the_database_refuses_a_second_response_from_the_same_person(cast):
    survey = ef.published(cast)
    key = services.respondent_key_for(survey, cast.owner)
    Response.objects.create(survey=survey, respondent_key=key, submitted_at=clock.now())
    with pytest.raises(IntegrityError), transaction.atomic():
        Response.objects.create(survey=survey, respondent_key=key, submitted_at=clock.now())


def test_without_the_early_check_the_constraint_still_gives_a_clear_refusal(cast, monkeypatch):
    survey = ef.published(cast)
    services.response_submit(user=cast.owner, survey=survey, answers=ef.answers(survey), now=clock.now())
    monkeypatch.setattr(services, "key_has_answered", lambda survey, key: False)
    with pytest.raises(services.AlreadyAnswered):
        services.response_submit(user=cast.owner, survey=survey, answers=ef.answers(survey), now=clock.now())
    assert Response.objects.filter(survey=survey).count() == 1


@pytest.mark.django_db(transaction=True)
def test_racing_submissions_store_one_response(monkeypatch):
    """Eight submissions of the same person at once, the early check switched off so every one reaches the INSERT:
    the unique constraint keeps one and each other one gets "already answered". On PostgreSQL the INSERTs really
    run concurrently; SQLite serialises the transactions."""
    from wuye.testing.cast import build_cast

    cast = build_cast()
    survey = ef.published(cast)
    monkeypatch.setattr(services, "key_has_answered", lambda survey, key: False)
    answers = ef.answers(survey)
    barrier = threading.Barrier(8)
    outcomes: list[str] = []
    lock = threading.Lock()

    def submit():
        close_old_connections()
        try:
            barrier.wait()
            services.response_submit(user=cast.owner, survey=survey, answers=answers, now=clock.now())
            result = "stored"
        except services.AlreadyAnswered:
            result = "already_answered"
        except Exception as error:  # noqa: BLE001 — any other outcome is a failure the assertion shows
            result = repr(error)
        finally:
            connection.close()
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=submit) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert sorted(outcomes) == ["already_answered"] * 7 + ["stored"], outcomes
    assert Response.objects.filter(survey=survey).count() == 1
    assert Answer.objects.filter(response__survey=survey).count() == 5


def test_a_closed_survey_refuses_answers(cast):
    survey = ef.published(cast)
    services.survey_close(actor=cast.manager, survey_id=survey.id, now=clock.now())
    survey.refresh_from_db()
    with pytest.raises(services.SurveyStateError) as refusal:
        services.response_submit(user=cast.owner, survey=survey, answers=ef.answers(survey), now=clock.now())
    assert (refusal.value.status, refusal.value.code) == (409, "survey_closed")


def test_answers_after_the_closing_time_are_refused_without_anyone_closing_it(cast, time_machine):
    survey = ef.published(cast)
    time_machine.move_to(survey.closes_at)
    with pytest.raises(services.SurveyStateError) as refusal:
        services.response_submit(user=cast.owner, survey=survey, answers=ef.answers(survey), now=clock.now())
    assert refusal.value.code == "survey_closed"


def test_answers_before_the_opening_time_are_refused(cast):
    survey = ef.published(cast, opens_at=clock.now() + dt.timedelta(days=2))
    with pytest.raises(services.SurveyStateError) as refusal:
        services.response_submit(user=cast.owner, survey=survey, answers=ef.answers(survey), now=clock.now())
    assert refusal.value.code == "survey_not_open"


def test_a_resident_left_out_of_the_sample_may_not_answer(cast):
    second = factories.BuildingFactory(estate=cast.estate, name="2")
    resident(second, "101")
    survey = ef.published(cast, building_ids=[second.id])
    with pytest.raises(Forbidden) as refusal:
        services.response_submit(user=cast.owner, survey=survey, answers=ef.answers(survey), now=clock.now())
    assert refusal.value.code == "not_targeted"


def test_invalid_answers_name_each_question_and_store_nothing(cast):
    survey = ef.published(cast)
    answers = ef.answers(survey)
    ids = ef.question_ids(survey)
    answers[ids[2]] = 9
    del answers[ids[0]]
    with pytest.raises(ValidationFailed) as refusal:
        services.response_submit(user=cast.owner, survey=survey, answers=answers, now=clock.now())
    fields = {error.field: error for error in refusal.value.errors}
    assert set(fields) == {f"answers.{ids[0]}", f"answers.{ids[2]}"}
    assert fields[f"answers.{ids[0]}"].code == "required"
    assert "您是否在本小区居住满一年" in fields[f"answers.{ids[0]}"].message
    assert fields[f"answers.{ids[2]}"].code == "out_of_range"
    assert not Response.objects.filter(survey=survey).exists()


def test_an_anonymous_response_names_nobody_and_keeps_only_the_day(cast):
    survey = ef.published(cast, anonymous=True)
    now = clock.now()
    response = services.response_submit(user=cast.owner, survey=survey, answers=ef.answers(survey), now=now)
    response.refresh_from_db()
    assert response.respondent_id is None
    assert response.submitted_at == rules.day_start(now, clock.local_tz())
    assert str(cast.owner.id) != response.respondent_key and cast.owner.username not in response.respondent_key
    # The person can still tell they answered; nobody else's key matches.
    assert services.has_answered(survey, cast.owner)
    assert not services.has_answered(survey, cast.other_owner)


def test_text_answers_are_sorted_into_dimensions_after_commit(cast, django_capture_on_commit_callbacks):
    survey = ef.published(cast)
    with django_capture_on_commit_callbacks(execute=True):
        response = services.response_submit(
            user=cast.owner, survey=survey, answers=ef.answers(survey, text="电梯又坏了，物业也不管"), now=clock.now()
        )
    answer = Answer.objects.get(response=response, question__kind="text")
    assert (answer.dimensions, answer.sentiment) == (["engineering"], "negative")


# ---------------------------------------------------------------- results


def test_results_count_choices_and_compute_mean_nps_and_response_rate(cast):
    survey = ef.published(cast)
    services.response_submit(
        user=cast.owner,
        survey=survey,
        answers=ef.answers(survey, single=0, multiple=(0, 1), scale=5, nps=10),
        now=clock.now(),
    )
    services.response_submit(
        user=cast.other_owner,
        survey=survey,
        answers=ef.answers(survey, single=1, multiple=(1,), scale=2, nps=3),
        now=clock.now(),
    )
    results = selectors.survey_results(survey, now=clock.now())
    assert (results.invited, results.responses, results.response_rate) == (2, 2, 1.0)
    single, multiple, scale, nps, text = results.questions
    assert [(c.text, c.count) for c in single.choices] == [("是", 1), ("否", 1)]
    assert [(c.text, c.count, c.share) for c in multiple.choices] == [
        ("保洁", 1, 0.5),
        ("绿化", 2, 1.0),
        ("安保", 0, 0.0),
    ]
    assert scale.mean == 3.5 and scale.satisfied_share == 0.5
    assert scale.distribution == {1: 0, 2: 1, 3: 0, 4: 0, 5: 1}
    assert (nps.nps.promoters, nps.nps.detractors, nps.nps.score) == (1, 1, 0.0)
    assert text.answered == 2 and {t["respondent"] for t in text.texts} == {"王业主", "李业主"}


def test_anonymous_results_hide_answers_below_three_responses(cast):
    survey = ef.published(cast, anonymous=True)
    services.response_submit(user=cast.owner, survey=survey, answers=ef.answers(survey), now=clock.now())
    results = selectors.survey_results(survey, now=clock.now())
    assert results.hidden and results.responses == 1
    assert all(not item.texts and not item.choices and item.mean is None for item in results.questions)


# ---------------------------------------------------------------- after a work order


def closed_order(cast):
    wf.seed_catalogue(cast)
    order = wf.order(cast, status=Status.VISITED)
    order.status = Status.CLOSED
    order.save(update_fields=["status"])
    return order


def test_a_closed_order_gets_a_one_question_survey_for_its_reporter(cast, django_capture_on_commit_callbacks):
    order = closed_order(cast)
    with django_capture_on_commit_callbacks(execute=True):
        survey = services.after_order_survey_invite(order=order)
    assert survey.kind == "after_order" and survey.work_order == order and not survey.anonymous
    assert survey.status == SurveyStatus.PUBLISHED
    assert [(q.kind, q.dimension) for q in survey.questions.all()] == [("scale", "engineering")]
    assert invited(survey) == {order.reporter_id}
    assert Notification.objects.filter(recipient=order.reporter, kind="survey.invited").count() == 1
    # Asking again for the same order returns the same survey.
    assert services.after_order_survey_invite(order=order) == survey
    assert Survey.objects.filter(work_order=order).count() == 1
    question = survey.questions.get()
    services.response_submit(user=order.reporter, survey=survey, answers={question.id: 5}, now=clock.now())
    assert SurveyEvent.objects.filter(survey=survey, action=SurveyAction.PUBLISH).count() == 1


def test_an_order_that_is_not_closed_gets_no_survey(cast):
    wf.seed_catalogue(cast)
    order = wf.order(cast, status=Status.RESOLVED)
    assert services.after_order_survey_invite(order=order) is None
    assert not Survey.objects.exists()
