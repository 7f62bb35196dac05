"""Pure survey rules: where a survey stands at a moment, who the sample keeps, the respondent key, whether answers are
valid, and the figures results pages show (mean, distribution, NPS, response rate). No ORM, no clock: pass `now`."""

import datetime as dt
import hashlib
import hmac
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.utils.translation import gettext as _

from .choices import CHOICE_KINDS, NUMBER_KINDS, Dimension, Phase, QuestionKind, SurveyStatus

TEXT_ANSWER_MAX = 1000
NUMBER_RANGES = {QuestionKind.SCALE: (1, 5), QuestionKind.NPS: (0, 10)}
# An anonymous survey's per-question results (and any breakdown) are shown only from this many responses on: with
# one or two answers, "anonymous" would not hide much from someone who knows who was invited.
ANONYMITY_MIN_RESPONSES = 3


def survey_phase(status: str, opens_at: dt.datetime, closes_at: dt.datetime, now: dt.datetime) -> str:
    if status == SurveyStatus.DRAFT:
        return Phase.DRAFT
    if status == SurveyStatus.CLOSED or now >= closes_at:
        return Phase.CLOSED
    if now < opens_at:
        return Phase.SCHEDULED
    return Phase.OPEN


def sample_draw(seed: str, person_id: int) -> float:
    """A number in [0, 1) fixed by the seed and the person: the sampling draw. The same seed gives the same draw
    on every machine and every run; another seed gives an independent one."""
    digest = hashlib.sha256(f"{seed}:{person_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def is_sampled(seed: str, person_id: int, rate: Decimal | float) -> bool:
    return sample_draw(seed, person_id) < float(rate)


def respondent_key(secret: bytes, survey_id: int, person_id: int) -> str:
    """The keyed hash a response stores instead of the person: equal for the same person and survey (so the
    database refuses a second response), unrelated across surveys, and not reversible without the secret."""
    return hmac.new(secret, f"survey:{survey_id}:person:{person_id}".encode(), hashlib.sha256).hexdigest()


def day_start(moment: dt.datetime, tz: ZoneInfo) -> dt.datetime:
    """Midnight of the local day `moment` falls on: an anonymous response keeps only its day."""
    local = moment.astimezone(tz)
    return dt.datetime.combine(local.date(), dt.time(), tzinfo=tz)


# ---------------------------------------------------------------- answers


@dataclass(frozen=True)
class QuestionRule:
    """What an answer to one question must look like."""

    id: int
    position: int
    kind: str
    text: str
    required: bool
    choice_ids: frozenset[int] = frozenset()


@dataclass(frozen=True)
class CleanAnswer:
    question_id: int
    choice_ids: tuple[int, ...] = ()
    number: int | None = None
    text: str = ""


@dataclass
class AnswerProblem:
    question_id: int
    code: str
    message: str


def _label(rule: QuestionRule) -> str:
    return _("Question %(position)s “%(text)s”") % {"position": rule.position, "text": rule.text}


def _as_int(value) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value.strip())
    return None


def _choice_list(value) -> list | None:
    if value is None or value == "" or value == []:
        return []
    if isinstance(value, list | tuple):
        return list(value)
    return [value]


def check_answers(
    rules: Sequence[QuestionRule], raw: Mapping[int, object]
) -> tuple[list[CleanAnswer], list[AnswerProblem]]:
    """Check raw answers (question id → choice id, list of choice ids, number or text) against the questions.
    Every problem names its question and the rule broken; answers to questions not in the survey are a problem too.
    Unanswered optional questions are left out."""
    answers: list[CleanAnswer] = []
    problems: list[AnswerProblem] = []
    known = {rule.id for rule in rules}
    for question_id in raw:
        if question_id not in known:
            problems.append(AnswerProblem(question_id, "unknown_question", _("This question is not in the survey.")))
    for rule in rules:
        value = raw.get(rule.id)
        blank = value is None or (isinstance(value, str) and not value.strip()) or value == []

        def problem(code: str, message: str, rule: QuestionRule = rule) -> None:
            problems.append(AnswerProblem(rule.id, code, f"{_label(rule)}: {message}"))

        if blank:
            if rule.required:
                problem("required", _("an answer is required."))
            continue
        if rule.kind in CHOICE_KINDS:
            parsed = [_as_int(item) for item in _choice_list(value) or []]
            ids = [item for item in parsed if item is not None]
            if len(ids) != len(parsed) or not set(ids) <= rule.choice_ids:
                problem("invalid_choice", _("choose from the options given."))
            elif rule.kind == QuestionKind.SINGLE and len(ids) != 1:
                problem("single_choice", _("choose exactly one option."))
            elif len(set(ids)) != len(ids):
                problem("duplicate_choice", _("each option may be chosen once."))
            else:
                answers.append(CleanAnswer(rule.id, choice_ids=tuple(sorted(ids))))
        elif rule.kind in NUMBER_KINDS:
            low, high = NUMBER_RANGES[rule.kind]
            number = _as_int(value)
            if number is None or not low <= number <= high:
                problem("out_of_range", _("give a whole number from %(low)s to %(high)s.") % {"low": low, "high": high})
            else:
                answers.append(CleanAnswer(rule.id, number=number))
        else:
            text = str(value).strip()
            if len(text) > TEXT_ANSWER_MAX:
                problem("too_long", _("at most %(max)s characters.") % {"max": TEXT_ANSWER_MAX})
            else:
                answers.append(CleanAnswer(rule.id, text=text))
    return answers, problems


# ---------------------------------------------------------------- results


@dataclass(frozen=True)
class Nps:
    """Net promoter score from 0–10 answers: promoters 9–10, passives 7–8, detractors 0–6; score = % promoters −
    % detractors (−100 … 100)."""

    promoters: int
    passives: int
    detractors: int

    @property
    def total(self) -> int:
        return self.promoters + self.passives + self.detractors

    @property
    def score(self) -> float | None:
        if not self.total:
            return None
        return round(100 * (self.promoters - self.detractors) / self.total, 1)


def nps(distribution: Mapping[int, int]) -> Nps:
    """From counts per score (0–10)."""
    return Nps(
        promoters=sum(count for score, count in distribution.items() if score >= 9),
        passives=sum(count for score, count in distribution.items() if 7 <= score <= 8),
        detractors=sum(count for score, count in distribution.items() if score <= 6),
    )


def mean(distribution: Mapping[int, int]) -> float | None:
    total = sum(distribution.values())
    if not total:
        return None
    return round(sum(score * count for score, count in distribution.items()) / total, 2)


def satisfied_share(distribution: Mapping[int, int], *, from_score: int = 4) -> float | None:
    """Share of 1–5 answers at 4 or 5 ("satisfied" or "very satisfied"), as the service-level targets count it."""
    total = sum(distribution.values())
    if not total:
        return None
    return round(sum(count for score, count in distribution.items() if score >= from_score) / total, 4)


def rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


@dataclass
class ChoiceCount:
    id: int
    text: str
    count: int
    share: float | None = None


@dataclass
class ChoiceTally:
    answered: int
    choices: list[ChoiceCount] = field(default_factory=list)


def choice_tally(answered: int, counts: Sequence[tuple[int, str, int]]) -> ChoiceTally:
    """Counts per option with each option's share of the people who answered the question (multiple-choice shares
    may add up to more than 100 %)."""
    return ChoiceTally(
        answered=answered,
        choices=[ChoiceCount(id=i, text=text, count=count, share=rate(count, answered)) for i, text, count in counts],
    )


# ---------------------------------------------------------------- satisfaction index
#
# docs/engagement.md, "Satisfaction index", states the same formula for a reader to recompute by hand.

# A 1–5 answer counts as satisfied from this score on ("satisfied" or "very satisfied").
SATISFIED_FROM_SCORE = 4
# A dimension's index mixes the yearly survey (a sample of every household) with the feedback on orders (only the
# households that had one): the survey weighs more because it speaks for everyone.
YEARLY_WEIGHT = 0.6
ORDER_WEIGHT = 0.4
# The overall index weighs the five dimensions equally (over those that have any answer).
DIMENSION_WEIGHTS: dict[str, float] = {
    Dimension.CLEANING: 1.0,
    Dimension.GREENING: 1.0,
    Dimension.SECURITY: 1.0,
    Dimension.ENGINEERING: 1.0,
    Dimension.CUSTOMER_SERVICE: 1.0,
}
# The yearly survey speaks for a whole year: whatever the period, its answers of the 365 days up to the period's end
# count (a month's index does not jump to "no survey" in the eleven months without one).
YEARLY_WINDOW_DAYS = 365

# Order kinds that are about how the desk talks to owners, whatever their category names.
CUSTOMER_SERVICE_KINDS = frozenset({"complaint", "inquiry", "suggestion", "praise"})
SKILL_DIMENSIONS = {
    "cleaning": Dimension.CLEANING,
    "greening": Dimension.GREENING,
    "security": Dimension.SECURITY,
    "customer_care": Dimension.CUSTOMER_SERVICE,
}


def order_dimension(kind: str, required_skill: str) -> str:
    """The service dimension an owner's feedback on a work order measures: complaints, inquiries, suggestions and
    praise are customer service; otherwise the skill the order's category requires (cleaning, greening, security,
    customer care; any technical skill is engineering); an order without a skill is engineering."""
    if kind in CUSTOMER_SERVICE_KINDS:
        return Dimension.CUSTOMER_SERVICE
    return SKILL_DIMENSIONS.get(required_skill, Dimension.ENGINEERING)


@dataclass
class Tally:
    """Satisfied answers out of all answers."""

    satisfied: int = 0
    total: int = 0

    def add(self, satisfied: int, total: int) -> None:
        self.satisfied += satisfied
        self.total += total

    @property
    def share(self) -> float | None:
        return self.satisfied / self.total if self.total else None


@dataclass(frozen=True)
class DimensionIndex:
    dimension: str
    yearly: Tally
    orders: Tally
    index: float | None  # 0–100


@dataclass(frozen=True)
class SatisfactionIndex:
    dimensions: dict[str, DimensionIndex]
    overall: float | None  # 0–100

    @property
    def answers(self) -> int:
        return sum(item.yearly.total + item.orders.total for item in self.dimensions.values())


def dimension_index(yearly: Tally, orders: Tally) -> float | None:
    """I_d = 100 × (0.6 × S_year + 0.4 × S_orders) when both have answers, 100 × the one that has, else None."""
    year_share, order_share = yearly.share, orders.share
    if year_share is None and order_share is None:
        return None
    if order_share is None:
        return 100 * year_share
    if year_share is None:
        return 100 * order_share
    return 100 * (YEARLY_WEIGHT * year_share + ORDER_WEIGHT * order_share)


def overall_index(values: Mapping[str, float | None]) -> float | None:
    """The weighted mean of the dimension indices that exist (weights renormalised over them)."""
    present = {dim: value for dim, value in values.items() if value is not None}
    weight = sum(DIMENSION_WEIGHTS[dim] for dim in present)
    if not weight:
        return None
    return sum(DIMENSION_WEIGHTS[dim] * value for dim, value in present.items()) / weight


def satisfaction_index(yearly: Mapping[str, Tally], orders: Mapping[str, Tally]) -> SatisfactionIndex:
    """The index per dimension and overall from the satisfied/total counts of each source per dimension."""
    dimensions = {}
    for dim in Dimension.values:
        year_tally, order_tally = yearly.get(dim, Tally()), orders.get(dim, Tally())
        dimensions[dim] = DimensionIndex(dim, year_tally, order_tally, dimension_index(year_tally, order_tally))
    return SatisfactionIndex(dimensions, overall_index({dim: item.index for dim, item in dimensions.items()}))


def target_status(value: float | None, target: float | None) -> str:
    """good: at or above the target; warn: within 5 points below; bad: further below; none without both."""
    if value is None or target is None:
        return "none"
    if value >= target:
        return "good"
    return "warn" if value >= target - 5 else "bad"


# ---------------------------------------------------------------- follow-ups on low scores

LOW_SCORE_MAX = 2
LOW_VERDICTS = frozenset({"bad", "returned"})
# The grid leader has two days to call the owner back and record what was done.
FOLLOW_UP_DUE_AFTER = dt.timedelta(hours=48)


def rating_is_low(verdict: str | None, score) -> bool:
    """An owner's rating opens a follow-up when it is "not satisfied" or "not fixed", or scores 1 or 2 of 5."""
    if verdict in LOW_VERDICTS:
        return True
    return isinstance(score, int) and not isinstance(score, bool) and score <= LOW_SCORE_MAX


def answer_is_low(number: int | None) -> bool:
    """A 1–5 survey answer of 1 or 2."""
    return number is not None and number <= LOW_SCORE_MAX


def follow_up_due(opened_at: dt.datetime) -> dt.datetime:
    return opened_at + FOLLOW_UP_DUE_AFTER
