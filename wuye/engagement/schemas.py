import datetime as dt
from decimal import Decimal

from ninja import Schema
from pydantic import Field

from .choices import Dimension, QuestionKind, SurveyKind, SurveyStatus

# ---------------------------------------------------------------- input


class QuestionIn(Schema):
    kind: QuestionKind
    text: str = Field(..., min_length=1, max_length=300)
    required: bool = True
    dimension: Dimension | None = Field(None, description="The service dimension a satisfaction question measures.")
    choices: list[str] = Field(default_factory=list, max_length=20, description="Options of a choice question.")


class SurveyIn(Schema):
    """A draft survey. `estate_id` for one estate; leave it out and give `company_id` for a company-wide survey
    (company administrators). A yearly satisfaction survey without questions gets the built-in set."""

    estate_id: int | None = None
    company_id: int | None = None
    title: str = Field(..., min_length=1, max_length=120)
    description: str = Field("", max_length=2000)
    kind: SurveyKind = SurveyKind.GENERAL
    anonymous: bool = False
    opens_at: dt.datetime
    closes_at: dt.datetime
    sampling_rate: Decimal = Field(Decimal(1), gt=0, le=1, description="Share of the targeted residents invited.")
    building_ids: list[int] = Field(default_factory=list, max_length=500)
    grid_ids: list[int] = Field(default_factory=list, max_length=200)
    questions: list[QuestionIn] = Field(default_factory=list, max_length=50)


class ResponseIn(Schema):
    """Answers by question id: a choice id (single), a list of choice ids (multiple), a whole number (scale 1–5,
    recommendation 0–10) or text."""

    answers: dict[int, int | str | list[int] | None] = Field(..., max_length=60)


class SurveyFilters(Schema):
    estate_id: int | None = None
    status: SurveyStatus | None = None
    kind: SurveyKind | None = None


# ---------------------------------------------------------------- output


class ChoiceOut(Schema):
    id: int
    position: int
    text: str


class QuestionOut(Schema):
    id: int
    position: int
    kind: str
    kind_label: str
    text: str
    required: bool
    dimension: str
    choices: list[ChoiceOut]


class SurveyItemOut(Schema):
    id: int
    title: str
    kind: str
    kind_label: str
    status: str
    status_label: str
    phase: str
    phase_label: str
    estate_id: int | None
    company_id: int
    anonymous: bool
    opens_at: dt.datetime
    closes_at: dt.datetime
    invited: int | None = Field(None, description="Staff only.")
    responses: int | None = Field(None, description="Staff only.")
    response_rate: float | None = Field(None, description="Staff only: responses / invited.")


class SurveyOut(SurveyItemOut):
    description: str
    sampling_rate: Decimal
    building_ids: list[int]
    grid_ids: list[int]
    work_order_id: int | None
    invited_me: bool
    answered: bool
    can_manage: bool
    questions: list[QuestionOut]


class SubmittedOut(Schema):
    survey_id: int
    submitted: bool


class ChoiceCountOut(Schema):
    id: int
    text: str
    count: int
    share: float | None


class NpsOut(Schema):
    promoters: int
    passives: int
    detractors: int
    score: float | None


class TextAnswerOut(Schema):
    text: str
    sentiment: str
    dimensions: list[str]
    respondent: str | None = Field(None, description="Named surveys only; always empty for anonymous ones.")


class QuestionResultOut(Schema):
    id: int
    position: int
    kind: str
    text: str
    dimension: str
    answered: int
    choices: list[ChoiceCountOut]
    distribution: dict[int, int]
    mean: float | None
    satisfied_share: float | None
    nps: NpsOut | None
    texts: list[TextAnswerOut]


class ResultsOut(Schema):
    survey_id: int
    phase: str
    anonymous: bool
    invited: int
    responses: int
    response_rate: float | None
    hidden: bool = Field(description="Anonymous survey with too few responses to show answers without naming anyone.")
    per_day: list[tuple[dt.date, int]]
    questions: list[QuestionResultOut]


# ---------------------------------------------------------------- satisfaction index and follow-ups


class SatisfactionFilters(Schema):
    estate_id: int | None = Field(None, description="One estate; leave out for every estate you may read.")
    grid_id: int | None = Field(None, description="One grid of the estate.")
    building_id: int | None = Field(None, description="One building of the estate (and of the grid, if given).")
    year: int | None = Field(None, description="The year (default: this year, up to today).")


class TallyOut(Schema):
    satisfied: int
    total: int


class SatisfactionDimensionOut(Schema):
    dimension: Dimension
    label: str
    index: float | None = Field(None, description="0-100: 60 % yearly survey, 40 % order feedback (docs).")
    last_year: float | None
    yearly: TallyOut
    orders: TallyOut
    negative_comments: int
    negative_examples: list[str]


class SatisfactionNodeOut(Schema):
    id: int
    kind: str
    name: str
    overall: float | None
    dimensions: dict[str, float | None]
    answers: int


class SatisfactionOut(Schema):
    estate_id: int | None
    grid_id: int | None
    building_id: int | None
    year: int
    from_: dt.date = Field(..., alias="from")
    to: dt.date
    overall: float | None
    overall_last_year: float | None
    answers: int
    target: float | None = Field(None, description="The service-level profile's satisfaction target (%).")
    status: str = Field(..., description="good (target met), warn (within 5 points), bad, none.")
    dimensions: list[SatisfactionDimensionOut]
    children: list[SatisfactionNodeOut]


class FollowUpOut(Schema):
    id: int
    estate_id: int
    grid_id: int | None
    work_order_id: int
    work_order_number: str
    cause: str
    cause_label: str
    status: str
    assignee_id: int | None
    score: int | None
    detail: str
    opened_at: dt.datetime
    due_at: dt.datetime
    done_at: dt.datetime | None
    note: str


class FollowUpDoneIn(Schema):
    note: str = Field(..., max_length=1000, description="What was done: called the owner, what was agreed.")
