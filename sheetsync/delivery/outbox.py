"""The outbox: every message is written to disk first, then delivered, then moved to ``sent/``.

Layout::

    outbox/
      weekly-2026-11-16.eml     the e-mail exactly as it will be sent
      weekly-2026-11-16.html    preview for a browser (chart embedded)
      weekly-2026-11-16.json    manifest: ids, bot markdown, which channels got it
      sent/                     the same three files once every channel got the message

Rules:

- The file name (``key``) and the Message-ID are derived from (kind, shop, period), so a
  re-render of the same week lands on the same item.
- Re-rendering a message that is still pending replaces its content (people fixed the sheet;
  send the fixed version). Channels that already got it are not sent it again.
- A message in ``sent/`` is never sent again, whatever its new content.
- A channel that fails leaves the message pending; ``deliver_pending()`` retries it next run.
  A send that succeeds is recorded at once, so a crash can at worst repeat the one channel
  that was in flight.
- With no channel configured the message simply stays in the outbox, and the log says where.
- Nothing secret is written here: no password, no webhook URL, no signature.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import os
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from typing import Any, Callable, Mapping

from ..errors import ConfigError
from ..i18n import Catalogue
from ..locks import file_lock
from .bots import send_bot
from .config import DeliveryConfig, redact_url
from .email import PREVIEW_SENDER, build_email, recipients_of, send_email
from .errors import ChannelDeliveryError, channel_label, render_reason
from .render import RenderedMessage, catalogue_of

log = logging.getLogger(__name__)

# A message still unsent after this long is no news any more: when delivery is finally set up
# (or a long outage ends), it goes to expired/ instead of flooding the team with old digests.
STALE_AFTER = {"daily": timedelta(days=2), "weekly": timedelta(days=8), "alert": timedelta(days=1),
               "scorecard": timedelta(days=20)}
_SUFFIXES = (".json", ".eml", ".html")  # the manifest moves first: it is what marks an item sent


@dataclass
class DeliveryReport:
    """What one ``deliver_pending()`` did."""

    sent: list[tuple[str, str]] = field(default_factory=list)  # (message key, channel)
    failed: list[ChannelDeliveryError] = field(default_factory=list)
    waiting: list[str] = field(default_factory=list)  # keys with no channel to go to
    expired: list[str] = field(default_factory=list)  # keys too old to send, moved to expired/

    @property
    def ok(self) -> bool:
        return not self.failed


def _content_hash(msg: RenderedMessage) -> str:
    h = hashlib.sha256()
    mentions = ("\x1f".join(msg.mobiles), msg.mention, msg.mention_email) if msg.mobiles or msg.mention else ()
    for part in (msg.subject, msg.text, msg.html, "\x1f".join(msg.recipients), msg.bot_title, msg.bot_markdown,
                 *mentions):
        h.update(part.encode())
        h.update(b"\x00")
    for image in msg.images:
        h.update(image.cid.encode())
        h.update(image.data)
    return h.hexdigest()


def _write_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")  # per process: a cron run may overlap the daemon
    tmp.write_bytes(data)
    os.replace(tmp, path)


def _preview_html(msg: RenderedMessage) -> str:
    """The HTML with inline images as data: URIs, so the file opens in any browser."""
    html = msg.html
    for image in msg.images:
        uri = f"data:image/{image.subtype};base64,{base64.b64encode(image.data).decode()}"
        html = html.replace(f"cid:{image.cid}", uri)
    return html


class Outbox:
    """``config`` says where to send, ``env`` holds the secrets it names, ``clock`` gives the
    aware time used for Date headers, bot signatures and the manifest. Log lines and the errors
    kept in manifests are in ``language`` (default: the edge's language)."""

    def __init__(self, config: DeliveryConfig, env: Mapping[str, str], clock: Callable[[], datetime],
                 root: Path | None = None, language: Catalogue | str | None = None):
        self.config = config
        self.env = env
        self.clock = clock
        self.cat = catalogue_of(language)
        chosen = root if root is not None else config.outbox_dir
        if chosen is None:
            raise ConfigError("delivery.error.no_outbox_dir")
        self.root = Path(chosen)
        self.sent_dir = self.root / "sent"

    # -- storing ----------------------------------------------------------------------------

    def path(self, key: str, suffix: str, sent: bool = False) -> Path:
        return (self.sent_dir if sent else self.root) / f"{key}{suffix}"

    def _sender(self) -> str:
        return self.config.smtp_from if self.config.smtp_enabled else PREVIEW_SENDER

    def _log(self, level: int, message: str, /, **params: Any) -> None:
        log.log(level, "%s", self.cat.text(message, **params))

    def put(self, msg: RenderedMessage) -> str:
        """Store ``msg``. Returns 'new', 'replaced', 'unchanged' or 'already_sent'."""
        self.sent_dir.mkdir(parents=True, exist_ok=True)
        digest = _content_hash(msg)
        sent_manifest = self.path(msg.key, ".json", sent=True)
        if sent_manifest.exists():
            old = json.loads(sent_manifest.read_text(encoding="utf-8"))
            changed = old.get("content_sha256") != digest
            self._log(logging.INFO, f"delivery.outbox.already_sent{'_changed' if changed else ''}",
                      key=msg.key, when=old.get("completed_at", "?"))
            return "already_sent"
        manifest_path = self.path(msg.key, ".json")
        previous: dict[str, Any] = {}
        if manifest_path.exists():
            previous = json.loads(manifest_path.read_text(encoding="utf-8"))
            if previous.get("content_sha256") == digest:
                return "unchanged"
        now = self.clock()
        em = build_email(msg, sender=self._sender(), date=now, language=self.cat)
        manifest = {
            "key": msg.key,
            "kind": msg.kind,
            "message_id": msg.message_id,
            "idempotency_key": msg.message_id.strip("<>"),
            "subject": msg.subject,
            "recipients": recipients_of(em),
            "content_sha256": digest,
            "created_at": previous.get("created_at", now.isoformat()),
            "updated_at": now.isoformat(),
            "bot": {"title": msg.bot_title, "markdown": msg.bot_markdown,
                    **({"mobiles": list(msg.mobiles)} if msg.mobiles else {}),
                    **({"mention": msg.mention, "mention_email": msg.mention_email} if msg.mention else {})},
            "delivered": previous.get("delivered", {}),
            "errors": {},
        }
        _write_atomic(self.path(msg.key, ".eml"), em.as_bytes())
        _write_atomic(self.path(msg.key, ".html"), _preview_html(msg).encode())
        self._save(manifest)
        status = "replaced" if previous else "new"
        self._log(logging.INFO, "delivery.outbox.stored_replaced" if previous else "delivery.outbox.stored_new",
                  key=msg.key, path=self.path(msg.key, ".eml"), preview=self.path(msg.key, ".html"))
        return status

    def _save(self, manifest: dict[str, Any]) -> None:
        data = json.dumps(manifest, ensure_ascii=False, indent=2).encode()
        _write_atomic(self.path(manifest["key"], ".json"), data)

    def pending(self) -> list[str]:
        """Keys of messages not yet delivered everywhere, oldest name first."""
        return sorted(p.stem for p in self.root.glob("*.json")) if self.root.is_dir() else []

    # -- delivering -------------------------------------------------------------------------

    def channels(self) -> tuple[str, ...]:
        return (("email",) if self.config.smtp_enabled else ()) + self.config.bot_channels()

    def post(self, msg: RenderedMessage) -> DeliveryReport:
        """Store ``msg`` and deliver everything pending (this message included)."""
        self.put(msg)
        return self.deliver_pending()

    def deliver_pending(self) -> DeliveryReport:
        """Try every pending message on every configured channel it has not reached yet."""
        report = DeliveryReport()
        if not self.root.is_dir():
            return report
        self.sent_dir.mkdir(parents=True, exist_ok=True)
        with file_lock(self.root / ".outbox.lock") as locked:
            if not locked:
                self._log(logging.INFO, "delivery.outbox.locked", folder=self.root)
                return report
            self._finish_moves()
            for key in self.pending():
                if not self._expire_if_stale(key, report):
                    self._deliver_one(key, report)
        return report

    def _expire_if_stale(self, key: str, report: DeliveryReport) -> bool:
        manifest = json.loads(self.path(key, ".json").read_text(encoding="utf-8"))
        limit = STALE_AFTER.get(manifest.get("kind", ""))
        try:
            created = datetime.fromisoformat(manifest["created_at"])
            stale = limit is not None and self.clock() - created > limit
        except (KeyError, TypeError, ValueError):  # a hand-edited or older manifest: never expire it
            self._log(logging.WARNING, "delivery.outbox.no_created_at", key=key)
            return False
        if not stale:
            return False
        expired = self.root / "expired"
        expired.mkdir(exist_ok=True)
        for suffix in _SUFFIXES:
            src = self.path(key, suffix)
            if src.exists():
                os.replace(src, expired / src.name)
        self._log(logging.WARNING, "delivery.outbox.expired", key=key, created=manifest["created_at"], folder=expired)
        report.expired.append(key)
        return True

    def _deliver_one(self, key: str, report: DeliveryReport) -> None:
        manifest = json.loads(self.path(key, ".json").read_text(encoding="utf-8"))
        em = BytesParser(policy=policy.default).parsebytes(self.path(key, ".eml").read_bytes())
        targets = [c for c in self.channels() if c not in manifest["delivered"]]
        if not manifest.get("bot", {}).get("markdown"):  # no bot text (the scorecard: pay is personal): e-mail only
            targets = [c for c in targets if c == "email"]
        if "email" in targets and not recipients_of(em):
            self._log(logging.WARNING, "delivery.outbox.no_recipients", key=key)
            targets.remove("email")
        failed = False
        for channel in targets:
            try:
                self._send(channel, em, manifest)
            except ChannelDeliveryError as exc:
                failed = True
                reason = render_reason(exc.reason, self.cat)
                manifest["errors"][channel] = reason
                self._save(manifest)
                self._log(logging.ERROR, "delivery.outbox.send_failed", key=key,
                          channel=channel_label(channel, self.cat), reason=reason)
                report.failed.append(ChannelDeliveryError(channel, exc.reason, key))
                continue
            manifest["delivered"][channel] = self.clock().isoformat()
            manifest["errors"].pop(channel, None)
            self._save(manifest)
            report.sent.append((key, channel))
            if channel == "email":
                self._log(logging.INFO, "delivery.outbox.sent_to", key=key, channel=channel_label(channel, self.cat),
                          recipients=", ".join(recipients_of(em)))
            else:
                self._log(logging.INFO, "delivery.outbox.sent_via", key=key, channel=channel_label(channel, self.cat),
                          where=redact_url(self.config.webhook(channel)))
        if failed:
            return
        if not manifest["delivered"]:
            if not self.channels():
                self._log(logging.INFO, "delivery.outbox.no_channels", key=key, path=self.path(key, ".eml"))
            report.waiting.append(key)
            return
        manifest["completed_at"] = self.clock().isoformat()
        self._save(manifest)
        self._move_to_sent(key)

    def _send(self, channel: str, em: EmailMessage, manifest: dict[str, Any]) -> None:
        if channel == "email":
            if em["From"] != self.config.smtp_from:
                em.replace_header("From", self.config.smtp_from)
                _write_atomic(self.path(manifest["key"], ".eml"), em.as_bytes())
            send_email(em, self.config, self.env, self.cat)
        else:
            bot = manifest["bot"]
            mobiles = tuple(str(m) for m in bot.get("mobiles", ()) if m)
            mention = (str(bot.get("mention", "")), str(bot.get("mention_email", "")))
            send_bot(channel, self.config, self.env, bot["title"], bot["markdown"], self.clock(), self.cat, mobiles,
                     mention)

    def _move_to_sent(self, key: str) -> None:
        for suffix in _SUFFIXES:
            src = self.path(key, suffix)
            if src.exists():
                os.replace(src, self.path(key, suffix, sent=True))

    def _finish_moves(self) -> None:
        """Complete a move to sent/ that was interrupted after the manifest went."""
        for path in self.root.glob("*.eml"):
            if self.path(path.stem, ".json", sent=True).exists() and not self.path(path.stem, ".json").exists():
                self._move_to_sent(path.stem)
