"""Delivery errors: one channel failed for one message.

The reason is itself a keyed error (``DeliveryError("delivery.bot.http_error", where=…, code=502)``)
whose parameters were scrubbed of passwords, tokens and signatures before it was built, so the
error can be rendered, logged or written to a manifest in any language without leaking a secret.
"""

from __future__ import annotations

from typing import Any

from ..errors import DeliveryError, SheetsyncError

CHANNELS = ("email", "wecom", "dingtalk", "feishu")


def channel_label(channel: str, catalogue: Any = None) -> str:
    """'邮件', '钉钉机器人', 'the DingTalk bot'..."""
    from ..i18n import active

    cat = catalogue or active()
    key = f"delivery.channel.{channel}"
    return cat.text(key) if cat.has(key) else channel


def render_reason(reason: SheetsyncError | str, catalogue: Any = None) -> str:
    return reason.render(catalogue) if isinstance(reason, SheetsyncError) else str(reason)


class ChannelDeliveryError(DeliveryError):
    """One channel failed for one message. ``reason`` is already redacted; the message stays
    in the outbox and is retried by the next ``deliver_pending()``. ``item`` is the message key
    ('weekly-2026-11-16') once the outbox knows which message it was."""

    def __init__(self, channel: str, reason: SheetsyncError | str, item: str = ""):
        super().__init__("delivery.error.failed_item" if item else "delivery.error.failed",
                         channel=channel, reason=reason, item=item)
        self.channel = channel
        self.reason = reason
        self.item = item

    def render(self, catalogue: Any = None) -> str:
        from ..i18n import active

        cat = catalogue or active()
        return cat.text(self.key, channel=channel_label(self.channel, cat),
                        reason=render_reason(self.reason, cat), item=self.item)
