"""Who may see devices, readings and alarms, and who may manage devices and rules.

Staff of an estate see its devices, readings and alarms; owners see none of them. Managers, company administrators
and supervisors register devices (and see their credentials once) and keep the alarm rules.
Alarms: the people who answer them on site or in the control room (technicians, guards, grid leaders, supervisors,
managers, company administrators) acknowledge and clear them; grid leaders and above assign them to one of those
people. Everyone else on the staff (customer service, cleaners, inspectors…) only looks.
Devices themselves authenticate with their own credentials (api.DeviceToken, the ingester's signatures), never as
users.
"""

from django.db.models import QuerySet

from wuye.accounts.choices import STAFF_ROLES, Role
from wuye.accounts.selectors import estate_ids_with_roles, roles_by_estate

from .models import Alarm, AlarmRule, Device

MANAGE_ROLES = frozenset({Role.SUPERVISOR, Role.MANAGER, Role.COMPANY_ADMIN})
RESPOND_ROLES = frozenset(
    {Role.TECHNICIAN, Role.GUARD, Role.GRID_LEADER, Role.SUPERVISOR, Role.MANAGER, Role.COMPANY_ADMIN}
)
ASSIGN_ROLES = frozenset({Role.GRID_LEADER, Role.SUPERVISOR, Role.MANAGER, Role.COMPANY_ADMIN})


def _staff_estates(user) -> list[int]:
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return []
    return estate_ids_with_roles(user, STAFF_ROLES)


def devices_visible(user) -> QuerySet[Device]:
    return Device.objects.filter(estate_id__in=_staff_estates(user))


def alarms_visible(user) -> QuerySet[Alarm]:
    return Alarm.objects.filter(estate_id__in=_staff_estates(user))


def alarm_rules_visible(user) -> QuerySet[AlarmRule]:
    return AlarmRule.objects.filter(estate_id__in=_staff_estates(user))


def can_manage_devices(user, estate_id: int) -> bool:
    return bool(roles_by_estate(user).get(estate_id, frozenset()) & MANAGE_ROLES)


def _roles_in(user, estate_id: int) -> frozenset[str]:
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return frozenset()
    return roles_by_estate(user).get(estate_id, frozenset())


def staff_estate_ids(user) -> list[int]:
    """The estates whose devices and alarms `user` sees (as staff)."""
    return _staff_estates(user)


def can_see_alarms(user) -> bool:
    """Whether the alarms console is for this person at all (staff of some estate)."""
    return bool(_staff_estates(user))


def can_respond(user, alarm: Alarm) -> bool:
    """Acknowledge or clear."""
    return bool(_roles_in(user, alarm.estate_id) & RESPOND_ROLES)


def can_assign(user, alarm: Alarm) -> bool:
    return bool(_roles_in(user, alarm.estate_id) & ASSIGN_ROLES)


def may_be_assigned(user, estate_id: int) -> bool:
    """Whether an alarm of this estate may be assigned to `user`: an active person who may answer it there."""
    return bool(_roles_in(user, estate_id) & RESPOND_ROLES)
