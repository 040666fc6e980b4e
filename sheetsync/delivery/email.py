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

from ..errors import DeliveryError
from ..i18n import Catalogue
from .config import DeliveryConfig, is_addr_spec, scrub
from .errors import ChannelDeliveryError
from .render import RenderedMessage, catalogue_of, clean_header

log = logging.getLogger(__name__)

# used in the From header of messages written to the outbox while no SMTP server is configured
PREVIEW_SENDER = "sheetsync <sheetsync@localhost>"


def clean_recipients(addresses: Iterable[str], language: Catalogue | str | None = None) -> tuple[str, ...]:
    """Addresses from cells, cleaned and de-duplicated; anything that is not a single plain
    address (e.g. 'x@y\\r\\nBcc: z@w', 'a@b, c@d' in one cell) is dropped with a warning."""
    out: list[str] = []
    for raw in addresses:
        addr = clean_header(raw)
        if is_addr_spec(addr):
            if addr.lower() not in (a.lower() for a in out):
                out.append(addr)
        else:
            log.warning("%s", catalogue_of(language).text("delivery.email.bad_recipient", address=addr))
    return tuple(out)


def build_email(msg: RenderedMessage, *, sender: str, date: datetime,
                language: Catalogue | str | None = None) -> EmailMessage:
    """The MIME message for ``msg`` as it is stored in the outbox and sent."""
    em = EmailMessage(policy=policy.default)
    em["Subject"] = clean_header(msg.subject)
    em["From"] = sender
    recipients = clean_recipients(msg.recipients, language)
    if recipients:
        em["To"] = ", ".join(recipients)
    em["Date"] = format_datetime(date)
    em["Message-ID"] = msg.message_id
    em["Auto-Submitted"] = "auto-generated"  # RFC 3834: out-of-office robots should not reply
    em.set_content(msg.text)
    em.add_alternative(msg.html, subtype="html")
    html_part = em.get_payload()[1]  # type: ignore[index]  # multipart: a list of parts
    for image in msg.images:
        html_part.add_related(image.data, "image", image.subtype, cid=f"<{image.cid}>",  # type: ignore[union-attr]
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


def send_email(em: EmailMessage, cfg: DeliveryConfig, env: Mapping[str, str],
               language: Catalogue | str | None = None) -> None:
    """Send ``em`` through the configured server. Raises ChannelDeliveryError with a reason
    that never contains the password."""
    recipients = recipients_of(em)
    if not recipients:
        raise ChannelDeliveryError("email", DeliveryError("delivery.email.no_recipients"))
    password = env.get(cfg.smtp_password_env, "") if cfg.smtp_username else ""
    server = f"{cfg.smtp_host}:{cfg.smtp_port}"
    try:
        with _connect(cfg) as conn:
            if cfg.smtp_username:
                conn.login(cfg.smtp_username, password)
            refused = conn.send_message(em, from_addr=parseaddr(cfg.smtp_from)[1], to_addrs=recipients)
    except smtplib.SMTPAuthenticationError as exc:
        key, params = "delivery.email.login_refused", {"code": exc.smtp_code, "env": cfg.smtp_password_env}
    except UnicodeEncodeError:  # smtplib sends AUTH credentials as ASCII
        key, params = "delivery.email.not_ascii", {"env": cfg.smtp_password_env}
    except smtplib.SMTPRecipientsRefused as exc:
        key, params = "delivery.email.recipients_refused", {"recipients": ", ".join(exc.recipients)}
    except smtplib.SMTPException as exc:
        key, params = "delivery.email.server_error", {"error": str(exc)}
    except (OSError, ssl.SSLError) as exc:
        key, params = "delivery.email.connect_failed", {"security": cfg.smtp_security, "error": str(exc)}
    else:
        if refused:
            log.warning("%s", catalogue_of(language).text("delivery.email.partly_refused", message_id=em["Message-ID"],
                                                          server=server, refused=", ".join(refused)))
        return
    clean = {name: scrub(str(value), [password]) for name, value in {"server": server, **params}.items()}
    raise ChannelDeliveryError("email", DeliveryError(key, **clean))
