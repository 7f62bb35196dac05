from django.utils.translation import gettext as _
from ninja import File, Form, Router
from ninja.files import UploadedFile

from wuye.accounts.selectors import residents_of_room, roles_by_estate
from wuye.core.errors import Forbidden

from . import ledgers, selectors
from .permissions import can_manage_master_data, can_view_residents, is_staff_in
from .schemas import BuildingOut, EstateOut, GridOut, ImportResultOut, RoomDetailOut, RoomOut

router = Router(tags=["estates"])


def _room_out(room) -> dict:
    return {
        "id": room.id,
        "label": room.label,
        "estate_id": room.estate_id,
        "building": room.building.name,
        "unit": room.unit.name,
        "number": room.number,
        "floor": room.floor,
        "area_m2": room.area_m2,
    }


def _require_staff(user, estate) -> None:
    if not is_staff_in(user, estate):
        raise Forbidden(_("Only staff of this estate may do this."))


def _estate_out(estate, roles: dict) -> dict:
    return {
        "id": estate.id,
        "name": estate.name,
        "code": estate.code,
        "company_id": estate.company_id,
        "company_name": estate.company.name,
        "city": estate.city,
        "address": estate.address,
        "service_level": estate.service_level,
        "service_level_label": str(estate.get_service_level_display()),
        "building_count": estate.building_count,
        "room_count": estate.room_count,
        "grid_count": estate.grid_count,
        "my_roles": sorted(roles.get(estate.id, ())),
    }


@router.get("/estates", response=list[EstateOut], summary="Estates the caller belongs to")
def estate_list(request):
    roles = roles_by_estate(request.user)
    return [_estate_out(estate, roles) for estate in selectors.estate_list(request.user)]


@router.get("/estates/{estate_id}", response=EstateOut, summary="One estate")
def estate_detail(request, estate_id: int):
    selectors.estate_get(request.user, estate_id)  # 404 when not visible
    estate = selectors.estate_list(request.user).get(pk=estate_id)
    return _estate_out(estate, roles_by_estate(request.user))


@router.get("/estates/{estate_id}/buildings", response=list[BuildingOut], summary="Buildings of an estate")
def building_list(request, estate_id: int):
    estate = selectors.estate_get(request.user, estate_id)
    return [
        {
            "id": b.id,
            "name": b.name,
            "use": b.use,
            "floors": b.floors,
            "grid_id": b.grid_id,
            "grid_name": b.grid.name if b.grid else None,
            "unit_count": b.unit_count,
            "room_count": b.room_count,
            "position_x_m": b.position_x_m,
            "position_y_m": b.position_y_m,
        }
        for b in selectors.building_list(request.user, estate)
    ]


@router.get("/estates/{estate_id}/grids", response=list[GridOut], summary="Grids of an estate (staff)")
def grid_list(request, estate_id: int):
    estate = selectors.estate_get(request.user, estate_id)
    _require_staff(request.user, estate)
    return [
        {
            "id": g.id,
            "name": g.name,
            "leader_id": g.leader_id,
            "leader_name": g.leader.display_name if g.leader else None,
            "deputy_id": g.deputy_id,
            "deputy_name": g.deputy.display_name if g.deputy else None,
            "building_count": g.building_count,
            "area_count": g.area_count,
        }
        for g in selectors.grid_list(request.user, estate)
    ]


@router.get("/estates/{estate_id}/rooms", response=list[RoomOut], summary="Search an estate's rooms (staff)")
def room_list(request, estate_id: int, building: str = "", q: str = "", limit: int = 50, offset: int = 0):
    estate = selectors.estate_get(request.user, estate_id)
    _require_staff(request.user, estate)
    limit = max(1, min(limit, 200))
    offset = max(0, offset)
    rooms = selectors.room_search(request.user, estate, building=building, query=q)[offset : offset + limit]
    return [_room_out(room) for room in rooms]


@router.get("/rooms/{room_id}", response=RoomDetailOut, summary="One room; residents for desk staff")
def room_detail(request, room_id: int):
    room = selectors.room_get(request.user, room_id)
    data = _room_out(room)
    data["residents"] = None
    if can_view_residents(request.user, room.estate):
        data["residents"] = [
            {
                "user_id": r.user_id,
                "name": r.user.display_name,
                "phone_masked": r.user.masked_phone,
                "relation": r.relation,
                "relation_label": str(r.get_relation_display()),
            }
            for r in residents_of_room(room)
        ]
    return data


@router.post(
    "/estates/{estate_id}/imports/{kind}",
    response={200: ImportResultOut},
    summary="Import a rooms or owners ledger (CSV or XLSX): all rows or none",
)
def ledger_import(
    request, estate_id: int, kind: ledgers.LedgerKind, file: File[UploadedFile], dry_run: Form[bool] = False
):
    estate = selectors.estate_get(request.user, estate_id)
    if not can_manage_master_data(request.user, estate):
        raise Forbidden(_("Only the project manager or a company administrator may import ledgers."))
    result = ledgers.ledger_import(
        estate=estate, kind=kind, filename=file.name or "", content=ledgers.upload_read(file), dry_run=dry_run
    )
    return {"kind": kind, "rows": result.rows, "created": result.created, "updated": result.updated, "dry_run": dry_run}
