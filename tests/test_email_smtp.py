"""The weekly e-mail over real SMTP on loopback (aiosmtpd): plain, STARTTLS and implicit TLS,
with AUTH PLAIN / LOGIN, parsed back from the bytes the server received."""

from __future__ import annotations

import datetime as dt
import logging

import pytest

from sheetsync.errors import DeliveryError
from sheetsync.delivery import DeliveryConfig, Outbox, render_weekly
from helpers_reports import CJK, english, seed_report
from helpers_smtp import PASSWORD, USER, free_port

NOW = dt.datetime(2026, 11, 22, 12, 0, tzinfo=dt.timezone.utc)


def smtp_config(port: int, security: str, cert_files, username: str | None) -> DeliveryConfig:
    table = {"host": "127.0.0.1", "port": port, "security": security, "from": "小店周报 <shop@example.com>",
             "timeout": 5, "ca_file": str(cert_files[0])}
    if username:
        table.update(username=username, password_env="SHOP_SMTP_PASSWORD")
    return DeliveryConfig.from_mapping({"smtp": table}, {"SHOP_SMTP_PASSWORD": PASSWORD})


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")  # aiosmtpd's view of implicit TLS
@pytest.mark.parametrize("security, mechanism", [
    ("none", None),
    ("starttls", "PLAIN"),
    ("starttls", "LOGIN"),
    ("ssl", "PLAIN"),
])
def test_weekly_email_arrives_intact(tmp_path, smtp_server, cert_files, security, mechanism):
    inbox, port = smtp_server(security, mechanism)
    config = smtp_config(port, security, cert_files, USER if mechanism else None)
    outbox = Outbox(config, {"SHOP_SMTP_PASSWORD": PASSWORD}, clock=lambda: NOW, root=tmp_path / "outbox")
    report = seed_report()
    expected = render_weekly(report)

    delivery = outbox.post(render_weekly(report))

    assert delivery.ok and delivery.sent == [("weekly-2026-11-16", "email")]
    assert len(inbox.envelopes) == 1
    envelope = inbox.envelopes[0]
    assert envelope.mail_from == "shop@example.com"
    assert envelope.rcpt_tos == ["boss@example.com", "cs@example.com"]
    msg = inbox.parsed()
    assert msg["Subject"] == "【小店】周报 11.16–11.22 选品合格率 90%(+20)"
    assert msg["To"] == "boss@example.com, cs@example.com"
    assert msg["From"].addresses[0].display_name == "小店周报"
    assert msg["Message-ID"] == expected.message_id
    assert msg.get_content_type() == "multipart/alternative"
    text, related = msg.get_payload()
    assert text.get_content_type() == "text/plain"
    assert "选品合格率: 90% (9/10), 上周 70%, 变化 +20" in text.get_content()
    assert related.get_content_type() == "multipart/related"
    html, image = related.get_payload()
    assert html.get_content_type() == "text/html"
    assert image.get_content_type() == "image/png"
    assert image.get_content_disposition() == "inline"
    cid = image["Content-ID"].strip("<>")
    assert f'src="cid:{cid}"' in html.get_content()
    assert image.get_content() == expected.images[0].data
    # delivered once: the item moved to sent/, and the same week is never sent again
    assert (tmp_path / "outbox" / "sent" / "weekly-2026-11-16.eml").exists()
    assert outbox.post(render_weekly(report)).sent == []
    assert len(inbox.envelopes) == 1


def test_message_id_stable_across_renders_of_the_same_week(tmp_path, smtp_server, cert_files):
    inbox, port = smtp_server("none")
    config = smtp_config(port, "none", cert_files, None)
    first = Outbox(config, {}, clock=lambda: NOW, root=tmp_path / "a")
    second = Outbox(config, {}, clock=lambda: NOW + dt.timedelta(hours=1), root=tmp_path / "b")
    first.post(render_weekly(seed_report()))
    second.post(render_weekly(seed_report(first_counts=(8, 10))))  # re-rendered after a fix
    ids = [inbox.parsed(i)["Message-ID"] for i in range(2)]
    assert ids[0] == ids[1] == render_weekly(seed_report()).message_id


def test_header_injection_through_shop_name_and_recipients(tmp_path, smtp_server, cert_files):
    inbox, port = smtp_server("none")
    outbox = Outbox(smtp_config(port, "none", cert_files, None), {}, clock=lambda: NOW, root=tmp_path)
    report = seed_report(shop="小店\r\nBcc: x@y",
                         recipients=("boss@example.com", "cs@example.com\r\nBcc: evil@example.com"))
    outbox.post(render_weekly(report))
    msg = inbox.parsed()
    assert msg["Bcc"] is None
    assert msg["Subject"] == "【小店 Bcc: x@y】周报 11.16–11.22 选品合格率 90%(+20)"
    assert inbox.envelopes[0].rcpt_tos == ["boss@example.com"]


def test_wrong_password_keeps_message_and_never_shows_password(tmp_path, smtp_server, cert_files, caplog):
    caplog.set_level(logging.DEBUG)
    inbox, port = smtp_server("starttls", "PLAIN")
    config = smtp_config(port, "starttls", cert_files, USER)
    wrong = "wrong-pass-" + PASSWORD
    outbox = Outbox(config, {"SHOP_SMTP_PASSWORD": wrong}, clock=lambda: NOW, root=tmp_path)

    delivery = outbox.post(render_weekly(seed_report()))

    assert inbox.envelopes == []
    [error] = delivery.failed
    assert isinstance(error, DeliveryError) and error.channel == "email"
    assert f"127.0.0.1:{port} 拒绝登录 (535)" in str(error)
    assert "SHOP_SMTP_PASSWORD" in str(error) and "留在 outbox" in str(error)
    assert outbox.pending() == ["weekly-2026-11-16"]
    files = b"".join(p.read_bytes() for p in tmp_path.rglob("*") if p.is_file())
    for secret in (wrong, PASSWORD):
        assert secret not in str(error) and secret not in caplog.text
        assert secret.encode() not in files

    fixed = Outbox(config, {"SHOP_SMTP_PASSWORD": PASSWORD}, clock=lambda: NOW, root=tmp_path)
    assert fixed.deliver_pending().sent == [("weekly-2026-11-16", "email")]
    assert len(inbox.envelopes) == 1 and fixed.pending() == []


def test_server_down_then_up_delivers_on_next_run(tmp_path, smtp_server, cert_files):
    port = free_port()
    outbox = Outbox(smtp_config(port, "none", cert_files, None), {}, clock=lambda: NOW, root=tmp_path)
    first = outbox.post(render_weekly(seed_report()))
    assert [e.channel for e in first.failed] == ["email"]
    assert f"连接 127.0.0.1:{port} (none) 失败" in str(first.failed[0])
    assert outbox.pending() == ["weekly-2026-11-16"]

    inbox, _port = smtp_server("none", port=port)
    assert outbox.deliver_pending().sent == [("weekly-2026-11-16", "email")]
    assert outbox.deliver_pending().sent == []
    assert len(inbox.envelopes) == 1


def test_untrusted_certificate_is_refused(tmp_path, smtp_server, cert_files):
    inbox, port = smtp_server("starttls")
    table = {"host": "127.0.0.1", "port": port, "security": "starttls", "from": "shop@example.com", "timeout": 5}
    outbox = Outbox(DeliveryConfig.from_mapping({"smtp": table}, {}), {}, clock=lambda: NOW, root=tmp_path)
    [error] = outbox.post(render_weekly(seed_report())).failed
    assert "CERTIFICATE_VERIFY_FAILED" in str(error)
    assert inbox.envelopes == []


def test_non_ascii_password_is_explained_not_crashed(tmp_path, smtp_server, cert_files, caplog):
    inbox, port = smtp_server("starttls", "PLAIN")
    secret = "授权码-secret"
    outbox = Outbox(smtp_config(port, "starttls", cert_files, USER), {"SHOP_SMTP_PASSWORD": secret},
                    clock=lambda: NOW, root=tmp_path)
    [error] = outbox.post(render_weekly(seed_report())).failed
    assert "SHOP_SMTP_PASSWORD 里的密码含有中文等非 ASCII 字符" in str(error)
    assert secret not in str(error) and secret not in caplog.text
    assert inbox.envelopes == [] and outbox.pending() == ["weekly-2026-11-16"]


def test_english_weekly_email_is_english_through_and_through(tmp_path, smtp_server, cert_files, caplog):
    caplog.set_level(logging.INFO)
    inbox, port = smtp_server("none")
    table = {"host": "127.0.0.1", "port": port, "security": "none", "from": "Sparkle Lab <shop@example.com>"}
    config = DeliveryConfig.from_mapping({"smtp": table}, {})
    outbox = Outbox(config, {}, clock=lambda: NOW, root=tmp_path, language="en")
    assert outbox.post(render_weekly(english(seed_report()), "en")).ok
    msg = inbox.parsed()
    assert msg["Subject"] == "[Sparkle Lab] Weekly report Nov 16–Nov 22: Product pass rate 90% (+20 pts)"
    text, related = msg.get_payload()
    html, _image = related.get_payload()
    for part in (str(msg["Subject"]), text.get_content(), html.get_content()):
        assert not CJK.findall(part), part
    assert "weekly-2026-11-16 sent via e-mail to boss@example.com, cs@example.com." in caplog.text


def test_english_login_error(tmp_path, smtp_server, cert_files):
    inbox, port = smtp_server("starttls", "PLAIN")
    outbox = Outbox(smtp_config(port, "starttls", cert_files, USER), {"SHOP_SMTP_PASSWORD": "wrong"},
                    clock=lambda: NOW, root=tmp_path, language="en")
    [error] = outbox.post(render_weekly(english(seed_report()), "en")).failed
    assert error.render(outbox.cat) == (
        f"Sending via e-mail failed: 127.0.0.1:{port} refused the login (535). Check the username and the password "
        "or app password in the environment variable SHOP_SMTP_PASSWORD. The message stays in the outbox and is "
        "retried on the next run.").replace("Sending via", "Message weekly-2026-11-16: sending via")
