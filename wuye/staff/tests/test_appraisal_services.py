"""The monthly appraisal end to end on real work-order events: scores and breakdowns, the monthly job's claim,
服务之星 nomination and decision, accountability records."""

import datetime as dt
from decimal import Decimal

import pytest
import time_machine
from django.core.management import CommandError, call_command

from wuye.core import scheduler
from wuye.core.errors import Forbidden, ValidationFailed
from wuye.inspections.models import Inspection
from wuye.notifications.models import Notification
from wuye.staff import selectors, services
from wuye.staff.choices import StarStatus
from wuye.staff.models import (
    AccountabilityRecord,
    AppraisalPolicy,
    AppraisalRun,
    AppraisalScore,
    AppraisalWeights,
    ServiceStar,
)
from wuye.workorders.choices import Action

from .history import AFTER_OCTOBER, OCTOBER, at, complaint, second_technician, seed_catalogue, walk

pytestmark = pytest.mark.django_db


@pytest.fixture
def october(cast):
    """Three clean repairs and one with a late arrival and a late finish, all by the technician."""
    seed_catalogue(cast)
    for day in (3, 8, 15):
        walk(cast, start=at(day))
    walk(cast, start=at(20), gaps={Action.ARRIVE: 600, Action.RESOLVE: 300}, rating=3)
    return cast


def compute(cast, month=OCTOBER):
    return services.appraisal_compute(estate=cast.estate, month=month, now=AFTER_OCTOBER)


def score_of(cast, user) -> AppraisalScore:
    return AppraisalScore.objects.get(estate=cast.estate, month=OCTOBER, person=user)


def lines(score: AppraisalScore) -> dict:
    return {line["code"]: line for line in score.components}


def test_the_technicians_score_comes_from_the_events_of_their_orders(october):
    assert compute(october) == 1
    score = score_of(october, october.technician)
    found = lines(score)
    assert score.post == "technician"
    assert found["sla_on_time"]["raw"] == {"on_time": 6, "total": 8, "steps": {"arrive": [3, 4], "resolve": [3, 4]}}
    assert found["sla_on_time"]["normalised"] == 75.0
    assert found["rating"]["raw"] == {"count": 4, "average": 4.5}
    assert found["visit"]["raw"] == {"satisfied": 4, "total": 4}
    assert found["reopen"]["raw"] == {"reopened": 0, "resolved": 4}
    assert found["complaints"]["normalised"] == 100.0
    assert not found["patrol"]["counted"] and not found["spot_check"]["counted"]
    assert score.volume == 4


def test_the_breakdown_contributions_add_up_to_the_stored_score(october):
    compute(october)
    score = score_of(october, october.technician)
    counted = [line for line in score.components if line["counted"]]
    assert sum(Decimal(line["contribution"]) for line in counted) == score.score
    assert sum(line["share"] for line in counted) == pytest.approx(100, abs=0.05)
    # technician weights: sla 25, rating 20, visit 15, reopen 15, complaints 10 counted (85 in all)
    expected = (75 * 25 + 87.5 * 20 + 100 * 15 + 100 * 15 + 100 * 10) / 85
    assert float(score.score) == pytest.approx(expected, abs=0.01)


def test_weights_set_for_the_post_in_the_admin_replace_the_defaults(october):
    AppraisalWeights.objects.create(company=october.company, post="technician", sla_on_time=1)
    compute(october)
    score = score_of(october, october.technician)
    assert score.score == Decimal("75.00")
    assert [line["code"] for line in score.components if line["counted"]] == ["sla_on_time"]


def test_a_complaint_about_their_work_and_a_spot_check_of_it_count_for_the_technician(october):
    complaint(october, submitted=at(21))  # a day after the technician's last repair in the same room
    Inspection.objects.create(
        estate=october.estate,
        kind="spot_check",
        discipline="engineering",
        status="submitted",
        title="品质核查",
        subject=october.technician,
        inspector=october.supervisor,
        submitted_at=at(22),
        score=Decimal("80.0"),
    )
    compute(october)
    found = lines(score_of(october, october.technician))
    assert found["complaints"]["raw"]["count"] == 1 and found["complaints"]["normalised"] == 80.0
    assert found["spot_check"]["raw"] == {"count": 1, "average": 80.0}


def test_recomputing_a_month_replaces_its_rows_and_records_one_run(october):
    compute(october)
    first = list(AppraisalScore.objects.values_list("person_id", "score"))
    compute(october)
    assert list(AppraisalScore.objects.values_list("person_id", "score")) == first
    assert AppraisalRun.objects.filter(estate=october.estate, month=OCTOBER).count() == 1


def test_the_monthly_job_appraises_last_month_once_per_estate(october):
    assert services.appraisal_run_due(now=AFTER_OCTOBER) == 2  # both estates of the cast (the other has no data)
    assert services.appraisal_run_due(now=AFTER_OCTOBER + dt.timedelta(hours=1)) == 0
    assert AppraisalScore.objects.filter(month=OCTOBER).count() == 1


def test_the_monthly_job_and_the_accountability_scan_are_registered_with_the_scheduler():
    names = {job.name for job in scheduler.registered_jobs()}
    assert {"staff.appraisal_monthly", "staff.accountability_scan"} <= names


# ------------------------------------------------------------------------------------------ 服务之星
@pytest.fixture
def two_technicians(october):
    """A second technician with three clean repairs of October: a better score but less work."""
    other = second_technician(october)
    for day in (5, 12, 19):
        walk(october, start=at(day), technician=other)
    return october


def test_without_enough_work_nobody_is_nominated(two_technicians):
    compute(two_technicians)
    assert not ServiceStar.objects.exists()


def test_the_best_score_with_enough_work_is_nominated_with_a_citation(two_technicians):
    AppraisalPolicy.objects.create(company=two_technicians.company, star_min_volume=3)
    compute(two_technicians)
    star = ServiceStar.objects.get()
    assert star.person == two_technicians.users["technician2"]
    assert star.status == StarStatus.NOMINATED
    assert star.score == Decimal("100.00") and "100" in star.citation


def test_the_minimum_volume_can_rule_out_the_best_score(two_technicians):
    AppraisalPolicy.objects.create(company=two_technicians.company, star_min_volume=4)
    compute(two_technicians)
    assert ServiceStar.objects.get().person == two_technicians.technician


def test_the_manager_confirms_and_the_star_is_told(two_technicians):
    AppraisalPolicy.objects.create(company=two_technicians.company, star_min_volume=3)
    compute(two_technicians)
    star = ServiceStar.objects.get()
    services.star_decide(actor=two_technicians.manager, star_id=star.id, confirm=True, citation="维修又快又好")
    star.refresh_from_db()
    assert (star.status, star.decided_by, star.citation) == (
        StarStatus.CONFIRMED,
        two_technicians.manager,
        "维修又快又好",
    )
    assert Notification.objects.filter(recipient=star.person, kind="appraisal.star").count() == 1
    # Recomputing the month keeps a decided star.
    compute(two_technicians)
    assert list(ServiceStar.objects.values_list("id", "status")) == [(star.id, StarStatus.CONFIRMED)]


def test_a_rejection_needs_a_reason_and_nominates_the_next_in_line(two_technicians):
    AppraisalPolicy.objects.create(company=two_technicians.company, star_min_volume=3)
    compute(two_technicians)
    star = ServiceStar.objects.get()
    with pytest.raises(ValidationFailed) as refused:
        services.star_decide(actor=two_technicians.manager, star_id=star.id, confirm=False, reason="  ")
    assert [error.field for error in refused.value.errors] == ["reason"]
    services.star_decide(actor=two_technicians.manager, star_id=star.id, confirm=False, reason="本月有投诉未结")
    stars = {s.person_id: s.status for s in ServiceStar.objects.all()}
    assert stars == {
        two_technicians.users["technician2"].id: StarStatus.REJECTED,
        two_technicians.technician.id: StarStatus.NOMINATED,
    }


def test_only_the_manager_decides_and_only_once(two_technicians):
    AppraisalPolicy.objects.create(company=two_technicians.company, star_min_volume=3)
    compute(two_technicians)
    star = ServiceStar.objects.get()
    for member in ("technician", "supervisor"):
        with pytest.raises(Forbidden):
            services.star_decide(actor=two_technicians.users[member], star_id=star.id, confirm=True)
    services.star_decide(actor=two_technicians.manager, star_id=star.id, confirm=True)
    with pytest.raises(services.StarAlreadyDecided):
        services.star_decide(actor=two_technicians.manager, star_id=star.id, confirm=False, reason="改主意")


# ------------------------------------------------------------------------------------------ accountability
def late(cast, day: int):
    """An emergency repair reached ten hours late: its arrival and its finish both miss their deadlines."""
    return walk(cast, start=at(day), gaps={Action.ARRIVE: 600})


def test_three_missed_deadlines_in_30_days_open_one_record_and_tell_the_supervisor(cast):
    seed_catalogue(cast)
    first = late(cast, 10)
    now = at(25)
    assert services.accountability_scan(now=now) == 0  # two breaches: below the default threshold of 3
    second = late(cast, 14)
    assert services.accountability_scan(now=now) == 1
    record = AccountabilityRecord.objects.get()
    assert record.person == cast.technician and record.breach_count == 4 and record.threshold == 3
    assert [(item["number"], item["step"]) for item in record.breaches] == [
        (first.number, "arrive"),
        (first.number, "resolve"),
        (second.number, "arrive"),
        (second.number, "resolve"),
    ]
    told = Notification.objects.filter(kind="appraisal.accountability")
    assert [n.recipient for n in told] == [cast.supervisor]
    # Idempotent: the same breaches never open a second record.
    assert services.accountability_scan(now=now + dt.timedelta(hours=1)) == 0
    assert told.count() == 1


def test_breaches_older_than_the_window_do_not_count(cast):
    seed_catalogue(cast)
    for day in (1, 2, 3):
        late(cast, day)
    assert services.accountability_scan(now=at(3) + dt.timedelta(days=31)) == 0


def test_the_threshold_is_the_companys_policy(cast):
    seed_catalogue(cast)
    AppraisalPolicy.objects.create(company=cast.company, breach_threshold=1)
    late(cast, 10)
    assert services.accountability_scan(now=at(25)) == 1


def test_the_record_is_shown_with_the_persons_breakdown(cast):
    seed_catalogue(cast)
    for day in (10, 12):
        late(cast, day)
    services.accountability_scan(now=at(25))
    compute(cast)
    score = score_of(cast, cast.technician)
    assert [r.breach_count for r in selectors.accountability_for(score.estate_id, score.person_id)] == [4]


# ------------------------------------------------------------------------------------------ demo
def test_the_demo_seed_plays_last_month_appraises_it_and_plays_it_only_once(cast):
    from wuye.staff.seed import seed_appraisal

    seed_catalogue(cast)
    result = seed_appraisal(company=cast.company, now=AFTER_OCTOBER)
    assert result["played"] == 7  # the cast's one technician gets the first unnamed profile
    score = score_of(cast, cast.technician)
    assert lines(score)["sla_on_time"]["raw"]["total"] >= 7 and score.volume == 7
    assert result["scored"] >= 1
    again = seed_appraisal(company=cast.company, now=AFTER_OCTOBER)
    assert again["played"] == 0
    assert list(AppraisalScore.objects.filter(person=cast.technician).values_list("score", flat=True)) == [score.score]


def test_the_command_recomputes_a_month_and_refuses_a_malformed_one(october, capsys):
    with time_machine.travel(AFTER_OCTOBER, tick=False):
        call_command("appraisal_compute", "--month", "2026-10", "--estate", str(october.estate.id))
    assert "1 people scored" in capsys.readouterr().out
    assert AppraisalScore.objects.filter(month=OCTOBER).count() == 1
    with pytest.raises(CommandError, match="2026-11"):
        call_command("appraisal_compute", "--month", "10/2026")
