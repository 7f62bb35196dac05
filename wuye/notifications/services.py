"""Every write about notifications: notify (inbox + outbox, in the caller's transaction), reading, and delivery."""

import datetime as dt
import logging
import uuid
from collections.abc import Mapping

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Q, QuerySet
from django.utils import formats, timezone, translation
from django.utils.functional import Promise, lazy
from django.utils.text import Truncator

from wuye.core import clock

from . import rules
from .channels import Channel, DeliveryError, channel_for
from .choices import DUE_STATUSES, TRANSITIONS, ChannelName, OutboxStatus
from .models import Notification, OutboxMessage
from .permissions import notifications_visible
from .selectors import notification_get

logger = logging.getLogger(__name__)

DEDUPE_KEY_MAX_LENGTH = 200


def recipient_language(user) -> str:
    """The language a person's notifications are written in. People have no stored language preference yet (the
    language menu is a browser cookie), so everyone gets the site's default, Simplified Chinese. A stored
    preference, once there is one, is read here and nowhere else."""
    return settings.LANGUAGE_CODE


def _render_value(value):
    """A template parameter as the recipient reads it: lazy text translated, times in the estate's local time."""
    if isinstance(value, Promise):
        return str(value)
    if isinstance(value, dt.datetime):
        return formats.date_format(timezone.localtime(value), "Y-m-d H:i")
    if isinstance(value, dt.date):
        return formats.date_format(value, "Y-m-d")
    return value


def _interpolate(template, params: Mapping) -> str:
    text = str(template)
    return text % {key: _render_value(value) for key, value in params.items()} if params else text


_interpolate_lazy = lazy(_interpolate, str)


def text_later(template, /, **params) -> Promise:
    """Text rendered only when notify() renders it, in the recipient's language:

        notify(..., title=text_later(gettext_lazy("Order %(number)s was accepted"), number=order.number))

    `gettext(...) % {...}` would render in the language of whoever caused the event (a staff member's English
    phone), not the owner's. Parameters may be lazy text or aware datetimes (shown in local time)."""
    return _interpolate_lazy(template, params)


def _check_link(link: str) -> None:
    # Links are followed by the inbox's "open" view: only paths on this site, never another host.
    if link and (not link.startswith("/") or link.startswith("//") or "\\" in link):
        raise ValueError(f"A notification link must be a path on this site, not {link!r}")
    if len(link) > Notification._meta.get_field("link").max_length:
        raise ValueError("A notification link must be at most 500 characters")


def _already_notified(recipient, dedupe_key: str | None) -> Notification | None:
    if dedupe_key is None:
        return None
    return Notification.objects.filter(recipient=recipient, dedupe_key=dedupe_key).first()


@transaction.atomic
def notify(
    *,
    recipient,
    kind: str,
    title: str | Promise,
    body: str | Promise,
    link: str = "",
    estate=None,
    channels: tuple[str, ...] = (ChannelName.SMS,),
    dedupe_key: str | None = None,
    sms_template: str = "",
    wechat_template: str = "",
    params: dict | None = None,
) -> Notification:
    """Tell `recipient` that something happened: an in-app notification always, and one outbox message per channel
    in `channels` that can reach them (SMS needs a phone number, WeChat a bound openid; channels that cannot reach
    the person are skipped, as are all external channels for a disabled account).

    Call it inside the transaction that records the event: it joins that transaction, so if the event rolls back,
    so does the notification, and nothing is ever sent about something that did not happen.

    `title` and `body` are rendered in the recipient's language: pass lazy text (`gettext_lazy`, `text_later`).
    `params` go to the SMS/WeChat templates (`sms_template`, `wechat_template`), rendered the same way.

    `dedupe_key` names the event (e.g. f"workorder-event:{event.id}"): a second call for the same recipient and key
    returns the first notification and writes nothing, so retried event handling never notifies twice.
    """
    if not 0 < len(kind) <= Notification._meta.get_field("kind").max_length:
        raise ValueError("kind must be a short code such as 'workorder.accepted' (at most 64 characters)")
    unknown = set(channels) - set(ChannelName.values)
    if unknown:
        raise ValueError(f"Unknown notification channel(s): {sorted(unknown)}")
    _check_link(link)
    if dedupe_key is not None and not 0 < len(dedupe_key) <= DEDUPE_KEY_MAX_LENGTH:
        raise ValueError(f"dedupe_key must be 1 to {DEDUPE_KEY_MAX_LENGTH} characters")

    existing = _already_notified(recipient, dedupe_key)
    if existing is not None:
        return existing

    with translation.override(recipient_language(recipient)):
        title_text = Truncator(str(title)).chars(Notification._meta.get_field("title").max_length)
        body_text = str(body)
        rendered_params = {key: _render_value(value) for key, value in (params or {}).items()}

    try:
        # A savepoint: when a concurrent call with the same key wins the race, the caller's transaction stays
        # usable and gets the winner's notification.
        with transaction.atomic():
            notification = Notification.objects.create(
                recipient=recipient,
                estate=estate,
                kind=kind,
                title=title_text,
                body=body_text,
                link=link,
                dedupe_key=dedupe_key,
            )
    except IntegrityError:
        if dedupe_key is None:
            raise
        return Notification.objects.get(recipient=recipient, dedupe_key=dedupe_key)

    if not recipient.is_active:
        return notification
    templates = {ChannelName.SMS: sms_template, ChannelName.WECHAT: wechat_template}
    now = clock.now()
    for name in dict.fromkeys(channels):  # each channel once, in the order given
        channel: Channel = channel_for(name)
        address = channel.address_for(recipient)
        if not address:
            continue
        OutboxMessage.objects.create(
            recipient=recipient,
            notification=notification,
            channel=name,
            kind=kind,
            to=address,
            payload={
                "template": templates.get(name, ""),
                "params": rendered_params,
                "title": title_text,
                "body": body_text,
                "link": link,
            },
            next_attempt_at=now,
            dedupe_key=f"{dedupe_key}:{name}:{recipient.pk}" if dedupe_key is not None else None,
        )
    return notification


@transaction.atomic
def notification_mark_read(*, user, notification_id: int, now: dt.datetime | None = None) -> Notification:
    """Mark one of the user's notifications read (NotFound for anyone else's). Reading it again keeps the first
    time it was read."""
    notification = notification_get(user, notification_id)
    if notification.read_at is None:
        now = now or clock.now()
        if Notification.objects.filter(pk=notification.pk, read_at__isnull=True).update(read_at=now):
            notification.read_at = now
        else:
            notification.refresh_from_db(fields=["read_at"])
    return notification


def notifications_mark_all_read(*, user, now: dt.datetime | None = None) -> int:
    """Mark every unread notification of the user read; returns how many changed."""
    return notifications_visible(user).filter(read_at__isnull=True).update(read_at=now or clock.now())


# --- delivery -------------------------------------------------------------------------------------------------


def _due(now: dt.datetime) -> QuerySet[OutboxMessage]:
    return OutboxMessage.objects.filter(status__in=DUE_STATUSES, next_attempt_at__lte=now).filter(
        Q(claimed_until__isnull=True) | Q(claimed_until__lt=now)
    )


def _claim(*, now: dt.datetime, worker_id: str, limit: int) -> tuple[str, list[OutboxMessage]]:
    """Claim up to `limit` due messages for this batch; returns the batch's claim token and the messages.

    The conditional UPDATE (due and not claimed by anyone else, re-checked as it writes) is what makes a claim
    exclusive, on SQLite (one writer at a time) and on PostgreSQL (a blocked UPDATE re-reads the row and finds
    it claimed). On PostgreSQL the candidates are also read with SKIP LOCKED, so concurrent deliverers take
    different rows instead of queueing behind each other.
    """
    token = f"{worker_id[:60]}:{uuid.uuid4().hex}"
    with transaction.atomic():
        candidates = _due(now).order_by("next_attempt_at", "id")
        if connection.features.has_select_for_update_skip_locked:
            candidates = candidates.select_for_update(skip_locked=True)
        ids = list(candidates.values_list("id", flat=True)[:limit])
        if not ids:
            return token, []
        _due(now).filter(id__in=ids).update(claimed_by=token, claimed_until=now + rules.CLAIM_LEASE)
    return token, list(OutboxMessage.objects.filter(claimed_by=token).order_by("next_attempt_at", "id"))


def _record_outcome(*, message_id: int, token: str, status: str, attempts: int, **fields) -> bool:
    """Move a claimed message to `status` and release the claim, if the move is allowed and the claim is still
    ours; returns whether it moved."""
    allowed_from = [source for source, targets in TRANSITIONS.items() if status in targets]
    return (
        OutboxMessage.objects.filter(pk=message_id, claimed_by=token, status__in=allowed_from).update(
            status=status, attempts=attempts, claimed_by="", claimed_until=None, **fields
        )
        == 1
    )


def outbox_deliver_batch(*, now: dt.datetime, worker_id: str, limit: int = 50) -> int:
    """Claim up to `limit` due outbox messages, send each on its channel, and record the outcome: sent; failed with
    a retry after an exponentially growing wait; or dead after `rules.MAX_ATTEMPTS` tries. Returns how many
    messages it handled (fewer than `limit` means nothing more is due). Safe to run in many processes at once:
    each message is claimed by one of them. Call it outside a transaction: sending waits on the network."""
    token, messages = _claim(now=now, worker_id=worker_id, limit=limit)
    channels: dict[str, Channel] = {}
    for message in messages:
        attempts = message.attempts + 1
        try:
            if message.channel not in channels:
                channels[message.channel] = channel_for(message.channel)
            channels[message.channel].send(message)
        except Exception as error:  # one broken message or provider must not stop the batch
            if isinstance(error, DeliveryError):
                reason = str(error) or type(error).__name__
            else:
                logger.exception("outbox message %s: unexpected error from channel %s", message.pk, message.channel)
                reason = f"{type(error).__name__}: {error}"
            status = rules.status_after_failure(attempts)
            fields = {"last_error": reason[:2000]}
            if status == OutboxStatus.FAILED:
                fields["next_attempt_at"] = now + rules.retry_delay(attempts)
            else:
                logger.warning("outbox message %s gave up after %s attempts: %s", message.pk, attempts, reason)
            _record_outcome(message_id=message.pk, token=token, status=status, attempts=attempts, **fields)
        else:
            _record_outcome(
                message_id=message.pk, token=token, status=OutboxStatus.SENT, attempts=attempts, sent_at=now
            )
    return len(messages)
