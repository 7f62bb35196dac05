"""The IoT API's permission matrix. `POST /api/v1/telemetry` is for devices only: every person, with a bearer token
or none, is refused (401); devices are tested in test_api.py."""

import pytest

from wuye.testing.cast import MEMBERS
from wuye.testing.matrix import Case, assert_matrix

CASES = [
    Case(
        "POST",
        "/api/v1/telemetry",
        dict.fromkeys(MEMBERS, 401),
        json={"ts": "2026-11-27T09:30:05+08:00", "values": {"pressure": 0.42}},
        label="POST /api/v1/telemetry (people are not devices)",
    ),
]


@pytest.mark.parametrize("case", CASES, ids=str)
def test_permission_matrix(cast, case):
    assert_matrix(cast, case)
