"""Service dimensions and comment sentiments, and the kinds of surveys and questions."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Dimension(models.TextChoices):
    """The service dimensions owner satisfaction is measured in (PRODUCT.md, capability 6)."""

    CLEANING = "cleaning", _("Cleaning")
    GREENING = "greening", _("Greening")
    SECURITY = "security", _("Order and security")
    ENGINEERING = "engineering", _("Engineering and repairs")
    CUSTOMER_SERVICE = "customer_service", _("Customer service")


class Sentiment(models.TextChoices):
    POSITIVE = "positive", _("Positive")
    NEGATIVE = "negative", _("Negative")
    NEUTRAL = "neutral", _("Neutral")


class SurveyKind(models.TextChoices):
    GENERAL = "general", _("General questionnaire")
    YEARLY_SATISFACTION = "yearly_satisfaction", _("Yearly satisfaction survey")
    AFTER_ORDER = "after_order", _("After a closed work order")


class SurveyStatus(models.TextChoices):
    """A draft is being written; a published survey takes answers between its open and close times; a closed one
    takes none."""

    DRAFT = "draft", _("Draft")
    PUBLISHED = "published", _("Published")
    CLOSED = "closed", _("Ended")


class SurveyAction(models.TextChoices):
    CREATE = "create", _("Create")
    PUBLISH = "publish", _("Publish")
    CLOSE = "close", _("End")


# The one table of allowed moves: action -> (statuses it may start from, status it leads to).
TRANSITIONS: dict[str, tuple[frozenset[str], str]] = {
    SurveyAction.PUBLISH: (frozenset({SurveyStatus.DRAFT}), SurveyStatus.PUBLISHED),
    SurveyAction.CLOSE: (frozenset({SurveyStatus.PUBLISHED}), SurveyStatus.CLOSED),
}


class Phase(models.TextChoices):
    """Where a survey stands for an owner at a given moment (status and the clock together)."""

    DRAFT = "draft", _("Not published")
    SCHEDULED = "scheduled", _("Not open yet")
    OPEN = "open", _("Open for answers")
    CLOSED = "closed", _("Ended")


class QuestionKind(models.TextChoices):
    SINGLE = "single", _("Single choice")
    MULTIPLE = "multiple", _("Multiple choice")
    SCALE = "scale", _("Scale 1–5")
    NPS = "nps", _("Recommendation 0–10")
    TEXT = "text", _("Text")


CHOICE_KINDS = frozenset({QuestionKind.SINGLE, QuestionKind.MULTIPLE})
NUMBER_KINDS = frozenset({QuestionKind.SCALE, QuestionKind.NPS})


class FollowUpCause(models.TextChoices):
    """Why a follow-up (跟进) was opened: the owner's low rating, an unsatisfied return visit, or a low answer to the
    survey after the order."""

    LOW_RATING = "low_rating", _("Low owner rating")
    UNSATISFIED_VISIT = "unsatisfied_visit", _("Unsatisfied at the return visit")
    LOW_SURVEY_ANSWER = "low_survey_answer", _("Low score in the survey after the order")


class FollowUpStatus(models.TextChoices):
    OPEN = "open", _("To do")
    DONE = "done", _("Done")
