"""Who may read KPIs: project managers, supervisors and company administrators, for the estates they hold that role
in. Anyone else signed in gets 403; an estate, grid or person outside those estates answers 404."""

from wuye.accounts.choices import Role
from wuye.accounts.selectors import estate_ids_with_roles
from wuye.estates.models import Estate

KPI_ROLES = frozenset({Role.MANAGER, Role.SUPERVISOR, Role.COMPANY_ADMIN})


def kpi_estate_ids(user) -> list[int]:
    """The active estates whose KPIs `user` may read."""
    ids = estate_ids_with_roles(user, KPI_ROLES)
    if not ids:
        return []
    return list(Estate.objects.filter(id__in=ids, is_active=True).order_by("id").values_list("id", flat=True))


def can_read_kpis(user) -> bool:
    return bool(estate_ids_with_roles(user, KPI_ROLES))
