import factory

from wuye.notifications.models import Notification
from wuye.testing.factories import UserFactory


class NotificationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Notification

    recipient = factory.SubFactory(UserFactory)
    kind = "test.event"
    title = factory.Sequence(lambda n: f"通知{n}")
    body = "正文"
    link = "/portal/"
