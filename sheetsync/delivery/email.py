"""The e-mail channel: build the MIME message, send it with smtplib.

Structure (what phone and desktop clients both render)::

    multipart/alternative
      text/plain                 the plain-text part
      multipart/related
        text/html                refers to the chart as <img src="cid:...">
        image/png                Content-ID: <...>, inline

The message gets a stable Message-ID (see render.message_id), so a retried send is recognised
as the same message by the outbox and by mail clients.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
from contextlib import contextmanager
from datetime import datetime
from email import policy
from email.message import EmailMessage
from email.utils import format_datetime, getaddresses, parseaddr
from typing import Iterable, Iterator, Mapping

from .config import ChannelDeliveryError, DeliveryConfig, is_addr_spec, scrub
from .render import RenderedMessage, clean_header

log = logging.getLogger(__name__)

# used in the From header of messages written to the outbox while no SMTP server is configured
PREVIEW_SENDER = "sheetsync <sheetsync@localhost>"


def clean_recipients(addresses: Iterable[str]) -> tuple[str, ...]:
    """Addresses from cells, cleaned and de-duplicated; anything that is not a single plain
    address (e.g. 'x@y\\r\\nBcc: z@w', 'a@b, c@d' in one cell) is dropped with a warning."""
    out: list[str] = []
    for raw in addresses:
        addr = clean_header(raw)
        if is_addr_spec(addr):
            if addr.lower() not in (a.lower() for a in out):
                out.append(addr)
        else:
            log.warning("收件人「%s」不是有效的邮箱地址, 已跳过。请检查「成员」表的邮箱或「设置」的周报收件人。", addr)
    return tuple(out)


def build_email(msg: RenderedMessage, *, sender: str, date: datetime) -> EmailMessage:
    """The MIME message for ``msg`` as it is stored in the outbox and sent."""
    em = EmailMessage(policy=policy.default)
    em["Subject"] = clean_header(msg.subject)
    em["From"] = sender
    recipients = clean_recipients(msg.recipients)
    if recipients:
        em["To"] = ", ".join(recipients)
    em["Date"] = format_datetime(date)
    em["Message-ID"] = msg.message_id
    em["Auto-Submitted"] = "auto-generated"  # RFC 3834: out-of-office robots should not reply
    em.set_content(msg.text)
    em.add_alternative(msg.html, subtype="html")
    html_part = em.get_payload()[1]
    for image in msg.images:
        html_part.add_related(image.data, "image", image.subtype, cid=f"<{image.cid}>",
                              disposition="inline", filename=f"{image.cid.split('@')[0]}.{image.subtype}")
    return em


def recipients_of(em: EmailMessage) -> list[str]:
    return [addr for _name, addr in getaddresses(em.get_all("To", []) + em.get_all("Cc", [])) if addr]


@contextmanager
def _connect(cfg: DeliveryConfig) -> Iterator[smtplib.SMTP]:
    context = ssl.create_default_context(cafile=cfg.smtp_ca_file or None)
    if cfg.smtp_security == "ssl":
        conn: smtplib.SMTP = smtplib.SMTP_SSL(cfg.smtp_host, cfg.smtp_port, timeout=cfg.smtp_timeout, context=context)
    else:
        conn = smtplib.SMTP(cfg.smtp_host, cfg.smtp_port, timeout=cfg.smtp_timeout)
    with conn:
        if cfg.smtp_security == "starttls":
            conn.starttls(context=context)
        yield conn


def send_email(em: EmailMessage, cfg: DeliveryConfig, env: Mapping[str, str]) -> None:
    """Send ``em`` through the configured server. Raises ChannelDeliveryError with a reason
    that never contains the password."""
    recipients = recipients_of(em)
    if not recipients:
        raise ChannelDeliveryError("email", "邮件没有收件人。请在「设置」填写周报收件人, 或在「成员」表填写邮箱")
    password = env.get(cfg.smtp_password_env, "") if cfg.smtp_username else ""
    server = f"{cfg.smtp_host}:{cfg.smtp_port}"
    try:
        with _connect(cfg) as conn:
            if cfg.smtp_username:
                conn.login(cfg.smtp_username, password)
            refused = conn.send_message(em, from_addr=parseaddr(cfg.smtp_from)[1], to_addrs=recipients)
    except smtplib.SMTPAuthenticationError as exc:
        reason = f"{server} 拒绝登录 ({exc.smtp_code})。请检查 username 和环境变量 {cfg.smtp_password_env} 里的密码/授权码"
    except UnicodeEncodeError:  # smtplib sends AUTH credentials as ASCII
        reason = f"用户名或环境变量 {cfg.smtp_password_env} 里的密码含有中文等非 ASCII 字符, 邮件服务器不能接受"
    except smtplib.SMTPRecipientsRefused as exc:
        reason = f"{server} 拒绝了所有收件人: {', '.join(exc.recipients)}"
    except smtplib.SMTPException as exc:
        reason = f"{server} 返回错误: {exc}"
    except (OSError, ssl.SSLError) as exc:
        reason = f"连接 {server} ({cfg.smtp_security}) 失败: {exc}"
    else:
        if refused:
            log.warning("邮件 %s: %s 拒收了 %s, 其他收件人已收到。", em["Message-ID"], server, ", ".join(refused))
        return
    raise ChannelDeliveryError("email", scrub(reason, [password]))
