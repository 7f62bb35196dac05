"""Reads of the equipment ledger, always starting from what the user may see."""

from django.db.models import QuerySet
from django.http import Http404

from .models import Equipment
from .permissions import equipment_visible


def equipment_list(
    user, *, estate_id: int | None = None, category: str | None = None, status: str | None = None
) -> QuerySet[Equipment]:
    queryset = equipment_visible(user).select_related("estate", "building", "public_area", "room__building")
    if estate_id is not None:
        queryset = queryset.filter(estate_id=estate_id)
    if category:
        queryset = queryset.filter(category=category)
    if status:
        queryset = queryset.filter(status=status)
    return queryset.order_by("estate_id", "category", "code")


def equipment_get(user, equipment_id: int) -> Equipment:
    """One visible item, or 404 (its existence is not revealed)."""
    equipment = equipment_list(user).filter(pk=equipment_id).first()
    if equipment is None:
        raise Http404
    return equipment


def equipment_by_label(user, label_code: str) -> Equipment:
    """The item a scanned QR label names, if the user may see it; else 404."""
    equipment = equipment_list(user).filter(label_code=label_code).first()
    if equipment is None:
        raise Http404
    return equipment
