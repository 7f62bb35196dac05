from django.db import models
from django.utils.translation import gettext_lazy as _


class Post(models.TextChoices):
    """A job title (岗位). Appraisal weights and duties hang off the post; permissions come from memberships."""

    CUSTOMER_SERVICE = "customer_service", _("Customer service")
    TECHNICIAN = "technician", _("Maintenance technician")
    ELECTRICIAN = "electrician", _("Electrician")
    PLUMBER = "plumber", _("Plumber")
    CLEANER = "cleaner", _("Cleaner")
    GARDENER = "gardener", _("Gardener")
    GUARD = "guard", _("Security guard")
    GRID_LEADER = "grid_leader", _("Grid leader")
    SUPERVISOR = "supervisor", _("Supervisor")
    QUALITY_INSPECTOR = "quality_inspector", _("Quality inspector")
    PROJECT_MANAGER = "project_manager", _("Project manager")
    ADMINISTRATOR = "administrator", _("Administrator")


class Skill(models.TextChoices):
    """What a person can fix. Work-order categories name the skill they require."""

    PLUMBING = "plumbing", _("Plumbing")
    ELECTRICAL = "electrical", _("Electrical")
    LIFT = "lift", _("Lifts")
    LOCKS = "locks", _("Doors and locks")
    CARPENTRY = "carpentry", _("Carpentry")
    PAINTING = "painting", _("Painting and walls")
    HVAC = "hvac", _("Heating and air conditioning")
    FIRE_SYSTEMS = "fire_systems", _("Fire systems")
    WEAK_CURRENT = "weak_current", _("Intercom, CCTV and access control")
    CLEANING = "cleaning", _("Cleaning")
    GREENING = "greening", _("Greening")
    SECURITY = "security", _("Security")
    CUSTOMER_CARE = "customer_care", _("Customer care")


class CertificateKind(models.TextChoices):
    """Licences some work legally requires (an electrician's card for electrical work, a lift licence for lifts)."""

    ELECTRICIAN = "electrician", _("Electrician licence (low voltage)")
    HIGH_VOLTAGE = "high_voltage", _("Electrician licence (high voltage)")
    LIFT = "lift", _("Lift operation licence")
    WELDING = "welding", _("Welding licence")
    WORK_AT_HEIGHT = "work_at_height", _("Work at height licence")
    FIRE_OPERATOR = "fire_operator", _("Fire-facility operator")
    REFRIGERATION = "refrigeration", _("Refrigeration licence")
    BOILER = "boiler", _("Boiler operator licence")
    SECURITY_GUARD = "security_guard", _("Security guard certificate")


class Component(models.TextChoices):
    """One part of the monthly appraisal score (绩效考核). docs/appraisal.md says how each is counted."""

    SLA_ON_TIME = "sla_on_time", _("Steps on time")
    RATING = "rating", _("Owner ratings")
    VISIT = "visit", _("Satisfied at return visit")
    REOPEN = "reopen", _("Not reopened")
    SPOT_CHECK = "spot_check", _("Quality spot checks")
    PATROL = "patrol", _("Patrols completed")
    PLANNED_WORK = "planned_work", _("Tasks and inspections done")
    COMPLAINTS = "complaints", _("Complaints attributed")


class StarStatus(models.TextChoices):
    """Where a 服务之星 (service star) nomination stands: the data nominates, the project manager decides."""

    NOMINATED = "nominated", _("Nominated")
    CONFIRMED = "confirmed", _("Confirmed")
    REJECTED = "rejected", _("Rejected")
