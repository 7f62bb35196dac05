"""Who may see and change estates and their parts. Every estates selector starts from one of these querysets.

Not visible → the caller answers 404; visible but not allowed → 403.
"""

from django.db.models import QuerySet

from wuye.accounts.choices import ESTATE_WIDE_STAFF_ROLES, MASTER_DATA_ROLES, STAFF_ROLES
from wuye.accounts.selectors import estate_ids_with_roles, own_room_ids, roles_by_estate

from .models import Building, Estate, Grid, PublicArea, Room


def estates_visible(user) -> QuerySet[Estate]:
    return Estate.objects.filter(id__in=list(roles_by_estate(user)), is_active=True)


def staff_estates(user) -> QuerySet[Estate]:
    return Estate.objects.filter(id__in=estate_ids_with_roles(user, STAFF_ROLES), is_active=True)


def buildings_visible(user) -> QuerySet[Building]:
    return Building.objects.filter(estate__in=estates_visible(user))


def grids_visible(user) -> QuerySet[Grid]:
    return Grid.objects.filter(estate__in=staff_estates(user))


def public_areas_visible(user) -> QuerySet[PublicArea]:
    return PublicArea.objects.filter(estate__in=estates_visible(user))


def rooms_visible(user) -> QuerySet[Room]:
    """Staff see every room of the estates they work in; owners and residents only the rooms they live in."""
    staff_estate_ids = estate_ids_with_roles(user, STAFF_ROLES)
    return Room.objects.filter(estate_id__in=staff_estate_ids) | Room.objects.filter(id__in=own_room_ids(user))


def is_staff_in(user, estate: Estate) -> bool:
    return bool(roles_by_estate(user).get(estate.id, frozenset()) & STAFF_ROLES)


def can_view_residents(user, estate: Estate) -> bool:
    """Who lives where, with (masked) phone numbers: the desk's 'find the owner' on a phone call. Front-line
    cleaners, gardeners and guards see rooms but not the resident register."""
    return bool(roles_by_estate(user).get(estate.id, frozenset()) & ESTATE_WIDE_STAFF_ROLES)


def can_manage_master_data(user, estate: Estate) -> bool:
    """Create or change buildings, rooms, areas, grids and residents; import ledgers."""
    return bool(roles_by_estate(user).get(estate.id, frozenset()) & MASTER_DATA_ROLES)
