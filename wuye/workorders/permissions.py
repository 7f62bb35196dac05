"""Who may see a work order, and who may take which action on it.

Staff see every order of the estates they work in; owners and residents see the orders they reported and the orders
of the rooms they live in now. Not visible → 404; visible but not allowed → 403.
"""

from django.db.models import Q, QuerySet

from wuye.accounts.choices import STAFF_ROLES, Role
from wuye.accounts.selectors import estate_ids_with_roles, own_room_ids, roles_by_estate

from .choices import Action, Kind, Status
from .models import DispatchMode, WorkOrder

DESK_ROLES = frozenset({Role.SERVICE_AGENT, Role.SUPERVISOR, Role.MANAGER, Role.COMPANY_ADMIN, Role.GRID_LEADER})
DISPATCH_ROLES = frozenset({Role.SERVICE_AGENT, Role.SUPERVISOR, Role.MANAGER, Role.COMPANY_ADMIN, Role.GRID_LEADER})
SIGN_OFF_ROLES = frozenset({Role.SUPERVISOR, Role.MANAGER, Role.COMPANY_ADMIN})
VISIT_ROLES = frozenset({Role.SERVICE_AGENT, Role.SUPERVISOR, Role.MANAGER, Role.COMPANY_ADMIN})
# Front-line staff who can be sent to do work, and so may grab (抢单) from a grab-mode category's pool.
FIELD_ROLES = frozenset({Role.TECHNICIAN, Role.CLEANER, Role.GARDENER, Role.GUARD, Role.GRID_LEADER})

# Actions the person the order is assigned to takes on site.
ASSIGNEE_ACTIONS = frozenset(
    {Action.TAKE, Action.RETURN, Action.ARRIVE, Action.START, Action.HOLD, Action.RESUME, Action.RESOLVE}
)
# Actions the owner (reporter, or whoever lives in the room now) takes.
OWNER_ACTIONS = frozenset({Action.RATE, Action.REOPEN, Action.CANCEL, Action.URGE})
# Actions the desk takes, and which roles may.
DESK_ACTIONS = {
    Action.ACCEPT: DESK_ROLES,
    Action.CLASSIFY: DESK_ROLES,
    Action.DISPATCH: DISPATCH_ROLES,
    Action.TRANSFER: DISPATCH_ROLES,
    Action.ANSWER: VISIT_ROLES,
    Action.VISIT: VISIT_ROLES,
    Action.CLOSE: VISIT_ROLES,
    Action.CANCEL: VISIT_ROLES,
    Action.REOPEN: VISIT_ROLES,
    Action.FORCE_CLOSE: SIGN_OFF_ROLES,
    Action.HOLD: SIGN_OFF_ROLES,
    Action.RESUME: SIGN_OFF_ROLES,
}


def workorders_visible(user) -> QuerySet[WorkOrder]:
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return WorkOrder.objects.none()
    staff_estates = estate_ids_with_roles(user, STAFF_ROLES)
    return WorkOrder.objects.filter(
        Q(estate_id__in=staff_estates) | Q(reporter=user) | Q(room_id__in=own_room_ids(user))
    )


def is_owner_of(user, order: WorkOrder) -> bool:
    return order.reporter_id == user.id or (order.room_id is not None and order.room_id in own_room_ids(user))


def can_act(user, order: WorkOrder, action: str) -> bool:
    """Whether `user` may take `action` on a visible order (the state machine decides separately whether the move
    is possible now)."""
    roles = roles_by_estate(user).get(order.estate_id, frozenset())
    if action in ASSIGNEE_ACTIONS and order.assignee_id == user.id:
        return True
    if action in OWNER_ACTIONS and is_owner_of(user, order):
        # Owners cancel only before anyone is sent, and reopen at most 7 days after closing (see services).
        return not (action == Action.CANCEL and order.status not in (Status.SUBMITTED, Status.ACCEPTED))
    if action == Action.TRANSFER and order.assignee_id == user.id:
        return True
    if action == Action.GRAB:
        # Whether this person may take this particular order (skill, licence, shift) is the service's explained check.
        return order.category.dispatch_mode == DispatchMode.GRAB and bool(roles & FIELD_ROLES)
    allowed = DESK_ACTIONS.get(action)
    if allowed is None:
        return False
    if action == Action.CLOSE and order.kind == Kind.COMPLAINT:
        # A complaint closes only with a supervisor's sign-off.
        allowed = SIGN_OFF_ROLES
    return bool(roles & allowed)


def can_act_as_desk(user, order: WorkOrder, action: str) -> bool:
    """Whether the user's desk role (not their being the owner or assignee) allows the action."""
    allowed = DESK_ACTIONS.get(action)
    return bool(allowed and roles_by_estate(user).get(order.estate_id, frozenset()) & allowed)


def can_create_for_others(user, estate) -> bool:
    """Customer service enters phone and walk-in requests on an owner's behalf; any staff may report what they find."""
    return bool(roles_by_estate(user).get(estate.id, frozenset()) & STAFF_ROLES)
