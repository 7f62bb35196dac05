"""Surveys for tests: a draft or published survey of the cast's estate with one question of every kind."""

import datetime as dt

from wuye.core import clock
from wuye.engagement import services
from wuye.engagement.choices import Dimension, QuestionKind, SurveyKind
from wuye.engagement.models import Survey
from wuye.testing.cast import Cast

SPECS = [
    services.QuestionSpec(QuestionKind.SINGLE, "您是否在本小区居住满一年？", choices=("是", "否")),
    services.QuestionSpec(QuestionKind.MULTIPLE, "您最关心哪些服务？", choices=("保洁", "绿化", "安保")),
    services.QuestionSpec(QuestionKind.SCALE, "您对保洁服务满意吗？", dimension=Dimension.CLEANING),
    services.QuestionSpec(QuestionKind.NPS, "您愿意向朋友推荐我们的物业服务吗？"),
    services.QuestionSpec(QuestionKind.TEXT, "您还有什么意见和建议？", required=False),
]


def draft(
    cast: Cast,
    *,
    estate=None,
    company=None,
    anonymous: bool = False,
    rate="1",
    building_ids=(),
    grid_ids=(),
    opens_at: dt.datetime | None = None,
    closes_at: dt.datetime | None = None,
    kind: str = SurveyKind.GENERAL,
    actor=None,
    title: str = "2026年业主满意度调查",
) -> Survey:
    now = clock.now()
    estate = cast.estate if estate is None and company is None else estate
    return services.survey_create(
        actor=actor or cast.manager,
        new=services.NewSurvey(
            title=title,
            estate=estate,
            company=company,
            kind=kind,
            anonymous=anonymous,
            opens_at=opens_at or now - dt.timedelta(days=1),
            closes_at=closes_at or now + dt.timedelta(days=30),
            sampling_rate=rate,
            building_ids=list(building_ids),
            grid_ids=list(grid_ids),
            questions=SPECS,
        ),
        now=now,
    )


def published(cast: Cast, **options) -> Survey:
    survey = draft(cast, **options)
    actor = options.get("actor") or cast.manager
    services.survey_publish(actor=actor, survey_id=survey.id, now=clock.now())
    survey.refresh_from_db()
    return survey


def question_ids(survey: Survey) -> list[int]:
    return list(survey.questions.order_by("position").values_list("id", flat=True))


def answers(survey: Survey, *, single=0, multiple=(0, 1), scale=4, nps=9, text="保洁阿姨很勤快，楼道很干净") -> dict:
    """A full, valid set of answers by question id; options are given by their index in the question."""
    questions = list(survey.questions.prefetch_related("choices").order_by("position"))
    choice_ids = [[choice.id for choice in question.choices.all()] for question in questions]
    return {
        questions[0].id: choice_ids[0][single],
        questions[1].id: [choice_ids[1][index] for index in multiple],
        questions[2].id: scale,
        questions[3].id: nps,
        questions[4].id: text,
    }
