"""Who may see the standards of an estate, change its service level, and see or work on its tasks.

Every member of staff reads the profiles, the SOP library and the plans of the estates they work in. The project
manager and the company change an estate's service level (with the contract's own values); the company's
administrators edit its profiles. Supervisors, managers and the company create an estate's plans. Supervisors, grid
leaders, quality inspectors, customer service and managers see all of an estate's tasks; front-line staff see the
tasks given to them and those of their role's pool. A task is worked on only by its assignee, or, while nobody has
taken it, by someone holding its role. Not visible → 404; visible but not allowed → 403.
"""

from django.db.models import Q, QuerySet

from wuye.accounts.choices import ESTATE_WIDE_STAFF_ROLES, MASTER_DATA_ROLES, STAFF_ROLES, Role
from wuye.accounts.selectors import estate_ids_with_roles, roles_by_estate
from wuye.estates.models import Estate

from .choices import TASK_USER_ACTIONS
from .models import Plan, SopItem, Task

PROFILE_ASSIGN_ROLES = MASTER_DATA_ROLES
TASK_OVERSIGHT_ROLES = ESTATE_WIDE_STAFF_ROLES


def standards_estates(user) -> QuerySet[Estate]:
    """The active estates whose standards the user reads (those they work in)."""
    return Estate.objects.filter(id__in=estate_ids_with_roles(user, STAFF_ROLES), is_active=True)


def sop_items_visible(user) -> QuerySet[SopItem]:
    return SopItem.objects.filter(company_id__in=standards_estates(user).values("company_id"))


def plans_visible(user) -> QuerySet[Plan]:
    return Plan.objects.filter(estate__in=standards_estates(user))


def tasks_visible(user) -> QuerySet[Task]:
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return Task.objects.none()
    condition = Q(pk__in=[])
    for estate_id, roles in roles_by_estate(user).items():
        if roles & TASK_OVERSIGHT_ROLES:
            condition |= Q(estate_id=estate_id)
        elif roles & STAFF_ROLES:
            condition |= Q(estate_id=estate_id, assignee=user) | Q(
                estate_id=estate_id, assignee__isnull=True, assignee_role__in=sorted(roles)
            )
    return Task.objects.filter(condition)


def can_assign_profile(user, estate: Estate) -> bool:
    return bool(roles_by_estate(user).get(estate.id, frozenset()) & PROFILE_ASSIGN_ROLES)


def can_work_on(user, task: Task) -> bool:
    """The task is the user's, or it belongs to a role the user holds there and nobody has taken it yet."""
    if task.assignee_id is not None:
        return task.assignee_id == user.id
    return task.assignee_role in roles_by_estate(user).get(task.estate_id, frozenset())


def can_act(user, task: Task, action: str) -> bool:
    return action in TASK_USER_ACTIONS and can_work_on(user, task)


# Who edits a company's service-level profiles: its administrators (the values reach every estate following them).
PROFILE_EDIT_ROLES = frozenset({Role.COMPANY_ADMIN})


def can_edit_profiles(user, company_id: int) -> bool:
    return Estate.objects.filter(company_id=company_id, id__in=estate_ids_with_roles(user, PROFILE_EDIT_ROLES)).exists()


# Who sets up an estate's plans (what, where, who, when): its supervisors, project managers and the company.
PLAN_MANAGE_ROLES = frozenset({Role.SUPERVISOR, Role.MANAGER, Role.COMPANY_ADMIN})


def can_manage_plans(user, estate_id: int) -> bool:
    return bool(roles_by_estate(user).get(estate_id, frozenset()) & PLAN_MANAGE_ROLES)
