"""Delivery of the weekly summary and the daily digest: render, store in the outbox, send by
e-mail and group-chat bots. See outbox.py for the rules that keep messages from being lost
or sent twice."""

from .config import DeliveryConfig
from .errors import ChannelDeliveryError
from .outbox import DeliveryReport, Outbox
from .render import RenderedMessage, render_alert, render_daily, render_weekly

__all__ = [
    "ChannelDeliveryError",
    "DeliveryConfig",
    "DeliveryReport",
    "Outbox",
    "RenderedMessage",
    "render_alert",
    "render_daily",
    "render_weekly",
]
