"""Reads about people and their access. `roles_by_estate` is the root every permission check starts from."""

from collections import defaultdict

from django.db import connection
from django.db.models import Q, QuerySet

from wuye.core import clock
from wuye.estates.models import Estate, Room

from .choices import Role
from .models import Membership, Residency, User


def roles_by_estate(user) -> dict[int, frozenset[str]]:
    """Estate id → the roles the user holds there. A company administrator holds the role in every active estate of
    the company. Inactive or anonymous users hold nothing. Cached on the user object for the request."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return {}
    cached = getattr(user, "_wuye_roles_by_estate", None)
    if cached is None:
        _access_load(user)
        cached = user._wuye_roles_by_estate
    return cached


def _access_load(user) -> None:
    """A person's memberships and the rooms they live in today, in one round trip, cached on the user object for the
    request (`_wuye_roles_by_estate`, `_wuye_own_rooms`). Hand-written SQL: nearly every request's first permission
    check runs it, and together the two ORM queries cost more than the rest of a cheap request."""
    today = clock.today()
    memberships, residencies, rooms = Membership._meta.db_table, Residency._meta.db_table, Room._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT 'm', estate_id, company_id, role FROM {memberships} WHERE user_id = %s "  # noqa: S608 - our tables
            f"UNION ALL SELECT 'r', res.room_id, room.estate_id, NULL FROM {residencies} res "
            f"JOIN {rooms} room ON room.id = res.room_id WHERE res.user_id = %s "
            "AND (res.move_in_on IS NULL OR res.move_in_on <= %s) "
            "AND (res.move_out_on IS NULL OR res.move_out_on > %s)",
            [user.pk, user.pk, today, today],
        )
        rows = cursor.fetchall()
    roles: dict[int, set[str]] = defaultdict(set)
    admin_company_ids = []
    own_rooms = []
    for source, first_id, second_id, role in rows:
        if source == "r":
            own_rooms.append((first_id, second_id))
        elif role == Role.COMPANY_ADMIN:
            admin_company_ids.append(second_id)
        else:
            roles[first_id].add(role)
    if admin_company_ids:
        for estate_id in Estate.objects.filter(company_id__in=admin_company_ids, is_active=True).values_list(
            "id", flat=True
        ):
            roles[estate_id].add(Role.COMPANY_ADMIN)
    user._wuye_roles_by_estate = {estate_id: frozenset(estate_roles) for estate_id, estate_roles in roles.items()}
    user._wuye_own_rooms = (today, own_rooms)


def estate_ids_with_roles(user, roles) -> list[int]:
    wanted = set(roles)
    return [estate_id for estate_id, held in roles_by_estate(user).items() if held & wanted]


def current_residencies(user) -> QuerySet[Residency]:
    """The rooms a person lives in or owns today (moved in, not yet moved out)."""
    today = clock.today()
    return (
        Residency.objects.filter(user=user)
        .filter(Q(move_in_on__isnull=True) | Q(move_in_on__lte=today))
        .filter(Q(move_out_on__isnull=True) | Q(move_out_on__gt=today))
        .select_related("room__building", "room__unit", "room__estate__company")
        .order_by("room__estate__name", "room__building__name", "room__unit__name", "room__number")
    )


def _own_rooms(user) -> list[tuple[int, int]]:
    """(room id, estate id) of the rooms the user lives in today. Cached on the user object for the request, like
    the roles: several permission checks in one request ask it."""
    if getattr(user, "pk", None) is None:
        return []
    cached = getattr(user, "_wuye_own_rooms", None)
    if cached is None or cached[0] != clock.today():
        _access_load(user)
        cached = user._wuye_own_rooms
    return cached[1]


def own_room_ids(user) -> list[int]:
    """Ids of the rooms the user lives in today."""
    return [room_id for room_id, _estate_id in _own_rooms(user)]


def own_estate_ids(user) -> set[int]:
    """The estates the user lives in today."""
    return {estate_id for _room_id, estate_id in _own_rooms(user)}


def user_by_login(identifier: str) -> User | None:
    """The account a sign-in name refers to: a username or an 11-digit phone number."""
    identifier = (identifier or "").strip()
    if not identifier:
        return None
    return User.objects.filter(Q(username__iexact=identifier) | Q(phone=identifier)).order_by("id").first()


def residents_of_room(room: Room) -> QuerySet[Residency]:
    today = clock.today()
    return (
        Residency.objects.filter(room=room)
        .filter(Q(move_out_on__isnull=True) | Q(move_out_on__gt=today))
        .select_related("user")
        .order_by("relation", "user__name")
    )
