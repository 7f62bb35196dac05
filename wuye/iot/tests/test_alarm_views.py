"""The alarms console on the desk: who sees it, filters, acknowledging, assigning and clearing in place (htmx), an
alarm's page with its history, and the alarm shown on its work order's page."""

import pytest

from wuye.iot import services
from wuye.iot.choices import AlarmStatus
from wuye.workorders.tests import factories as wf

from .alarm_fixtures import T0, fresh_alarm

pytestmark = pytest.mark.django_db


def test_the_console_shows_open_alarms_by_default_and_filters_by_severity(cast):
    raised = fresh_alarm(cast.estate, severity="critical")
    minor = fresh_alarm(cast.estate, severity="minor")
    cleared = fresh_alarm(cast.estate)
    cleared.status = AlarmStatus.CLEARED
    cleared.save(update_fields=["status"])
    fresh_alarm(cast.other_estate)
    browser = cast.browser("supervisor")
    page = browser.get("/desk/alarms/").content.decode()
    assert page.count('data-testid="alarm-card"') == 2
    assert f'data-alarm="{raised.id}"' in page and f'data-alarm="{minor.id}"' in page
    filtered = browser.get(
        "/desk/alarms/?severity=critical", headers={"HX-Request": "true", "HX-Target": "alarm-results"}
    )
    body = filtered.content.decode()
    assert "<html" not in body  # only the results are swapped
    assert body.count('data-testid="alarm-card"') == 1 and f'data-alarm="{raised.id}"' in body
    everything = browser.get("/desk/alarms/?status=all").content.decode()
    assert everything.count('data-testid="alarm-card"') == 3


def test_the_console_costs_the_same_few_queries_for_many_alarms(cast, django_assert_max_num_queries):
    for _ in range(20):
        fresh_alarm(cast.estate)
    browser = cast.browser("supervisor")
    browser.get("/desk/alarms/")
    with django_assert_max_num_queries(20):
        page = browser.get("/desk/alarms/")
    assert page.content.decode().count('data-testid="alarm-card"') == 20


def test_acknowledging_on_the_console_swaps_the_card(cast):
    alarm = fresh_alarm(cast.estate)
    response = cast.browser("technician").post(f"/desk/alarms/{alarm.id}/acknowledge/", headers={"HX-Request": "true"})
    assert response.status_code == 200
    card = response.content.decode()
    assert 'data-status="acknowledged"' in card and 'data-testid="alarm-done"' in card
    assert 'data-testid="alarm-acknowledge"' not in card  # nothing left to acknowledge


def test_a_refused_clear_is_shown_on_the_card_with_its_status(cast):
    alarm = fresh_alarm(cast.estate)
    browser = cast.browser("technician")
    response = browser.post(f"/desk/alarms/{alarm.id}/clear/", {"note": ""}, headers={"HX-Request": "true"})
    assert response.status_code == 422
    assert 'data-testid="alarm-alert"' in response.content.decode()
    viewer = cast.browser("service_agent").post(f"/desk/alarms/{alarm.id}/acknowledge/", headers={"HX-Request": "true"})
    assert viewer.status_code == 403
    alarm.refresh_from_db()
    assert alarm.status == AlarmStatus.RAISED


def test_an_unknown_action_is_404(cast):
    alarm = fresh_alarm(cast.estate)
    assert cast.browser("supervisor").post(f"/desk/alarms/{alarm.id}/escalate/").status_code == 404


def test_the_alarm_page_shows_the_reason_the_history_and_the_order(cast):
    wf.seed_catalogue(cast)
    alarm = fresh_alarm(cast.estate, severity="critical")
    alarm.refresh_from_db()
    order = alarm.work_order
    services.alarm_acknowledge(actor=cast.technician, alarm_id=alarm.id, now=T0)
    page = cast.browser("service_agent").get(f"/desk/alarms/{alarm.id}/").content.decode()
    assert "pressure 为 1.5 MPa，超过上限 1 MPa" in page
    assert [a for a in ("raise", "order", "acknowledge") if f'data-action="{a}"' in page] == [
        "raise",
        "order",
        "acknowledge",
    ]
    assert f'href="/desk/orders/{order.id}/"' in page
    assert 'data-testid="alarm-actions"' not in page  # customer service only looks
    assert "pressure is 1.5" not in page  # the raise event's English note is shown translated


def test_the_order_page_shows_and_links_its_alarm(cast):
    wf.seed_catalogue(cast)
    alarm = fresh_alarm(cast.estate, severity="critical")
    alarm.refresh_from_db()
    page = cast.browser("service_agent").get(f"/desk/orders/{alarm.work_order_id}/").content.decode()
    assert 'data-testid="order-alarms"' in page
    assert f'href="/desk/alarms/{alarm.id}/"' in page
    other_order = wf.order(cast, status="submitted", now=T0)
    assert (
        'data-testid="order-alarms"'
        not in cast.browser("service_agent").get(f"/desk/orders/{other_order.id}/").content.decode()
    )


def test_the_desk_home_links_the_console(cast):
    assert 'href="/desk/alarms/"' in cast.browser("technician").get("/desk/").content.decode()
