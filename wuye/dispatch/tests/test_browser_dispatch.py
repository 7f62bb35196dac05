"""In a real browser: a supervisor sends a waiting order from the dispatch board with one click, and a technician
grabs an order from the pool on a phone."""

import pytest

from wuye.portal.tests.test_browser import sign_in
from wuye.workorders.choices import Status
from wuye.workorders.models import Category, DispatchMode, WorkOrder
from wuye.workorders.services import catalogue_seed
from wuye.workorders.tests import factories as orders
from wuye.workorders.tests.factories import staff_member

pytestmark = pytest.mark.browser


def test_supervisor_accepts_the_suggestion_on_the_dispatch_board(page, live_server, live_cast):
    catalogue_seed(company=live_cast.company)
    Category.objects.filter(company=live_cast.company, code="plumbing").update(dispatch_mode=DispatchMode.MANUAL)
    staff_member(live_cast, live_cast.technician, skills=["plumbing"])
    order = orders.order(live_cast, status="accepted")
    sign_in(page, live_server.url, "supervisor")
    page.goto(f"{live_server.url}/desk/dispatch/")
    row = page.locator(f'[data-testid=board-order][data-order="{order.id}"]')
    suggestion = row.get_by_test_id("board-suggestion")
    assert suggestion.get_attribute("data-assignee") == str(live_cast.technician.id)
    assert live_cast.technician.display_name in suggestion.inner_text()
    person = page.locator(f'[data-testid=board-person][data-user="{live_cast.technician.id}"]')
    assert person.get_attribute("data-load") == "0"
    row.get_by_test_id("accept-suggestion").click()
    page.wait_for_url(f"{live_server.url}/desk/dispatch/?estate={live_cast.estate.id}")
    assert page.locator(f'[data-testid=board-order][data-order="{order.id}"]').count() == 0
    assert person.get_attribute("data-load") == "1"
    order.refresh_from_db()
    assert (order.status, order.assignee_id) == (Status.DISPATCHED, live_cast.technician.id)


def test_technician_grabs_an_order_from_the_pool_on_a_phone(page, live_server, live_cast):
    catalogue_seed(company=live_cast.company)
    Category.objects.filter(company=live_cast.company, code="plumbing").update(dispatch_mode=DispatchMode.GRAB)
    staff_member(live_cast, live_cast.technician, skills=["plumbing"])
    order = orders.order(live_cast, status="accepted")
    sign_in(page, live_server.url, "technician")
    page.wait_for_url(f"{live_server.url}/desk/")
    page.goto(f"{live_server.url}/desk/orders/mine/")
    page.get_by_test_id("nav-pool").click()
    card = page.locator(f'[data-testid=pool-card][data-order="{order.id}"]')
    assert order.number in card.inner_text()
    card.get_by_test_id("do-grab").click()
    page.wait_for_url(f"{live_server.url}/desk/orders/{order.id}/")
    assert page.get_by_test_id("order-status").first.get_attribute("data-value") == Status.TAKEN
    assert WorkOrder.objects.get(pk=order.pk).assignee_id == live_cast.technician.id
