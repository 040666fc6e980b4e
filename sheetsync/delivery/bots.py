"""Group-chat bots: WeCom (企业微信), DingTalk (钉钉, signed) and Feishu (飞书, signed) webhooks.

Each gets a short markdown summary (prepared by render.py, cell text already neutralised).
Signatures follow the platforms' custom-bot documentation:

- DingTalk: ``sign = urlencode(base64(HMAC-SHA256(key=secret, msg=f"{timestamp_ms}\\n{secret}")))``,
  appended to the webhook URL as ``&timestamp=...&sign=...``.
- Feishu: ``sign = base64(HMAC-SHA256(key=f"{timestamp_s}\\n{secret}", msg=b""))``, sent in the
  JSON body with ``timestamp`` (seconds, as a string).

The timestamp comes from the caller's clock. Webhook URLs carry access tokens, so anything
that reaches a log or an error shows them only through ``redact_url``. The standard library's
urllib is used rather than requests because urllib3 logs full request URLs (tokens included)
at DEBUG level.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import urllib.error
import urllib.request
from datetime import datetime
from typing import Any, Mapping
from urllib.parse import quote_plus

from ..errors import DeliveryError
from ..i18n import Catalogue
from .config import DeliveryConfig, is_addr_spec, redact_url, scrub, url_secrets
from .errors import ChannelDeliveryError
from .render import catalogue_of

log = logging.getLogger(__name__)


def dingtalk_sign(secret: str, timestamp_ms: int) -> str:
    """The base64 signature (not yet url-encoded)."""
    string_to_sign = f"{timestamp_ms}\n{secret}".encode()
    return base64.b64encode(hmac.new(secret.encode(), string_to_sign, hashlib.sha256).digest()).decode()


def feishu_sign(secret: str, timestamp_s: int) -> str:
    key = f"{timestamp_s}\n{secret}".encode()
    return base64.b64encode(hmac.new(key, b"", hashlib.sha256).digest()).decode()


# WeCom refuses a text message over 2048 bytes of UTF-8 (errcode 40058): a long alert is cut to fit.
WECOM_TEXT_BYTES = 2048


def _fit(text: str, limit: int) -> str:
    """``text`` cut after its last whole line (else character) that fits ``limit`` UTF-8 bytes."""
    if len(text.encode()) <= limit:
        return text
    kept: list[str] = []
    for line in text.split("\n"):
        if len("\n".join([*kept, line, "…"]).encode()) > limit:
            break
        kept.append(line)
    if kept:
        return "\n".join([*kept, "…"])
    cut = text
    while len((cut + "…").encode()) > limit:
        cut = cut[:-1]
    return cut + "…"


def bot_request(channel: str, webhook: str, secret: str, title: str, markdown: str,
                now: datetime, mobiles: tuple[str, ...] = (), mention: tuple[str, str] = ("", "")
                ) -> tuple[str, dict[str, Any]]:
    """(url, JSON body) for one bot message. ``secret`` may be empty (bot without signing).

    ``mobiles``: 手机号 to @mention (an alert). WeCom mentions by phone only in a text message
    (``text.mentioned_mobile_list``; its markdown cannot), so an alert goes as text there.
    DingTalk takes ``at.atMobiles`` and shows the mention where the text says ``@<mobile>``.
    A Feishu card mentions by open_id (``<at id=ou_…></at>``) or by e-mail (``<at email=…></at>``),
    not by phone: ``mention`` = (the "@name" the text starts with, the person's 邮箱) puts the
    e-mail mention in place of the name; without an e-mail the card just names the person."""
    if channel == "wecom":
        if mobiles:
            content = _fit(f"{title}\n{markdown}", WECOM_TEXT_BYTES)
            return webhook, {"msgtype": "text", "text": {"content": content, "mentioned_mobile_list": list(mobiles)}}
        return webhook, {"msgtype": "markdown", "markdown": {"content": f"### {title}\n{markdown}"}}
    if channel == "dingtalk":
        url = webhook
        if secret:
            ts = int(now.timestamp() * 1000)
            url += ("&" if "?" in url else "?") + f"timestamp={ts}&sign={quote_plus(dingtalk_sign(secret, ts))}"
        text = f"### {title}\n{markdown}" + "".join(f"\n\n@{m}" for m in mobiles)
        at: dict[str, Any] = {"isAtAll": False, **({"atMobiles": list(mobiles)} if mobiles else {})}
        signed = {"msgtype": "markdown", "markdown": {"title": title, "text": text}, "at": at}
        return url, signed
    if channel == "feishu":
        name, email = mention
        if name and email and is_addr_spec(email) and markdown.startswith(name):
            markdown = f"<at email={email}></at>" + markdown[len(name):]
        body: dict[str, Any] = {
            "msg_type": "interactive",
            "card": {
                "header": {"title": {"tag": "plain_text", "content": title}},
                "elements": [{"tag": "markdown", "content": markdown}],
            },
        }
        if secret:
            ts = int(now.timestamp())
            body = {"timestamp": str(ts), "sign": feishu_sign(secret, ts), **body}
        return webhook, body
    raise ValueError(f"unknown bot channel {channel!r}")


def _platform_error(channel: str, reply: Mapping[str, Any]) -> tuple[Any, str] | None:
    """(code, message) of an error a platform reports inside an HTTP 200 reply (bad signature,
    rate limit...), or None."""
    code = reply.get("code", reply.get("StatusCode")) if channel == "feishu" else reply.get("errcode")
    if code in (None, 0):
        return None
    return code, str(reply.get("msg") or reply.get("errmsg") or reply.get("StatusMessage") or "")


def send_bot(channel: str, cfg: DeliveryConfig, env: Mapping[str, str], title: str, markdown: str, now: datetime,
             language: Catalogue | str | None = None, mobiles: tuple[str, ...] = (),
             mention: tuple[str, str] = ("", "")) -> None:
    """Post one message. Raises ChannelDeliveryError with a reason free of tokens and secrets."""
    webhook = cfg.webhook(channel)
    secret = env.get(cfg.secret_env(channel), "") if cfg.secret_env(channel) else ""
    url, body = bot_request(channel, webhook, secret, title, markdown, now, mobiles, mention)
    hidden = [*url_secrets(url), *url_secrets(webhook), secret]
    request = urllib.request.Request(url, data=json.dumps(body, ensure_ascii=False).encode(), method="POST",
                                     headers={"Content-Type": "application/json; charset=utf-8"})
    where = redact_url(webhook)
    params: dict[str, Any]
    try:
        with urllib.request.urlopen(request, timeout=cfg.bot_timeout) as response:
            raw = response.read()
    except urllib.error.HTTPError as exc:
        key, params = "delivery.bot.http_error", {"code": exc.code}
    except urllib.error.URLError as exc:
        key, params = "delivery.bot.connect_failed", {"error": str(exc.reason)}
    except OSError as exc:  # timeouts, resets
        key, params = "delivery.bot.connect_failed", {"error": str(exc)}
    else:
        try:
            reply = json.loads(raw or b"{}")
        except ValueError:
            log.warning("%s", catalogue_of(language).text("delivery.bot.not_json", channel=channel, where=where))
            return
        problem = _platform_error(channel, reply) if isinstance(reply, dict) else None
        if problem is None:
            return
        key, params = "delivery.bot.platform_error", {"code": problem[0], "message": problem[1]}
    clean = {name: scrub(str(value), hidden) for name, value in {"where": where, **params}.items()}
    raise ChannelDeliveryError(channel, DeliveryError(key, **clean))
