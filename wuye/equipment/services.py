"""Writes to the equipment ledger: add an item, change its status (with an event row)."""

import datetime as dt
import secrets
import string
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from wuye.core.errors import ErrorCollector, FieldError, ValidationFailed
from wuye.estates.models import Building, Estate, PublicArea, Room

from .choices import TRANSITIONS, EquipmentCategory, EquipmentStatus, Importance
from .models import LABEL_CODE_LENGTH, Equipment, EquipmentEvent

# No 0/O, 1/l/I: the code is sometimes read aloud or typed from a worn label.
_LABEL_ALPHABET = "".join(c for c in string.ascii_uppercase + string.digits if c not in "0O1IL")


def new_label_code() -> str:
    """A random label code (~60 bits): printed as a QR code, never derived from the id so it cannot be guessed."""
    return "".join(secrets.choice(_LABEL_ALPHABET) for _ in range(LABEL_CODE_LENGTH))


@dataclass(frozen=True)
class NewEquipment:
    code: str
    name: str
    category: str
    importance: str = Importance.B
    building: Building | None = None
    public_area: PublicArea | None = None
    room: Room | None = None
    location_note: str = ""
    maker: str = ""
    model_number: str = ""
    serial_number: str = ""
    installed_on: dt.date | None = None
    notes: str = ""


def _check(estate: Estate, new: NewEquipment) -> None:
    errors = ErrorCollector()
    if not new.code.strip():
        errors.add("code", "required", _("This field is required."))
    if not new.name.strip():
        errors.add("name", "required", _("This field is required."))
    if new.category not in EquipmentCategory.values:
        errors.add("category", "invalid", _("Choose one of the equipment categories."))
    if new.importance not in Importance.values:
        errors.add("importance", "invalid", _("Importance is A, B or C."))
    if new.building is not None and new.building.estate_id != estate.id:
        errors.add("building", "not_found", _("The building is not in this estate."))
    if new.public_area is not None and new.public_area.estate_id != estate.id:
        errors.add("public_area", "not_found", _("The public area is not in this estate."))
    if new.room is not None:
        if new.room.estate_id != estate.id:
            errors.add("room", "not_found", _("The room is not in this estate."))
        elif new.building is not None and new.room.building_id != new.building.id:
            errors.add("room", "not_in_building", _("The room is not in the chosen building."))
        if new.public_area is not None:
            errors.add("public_area", "ambiguous", _("Give a room or a public area, not both."))
    if new.building is None and new.public_area is None and new.room is None and not new.location_note.strip():
        errors.add("location", "required", _("Say where the equipment is: a building, a public area or a room."))
    if Equipment.objects.filter(estate=estate, code=new.code).exists():
        errors.add("code", "duplicate", _("This asset number is already used in the estate."))
    errors.raise_if_any(_("The equipment could not be added."))


@transaction.atomic
def equipment_create(*, estate: Estate, new: NewEquipment, actor=None, now: dt.datetime) -> Equipment:
    """Add an item to the ledger, in service, with a fresh random label code and its first event."""
    _check(estate, new)
    building = new.building or (new.room.building if new.room is not None else None)
    for _attempt in range(5):
        try:
            with transaction.atomic():
                equipment = Equipment.objects.create(
                    estate=estate,
                    code=new.code.strip(),
                    name=new.name.strip(),
                    category=new.category,
                    importance=new.importance,
                    building=building,
                    public_area=new.public_area,
                    room=new.room,
                    location_note=new.location_note.strip(),
                    maker=new.maker.strip(),
                    model_number=new.model_number.strip(),
                    serial_number=new.serial_number.strip(),
                    installed_on=new.installed_on,
                    notes=new.notes,
                    label_code=new_label_code(),
                )
            break
        except IntegrityError:
            # A label-code collision (one in 2**60) or a concurrent add of the same asset number: retry the label;
            # a duplicate number fails again at _check on the next call.
            if Equipment.objects.filter(estate=estate, code=new.code.strip()).exists():
                raise ValidationFailed(
                    _("The equipment could not be added."),
                    errors=[_duplicate_code_error()],
                ) from None
    else:  # pragma: no cover - five collisions of a 60-bit random code
        raise RuntimeError("could not find a free label code")
    EquipmentEvent.objects.create(equipment=equipment, at=now, actor=actor, to_status=equipment.status)
    return equipment


def _duplicate_code_error() -> FieldError:
    return FieldError("code", "duplicate", _("This asset number is already used in the estate."))


@transaction.atomic
def equipment_set_status(*, equipment_id: int, status: str, actor=None, note: str = "", now: dt.datetime) -> Equipment:
    """Move an item to another status if TRANSITIONS allows it, writing the event row. Setting the status it already
    has is a no-op (no event), so a repeated request changes nothing."""
    equipment = Equipment.objects.select_for_update().get(pk=equipment_id)
    if status not in EquipmentStatus.values:
        raise ValidationFailed(
            _("Unknown status."),
            errors=[FieldError("status", "invalid", _("Choose one of the equipment statuses."))],
        )
    if status == equipment.status:
        return equipment
    if status not in TRANSITIONS[equipment.status]:
        raise ValidationFailed(
            _("This status change is not allowed."),
            code="invalid_transition",
            errors=[
                FieldError(
                    "status",
                    "invalid_transition",
                    _("Equipment that is %(current)s cannot become %(wanted)s.")
                    % {
                        "current": EquipmentStatus(equipment.status).label,
                        "wanted": EquipmentStatus(status).label,
                    },
                )
            ],
        )
    EquipmentEvent.objects.create(
        equipment=equipment, at=now, actor=actor, from_status=equipment.status, to_status=status, note=note[:500]
    )
    equipment.status = status
    equipment.save(update_fields=["status", "updated_at"])
    return equipment
