"""The foundation's permission matrix: every API endpoint and page, every cast member, the status they get.

Later capabilities add a `test_permission_matrix.py` with their own CASES; `test_every_route_is_in_a_matrix`
below fails when a route exists that no matrix covers.
"""

import importlib
import pkgutil

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import URLPattern, URLResolver, get_resolver, resolve

import wuye
from wuye.testing.matrix import Case, assert_matrix

OWNERS_200 = {"owner": 200, "other_owner": 200}
STAFF_200 = {"service_agent": 200, "technician": 200, "supervisor": 200, "manager": 200, "company_admin": 200}
STAFF_403 = dict.fromkeys(STAFF_200, 403)
# Ledger imports and other master-data changes: the project manager and company administrators only.
MASTER_DATA_ONLY = {
    **dict.fromkeys([*OWNERS_200, "service_agent", "technician", "supervisor"], 403),
    "manager": 200,
    "company_admin": 200,
    "stranger_supervisor": 404,
    "anonymous": 401,
}


def rooms_csv(cast):
    content = "楼栋,单元,房号,楼层,建筑面积\n1,1,201,2,95.5\n".encode()
    return {"file": SimpleUploadedFile("rooms.csv", content, content_type="text/csv")}


CASES = [
    # --- API ---
    Case("GET", "/api/v1/me", {**OWNERS_200, **STAFF_200, "stranger_supervisor": 200, "anonymous": 401}),
    Case("GET", "/api/v1/estates", {**OWNERS_200, **STAFF_200, "stranger_supervisor": 200, "anonymous": 401}),
    Case(
        "GET",
        lambda c: f"/api/v1/estates/{c.estate.id}",
        {**OWNERS_200, **STAFF_200, "stranger_supervisor": 404, "anonymous": 401},
        label="GET /api/v1/estates/{estate}",
    ),
    Case(
        "GET",
        lambda c: f"/api/v1/estates/{c.other_estate.id}",
        {**dict.fromkeys([*OWNERS_200, *STAFF_200], 404), "stranger_supervisor": 200, "anonymous": 401},
        label="GET /api/v1/estates/{other company's estate}",
    ),
    Case(
        "GET",
        lambda c: f"/api/v1/estates/{c.estate.id}/buildings",
        {**OWNERS_200, **STAFF_200, "stranger_supervisor": 404, "anonymous": 401},
        label="GET /api/v1/estates/{estate}/buildings",
    ),
    Case(
        "GET",
        lambda c: f"/api/v1/estates/{c.estate.id}/grids",
        {"owner": 403, "other_owner": 403, **STAFF_200, "stranger_supervisor": 404, "anonymous": 401},
        label="GET /api/v1/estates/{estate}/grids",
    ),
    Case(
        "GET",
        lambda c: f"/api/v1/estates/{c.estate.id}/rooms",
        {"owner": 403, "other_owner": 403, **STAFF_200, "stranger_supervisor": 404, "anonymous": 401},
        label="GET /api/v1/estates/{estate}/rooms",
    ),
    Case(
        "GET",
        lambda c: f"/api/v1/rooms/{c.room.id}",
        {"owner": 200, "other_owner": 404, **STAFF_200, "stranger_supervisor": 404, "anonymous": 401},
        label="GET /api/v1/rooms/{owner's room}",
    ),
    Case(
        "POST",
        lambda c: f"/api/v1/estates/{c.estate.id}/imports/rooms",
        MASTER_DATA_ONLY,
        data=rooms_csv,
        label="POST /api/v1/estates/{estate}/imports/rooms",
    ),
    Case(
        "POST",
        "/api/v1/auth/logout",
        {**dict.fromkeys([*OWNERS_200, *STAFF_200, "stranger_supervisor"], 204), "anonymous": 401},
    ),
    # --- pages ---
    Case("GET", "/portal/", {**OWNERS_200, **STAFF_403, "stranger_supervisor": 403, "anonymous": 401}, page=True),
    Case(
        "GET",
        "/desk/",
        {"owner": 403, "other_owner": 403, **STAFF_200, "stranger_supervisor": 200, "anonymous": 401},
        page=True,
    ),
    Case(
        "GET",
        lambda c: f"/desk/estates/{c.estate.id}/",
        {"owner": 403, "other_owner": 403, **STAFF_200, "stranger_supervisor": 404, "anonymous": 401},
        page=True,
        label="GET /desk/estates/{estate}/",
    ),
    Case(
        "GET",
        lambda c: f"/desk/estates/{c.estate.id}/import/",
        MASTER_DATA_ONLY,
        page=True,
        label="GET /desk/estates/{estate}/import/",
    ),
]


@pytest.mark.django_db
@pytest.mark.parametrize("case", CASES, ids=str)
def test_permission_matrix(cast, case):
    assert_matrix(cast, case)


# Routes anyone may call, or that only redirect: not in any matrix, on purpose.
PUBLIC_ROUTES = {
    "",
    "healthz",
    "accounts/login/",
    "accounts/logout/",
    "accounts/no-role/",
    "i18n/setlang/",
    "api/v1/",
    "api/v1/auth/token",
    "api/v1/openapi.json",
    "api/v1/docs",
}


def _routes(resolver: URLResolver, prefix: str = ""):
    for pattern in resolver.url_patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            if route.startswith("admin/"):
                continue  # the Django admin has its own scoping tests
            yield from _routes(pattern, route)
        elif isinstance(pattern, URLPattern):
            yield route


def _all_matrix_cases():
    for module_info in pkgutil.walk_packages(wuye.__path__, "wuye."):
        # Each app's matrix module: test_permission_matrix, or test_<part>_permissions for a part of an app.
        if module_info.name.endswith((".test_permission_matrix", "_permissions")) and ".tests." in module_info.name:
            yield from importlib.import_module(module_info.name).CASES


class _AnyObject:
    """Stands in for an object a matrix module's own fixture makes (a score, a plan): here only the URL's shape
    matters, so any id will do."""

    id = pk = 1

    def __getattr__(self, name: str):
        return _AnyObject()


class _ShapeCast:
    """The cast, plus a stand-in for whatever a matrix module's fixture adds to it."""

    def __init__(self, cast) -> None:
        self._cast = cast

    def __getattr__(self, name: str):
        try:
            return getattr(self._cast, name)
        except AttributeError:
            return _AnyObject()


@pytest.mark.django_db
def test_every_route_is_in_a_matrix(cast):
    covered = set()
    shape_cast = _ShapeCast(cast)
    for case in _all_matrix_cases():
        url = case.url(shape_cast) if callable(case.url) else case.url
        covered.add(resolve(url.split("?")[0]).route)
    routes = {route for route in _routes(get_resolver()) if not route.startswith("static/")}
    uncovered = sorted(routes - covered - PUBLIC_ROUTES)
    assert not uncovered, f"routes without a permission matrix: {uncovered}"
