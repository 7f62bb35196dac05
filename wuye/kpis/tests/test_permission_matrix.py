"""The KPI routes' permission matrix: the desk page and its two exports, and the API, for every cast member and at
every level of the drill-down. Managers, supervisors and company administrators read their estates' KPIs; other
signed-in people get 403; an estate they do not work in answers 404."""

import pytest

from wuye.testing.matrix import Case, assert_matrix

READERS = ("supervisor", "manager", "company_admin")
OTHERS = ("owner", "other_owner", "service_agent", "technician")


def expect(*, stranger: int) -> dict[str, int]:
    return {
        **dict.fromkeys(READERS, 200),
        **dict.fromkeys(OTHERS, 403),
        "stranger_supervisor": stranger,
        "anonymous": 401,
    }


def page(path: str, query, *, stranger: int, label: str) -> Case:
    def url(cast):
        return f"{path}?{query(cast)}" if query else path

    return Case("GET", url, expect(stranger=stranger), page=True, label=label)


def api(query, *, stranger: int, label: str) -> Case:
    return Case("GET", lambda c: f"/api/v1/kpis?{query(c)}", expect(stranger=stranger), label=label)


def person(cast):
    return f"estate={cast.estate.id}&grid={cast.grid.id}&person={cast.technician.id}"


CASES = [
    # The stranger supervisor reads their own company's KPIs at the top level…
    page("/desk/kpis/", None, stranger=200, label="GET /desk/kpis/ (top)"),
    # …and gets 404 for anything of this estate.
    page("/desk/kpis/", lambda c: f"company={c.company.id}", stranger=404, label="GET /desk/kpis/?company"),
    page("/desk/kpis/", lambda c: f"estate={c.estate.id}", stranger=404, label="GET /desk/kpis/?estate"),
    page("/desk/kpis/", lambda c: f"grid={c.grid.id}", stranger=404, label="GET /desk/kpis/?grid"),
    page("/desk/kpis/", person, stranger=404, label="GET /desk/kpis/?person"),
    page("/desk/kpis/export.xlsx", lambda c: f"estate={c.estate.id}", stranger=404, label="GET export.xlsx"),
    page("/desk/kpis/export.pdf", lambda c: f"estate={c.estate.id}", stranger=404, label="GET export.pdf"),
    api(lambda c: "", stranger=200, label="GET /api/v1/kpis"),
    api(lambda c: f"scope=estate:{c.estate.id}", stranger=404, label="GET /api/v1/kpis?scope=estate"),
    api(lambda c: f"scope=grid:{c.grid.id}", stranger=404, label="GET /api/v1/kpis?scope=grid"),
    api(
        lambda c: f"scope=person:{c.grid.id}:{c.technician.id}",
        stranger=404,
        label="GET /api/v1/kpis?scope=person",
    ),
]


@pytest.mark.parametrize("case", CASES, ids=str)
def test_permission_matrix(cast, case):
    assert_matrix(cast, case)
