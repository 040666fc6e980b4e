"""Delivery settings: the ``[delivery]`` table of sheetsync.toml.

Secrets never live in the config file or in this dataclass. The file names the environment
variable that holds each one (``password_env``, ``secret_env``); the variable is checked here so
a missing one is reported at start-up, and read again only at the moment of sending.

Example::

    [delivery]
    outbox_dir = "outbox"       # optional; default .sheetsync/outbox

    [delivery.smtp]
    host = "smtp.exmail.qq.com"
    port = 465
    security = "ssl"            # ssl | starttls | none
    username = "shop@example.com"
    password_env = "SHEETSYNC_SMTP_PASSWORD"
    from = "小店周报 <shop@example.com>"

    [delivery.dingtalk]
    webhook = "https://oapi.dingtalk.com/robot/send?access_token=..."
    secret_env = "SHEETSYNC_DINGTALK_SECRET"
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from email.utils import parseaddr
from pathlib import Path
from typing import Any, Iterable, Mapping
from urllib.parse import parse_qsl, urlsplit

from ..errors import ConfigError

SECURITY_MODES = ("ssl", "starttls", "none")
DEFAULT_PORTS = {"ssl": 465, "starttls": 587, "none": 25}
BOT_CHANNELS = ("wecom", "dingtalk", "feishu")

_ADDR_SPEC = re.compile(r"[^\s@<>(),;:\"\[\]\\]+@[^\s@<>(),;:\"\[\]\\]+")
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")

_SMTP_KEYS = ("host", "port", "security", "username", "password_env", "from", "timeout", "ca_file")
_BOT_KEYS = {"wecom": ("webhook",), "dingtalk": ("webhook", "secret_env"), "feishu": ("webhook", "secret_env")}
_TOP_KEYS = ("outbox_dir", "bot_timeout", "smtp", *BOT_CHANNELS)
# keys people write by habit that would put a secret into the file
_SECRET_KEYS = {"password": "password_env", "secret": "secret_env"}


def redact_url(url: str) -> str:
    """'https://oapi.dingtalk.com/…': enough to tell which service, nothing that grants access
    (DingTalk and WeCom keep the token in the query, Feishu in the path)."""
    parts = urlsplit(url)
    try:
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        port = ""
    return f"{parts.scheme}://{parts.hostname or '?'}{port}/…"


def url_secrets(url: str) -> list[str]:
    """The parts of a webhook URL that must never be shown: the whole URL, its path and query,
    and every query value."""
    parts = urlsplit(url)
    found = [url, parts.query, parts.path]
    found += [value for _key, value in parse_qsl(parts.query)]
    found += [seg for seg in parts.path.split("/") if len(seg) >= 8]
    return [s for s in found if s and s != "/"]


def scrub(text: str, secrets: Iterable[str]) -> str:
    """Replace every secret in ``text`` with ***, longest first so a URL goes before its parts."""
    for secret in sorted({s for s in secrets if s}, key=len, reverse=True):
        text = text.replace(secret, "***")
    return text


def is_addr_spec(text: str) -> bool:
    """A bare address like ``a@b.cn`` with nothing that could smuggle a second header or address."""
    return bool(_ADDR_SPEC.fullmatch(text))


@dataclass(frozen=True)
class DeliveryConfig:
    """Where messages go. Every channel is optional; with none configured the messages stay in
    the outbox folder as files. Webhook URLs carry access tokens, so they are kept out of repr."""

    smtp_host: str = ""
    smtp_port: int = 0
    smtp_security: str = "ssl"
    smtp_username: str = ""
    smtp_password_env: str = ""
    smtp_from: str = ""
    smtp_timeout: float = 30.0
    smtp_ca_file: str = ""  # extra CA bundle for a relay with a private certificate
    wecom_webhook: str = field(default="", repr=False)
    dingtalk_webhook: str = field(default="", repr=False)
    dingtalk_secret_env: str = ""
    feishu_webhook: str = field(default="", repr=False)
    feishu_secret_env: str = ""
    bot_timeout: float = 10.0
    outbox_dir: Path | None = None  # None: the caller's default (<state_dir>/outbox)

    @property
    def smtp_enabled(self) -> bool:
        return bool(self.smtp_host)

    def webhook(self, channel: str) -> str:
        return getattr(self, f"{channel}_webhook")

    def secret_env(self, channel: str) -> str:
        return getattr(self, f"{channel}_secret_env", "")

    def bot_channels(self) -> tuple[str, ...]:
        return tuple(c for c in BOT_CHANNELS if self.webhook(c))

    @classmethod
    def from_mapping(cls, d: Mapping[str, Any], env: Mapping[str, str] | None) -> "DeliveryConfig":
        """Parse and check the ``[delivery]`` table. Every error is a ConfigError whose ``key``
        (or ``at``) param is the dotted key it is about (``delivery.smtp.port``), so the caller
        can point at the line. With ``env``, every environment variable the table names must be
        set there, so a forgotten ``export`` fails at start-up, not at Sunday 20:00; ``None``
        checks only the file."""
        _reject_unknown(d, _TOP_KEYS, "delivery")
        kwargs: dict[str, Any] = {}
        if "outbox_dir" in d:
            kwargs["outbox_dir"] = Path(_text(d, "outbox_dir", "delivery"))
        if "bot_timeout" in d:
            kwargs["bot_timeout"] = _positive(d, "bot_timeout", "delivery")
        if "smtp" in d:
            kwargs.update(_smtp(_table(d, "smtp"), env))
        for channel in BOT_CHANNELS:
            if channel in d:
                kwargs.update(_bot(channel, _table(d, channel), env))
        return cls(**kwargs)


def _table(d: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = d[key]
    if not isinstance(value, Mapping):
        raise ConfigError("config.delivery.table_expected", key=f"delivery.{key}", value=repr(value))
    return value


def closest(key: str, known: Iterable[str]) -> str | None:
    """The known key a typo most likely meant (``smpt`` -> ``smtp``), or None."""
    match = difflib.get_close_matches(key, list(known), n=1, cutoff=0.6)
    return match[0] if match else None


def unknown_key_error(key: str, allowed: Iterable[str], where: str) -> ConfigError:
    allowed = tuple(allowed)
    near = closest(key, allowed)
    return ConfigError("config.unknown_key", key=f"{where}.{key}" if where else key, known=allowed,
                       suggestion=ConfigError("config.did_you_mean", key=near) if near else "")


def _reject_unknown(d: Mapping[str, Any], allowed: tuple[str, ...], where: str) -> None:
    for key in d:
        if key in _SECRET_KEYS:
            raise ConfigError("config.delivery.secret_in_file", key=f"{where}.{key}", instead=_SECRET_KEYS[key])
        if key not in allowed:
            raise unknown_key_error(key, allowed, where)


def _text(d: Mapping[str, Any], key: str, where: str) -> str:
    value = d[key]
    if not isinstance(value, str) or not value.strip():
        raise ConfigError("config.delivery.text_expected", key=f"{where}.{key}", value=repr(value))
    return value.strip()


def _positive(d: Mapping[str, Any], key: str, where: str) -> float:
    value = d[key]
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
        raise ConfigError("config.positive", key=f"{where}.{key}", value=repr(value))
    return float(value)


def _env_name(d: Mapping[str, Any], key: str, where: str, env: Mapping[str, str] | None) -> str:
    name = _text(d, key, where)
    if not _ENV_NAME.fullmatch(name):
        raise ConfigError("config.delivery.env_name_invalid", key=f"{where}.{key}")
    if env is not None and not env.get(name):
        raise ConfigError("config.delivery.env_missing", key=f"{where}.{key}", name=name)
    return name


def _missing(where: str, key: str) -> ConfigError:
    return ConfigError("config.delivery.missing", at=where, table=f"[{where}]", key=key,
                       what=ConfigError(f"config.delivery.what_{key}"))


def _smtp(d: Mapping[str, Any], env: Mapping[str, str] | None) -> dict[str, Any]:
    where = "delivery.smtp"
    _reject_unknown(d, _SMTP_KEYS, where)
    if "host" not in d:
        raise _missing(where, "host")
    out: dict[str, Any] = {"smtp_host": _text(d, "host", where)}
    security = d.get("security", "ssl")
    if security not in SECURITY_MODES:
        raise ConfigError("config.choice", key=f"{where}.security", choices=" / ".join(SECURITY_MODES),
                          value=repr(security))
    out["smtp_security"] = security
    port = d.get("port", DEFAULT_PORTS[security])
    if isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536:
        raise ConfigError("config.delivery.port_invalid", key=f"{where}.port", value=repr(port))
    out["smtp_port"] = port
    if "from" not in d:
        raise _missing(where, "from")
    sender = _text(d, "from", where)
    if not is_addr_spec(parseaddr(sender)[1]) or "\n" in sender or "\r" in sender:
        raise ConfigError("config.delivery.from_invalid", key=f"{where}.from", value=repr(sender))
    out["smtp_from"] = sender
    if "username" in d:
        out["smtp_username"] = _text(d, "username", where)
        if security == "none":
            raise ConfigError("config.delivery.login_without_tls", at=f"{where}.security", table=f"[{where}]")
        if "password_env" not in d:
            raise _missing(where, "password_env")
        out["smtp_password_env"] = _env_name(d, "password_env", where, env)
    if "timeout" in d:
        out["smtp_timeout"] = _positive(d, "timeout", where)
    if "ca_file" in d:
        ca_file = _text(d, "ca_file", where)
        if not Path(ca_file).is_file():
            raise ConfigError("config.delivery.ca_file_missing", key=f"{where}.ca_file", value=ca_file)
        out["smtp_ca_file"] = ca_file
    return out


def _bot(channel: str, d: Mapping[str, Any], env: Mapping[str, str] | None) -> dict[str, Any]:
    where = f"delivery.{channel}"
    _reject_unknown(d, _BOT_KEYS[channel], where)
    if "webhook" not in d:
        raise _missing(where, "webhook")
    url = _text(d, "webhook", where)
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        # the URL itself carries the token: name the key, never echo the value
        raise ConfigError("config.delivery.webhook_invalid", key=f"{where}.webhook")
    out: dict[str, Any] = {f"{channel}_webhook": url}
    if "secret_env" in d:
        out[f"{channel}_secret_env"] = _env_name(d, "secret_env", where, env)
    return out
