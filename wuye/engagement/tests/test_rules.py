"""Pure survey rules: phases, the sampling draw, the respondent key, answer checks and result figures."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from wuye.engagement import rules
from wuye.engagement.choices import Phase, QuestionKind, SurveyStatus

UTC = dt.UTC
OPENS = dt.datetime(2026, 11, 1, tzinfo=UTC)
CLOSES = dt.datetime(2026, 12, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("status", "now", "phase"),
    [
        (SurveyStatus.DRAFT, OPENS + dt.timedelta(days=1), Phase.DRAFT),
        (SurveyStatus.PUBLISHED, OPENS - dt.timedelta(seconds=1), Phase.SCHEDULED),
        (SurveyStatus.PUBLISHED, OPENS, Phase.OPEN),
        (SurveyStatus.PUBLISHED, CLOSES - dt.timedelta(seconds=1), Phase.OPEN),
        (SurveyStatus.PUBLISHED, CLOSES, Phase.CLOSED),
        (SurveyStatus.CLOSED, OPENS + dt.timedelta(days=1), Phase.CLOSED),
    ],
)
def test_phase_follows_status_and_the_clock(status, now, phase):
    assert rules.survey_phase(status, OPENS, CLOSES, now) == phase


def test_sampling_draw_is_fixed_by_seed_and_person():
    assert rules.sample_draw("seed-a", 42) == rules.sample_draw("seed-a", 42)
    assert rules.sample_draw("seed-a", 42) != rules.sample_draw("seed-b", 42)
    assert rules.sample_draw("seed-a", 42) != rules.sample_draw("seed-a", 43)


def test_sampling_keeps_about_the_rate_and_everyone_at_rate_one():
    kept = sum(rules.is_sampled("yearly-2026", person, 0.3) for person in range(10_000))
    assert 2_800 <= kept <= 3_200
    assert all(rules.is_sampled("yearly-2026", person, 1) for person in range(1_000))


@given(st.text(min_size=1, max_size=20), st.integers(min_value=1, max_value=10**9))
def test_a_person_kept_at_a_lower_rate_is_kept_at_every_higher_rate(seed, person):
    if rules.is_sampled(seed, person, 0.2):
        assert rules.is_sampled(seed, person, 0.5)


def test_respondent_key_needs_the_secret_and_differs_per_survey():
    key = rules.respondent_key(b"secret", 7, 42)
    assert key == rules.respondent_key(b"secret", 7, 42)
    assert key != rules.respondent_key(b"other secret", 7, 42)
    assert key != rules.respondent_key(b"secret", 8, 42)
    assert len(key) == 64


def test_anonymous_responses_keep_only_the_local_day():
    shanghai = ZoneInfo("Asia/Shanghai")
    # 17:30 UTC on the 3rd is 01:30 on the 4th in Shanghai.
    assert rules.day_start(dt.datetime(2026, 11, 3, 17, 30, tzinfo=UTC), shanghai) == dt.datetime(
        2026, 11, 4, tzinfo=shanghai
    )


QUESTIONS = [
    rules.QuestionRule(1, 1, QuestionKind.SINGLE, "是否满一年", True, frozenset({11, 12})),
    rules.QuestionRule(2, 2, QuestionKind.MULTIPLE, "关心什么", True, frozenset({21, 22, 23})),
    rules.QuestionRule(3, 3, QuestionKind.SCALE, "保洁满意度", True),
    rules.QuestionRule(4, 4, QuestionKind.NPS, "推荐意愿", True),
    rules.QuestionRule(5, 5, QuestionKind.TEXT, "意见建议", False),
]
VALID = {1: 11, 2: [21, 23], 3: 5, 4: 0, 5: " 很好 "}


def test_valid_answers_come_back_clean():
    answers, problems = rules.check_answers(QUESTIONS, VALID)
    assert problems == []
    assert answers == [
        rules.CleanAnswer(1, choice_ids=(11,)),
        rules.CleanAnswer(2, choice_ids=(21, 23)),
        rules.CleanAnswer(3, number=5),
        rules.CleanAnswer(4, number=0),
        rules.CleanAnswer(5, text="很好"),
    ]


def test_form_strings_are_accepted_as_numbers_and_choice_ids():
    answers, problems = rules.check_answers(QUESTIONS, {1: "12", 2: ["22"], 3: "3", 4: "10", 5: ""})
    assert problems == []
    assert [a.question_id for a in answers] == [1, 2, 3, 4]


@pytest.mark.parametrize(
    ("change", "question_id", "code"),
    [
        ({1: None}, 1, "required"),
        ({1: 99}, 1, "invalid_choice"),
        ({1: [11, 12]}, 1, "single_choice"),
        ({2: [21, 21]}, 2, "duplicate_choice"),
        ({2: []}, 2, "required"),
        ({3: 6}, 3, "out_of_range"),
        ({3: 0}, 3, "out_of_range"),
        ({3: "很好"}, 3, "out_of_range"),
        ({3: True}, 3, "out_of_range"),
        ({4: 11}, 4, "out_of_range"),
        ({5: "长" * 1001}, 5, "too_long"),
        ({9: 1}, 9, "unknown_question"),
    ],
)
def test_each_broken_rule_is_named_with_its_question(change, question_id, code):
    _answers, problems = rules.check_answers(QUESTIONS, {**VALID, **change})
    assert [(p.question_id, p.code) for p in problems] == [(question_id, code)]
    if question_id in {q.id for q in QUESTIONS}:
        text = next(q.text for q in QUESTIONS if q.id == question_id)
        assert text in problems[0].message


def test_all_problems_are_reported_at_once():
    _answers, problems = rules.check_answers(QUESTIONS, {})
    assert [p.question_id for p in problems] == [1, 2, 3, 4]


def test_nps_counts_promoters_minus_detractors():
    result = rules.nps({10: 3, 9: 2, 8: 1, 7: 1, 6: 2, 0: 1})
    assert (result.promoters, result.passives, result.detractors) == (5, 2, 3)
    assert result.score == 20.0
    assert rules.nps({}).score is None


def test_mean_and_satisfied_share_of_a_scale():
    distribution = {1: 1, 2: 0, 3: 1, 4: 2, 5: 4}
    assert rules.mean(distribution) == 4.0  # (1 + 3 + 8 + 20) / 8
    assert rules.satisfied_share(distribution) == 0.75
    assert rules.mean({1: 0, 5: 0}) is None


def test_choice_shares_are_of_the_people_who_answered():
    tally = rules.choice_tally(4, [(1, "保洁", 3), (2, "绿化", 2), (3, "安保", 0)])
    assert [(c.text, c.count, c.share) for c in tally.choices] == [
        ("保洁", 3, 0.75),
        ("绿化", 2, 0.5),
        ("安保", 0, 0.0),
    ]
    assert rules.rate(1, 0) is None
