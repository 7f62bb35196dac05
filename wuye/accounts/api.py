from django.contrib.auth import logout
from django.http import HttpRequest
from ninja import Router

from wuye.core import clock
from wuye.estates.models import Estate

from . import services
from .choices import Role
from .schemas import MeOut, TokenOut, TokenRequest
from .selectors import current_residencies, roles_by_estate

router = Router(tags=["auth"])


def client_ip(request: HttpRequest) -> str | None:
    # REMOTE_ADDR only: X-Forwarded-For is set by clients too, so trusting it would let anyone dodge throttling.
    return request.META.get("REMOTE_ADDR") or None


@router.post(
    "/auth/token", auth=None, response={200: TokenOut}, summary="Exchange username/phone + password for a token"
)
def token_create(request, payload: TokenRequest):
    user = services.sign_in_check(
        request=request, identifier=payload.username, password=payload.password, ip_address=client_ip(request)
    )
    token, raw = services.api_token_issue(user=user, now=clock.now())
    return {"token": raw, "expires_at": token.expires_at}


@router.post("/auth/logout", response={204: None}, summary="Revoke the token in use (or end the session)")
def token_revoke(request):
    raw = getattr(request, "api_token", None)
    if raw:
        services.api_token_revoke(raw=raw)
    else:
        logout(request)
    return 204, None


@router.get("/me", response=MeOut, summary="The signed-in user, their roles per estate and, for owners, their rooms")
def me(request):
    user = request.user
    roles = roles_by_estate(user)
    estates = Estate.objects.select_related("company").in_bulk(list(roles))
    labels = dict(Role.choices)
    memberships = [
        {
            "estate_id": estate.id,
            "estate_name": estate.name,
            "company_id": estate.company_id,
            "company_name": estate.company.name,
            "role": role,
            "role_label": str(labels[role]),
        }
        for estate in sorted(estates.values(), key=lambda e: e.name)
        for role in sorted(roles[estate.id])
    ]
    rooms = [
        {
            "id": residency.room.id,
            "label": residency.room.label,
            "estate_id": residency.room.estate_id,
            "estate_name": residency.room.estate.name,
            "building": residency.room.building.name,
            "unit": residency.room.unit.name,
            "number": residency.room.number,
            "floor": residency.room.floor,
            "area_m2": residency.room.area_m2,
            "relation": residency.relation,
        }
        for residency in current_residencies(user)
    ]
    return {
        "id": user.id,
        "username": user.username,
        "name": user.display_name,
        "phone": user.phone,
        "memberships": memberships,
        "rooms": rooms,
    }
