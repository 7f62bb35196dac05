"""Who may see appraisal scores and 服务之星 and who decides a nomination.

- Supervisors, project managers and company administrators read the scores, rankings and breakdowns of the estates
  they hold that role in, and the accountability records on them.
- Every other member of staff reads only their own breakdowns (another person's in their estate: 403).
- Project managers and company administrators confirm or reject a nomination; other staff who can see it get 403.
- Owners and residents see the confirmed stars of the estates they live in, nothing else.
- Anything in an estate the person has no role in answers 404 (its existence is not revealed).
"""

from django.db.models import Q, QuerySet

from wuye.accounts.choices import RESIDENT_ROLES, STAFF_ROLES, Role
from wuye.accounts.selectors import estate_ids_with_roles, roles_by_estate

from .choices import StarStatus
from .models import AppraisalScore, ServiceStar

APPRAISAL_READ_ROLES = frozenset({Role.SUPERVISOR, Role.MANAGER, Role.COMPANY_ADMIN})
STAR_DECIDE_ROLES = frozenset({Role.MANAGER, Role.COMPANY_ADMIN})


def _roles(user, estate_id: int) -> frozenset[str]:
    return roles_by_estate(user).get(estate_id, frozenset())


def appraisal_estate_ids(user) -> list[int]:
    """Estates whose whole appraisal the person may read."""
    return estate_ids_with_roles(user, APPRAISAL_READ_ROLES)


def can_read_estate(user, estate_id: int) -> bool:
    return bool(_roles(user, estate_id) & APPRAISAL_READ_ROLES)


def is_staff_in(user, estate_id: int) -> bool:
    return bool(_roles(user, estate_id) & STAFF_ROLES)


def scores_visible(user) -> QuerySet[AppraisalScore]:
    """Scores the person may see: all of the estates they read, and their own anywhere they work."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return AppraisalScore.objects.none()
    return AppraisalScore.objects.filter(
        Q(estate_id__in=appraisal_estate_ids(user))
        | Q(person=user, estate_id__in=estate_ids_with_roles(user, STAFF_ROLES))
    )


def stars_visible(user) -> QuerySet[ServiceStar]:
    """Every nomination of the estates the person reads the appraisal of; the confirmed stars of the other estates
    they work or live in."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return ServiceStar.objects.none()
    members = estate_ids_with_roles(user, STAFF_ROLES | RESIDENT_ROLES)
    return ServiceStar.objects.filter(
        Q(estate_id__in=appraisal_estate_ids(user)) | Q(estate_id__in=members, status=StarStatus.CONFIRMED)
    )


def can_decide_star(user, star: ServiceStar) -> bool:
    return bool(_roles(user, star.estate_id) & STAR_DECIDE_ROLES)


def can_see_accountability(user, estate_id: int, person_id: int) -> bool:
    return can_read_estate(user, estate_id) or (getattr(user, "pk", None) == person_id)
