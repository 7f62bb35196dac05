"""notify(): the inbox row and the outbox rows live and die with the caller's transaction, exactly once per event."""

import datetime as dt
import threading

import pytest
from django.db import connection, transaction
from django.utils import translation
from django.utils.translation import gettext_lazy

from wuye.core.errors import NotFound
from wuye.notifications import services
from wuye.notifications.channels import LocalWeChatChannel
from wuye.notifications.choices import ChannelName, OutboxStatus
from wuye.notifications.models import Notification, OutboxMessage
from wuye.notifications.services import notification_mark_read, notifications_mark_all_read, notify, text_later
from wuye.testing.factories import UserFactory

pytestmark = pytest.mark.django_db

UTC = dt.UTC


class BoundWeChatChannel(LocalWeChatChannel):
    """A WeChat channel for someone who has bound WeChat."""

    def address_for(self, user):
        return f"openid-{user.pk}"


WITH_WECHAT = {
    "sms": "wuye.notifications.channels.LocalSmsChannel",
    "wechat": "wuye.notifications.tests.test_services.BoundWeChatChannel",
}


def accepted(recipient, **overrides):
    arguments = {
        "recipient": recipient,
        "kind": "workorder.accepted",
        "title": "工单已受理",
        "body": "您的报修已受理。",
        "link": "/portal/",
        "sms_template": "SMS_001",
        "params": {"number": "WO-1"},
    }
    return notify(**{**arguments, **overrides})


def test_notify_writes_the_inbox_row_and_one_sms_message_to_the_owners_phone(cast):
    notification = accepted(cast.owner, estate=cast.estate)
    assert Notification.objects.get() == notification
    assert (notification.recipient, notification.estate, notification.read_at) == (cast.owner, cast.estate, None)
    message = OutboxMessage.objects.get()
    assert message.channel == ChannelName.SMS
    assert message.to == cast.owner.phone
    assert message.status == OutboxStatus.PENDING
    assert message.notification == notification
    assert message.payload["template"] == "SMS_001"
    assert message.payload["params"] == {"number": "WO-1"}
    assert message.payload["body"] == "您的报修已受理。"


def test_nothing_remains_when_the_callers_transaction_rolls_back(cast):
    with pytest.raises(RuntimeError), transaction.atomic():
        accepted(cast.owner, dedupe_key="event:1")
        assert Notification.objects.count() == 1
        raise RuntimeError("the work-order transition failed after notifying")
    assert not Notification.objects.exists()
    assert not OutboxMessage.objects.exists()


def test_the_same_dedupe_key_notifies_a_person_exactly_once(cast):
    first = accepted(cast.owner, dedupe_key="workorder-event:7")
    again = accepted(cast.owner, dedupe_key="workorder-event:7", title="different text")
    assert again.pk == first.pk
    assert Notification.objects.count() == 1
    assert OutboxMessage.objects.get().dedupe_key == f"workorder-event:7:sms:{cast.owner.pk}"


def test_the_same_event_still_reaches_each_of_its_recipients(cast):
    accepted(cast.owner, dedupe_key="workorder-event:7")
    accepted(cast.supervisor, dedupe_key="workorder-event:7")
    assert Notification.objects.count() == 2
    assert OutboxMessage.objects.count() == 2


def test_a_duplicate_that_loses_the_race_returns_the_winner_and_leaves_the_transaction_usable(cast, monkeypatch):
    winner = accepted(cast.owner, dedupe_key="workorder-event:8")
    # As if a concurrent transaction committed the same event between our look-up and our insert.
    monkeypatch.setattr(services, "_already_notified", lambda recipient, dedupe_key: None)
    with transaction.atomic():
        loser = accepted(cast.owner, dedupe_key="workorder-event:8")
        monkeypatch.undo()
        assert Notification.objects.count() == 1  # the caller's transaction still works
    assert loser.pk == winner.pk
    assert OutboxMessage.objects.count() == 1


def test_without_a_phone_number_there_is_no_sms(cast):
    owner = UserFactory(phone=None)
    notification = accepted(owner)
    assert Notification.objects.filter(pk=notification.pk).exists()
    assert not OutboxMessage.objects.exists()


def test_wechat_is_skipped_while_nobody_has_bound_wechat(cast):
    accepted(cast.owner, channels=("sms", "wechat"))
    assert list(OutboxMessage.objects.values_list("channel", flat=True)) == [ChannelName.SMS]


def test_wechat_message_uses_the_wechat_template_when_an_openid_is_known(cast, settings):
    settings.NOTIFICATION_CHANNELS = WITH_WECHAT
    accepted(cast.owner, channels=("sms", "wechat", "sms"), wechat_template="TPL-wx", dedupe_key="e:9")
    messages = {m.channel: m for m in OutboxMessage.objects.all()}
    assert set(messages) == {"sms", "wechat"}
    assert messages["wechat"].to == f"openid-{cast.owner.pk}"
    assert messages["wechat"].payload["template"] == "TPL-wx"
    assert messages["wechat"].dedupe_key == f"e:9:wechat:{cast.owner.pk}"


def test_in_app_only_when_no_external_channel_is_asked_for(cast):
    accepted(cast.owner, channels=())
    assert Notification.objects.count() == 1
    assert not OutboxMessage.objects.exists()


def test_a_disabled_account_gets_the_inbox_row_but_no_sms(cast):
    cast.owner.is_active = False
    cast.owner.save(update_fields=["is_active"])
    accepted(cast.owner)
    assert Notification.objects.count() == 1
    assert not OutboxMessage.objects.exists()


def test_text_is_rendered_in_the_recipients_language_not_the_callers(cast):
    with translation.override("en"):  # an English-speaking staff member's request causes the event
        notification = accepted(cast.owner, title=gettext_lazy("Owner"), params={"role": gettext_lazy("Owner")})
    assert notification.title == "业主"
    assert OutboxMessage.objects.get().payload["params"] == {"role": "业主"}


def test_a_recipient_who_prefers_english_gets_english(cast, monkeypatch):
    monkeypatch.setattr(services, "recipient_language", lambda user: "en")
    notification = accepted(cast.owner, title=gettext_lazy("Owner"))
    assert notification.title == "Owner"


def test_text_later_fills_parameters_in_local_time_when_rendered(cast):
    arrival = dt.datetime(2026, 11, 27, 1, 30, tzinfo=UTC)  # 09:30 in Shanghai
    body = text_later(gettext_lazy("%(role)s arrives at %(time)s"), role=gettext_lazy("Owner"), time=arrival)
    notification = accepted(cast.owner, body=body, params={"time": arrival})
    assert notification.body == "业主 arrives at 2026-11-27 09:30"
    assert OutboxMessage.objects.get().payload["params"] == {"time": "2026-11-27 09:30"}


def test_long_titles_are_shortened_to_fit(cast):
    assert len(accepted(cast.owner, title="长" * 300).title) == 200


@pytest.mark.parametrize(
    "overrides",
    [
        {"channels": ("fax",)},
        {"link": "https://evil.example/"},
        {"link": "//evil.example/"},
        {"dedupe_key": ""},
        {"dedupe_key": "k" * 201},
        {"kind": ""},
        {"kind": "k" * 65},
        {"link": "/" + "x" * 500},
    ],
    ids=[
        "unknown channel",
        "absolute link",
        "protocol-relative link",
        "empty key",
        "long key",
        "no kind",
        "long kind",
        "long link",
    ],
)
def test_programming_mistakes_are_refused_before_anything_is_written(cast, overrides):
    with pytest.raises(ValueError):
        accepted(cast.owner, **overrides)
    assert not Notification.objects.exists()


def test_mark_read_records_the_first_reading_only(cast):
    notification = accepted(cast.owner)
    first = dt.datetime(2026, 11, 27, 1, 0, tzinfo=UTC)
    assert notification_mark_read(user=cast.owner, notification_id=notification.pk, now=first).read_at == first
    later = first + dt.timedelta(hours=1)
    assert notification_mark_read(user=cast.owner, notification_id=notification.pk, now=later).read_at == first


def test_nobody_else_can_mark_a_notification_read(cast):
    notification = accepted(cast.owner)
    for member in ("other_owner", "supervisor", "company_admin"):
        with pytest.raises(NotFound):
            notification_mark_read(user=cast.users[member], notification_id=notification.pk)
    notification.refresh_from_db()
    assert notification.read_at is None


def test_mark_all_read_marks_only_the_callers_unread_notifications(cast):
    accepted(cast.owner)
    accepted(cast.owner)
    theirs = accepted(cast.other_owner)
    assert notifications_mark_all_read(user=cast.owner) == 2
    assert notifications_mark_all_read(user=cast.owner) == 0
    theirs.refresh_from_db()
    assert theirs.read_at is None


@pytest.mark.django_db(transaction=True)
def test_two_workers_handling_the_same_event_at_once_notify_once():
    owner = UserFactory()
    start = threading.Barrier(2)
    results, errors = [], []

    def handle_event() -> None:
        try:
            start.wait()
            with transaction.atomic():
                results.append(accepted(owner, dedupe_key="workorder-event:99").pk)
        except Exception as error:  # reported to the main thread below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=handle_event) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors
    assert len(results) == 2 and len(set(results)) == 1
    assert Notification.objects.count() == 1
    assert OutboxMessage.objects.count() == 1
