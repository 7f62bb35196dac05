from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    """What a person may do in one estate. A user holds one membership per (estate, role)."""

    OWNER = "owner", _("Owner")
    RESIDENT = "resident", _("Resident")
    SERVICE_AGENT = "service_agent", _("Customer service")
    TECHNICIAN = "technician", _("Technician")
    CLEANER = "cleaner", _("Cleaner")
    GARDENER = "gardener", _("Gardener")
    GUARD = "guard", _("Guard")
    GRID_LEADER = "grid_leader", _("Grid leader")
    SUPERVISOR = "supervisor", _("Supervisor")
    QUALITY_INSPECTOR = "quality_inspector", _("Quality inspector")
    MANAGER = "manager", _("Project manager")
    COMPANY_ADMIN = "company_admin", _("Company administrator")


RESIDENT_ROLES = frozenset({Role.OWNER, Role.RESIDENT})
STAFF_ROLES = frozenset(set(Role) - RESIDENT_ROLES)
# Who may change an estate's master data (buildings, rooms, owners) and import ledgers.
MASTER_DATA_ROLES = frozenset({Role.MANAGER, Role.COMPANY_ADMIN})
# Who may see the whole estate's rooms and residents (desk look-ups on an owner's behalf).
ESTATE_WIDE_STAFF_ROLES = frozenset(
    {Role.SERVICE_AGENT, Role.GRID_LEADER, Role.SUPERVISOR, Role.QUALITY_INSPECTOR, Role.MANAGER, Role.COMPANY_ADMIN}
)


class Relation(models.TextChoices):
    """How a person lives in or holds a room."""

    OWNER = "owner", _("Owner")
    FAMILY = "family", _("Family member")
    TENANT = "tenant", _("Tenant")
