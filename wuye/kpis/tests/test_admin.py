"""Yearly targets in the admin: a company administrator sees and sets their company's targets only; a project
manager sees their estate's own targets, not the company's."""

from wuye.kpis import services
from wuye.kpis.models import KpiTarget
from wuye.testing.plugin import listed_pks


def test_company_admin_lists_and_adds_only_their_company_targets(admin_cast):
    services.targets_seed(company=admin_cast.company, year=2026)
    services.targets_seed(company=admin_cast.other_company, year=2026)
    mine = set(KpiTarget.objects.filter(company=admin_cast.company).values_list("pk", flat=True))
    client = admin_cast.browser("company_admin")
    assert listed_pks(client.get("/admin/kpis/kpitarget/")) == mine
    response = client.post(
        "/admin/kpis/kpitarget/add/",
        {
            "company": admin_cast.company.id,
            "estate": admin_cast.estate.id,
            "year": 2026,
            "code": "satisfaction",
            "target": "95",
            "direction": "higher",
        },
    )
    assert response.status_code == 302
    assert KpiTarget.objects.get(estate=admin_cast.estate, code="satisfaction").target == 95


def test_an_estate_of_another_company_is_refused(admin_cast):
    client = admin_cast.browser("company_admin")
    response = client.post(
        "/admin/kpis/kpitarget/add/",
        {
            "company": admin_cast.company.id,
            "estate": admin_cast.other_estate.id,
            "year": 2026,
            "code": "satisfaction",
            "target": "95",
            "direction": "higher",
        },
    )
    assert response.status_code == 200  # the form again, with the error
    assert not KpiTarget.objects.exists()


def test_manager_sees_the_estate_targets_not_the_company_ones(admin_cast):
    services.targets_seed(company=admin_cast.company, year=2026)
    own = KpiTarget.objects.create(
        company=admin_cast.company, estate=admin_cast.estate, year=2026, code="sla_arrive", target=92,
        direction="higher",
    )  # fmt: skip
    assert listed_pks(admin_cast.browser("manager").get("/admin/kpis/kpitarget/")) == {own.pk}
