"""Delivering the outbox: sent once through the configured channel, retried with backoff, given up on, never twice."""

import datetime as dt
import threading

import pytest
from django.core.management import call_command
from django.db import DatabaseError, connection

from wuye.core import scheduler
from wuye.notifications import rules, services, tasks
from wuye.notifications.channels import DeliveryError, LocalSmsChannel
from wuye.notifications.choices import TRANSITIONS, OutboxStatus
from wuye.notifications.management.commands.deliver_outbox import DeliveryLoop
from wuye.notifications.models import LocalDelivery, OutboxMessage
from wuye.notifications.services import notify, outbox_deliver_batch
from wuye.testing.factories import UserFactory

NOW = dt.datetime(2026, 11, 27, 2, 0, tzinfo=dt.UTC)


class FailingSmsChannel(LocalSmsChannel):
    """An SMS gateway that is down."""

    def send(self, message):
        raise DeliveryError("gateway answered 503")


class BrokenSmsChannel(LocalSmsChannel):
    """A channel with a bug in it."""

    def send(self, message):
        raise KeyError("TemplateCode")


def channels(sms_class: str) -> dict:
    return {"sms": f"wuye.notifications.tests.test_delivery.{sms_class}", "wechat": "unused"}


def notify_owner(recipient, number: int = 1) -> OutboxMessage:
    notification = notify(
        recipient=recipient,
        kind="workorder.dispatched",
        title="师傅已派单",
        body=f"工单 WO-{number}：张师傅将于 10:30 前到达。",
        link="/portal/",
        sms_template="SMS_DISPATCHED",
        params={"number": f"WO-{number}", "technician": "张师傅"},
    )
    message = OutboxMessage.objects.get(notification=notification)
    OutboxMessage.objects.filter(pk=message.pk).update(next_attempt_at=NOW)
    return message


def deliver(now=NOW, limit=50) -> int:
    return outbox_deliver_batch(now=now, worker_id="test-worker", limit=limit)


@pytest.mark.django_db
class TestDelivery:
    def test_a_due_message_is_sent_through_the_local_sms_channel_and_recorded(self, cast):
        message = notify_owner(cast.owner)
        assert deliver() == 1
        message.refresh_from_db()
        assert message.status == OutboxStatus.SENT
        assert (message.sent_at, message.attempts) == (NOW, 1)
        assert (message.claimed_by, message.claimed_until) == ("", None)
        record = LocalDelivery.objects.get()
        assert record.message == message
        assert (record.channel, record.to, record.kind) == ("sms", cast.owner.phone, "workorder.dispatched")
        assert record.template == "SMS_DISPATCHED"
        assert record.params == {"number": "WO-1", "technician": "张师傅"}
        assert record.text == "工单 WO-1：张师傅将于 10:30 前到达。"
        assert deliver() == 0

    def test_a_message_not_yet_due_waits(self, cast):
        notify_owner(cast.owner)
        assert deliver(now=NOW - dt.timedelta(seconds=1)) == 0
        assert not LocalDelivery.objects.exists()

    def test_a_batch_takes_at_most_limit_messages_oldest_first(self, cast):
        first = notify_owner(cast.owner, 1)
        second = notify_owner(cast.owner, 2)
        OutboxMessage.objects.filter(pk=second.pk).update(next_attempt_at=NOW - dt.timedelta(minutes=1))
        assert deliver(limit=1) == 1
        assert LocalDelivery.objects.get().message_id == second.pk
        assert deliver(limit=1) == 1
        assert set(LocalDelivery.objects.values_list("message_id", flat=True)) == {first.pk, second.pk}

    def test_a_failure_is_retried_after_a_growing_wait(self, cast, settings):
        settings.NOTIFICATION_CHANNELS = channels("FailingSmsChannel")
        message = notify_owner(cast.owner)
        assert deliver() == 1
        message.refresh_from_db()
        assert (message.status, message.attempts) == (OutboxStatus.FAILED, 1)
        assert message.next_attempt_at == NOW + dt.timedelta(minutes=1)
        assert message.last_error == "gateway answered 503"
        assert message.claimed_until is None
        assert deliver(now=NOW + dt.timedelta(seconds=59)) == 0
        assert deliver(now=NOW + dt.timedelta(minutes=1)) == 1
        message.refresh_from_db()
        assert message.attempts == 2
        assert message.next_attempt_at == NOW + dt.timedelta(minutes=1) + dt.timedelta(minutes=2)

    def test_a_message_that_failed_is_sent_once_the_gateway_is_back(self, cast, settings):
        settings.NOTIFICATION_CHANNELS = channels("FailingSmsChannel")
        message = notify_owner(cast.owner)
        deliver()
        settings.NOTIFICATION_CHANNELS = channels("LocalSmsChannel")
        assert deliver(now=NOW + dt.timedelta(minutes=1)) == 1
        message.refresh_from_db()
        assert (message.status, message.attempts) == (OutboxStatus.SENT, 2)
        assert LocalDelivery.objects.count() == 1

    def test_after_the_last_attempt_a_message_is_dead_and_left_alone(self, cast, settings):
        settings.NOTIFICATION_CHANNELS = channels("FailingSmsChannel")
        message = notify_owner(cast.owner)
        now = NOW
        for attempt in range(1, rules.MAX_ATTEMPTS + 1):
            assert deliver(now=now) == 1
            message.refresh_from_db()
            assert message.attempts == attempt
            now = message.next_attempt_at
        assert message.status == OutboxStatus.DEAD
        assert deliver(now=now + dt.timedelta(days=30)) == 0

    def test_a_bug_in_a_channel_counts_as_a_failure_and_the_batch_goes_on(self, cast, settings):
        settings.NOTIFICATION_CHANNELS = channels("BrokenSmsChannel")
        notify_owner(cast.owner, 1)
        notify_owner(cast.other_owner, 2)
        assert deliver() == 2
        assert set(OutboxMessage.objects.values_list("status", flat=True)) == {OutboxStatus.FAILED}
        assert "KeyError" in OutboxMessage.objects.first().last_error

    def test_a_claim_held_by_a_live_deliverer_is_respected(self, cast):
        message = notify_owner(cast.owner)
        OutboxMessage.objects.filter(pk=message.pk).update(claimed_by="other", claimed_until=NOW + dt.timedelta(1))
        assert deliver() == 0

    def test_the_claim_of_a_deliverer_that_died_lapses(self, cast):
        message = notify_owner(cast.owner)
        OutboxMessage.objects.filter(pk=message.pk).update(
            claimed_by="dead-worker:abc", claimed_until=NOW - dt.timedelta(seconds=1)
        )
        assert deliver() == 1
        message.refresh_from_db()
        assert message.status == OutboxStatus.SENT

    def test_the_deliver_outbox_task_delivers_what_is_due(self, cast):
        notify_owner(cast.owner)
        OutboxMessage.objects.update(next_attempt_at=NOW - dt.timedelta(days=1))
        assert tasks.deliver_outbox.call() == {"handled": 1}
        assert LocalDelivery.objects.count() == 1

    def test_the_deliver_outbox_command_runs_one_batch_with_once(self, cast, capsys):
        notify_owner(cast.owner)
        OutboxMessage.objects.update(next_attempt_at=NOW - dt.timedelta(days=1))
        call_command("deliver_outbox", "--once")
        assert "handled 1 message(s)" in capsys.readouterr().out
        assert OutboxMessage.objects.get().status == OutboxStatus.SENT


@pytest.mark.parametrize(
    ("source", "target"), [(s, t) for s in OutboxStatus.values for t in OutboxStatus.values], ids=lambda v: str(v)
)
@pytest.mark.django_db
def test_outcomes_follow_the_transitions_table(cast, source, target):
    message = notify_owner(cast.owner)
    OutboxMessage.objects.filter(pk=message.pk).update(status=source, claimed_by="token")
    moved = services._record_outcome(message_id=message.pk, token="token", status=target, attempts=1)
    assert moved == (target in TRANSITIONS[source])
    message.refresh_from_db()
    assert message.status == (target if moved else source)


@pytest.mark.django_db
def test_an_outcome_is_not_recorded_over_someone_elses_claim(cast):
    message = notify_owner(cast.owner)
    OutboxMessage.objects.filter(pk=message.pk).update(claimed_by="someone-else")
    assert not services._record_outcome(message_id=message.pk, token="mine", status=OutboxStatus.SENT, attempts=1)


def test_retry_waits_double_each_time_up_to_an_hour():
    assert [rules.retry_delay(n).total_seconds() / 60 for n in range(1, 9)] == [1, 2, 4, 8, 16, 32, 60, 60]
    assert rules.retry_delay(10_000) == dt.timedelta(hours=1)
    assert rules.status_after_failure(rules.MAX_ATTEMPTS - 1) == OutboxStatus.FAILED
    assert rules.status_after_failure(rules.MAX_ATTEMPTS) == OutboxStatus.DEAD


def test_delivery_is_registered_to_run_every_30_seconds():
    job = {job.name: job for job in scheduler.registered_jobs()}["notifications.deliver_outbox"]
    assert job.every == dt.timedelta(seconds=30)
    assert job.task is tasks.deliver_outbox


def test_the_delivery_loop_runs_one_batch_per_turn_and_stops_when_told(monkeypatch):
    loop = DeliveryLoop(worker_id="w", limit=10, idle_seconds=0.1)
    calls = []

    def batch(*, now, worker_id, limit):
        calls.append(limit)
        if len(calls) == 1:
            raise DatabaseError("server closed the connection unexpectedly")  # survives it and carries on
        if len(calls) == 3:
            loop.stop()
        return 10  # a full batch: more may be waiting, so no idle wait

    monkeypatch.setattr(services, "outbox_deliver_batch", batch)
    monkeypatch.setattr("wuye.notifications.management.commands.deliver_outbox.close_old_connections", lambda: None)
    loop.run()
    assert calls == [10, 10, 10]


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_deliverers_send_each_message_exactly_once():
    recipients = [UserFactory() for _ in range(30)]
    for number, recipient in enumerate(recipients):
        notify_owner(recipient, number)
    start = threading.Barrier(2)
    errors = []

    def deliverer(name: str) -> None:
        try:
            start.wait()
            while outbox_deliver_batch(now=NOW, worker_id=name, limit=4):
                pass
        except Exception as error:  # reported to the main thread below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=deliverer, args=(f"worker-{n}",)) for n in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors
    assert set(OutboxMessage.objects.values_list("status", flat=True)) == {OutboxStatus.SENT}
    sent_per_message = [message.local_deliveries.count() for message in OutboxMessage.objects.all()]
    assert sent_per_message == [1] * 30
