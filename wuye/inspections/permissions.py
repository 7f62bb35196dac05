"""Who sees and does what in patrols and inspections.

- Every member of staff of an estate sees its routes and checkpoints; supervisors, project managers and the company
  set them up, retire checkpoints and print labels.
- Estate-wide roles (customer service, grid leaders, supervisors, quality inspectors, managers, the company) see all
  rounds and inspections of the estate; front-line staff see the rounds given to them or to their role's pool, and
  the inspections they carry out.
- A round is scanned by its patroller: the person it was given to, or — while nobody has taken it — anyone holding
  its role (the first scan takes it).
- An inspection is filled in by its inspector. Spot checks are the supervisors', quality inspectors', managers' and
  the company's; the monthly reports are theirs and the grid leaders'.
Not visible → 404; visible but not allowed → 403.
"""

from django.db.models import Q, QuerySet

from wuye.accounts.choices import ESTATE_WIDE_STAFF_ROLES, STAFF_ROLES, Role
from wuye.accounts.selectors import estate_ids_with_roles, roles_by_estate
from wuye.estates.models import Estate

from .choices import InspectionKind, InspectionStatus
from .models import Checkpoint, Inspection, Round, Route

PATROL_MANAGE_ROLES = frozenset({Role.SUPERVISOR, Role.MANAGER, Role.COMPANY_ADMIN})
OVERSIGHT_ROLES = ESTATE_WIDE_STAFF_ROLES
SPOT_CHECK_ROLES = frozenset({Role.SUPERVISOR, Role.QUALITY_INSPECTOR, Role.MANAGER, Role.COMPANY_ADMIN})
REPORT_ROLES = frozenset({Role.GRID_LEADER, *SPOT_CHECK_ROLES})
# Roles that carry out routine inspections (everyone on staff but the customer-service desk).
INSPECT_ROLES = STAFF_ROLES - {Role.SERVICE_AGENT}
CANCEL_ROLES = PATROL_MANAGE_ROLES | {Role.QUALITY_INSPECTOR}


def _roles(user, estate_id: int) -> frozenset[str]:
    return roles_by_estate(user).get(estate_id, frozenset())


def staff_estates(user) -> QuerySet[Estate]:
    return Estate.objects.filter(id__in=estate_ids_with_roles(user, STAFF_ROLES), is_active=True)


def routes_visible(user) -> QuerySet[Route]:
    return Route.objects.filter(estate__in=staff_estates(user))


def checkpoints_visible(user) -> QuerySet[Checkpoint]:
    return Checkpoint.objects.filter(estate__in=staff_estates(user))


def _pool_condition(user, *, oversight: bool) -> Q:
    condition = Q(pk__in=[])
    for estate_id, roles in roles_by_estate(user).items():
        if oversight and roles & OVERSIGHT_ROLES:
            condition |= Q(estate_id=estate_id)
        elif roles & STAFF_ROLES:
            condition |= Q(estate_id=estate_id, assignee=user) | Q(
                estate_id=estate_id, assignee__isnull=True, assignee_role__in=sorted(roles)
            )
    return condition


def rounds_visible(user) -> QuerySet[Round]:
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return Round.objects.none()
    return Round.objects.filter(_pool_condition(user, oversight=True))


def rounds_mine(user) -> QuerySet[Round]:
    """The rounds the user patrols: given to them, or waiting in a pool of a role they hold."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return Round.objects.none()
    return Round.objects.filter(_pool_condition(user, oversight=False))


def can_scan(user, round_: Round) -> bool:
    if round_.assignee_id is not None:
        return round_.assignee_id == user.id
    return round_.assignee_role in _roles(user, round_.estate_id)


def can_manage_patrols(user, estate_id: int) -> bool:
    return bool(_roles(user, estate_id) & PATROL_MANAGE_ROLES)


def inspections_visible(user) -> QuerySet[Inspection]:
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return Inspection.objects.none()
    condition = Q(pk__in=[])
    for estate_id, roles in roles_by_estate(user).items():
        if roles & OVERSIGHT_ROLES:
            condition |= Q(estate_id=estate_id)
        elif roles & STAFF_ROLES:
            condition |= Q(estate_id=estate_id, inspector=user)
    return Inspection.objects.filter(condition)


def can_start(user, estate_id: int, kind: str) -> bool:
    wanted = SPOT_CHECK_ROLES if kind == InspectionKind.SPOT_CHECK else INSPECT_ROLES
    return bool(_roles(user, estate_id) & wanted)


def can_fill(user, inspection: Inspection) -> bool:
    return inspection.status == InspectionStatus.OPEN and inspection.inspector_id == user.id


def can_cancel(user, inspection: Inspection) -> bool:
    return bool(_roles(user, inspection.estate_id) & CANCEL_ROLES)


def report_estates(user) -> QuerySet[Estate]:
    return Estate.objects.filter(id__in=estate_ids_with_roles(user, REPORT_ROLES), is_active=True)


def can_read_reports(user, estate_id: int) -> bool:
    return bool(_roles(user, estate_id) & REPORT_ROLES)
