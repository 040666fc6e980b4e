"""Group bots against a loopback HTTP server that checks signatures the way DingTalk and Feishu
document them, and answers like they do."""

from __future__ import annotations

import json
import logging
from datetime import timedelta
from urllib.parse import parse_qs, quote_plus, urlsplit

import pytest

from sheetsync.errors import DeliveryError
from sheetsync.core.model import UnresolvedInquiry
from sheetsync.delivery import Outbox, render_daily, render_weekly
from helpers_bots import ENV, NOW, SECRETS, TOKENS, BotServer, bot_config, dingtalk_expected_sign, feishu_expected_sign
from helpers_reports import CJK, english, english_digest, seed_digest, seed_report


def test_dingtalk_signature_verified_as_documented(bots, tmp_path):
    outbox = Outbox(bot_config(bots, "dingtalk"), ENV, clock=lambda: NOW, root=tmp_path)
    delivery = outbox.post(render_daily(seed_digest()))
    assert delivery.ok and delivery.sent == [("daily-2026-11-22", "dingtalk")]
    [req] = bots.requests
    query = parse_qs(urlsplit(req["path"]).query)
    assert query["access_token"] == [TOKENS["dingtalk"]]
    assert query["timestamp"] == [str(int(NOW.timestamp() * 1000))]
    expected = dingtalk_expected_sign(SECRETS["dingtalk"], query["timestamp"][0])
    assert f"sign={quote_plus(expected)}" in req["path"]  # url-encoded in the URL
    assert req["body"]["msgtype"] == "markdown"
    assert req["body"]["markdown"]["title"] == "【小店】客服日报 11.22"
    assert "咨询 **12** 条" in req["body"]["markdown"]["text"]
    assert req["body"]["at"] == {"isAtAll": False}
    assert req["content_type"] == "application/json; charset=utf-8"


def test_feishu_signature_verified_as_documented(bots, tmp_path):
    outbox = Outbox(bot_config(bots, "feishu"), ENV, clock=lambda: NOW, root=tmp_path)
    assert outbox.post(render_weekly(seed_report())).sent == [("weekly-2026-11-16", "feishu")]
    [req] = bots.requests
    body = req["body"]
    assert body["timestamp"] == str(int(NOW.timestamp()))
    assert body["sign"] == feishu_expected_sign(SECRETS["feishu"], body["timestamp"])
    assert body["msg_type"] == "interactive"
    assert body["card"]["header"]["title"]["content"] == "【小店】周报 11.16–11.22"
    assert "- 选品合格率 **90%** (9/10, +20)" in body["card"]["elements"][0]["content"]


def test_wecom_gets_plain_markdown(bots, tmp_path):
    outbox = Outbox(bot_config(bots, "wecom"), ENV, clock=lambda: NOW, root=tmp_path)
    outbox.post(render_weekly(seed_report()))
    [req] = bots.requests
    assert req["body"]["msgtype"] == "markdown"
    assert req["body"]["markdown"]["content"].startswith(
        "### 【小店】周报 11.16–11.22\n- 选品合格率 **90%** (9/10, +20)")
    assert "- 未解决问题 **3** 条" in req["body"]["markdown"]["content"]


@pytest.mark.parametrize("channel, secret, expected", [
    ("dingtalk", "not-the-secret", "平台返回错误 310000: sign not match"),
    ("feishu", "not-the-secret", "平台返回错误 19021: sign match fail"),
])
def test_wrong_secret_is_refused_and_message_kept(bots, tmp_path, channel, secret, expected):
    env = {**ENV, f"{channel.upper()}_SECRET": secret}
    outbox = Outbox(bot_config(bots, channel), env, clock=lambda: NOW, root=tmp_path)
    [error] = outbox.post(render_daily(seed_digest())).failed
    assert expected in str(error) and error.channel == channel
    assert outbox.pending() == ["daily-2026-11-22"]


def test_stale_clock_fails_signature_window(bots, tmp_path):
    outbox = Outbox(bot_config(bots, "dingtalk"), ENV, clock=lambda: NOW - timedelta(hours=2), root=tmp_path)
    [error] = outbox.post(render_daily(seed_digest())).failed
    assert "sign not match" in str(error)


@pytest.mark.parametrize("channel", ["wecom", "dingtalk", "feishu"])
def test_cell_text_cannot_inject_markdown_or_mentions(bots, tmp_path, channel):
    evil = UnresolvedInquiry(4, "@all", "其他", "[x](http://evil)", "<at user_id=\"all\"></at>", None)
    digest = seed_digest(shop="[店](http://evil) @all", unresolved=(evil,))
    Outbox(bot_config(bots, channel), ENV, clock=lambda: NOW, root=tmp_path).post(render_daily(digest))
    [text] = bots.texts()
    body = json.dumps(bots.requests[0]["body"], ensure_ascii=False)
    for bad in ("@all", "](", "[x]", "[店]", "<at", "http://evil"):
        assert bad not in text and bad not in body
    assert "＠all" in text  # still readable


def test_5xx_stays_in_outbox_and_is_sent_once_on_next_run(bots, tmp_path):
    bots.fail["dingtalk"] = [502]
    config = bot_config(bots, "dingtalk")
    outbox = Outbox(config, ENV, clock=lambda: NOW, root=tmp_path)

    first = outbox.post(render_weekly(seed_report()))
    [error] = first.failed
    assert isinstance(error, DeliveryError)
    assert str(error) == ("消息 weekly-2026-11-16 通过钉钉机器人发送失败: "
                          f"http://127.0.0.1:{bots.port}/… 返回 HTTP 502。消息留在 outbox 里, 下次运行会重试。")
    assert outbox.pending() == ["weekly-2026-11-16"]

    restarted = Outbox(config, ENV, clock=lambda: NOW + timedelta(minutes=15), root=tmp_path)
    assert restarted.deliver_pending().sent == [("weekly-2026-11-16", "dingtalk")]
    assert restarted.deliver_pending().sent == []
    assert restarted.post(render_weekly(seed_report())).sent == []  # same week rendered again
    assert len(bots.requests) == 2  # the failed attempt and the one that worked
    assert (tmp_path / "sent" / "weekly-2026-11-16.json").exists()


def test_secrets_never_in_logs_errors_or_outbox(bots, tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    channels = ("wecom", "dingtalk", "feishu")
    for channel in channels:
        bots.fail[channel] = [500]
    outbox = Outbox(bot_config(bots, *channels), ENV, clock=lambda: NOW, root=tmp_path)
    errors = outbox.post(render_weekly(seed_report())).failed

    closed = BotServer()
    closed.close()  # nothing listens on its port any more: connection refused
    down = bot_config(closed, *channels, url=closed.url)
    errors += Outbox(down, ENV, clock=lambda: NOW, root=tmp_path / "down").post(render_daily(seed_digest())).failed

    assert sorted(e.channel for e in errors) == sorted(channels * 2)
    shown = "\n".join(str(e) for e in errors) + caplog.text
    files = b"".join(p.read_bytes() for p in tmp_path.rglob("*") if p.is_file())
    for secret in (*TOKENS.values(), *SECRETS.values()):
        assert secret not in shown
        assert secret.encode() not in files
    assert "DeliveryConfig(" in repr(down) and TOKENS["dingtalk"] not in repr(down)


def test_english_template_bots_get_english_text_and_english_errors(bots, tmp_path, caplog):
    caplog.set_level(logging.INFO)
    channels = ("wecom", "dingtalk", "feishu")
    outbox = Outbox(bot_config(bots, *channels), ENV, clock=lambda: NOW, root=tmp_path, language="en")
    evil = UnresolvedInquiry(4, "@all", "other", "[x](http://evil)", "Tina", None)
    assert outbox.post(render_weekly(english(seed_report()), "en")).ok
    assert outbox.post(render_daily(english_digest(unresolved=(evil,)), "en")).ok
    assert len(bots.requests) == 6
    for request in bots.requests:
        body = json.dumps(request["body"], ensure_ascii=False)
        assert not CJK.findall(body), body
        assert "@all" not in body and "](" not in body
    assert bots.texts()[0].startswith("### [Sparkle Lab] Weekly report Nov 16–Nov 22\n"
                                      "- Product pass rate **90%** (9/10, +20 pts)")
    assert "weekly-2026-11-16 sent via the WeCom bot (http://127.0.0.1:" in caplog.text

    bots.fail["dingtalk"] = [502]
    failing = Outbox(bot_config(bots, "dingtalk"), ENV, clock=lambda: NOW, root=tmp_path / "retry", language="en")
    [error] = failing.post(render_weekly(english(seed_report()), "en")).failed
    assert error.render(failing.cat) == (
        "Message weekly-2026-11-16: sending via the DingTalk bot failed: "
        f"http://127.0.0.1:{bots.port}/… answered HTTP 502. "
        "The message stays in the outbox and is retried on the next run.")
    manifest = json.loads((tmp_path / "retry" / "weekly-2026-11-16.json").read_text(encoding="utf-8"))
    assert manifest["errors"]["dingtalk"] == f"http://127.0.0.1:{bots.port}/… answered HTTP 502"
    assert not CJK.findall(caplog.text), caplog.text
