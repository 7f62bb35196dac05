"""factory_boy factories for the foundation's models. Other apps' tests build on these."""

import datetime as dt
from decimal import Decimal

import factory

from wuye.accounts.choices import Relation
from wuye.accounts.models import Membership, Residency, User
from wuye.estates.choices import ServiceLevel
from wuye.estates.models import Building, Company, Estate, Grid, PublicArea, Room, Unit
from wuye.staff.choices import CertificateKind, Post
from wuye.staff.models import Certificate, StaffProfile

PASSWORD = "wuye-test-pass"


class CompanyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Company

    name = factory.Sequence(lambda n: f"测试物业{n}")
    code = factory.Sequence(lambda n: f"company-{n}")


class EstateFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Estate

    company = factory.SubFactory(CompanyFactory)
    name = factory.Sequence(lambda n: f"测试小区{n}")
    code = factory.Sequence(lambda n: f"estate-{n}")
    service_level = ServiceLevel.LEVEL_1


class GridFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Grid

    estate = factory.SubFactory(EstateFactory)
    name = factory.Sequence(lambda n: f"网格{n}")


class BuildingFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Building

    estate = factory.SubFactory(EstateFactory)
    name = factory.Sequence(lambda n: str(n + 1))
    floors = 18


class UnitFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Unit

    building = factory.SubFactory(BuildingFactory)
    name = "1"


class RoomFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Room

    unit = factory.SubFactory(UnitFactory)
    building = factory.SelfAttribute("unit.building")
    estate = factory.SelfAttribute("unit.building.estate")
    number = factory.Sequence(lambda n: f"{(n % 18) + 1}{(n % 4) + 1:02d}")
    floor = 1
    area_m2 = Decimal("89.50")


class PublicAreaFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PublicArea

    estate = factory.SubFactory(EstateFactory)
    name = factory.Sequence(lambda n: f"公共区域{n}")


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    name = factory.Sequence(lambda n: f"用户{n}")
    phone = factory.Sequence(lambda n: f"139{n:08d}")
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def _save(self, create, extracted, **kwargs):
        if create:
            self.save()


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    estate = factory.SubFactory(EstateFactory)
    company = factory.SelfAttribute("estate.company")


class ResidencyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Residency

    user = factory.SubFactory(UserFactory)
    room = factory.SubFactory(RoomFactory)
    relation = Relation.OWNER
    move_in_on = dt.date(2020, 1, 1)


class StaffProfileFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = StaffProfile

    user = factory.SubFactory(UserFactory)
    company = factory.SubFactory(CompanyFactory)
    employee_no = factory.Sequence(lambda n: f"E{n:05d}")
    post = Post.TECHNICIAN


class CertificateFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Certificate

    staff = factory.SubFactory(StaffProfileFactory)
    kind = CertificateKind.ELECTRICIAN
    number = factory.Sequence(lambda n: f"T{n:010d}")
    issued_on = dt.date(2022, 1, 1)
    expires_on = dt.date(2028, 1, 1)
