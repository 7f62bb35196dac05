"""The IoT permission matrix. `POST /api/v1/telemetry` is for devices only: every person, with a bearer token or
none, is refused (401); devices are tested in test_api.py. Alarms (API and desk pages): staff of the estate see them,
owners never (the list 403, an alarm 404), another estate's staff get 404; customer service only looks (403 on
actions); technicians acknowledge and clear; grid leaders and above also assign. Each action case opens a fresh
alarm per cast member, so no member finds it already acknowledged by the one before."""

import pytest

from wuye.testing.cast import MEMBERS
from wuye.testing.matrix import Case, assert_matrix

from .alarm_fixtures import fresh_alarm

CASES = [
    Case(
        "POST",
        "/api/v1/telemetry",
        dict.fromkeys(MEMBERS, 401),
        json={"ts": "2026-11-27T09:30:05+08:00", "values": {"pressure": 0.42}},
        label="POST /api/v1/telemetry (people are not devices)",
    ),
]


OWNERS_404 = {"owner": 404, "other_owner": 404, "stranger_supervisor": 404, "anonymous": 401}
RESPONDERS = {"service_agent": 403, "technician": 200, "supervisor": 200, "manager": 200, "company_admin": 200}
ASSIGNERS = {"service_agent": 403, "technician": 403, "supervisor": 200, "manager": 200, "company_admin": 200}
VIEWERS = {"service_agent": 200, "technician": 200, "supervisor": 200, "manager": 200, "company_admin": 200}

ALARM_API_CASES = [
    Case(
        "GET",
        "/api/v1/alarms",
        {"owner": 403, "other_owner": 403, **VIEWERS, "stranger_supervisor": 200, "anonymous": 401},
        label="GET /api/v1/alarms",
    ),
    Case("GET", lambda c: f"/api/v1/alarms/{fresh_alarm(c.estate).id}", {**OWNERS_404, **VIEWERS}),
    Case(
        "POST",
        lambda c: f"/api/v1/alarms/{fresh_alarm(c.estate).id}/acknowledge",
        {**OWNERS_404, **RESPONDERS},
        json={"note": "到场"},
        label="POST /api/v1/alarms/{id}/acknowledge",
    ),
    Case(
        "POST",
        lambda c: f"/api/v1/alarms/{fresh_alarm(c.estate).id}/clear",
        {**OWNERS_404, **RESPONDERS},
        json={"note": "探头故障，已更换"},
        label="POST /api/v1/alarms/{id}/clear",
    ),
    Case(
        "POST",
        lambda c: f"/api/v1/alarms/{fresh_alarm(c.estate).id}/assign",
        {**OWNERS_404, **ASSIGNERS},
        json=lambda c: {"assignee_id": c.technician.id},
        label="POST /api/v1/alarms/{id}/assign",
    ),
]


STAFF_200 = {"service_agent": 200, "technician": 200, "supervisor": 200, "manager": 200, "company_admin": 200}
NOT_STAFF = {"owner": 403, "other_owner": 403, "anonymous": 401}

ALARM_PAGE_CASES = [
    Case("GET", "/desk/alarms/", {**NOT_STAFF, **STAFF_200, "stranger_supervisor": 200}, page=True),
    Case(
        "GET",
        lambda c: f"/desk/alarms/{fresh_alarm(c.estate).id}/",
        {**NOT_STAFF, **STAFF_200, "stranger_supervisor": 404},
        page=True,
        label="GET /desk/alarms/{id}/",
    ),
    Case(
        "POST",
        lambda c: f"/desk/alarms/{fresh_alarm(c.estate).id}/acknowledge/",
        {
            **NOT_STAFF,
            "service_agent": 403,
            "technician": 302,
            "supervisor": 302,
            "manager": 302,
            "company_admin": 302,
            "stranger_supervisor": 404,
        },
        page=True,
        data={},
        label="POST /desk/alarms/{id}/acknowledge/",
    ),
    Case(
        "POST",
        lambda c: f"/desk/alarms/{fresh_alarm(c.estate).id}/clear/",
        {
            **NOT_STAFF,
            "service_agent": 403,
            "technician": 302,
            "supervisor": 302,
            "manager": 302,
            "company_admin": 302,
            "stranger_supervisor": 404,
        },
        page=True,
        data={"note": "传感器误报"},
        label="POST /desk/alarms/{id}/clear/",
    ),
    Case(
        "POST",
        lambda c: f"/desk/alarms/{fresh_alarm(c.estate).id}/assign/",
        {
            **NOT_STAFF,
            "service_agent": 403,
            "technician": 403,
            "supervisor": 302,
            "manager": 302,
            "company_admin": 302,
            "stranger_supervisor": 404,
        },
        page=True,
        data=lambda c: {"assignee_id": c.technician.id},
        label="POST /desk/alarms/{id}/assign/",
    ),
]


CASES += ALARM_API_CASES + ALARM_PAGE_CASES


@pytest.mark.parametrize("case", CASES, ids=str)
def test_permission_matrix(cast, case):
    assert_matrix(cast, case)
