"""External channels behind one interface. Which class serves a channel comes from settings.NOTIFICATION_CHANNELS:

    NOTIFICATION_CHANNELS = {"sms": "wuye.notifications.channels.LocalSmsChannel", "wechat": "..."}

The local classes record what they would have sent (`LocalDelivery`); a real SMS gateway or the WeChat official
account API is a class with the same two methods, named in that setting.
"""

from typing import Protocol

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

from wuye.core import clock

from .choices import ChannelName
from .models import LocalDelivery, OutboxMessage


class DeliveryError(Exception):
    """The channel could not deliver this time (provider down, refused, timed out); the message is retried later."""


class Channel(Protocol):
    name: str

    def address_for(self, user) -> str | None:
        """Where this channel reaches `user` (a phone number, an openid), or None when it cannot."""
        ...

    def send(self, message: OutboxMessage) -> None:
        """Deliver one message or raise DeliveryError. Called outside any transaction: it may wait on the network.

        Delivery is at least once: a deliverer that dies after sending and before recording it lets the message be
        sent again when its claim lapses. Providers that take a caller reference should be given `message.pk`.
        """
        ...


def wechat_openid(user) -> str | None:
    """The openid of `user` for the company's WeChat official account. Nobody has bound WeChat yet (there is no
    binding flow), so there is none and WeChat messages are skipped; the binding, when it comes, is read here."""
    return None


class _LocalChannel:
    name = ""

    def send(self, message: OutboxMessage) -> None:
        payload = message.payload or {}
        LocalDelivery.objects.create(
            message=message,
            channel=self.name,
            to=message.to,
            kind=message.kind,
            template=payload.get("template", ""),
            params=payload.get("params") or {},
            text=self.text(payload),
            link=payload.get("link", ""),
            at=clock.now(),
        )

    def text(self, payload: dict) -> str:
        raise NotImplementedError


class LocalSmsChannel(_LocalChannel):
    """SMS, recorded locally. Real gateways (Aliyun, Tencent Cloud) send a template code with parameters; the
    rendered text is kept too so people can read what an owner would have received."""

    name = ChannelName.SMS

    def address_for(self, user) -> str | None:
        return user.phone or None

    def text(self, payload: dict) -> str:
        return payload.get("body") or payload.get("title", "")


class LocalWeChatChannel(_LocalChannel):
    """WeChat official-account template messages, recorded locally."""

    name = ChannelName.WECHAT

    def address_for(self, user) -> str | None:
        return wechat_openid(user)

    def text(self, payload: dict) -> str:
        return "\n".join(part for part in (payload.get("title", ""), payload.get("body", "")) if part)


def channel_for(name: str) -> Channel:
    """The configured channel for `name` (read on each call, so tests may override the setting)."""
    path = getattr(settings, "NOTIFICATION_CHANNELS", {}).get(name)
    if not path:
        raise ImproperlyConfigured(f"NOTIFICATION_CHANNELS has no channel for {name!r}")
    return import_string(path)()
