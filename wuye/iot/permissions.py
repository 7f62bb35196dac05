"""Who may see devices, readings and alarms, and who may manage devices and rules.

Staff of an estate see its devices, readings and alarms; owners see none of them. Managers, company administrators
and supervisors register devices (and see their credentials once) and keep the alarm rules.
Devices themselves authenticate with their own credentials (api.DeviceToken, the ingester's signatures), never as
users.
"""

from django.db.models import QuerySet

from wuye.accounts.choices import STAFF_ROLES, Role
from wuye.accounts.selectors import estate_ids_with_roles, roles_by_estate

from .models import Alarm, AlarmRule, Device

MANAGE_ROLES = frozenset({Role.SUPERVISOR, Role.MANAGER, Role.COMPANY_ADMIN})


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
