"""Notifications: the in-app inbox, the outbox of messages for external channels, and what local channels "sent".

A domain service calls `services.notify()` inside its own transaction: the inbox row and the outbox rows commit or
roll back with the event that caused them. A deliverer (`deliver_outbox`) later sends each outbox row on its channel.
"""

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from wuye.estates.models import Estate

from .choices import DUE_STATUSES, ChannelName, OutboxStatus


class Notification(models.Model):
    """One message in a person's in-app inbox (portal for owners, desk for staff): "your repair was accepted",
    "order 2026-0042 was assigned to you". Title and body are rendered in the recipient's language when written."""

    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications", verbose_name=_("recipient")
    )
    estate = models.ForeignKey(
        Estate,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="notifications",
        verbose_name=_("estate"),
    )
    kind = models.CharField(
        _("kind"), max_length=64, help_text=_("What happened, as a short code such as workorder.accepted.")
    )
    title = models.CharField(_("title"), max_length=200)
    body = models.TextField(_("text"), blank=True)
    link = models.CharField(_("link"), max_length=500, blank=True, help_text=_("A page of this site, e.g. /portal/…"))
    dedupe_key = models.CharField(
        _("de-duplication key"),
        max_length=200,
        null=True,
        blank=True,
        help_text=_("The event this notification is about; the same key never notifies the same person twice."),
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    read_at = models.DateTimeField(_("read at"), null=True, blank=True)

    class Meta:
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        constraints = [
            models.UniqueConstraint(
                fields=["recipient", "dedupe_key"],
                condition=Q(dedupe_key__isnull=False),
                name="notification_once_per_event",
            ),
        ]
        indexes = [
            # The unread badge on every page (count of recipient's rows with read_at NULL) and the "unread" filter.
            models.Index(fields=["recipient", "read_at", "created_at"], name="notification_inbox_unread_idx"),
            # The inbox list: one recipient's notifications, newest first.
            models.Index(fields=["recipient", "-created_at"], name="notification_inbox_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.recipient_id} · {self.kind} · {self.title}"

    @property
    def is_read(self) -> bool:
        return self.read_at is not None


class OutboxMessage(models.Model):
    """One message to deliver on one external channel (SMS, WeChat) to one person, written in the same transaction
    as the event. A deliverer claims it with a lease, sends it, and marks it sent, schedules a retry, or gives up."""

    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="outbox_messages", verbose_name=_("recipient")
    )
    notification = models.ForeignKey(
        Notification,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="outbox_messages",
        verbose_name=_("notification"),
    )
    channel = models.CharField(_("channel"), max_length=20, choices=ChannelName.choices)
    kind = models.CharField(_("kind"), max_length=64)
    to = models.CharField(_("to"), max_length=128, help_text=_("A mobile number for SMS, an openid for WeChat."))
    payload = models.JSONField(
        _("payload"), encoder=DjangoJSONEncoder, default=dict, help_text=_("Template code, its parameters and text.")
    )
    status = models.CharField(_("status"), max_length=10, choices=OutboxStatus.choices, default=OutboxStatus.PENDING)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt at"))
    claimed_by = models.CharField(_("claimed by"), max_length=100, blank=True)
    claimed_until = models.DateTimeField(_("claimed until"), null=True, blank=True)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    last_error = models.TextField(_("last error"), blank=True)
    dedupe_key = models.CharField(_("de-duplication key"), max_length=250, unique=True, null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("outbox message")
        verbose_name_plural = _("outbox messages")
        indexes = [
            # The deliverer's claim: due messages (pending or waiting for a retry), oldest due first. Partial, so
            # sent and dead rows (nearly all of them, in time) stay out of it.
            models.Index(
                fields=["next_attempt_at", "id"],
                condition=Q(status__in=DUE_STATUSES),
                name="outbox_due_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.channel} → {self.to} · {self.kind} · {self.status}"


class LocalDelivery(models.Model):
    """What a local channel would have sent: the stand-in for an SMS gateway or the WeChat API on development
    machines, in tests and in the demo. A real provider sends instead and writes no row here."""

    message = models.ForeignKey(
        OutboxMessage,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="local_deliveries",
        verbose_name=_("outbox message"),
    )
    channel = models.CharField(_("channel"), max_length=20, choices=ChannelName.choices)
    to = models.CharField(_("to"), max_length=128)
    kind = models.CharField(_("kind"), max_length=64)
    template = models.CharField(_("template"), max_length=100, blank=True)
    params = models.JSONField(_("template parameters"), encoder=DjangoJSONEncoder, default=dict)
    text = models.TextField(_("text"), blank=True)
    link = models.CharField(_("link"), max_length=500, blank=True)
    at = models.DateTimeField(_("sent at"))

    class Meta:
        verbose_name = _("locally recorded message")
        verbose_name_plural = _("locally recorded messages")
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.channel} → {self.to} · {self.kind}"
