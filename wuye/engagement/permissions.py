"""Who may see a survey, run it, read its results, and answer it.

Staff who run the service (customer service, quality inspectors, supervisors, managers, company administrators) see,
build, publish and close the surveys of their estates; grid leaders read results too. Company-wide surveys belong to
the company administrators. Owners and residents see the surveys they were invited to, and the general and yearly
surveys of the estates they live in (answering needs an invitation). Not visible → 404; visible but not allowed → 403.
"""

from django.db.models import Exists, OuterRef, Q, QuerySet

from wuye.accounts.choices import Role
from wuye.accounts.selectors import estate_ids_with_roles, own_estate_ids, roles_by_estate
from wuye.estates.models import Estate, Grid

from .choices import SurveyKind, SurveyStatus
from .models import FollowUp, Invitation, Survey

SURVEY_MANAGE_ROLES = frozenset(
    {Role.SERVICE_AGENT, Role.QUALITY_INSPECTOR, Role.SUPERVISOR, Role.MANAGER, Role.COMPANY_ADMIN}
)
SURVEY_VIEW_ROLES = SURVEY_MANAGE_ROLES | {Role.GRID_LEADER}


def _admin_company_ids(user) -> set[int]:
    estate_ids = estate_ids_with_roles(user, {Role.COMPANY_ADMIN})
    return set(Estate.objects.filter(id__in=estate_ids).values_list("company_id", flat=True)) if estate_ids else set()


def staff_scope(user) -> Q:
    """The surveys a person handles as staff: those of the estates where they hold a survey role, and the company's
    own surveys for company administrators."""
    return Q(estate_id__in=estate_ids_with_roles(user, SURVEY_VIEW_ROLES)) | Q(
        estate__isnull=True, company_id__in=_admin_company_ids(user)
    )


def surveys_visible(user) -> QuerySet[Survey]:
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return Survey.objects.none()
    home_estates = own_estate_ids(user)
    home_companies = set(Estate.objects.filter(id__in=home_estates).values_list("company_id", flat=True))
    invited = Exists(Invitation.objects.filter(survey=OuterRef("pk"), user=user))
    for_residents = ~Q(status=SurveyStatus.DRAFT) & ~Q(kind=SurveyKind.AFTER_ORDER)
    return Survey.objects.filter(
        staff_scope(user)
        | (~Q(status=SurveyStatus.DRAFT) & invited)
        | (for_residents & Q(estate_id__in=home_estates))
        | (for_residents & Q(estate__isnull=True, company_id__in=home_companies))
    )


def _roles_for(user, survey: Survey) -> frozenset[str]:
    if survey.estate_id is not None:
        return roles_by_estate(user).get(survey.estate_id, frozenset())
    if survey.company_id in _admin_company_ids(user):
        return frozenset({Role.COMPANY_ADMIN})
    return frozenset()


def can_manage(user, survey: Survey) -> bool:
    """Change, publish and close the survey."""
    return bool(_roles_for(user, survey) & SURVEY_MANAGE_ROLES)


def can_view_results(user, survey: Survey) -> bool:
    return bool(_roles_for(user, survey) & SURVEY_VIEW_ROLES)


def can_create_in(user, estate: Estate | None, company_id: int | None = None) -> bool:
    """Create a survey for one estate, or (company administrators) for the whole company."""
    if estate is not None:
        return bool(roles_by_estate(user).get(estate.id, frozenset()) & SURVEY_MANAGE_ROLES)
    return company_id is not None and company_id in _admin_company_ids(user)


def survey_desk_estate_ids(user) -> list[int]:
    """Estates where the person may use the desk's survey pages."""
    return estate_ids_with_roles(user, SURVEY_VIEW_ROLES)


# ---------------------------------------------------------------- satisfaction index and follow-ups

# The satisfaction index is read by everyone who reads survey results.
SATISFACTION_ROLES = SURVEY_VIEW_ROLES
# Who oversees every follow-up of their estates (and handles those of grids without a leader).
FOLLOW_UP_OVERSIGHT_ROLES = frozenset({Role.SUPERVISOR, Role.MANAGER, Role.COMPANY_ADMIN})


def satisfaction_estate_ids(user) -> list[int]:
    return estate_ids_with_roles(user, SATISFACTION_ROLES)


def follow_ups_visible(user) -> QuerySet:
    """The follow-ups assigned to the person, and every follow-up of the estates they oversee."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return FollowUp.objects.none()
    return FollowUp.objects.filter(
        Q(assignee=user) | Q(estate_id__in=estate_ids_with_roles(user, FOLLOW_UP_OVERSIGHT_ROLES))
    )


def may_follow_up(user) -> bool:
    """Whether the "My follow-ups" list is for this person at all: they lead a grid, hold the grid-leader role, or
    oversee an estate's follow-ups."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    if estate_ids_with_roles(user, FOLLOW_UP_OVERSIGHT_ROLES | {Role.GRID_LEADER}):
        return True
    return Grid.objects.filter(leader=user).exists()
