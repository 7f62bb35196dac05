"""The named cast every endpoint and page is tested with (STYLE.md).

Estate `estate` (company `company`) holds room 1-1-101 (owner) and 1-1-102 (other_owner) and the staff; the
`stranger_supervisor` works in `other_estate` of another company. `anonymous` is nobody signed in.
"""

from dataclasses import dataclass, field

from django.test import Client

from wuye.accounts import services as account_services
from wuye.accounts.choices import Role
from wuye.accounts.models import User
from wuye.estates.models import Building, Company, Estate, Grid, Room

from . import factories

MEMBERS = (
    "owner",
    "other_owner",
    "service_agent",
    "technician",
    "supervisor",
    "manager",
    "company_admin",
    "stranger_supervisor",
    "anonymous",
)


@dataclass
class Cast:
    company: Company
    estate: Estate
    other_company: Company
    other_estate: Estate
    building: Building
    grid: Grid
    room: Room
    other_room: Room
    stranger_room: Room
    users: dict[str, User | None] = field(default_factory=dict)
    _tokens: dict[str, str] = field(default_factory=dict)

    def __getattr__(self, name: str):
        users = self.__dict__.get("users", {})
        if name in users:
            return users[name]
        raise AttributeError(name)

    def token(self, member: str) -> str:
        if member not in self._tokens:
            _token, raw = account_services.api_token_issue(user=self.users[member])
            self._tokens[member] = raw
        return self._tokens[member]

    def api(self, member: str) -> Client:
        """A client that calls the API as `member` with a bearer token (no token for anonymous)."""
        if self.users[member] is None:
            return Client()
        return Client(headers={"Authorization": f"Bearer {self.token(member)}"})

    def browser(self, member: str) -> Client:
        """A client with a signed-in page session for `member`."""
        client = Client()
        if self.users[member] is not None:
            client.force_login(self.users[member])
        return client


def build_cast() -> Cast:
    company = factories.CompanyFactory(name="翠湖物业", code="cuihu")
    estate = factories.EstateFactory(company=company, name="翠湖花园", code="cuihu-garden")
    other_company = factories.CompanyFactory(name="他山物业", code="tashan")
    other_estate = factories.EstateFactory(company=other_company, name="他山小区", code="tashan-estate")

    grid = factories.GridFactory(estate=estate, name="一网格")
    building = factories.BuildingFactory(estate=estate, name="1", grid=grid)
    unit = factories.UnitFactory(building=building, name="1")
    room = factories.RoomFactory(unit=unit, number="101", floor=1)
    other_room = factories.RoomFactory(unit=unit, number="102", floor=1)
    stranger_unit = factories.UnitFactory(building=factories.BuildingFactory(estate=other_estate, name="1"), name="1")
    stranger_room = factories.RoomFactory(unit=stranger_unit, number="101", floor=1)

    def person(username: str, name: str) -> User:
        return factories.UserFactory(username=username, name=name)

    users: dict[str, User | None] = {}
    users["owner"] = person("owner", "王业主")
    account_services.residency_create(user=users["owner"], room=room)
    users["other_owner"] = person("other_owner", "李业主")
    account_services.residency_create(user=users["other_owner"], room=other_room)
    staff_roles = {
        "service_agent": Role.SERVICE_AGENT,
        "technician": Role.TECHNICIAN,
        "supervisor": Role.SUPERVISOR,
        "manager": Role.MANAGER,
        "company_admin": Role.COMPANY_ADMIN,
    }
    for member, role in staff_roles.items():
        users[member] = person(member, f"{member}-员工")
        account_services.membership_ensure(user=users[member], estate=estate, role=role)
    users["stranger_supervisor"] = person("stranger_supervisor", "外司主管")
    account_services.membership_ensure(user=users["stranger_supervisor"], estate=other_estate, role=Role.SUPERVISOR)
    users["anonymous"] = None
    grid.leader = users["supervisor"]
    grid.save(update_fields=["leader"])
    return Cast(
        company=company,
        estate=estate,
        other_company=other_company,
        other_estate=other_estate,
        building=building,
        grid=grid,
        room=room,
        other_room=other_room,
        stranger_room=stranger_room,
        users=users,
    )
