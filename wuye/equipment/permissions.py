"""Who may see and manage the equipment ledger.

Every member of staff of an estate sees its equipment (technicians scan labels, customer service looks items up);
owners do not. Managers, company administrators and supervisors keep the ledger; whoever works on equipment
(technicians and the same managers) may change its status.
"""

from django.db.models import QuerySet

from wuye.accounts.choices import STAFF_ROLES, Role
from wuye.accounts.selectors import estate_ids_with_roles, roles_by_estate

from .models import Equipment, MaintenancePlan

LEDGER_ROLES = frozenset({Role.SUPERVISOR, Role.MANAGER, Role.COMPANY_ADMIN})
STATUS_ROLES = LEDGER_ROLES | {Role.TECHNICIAN}


def equipment_visible(user) -> QuerySet[Equipment]:
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return Equipment.objects.none()
    return Equipment.objects.filter(estate_id__in=estate_ids_with_roles(user, STAFF_ROLES))


def can_manage_ledger(user, estate_id: int) -> bool:
    return bool(roles_by_estate(user).get(estate_id, frozenset()) & LEDGER_ROLES)


def can_change_status(user, equipment: Equipment) -> bool:
    return bool(roles_by_estate(user).get(equipment.estate_id, frozenset()) & STATUS_ROLES)


# Preventive-maintenance plans: every member of staff sees them (a technician reads what the plan asks), those who
# keep the ledger create and change them.
PLAN_ROLES = LEDGER_ROLES


def plans_visible(user) -> QuerySet[MaintenancePlan]:
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return MaintenancePlan.objects.none()
    return MaintenancePlan.objects.filter(estate_id__in=estate_ids_with_roles(user, STAFF_ROLES))


def can_manage_plans(user, estate_id: int) -> bool:
    return bool(roles_by_estate(user).get(estate_id, frozenset()) & PLAN_ROLES)


def works_anywhere(user) -> bool:
    """Whether the user is staff of any estate (the equipment pages are for staff; owners get 403)."""
    return bool(estate_ids_with_roles(user, STAFF_ROLES))
