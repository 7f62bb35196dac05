"""Reads about estates and their parts, always starting from the permission-scoped querysets."""

from django.db.models import Count, IntegerField, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.shortcuts import get_object_or_404

from wuye.accounts.choices import Role
from wuye.accounts.models import Membership, Residency
from wuye.core import clock

from .models import Building, Estate, Grid, Room
from .permissions import buildings_visible, estates_visible, grids_visible, rooms_visible


def estate_get(user, estate_id: int) -> Estate:
    """The estate if the user may see it; 404 otherwise (its existence is not revealed)."""
    return get_object_or_404(estates_visible(user).select_related("company"), pk=estate_id)


def _count_per_estate(model) -> Subquery:
    """A correlated COUNT per estate. Three Count() annotations over joins would multiply buildings × rooms × grids
    rows before counting (seconds for a company of ten estates)."""
    return Subquery(
        model.objects.filter(estate=OuterRef("pk")).order_by().values("estate").annotate(n=Count("pk")).values("n"),
        output_field=IntegerField(),
    )


def estate_list(user) -> QuerySet[Estate]:
    return (
        estates_visible(user)
        .select_related("company")
        .annotate(
            building_count=Coalesce(_count_per_estate(Building), 0),
            room_count=Coalesce(_count_per_estate(Room), 0),
            grid_count=Coalesce(_count_per_estate(Grid), 0),
        )
        .order_by("company__name", "name")
    )


def building_list(user, estate: Estate) -> QuerySet[Building]:
    return (
        buildings_visible(user)
        .filter(estate=estate)
        .select_related("grid")
        .annotate(room_count=Count("rooms"), unit_count=Count("units", distinct=True))
        .order_by("name")
    )


def grid_list(user, estate: Estate) -> QuerySet[Grid]:
    return (
        grids_visible(user)
        .filter(estate=estate)
        .select_related("leader", "deputy")
        .annotate(building_count=Count("buildings", distinct=True), area_count=Count("public_areas", distinct=True))
        .order_by("name")
    )


def room_search(user, estate: Estate, *, building: str = "", query: str = "") -> QuerySet[Room]:
    """Rooms of an estate the user may see; `query` matches a label like 3-2-1502, a room number or an owner's
    phone number (what customer service types when an owner calls)."""
    rooms = rooms_visible(user).filter(estate=estate).select_related("building", "unit")
    if building:
        rooms = rooms.filter(building__name=building)
    query = query.strip()
    if query:
        parts = query.split("-")
        if len(parts) == 3:
            rooms = rooms.filter(building__name=parts[0], unit__name=parts[1], number=parts[2])
        elif query.isdigit() and len(query) == 11:
            today = clock.today()
            rooms = rooms.filter(
                Q(residencies__user__phone=query)
                & (Q(residencies__move_out_on__isnull=True) | Q(residencies__move_out_on__gt=today))
            )
        else:
            rooms = rooms.filter(number=query)
    return rooms.order_by("building__name", "unit__name", "number").distinct()


def room_get(user, room_id: int) -> Room:
    return get_object_or_404(rooms_visible(user).select_related("building", "unit", "estate"), pk=room_id)


def grid_for_staff(user, estate: Estate) -> QuerySet[Grid]:
    """The grids a staff member leads or deputises in an estate."""
    return Grid.objects.filter(estate=estate).filter(Q(leader=user) | Q(deputy=user)).order_by("name")


def estate_overview(estate: Estate) -> dict:
    """Head-line counts for an estate's page: buildings, rooms, area, owners, staff."""
    rooms = Room.objects.filter(estate=estate)
    today = clock.today()
    current = Q(move_out_on__isnull=True) | Q(move_out_on__gt=today)
    owner_count = Residency.objects.filter(room__estate=estate).filter(current).values("user_id").distinct().count()
    staff_count = (
        Membership.objects.filter(estate=estate)
        .exclude(role__in=[Role.OWNER, Role.RESIDENT])
        .values("user_id")
        .distinct()
        .count()
    )
    totals = rooms.aggregate(room_count=Count("id"))
    occupied = (
        rooms.filter(Q(residencies__move_out_on__isnull=True) | Q(residencies__move_out_on__gt=today))
        .filter(residencies__isnull=False)
        .distinct()
        .count()
    )
    return {
        "building_count": Building.objects.filter(estate=estate).count(),
        "room_count": totals["room_count"],
        "occupied_room_count": occupied,
        "resident_count": owner_count,
        "staff_count": staff_count,
        "grid_count": Grid.objects.filter(estate=estate).count(),
    }
