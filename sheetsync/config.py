"""sheetsync.toml: where the workbook is and how to reach people. Command-line flags win.

Shop settings (time limits, working hours, time zone) are NOT here: they live in the workbook's
设置 tab, where the shop can change them.

    backend = "xlsx"                 # or "google", or "feishu"
    workbook = "shop.xlsx"           # xlsx backend
    template = "zh-CN"               # or "en", or a path to a .toml template
    stock_export = "exports/stock.csv"   # optional back-office export to reconcile 库存 against
    state_dir = ".sheetsync/shop.xlsx"   # scheduler bookkeeping and the outbox live here

    [google]
    spreadsheet = "https://docs.google.com/spreadsheets/d/…"   # or the id
    credentials = "service-account.json"
    endpoint = ""                    # optional API base URL (proxy / tests)
    timeout = 120                    # seconds per request (default 120)

    [feishu]                         # see docs/feishu.md
    spreadsheet = "https://….feishu.cn/sheets/…"   # or the token
    app_id = "cli_…"
    app_secret_env = "SHEETSYNC_FEISHU_APP_SECRET"   # the variable holding the App Secret
    domain = "https://open.feishu.cn"                # Lark: https://open.larksuite.com

    [delivery]                       # see docs/scheduling.md

The whole file is read and checked at once, before any workbook is opened (``load_config``):
an error names the key, the file and the line, and says what to write instead.
"""

from __future__ import annotations

import os
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from .delivery.config import DeliveryConfig, unknown_key_error
from .errors import ConfigError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

DEFAULT_FILE = "sheetsync.toml"
STATE_FOLDER = ".sheetsync"
KNOWN_KEYS = ("backend", "workbook", "template", "stock_export", "state_dir", "google", "feishu", "delivery")
GOOGLE_KEYS = ("spreadsheet", "credentials", "endpoint", "timeout")
FEISHU_KEYS = ("spreadsheet", "app_id", "app_secret_env", "domain")
BACKENDS = ("xlsx", "google", "feishu")


@dataclass
class Config:
    backend: str = "xlsx"
    workbook: Path | None = None
    spreadsheet: str | None = None
    credentials: str | None = None
    endpoint: str | None = None
    timeout: float = 120.0  # seconds per Google request; one read of a very large sheet is big
    template: str = "zh-CN"
    stock_export: Path | None = None
    state_dir: Path | None = None
    delivery: Mapping[str, Any] = field(default_factory=dict)  # the [delivery] table, paths resolved
    delivery_settings: DeliveryConfig = field(default_factory=DeliveryConfig)  # the same, checked
    path: Path | None = None  # the file it came from
    text: str = field(default="", repr=False)  # its text, to point at lines in later errors
    feishu_app_id: str | None = None
    feishu_secret_env: str | None = None  # None: SHEETSYNC_FEISHU_APP_SECRET
    feishu_domain: str | None = None  # None: open.feishu.cn (SHEETSYNC_FEISHU_DOMAIN wins)

    def workbook_id(self) -> str:
        """A folder name for this workbook's own records: two workbooks in one folder never
        share scheduler state or an outbox."""
        if self.backend == "google" and self.spreadsheet:
            match = re.search(r"/d/([\w-]+)", self.spreadsheet)
            name = match.group(1) if match else self.spreadsheet
        elif self.backend == "feishu" and self.spreadsheet:
            match = re.search(r"/sheets/(\w+)", self.spreadsheet)
            name = match.group(1) if match else self.spreadsheet
        elif self.workbook is not None:
            name = self.workbook.name
        else:
            name = "default"
        return re.sub(r"[^\w.-]", "_", name) or "default"

    def resolved_state_dir(self) -> Path:
        """``state_dir`` from the file, else ``.sheetsync/<workbook>/`` next to sheetsync.toml
        (or next to the workbook, or in the current folder)."""
        if self.state_dir is not None:
            return self.state_dir
        base = self.path.parent if self.path else (self.workbook.parent if self.workbook else Path.cwd())
        return base / STATE_FOLDER / self.workbook_id()

    def outbox_dir(self) -> Path:
        return self.delivery_settings.outbox_dir or self.resolved_state_dir() / "outbox"

    def source(self) -> str:
        """What this configuration points at, for messages."""
        if self.backend in ("google", "feishu"):
            return self.spreadsheet or ""
        return str(self.workbook) if self.workbook else ""

    def checked_delivery(self, env: Mapping[str, str]) -> DeliveryConfig:
        """The [delivery] settings with every environment variable they name checked in ``env``
        (done before a run that sends, so a missing secret stops it before anything is written)."""
        try:
            return DeliveryConfig.from_mapping(self.delivery, env)
        except ConfigError as exc:
            raise located(exc, self.path, self.text) from None


# -- reading --------------------------------------------------------------------------------


def find_file(path: str | Path | None, cwd: Path | None = None) -> Path | None:
    """The configuration file in use: ``path``, else ./sheetsync.toml if present, else None."""
    if path is not None:
        return Path(path)
    candidate = (cwd or Path.cwd()) / DEFAULT_FILE
    return candidate if candidate.exists() else None


def peek_template(path: str | Path | None, cwd: Path | None = None) -> str | None:
    """The ``template = …`` of the configuration file, without checking anything else: the
    command line needs the language before it can word any message (a broken file included)."""
    file = find_file(path, cwd)
    if file is None:
        return None
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    try:
        value = tomllib.loads(text).get("template")
        return value if isinstance(value, str) else None
    except tomllib.TOMLDecodeError:
        match = re.search(r"""^\s*template\s*=\s*["']([^"'\n]+)["']""", text, re.M)
        return match.group(1) if match else None


def load_config(path: str | Path | None = None, *, cwd: Path | None = None) -> Config:
    """Read and check ``path`` (an error if given and missing), else ./sheetsync.toml if
    present, else the defaults. Every key is checked here, [delivery] included."""
    file = find_file(path, cwd)
    if file is None:
        return Config()
    if not file.exists():
        raise ConfigError("config.not_found", path=str(file))
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError("config.unreadable", path=str(file), reason=str(exc)) from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise syntax_error(exc, file, text) from None
    try:
        return _parse(data, file, text)
    except ConfigError as exc:
        raise located(exc, file, text) from None


def _parse(data: Mapping[str, Any], path: Path, text: str) -> Config:
    _reject_unknown(data, KNOWN_KEYS, "")
    base = path.parent

    def rel(value: str | None) -> Path | None:
        if not value:
            return None
        p = Path(os.path.expanduser(value))
        return p if p.is_absolute() else base / p

    google = _table(data, "google")
    _reject_unknown(google, GOOGLE_KEYS, "google")
    raw_delivery = _table(data, "delivery")
    delivery_settings = DeliveryConfig.from_mapping(raw_delivery, None)  # the file only; secrets when sending
    delivery = dict(raw_delivery)
    if delivery.get("outbox_dir"):  # relative to sheetsync.toml, like every other path in it
        delivery["outbox_dir"] = str(rel(delivery["outbox_dir"]))
        delivery_settings = DeliveryConfig.from_mapping(delivery, None)
    feishu = _table(data, "feishu")
    _reject_unknown(feishu, FEISHU_KEYS, "feishu")
    spreadsheet = _text(google, "spreadsheet", "google")
    feishu_sheet = _text(feishu, "spreadsheet", "feishu")
    backend = _text(data, "backend", "") or ("google" if spreadsheet else "feishu" if feishu_sheet else "xlsx")
    if backend == "feishu":
        spreadsheet = feishu_sheet
    if backend not in BACKENDS:
        raise ConfigError("config.choice", key="backend", choices=" / ".join(f'"{b}"' for b in BACKENDS),
                          value=repr(backend))
    credentials = _text(google, "credentials", "google")
    return Config(
        backend=backend,
        workbook=rel(_text(data, "workbook", "")),
        spreadsheet=spreadsheet,
        credentials=str(rel(credentials)) if credentials else None,
        endpoint=_text(google, "endpoint", "google"),
        timeout=_timeout(google),
        template=_text(data, "template", "") or "zh-CN",
        stock_export=rel(_text(data, "stock_export", "")),
        state_dir=rel(_text(data, "state_dir", "")),
        delivery=delivery,
        delivery_settings=delivery_settings,
        path=path,
        text=text,
        feishu_app_id=_text(feishu, "app_id", "feishu"),
        feishu_secret_env=_text(feishu, "app_secret_env", "feishu"),
        feishu_domain=_text(feishu, "domain", "feishu"),
    )


def _dotted(where: str, key: str) -> str:
    return f"{where}.{key}" if where else key


def _reject_unknown(d: Mapping[str, Any], allowed: tuple[str, ...], where: str) -> None:
    for key in d:
        if key not in allowed:
            raise unknown_key_error(key, allowed, where)


def _table(d: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = d.get(key, {})
    if not isinstance(value, Mapping):
        raise ConfigError("config.wrong_type", key=key, expected=ConfigError("config.type.table"), value=repr(value))
    return value


def _text(d: Mapping[str, Any], key: str, where: str) -> str | None:
    """A text value or None when absent/empty. ``workbook = 5`` is an error, not a file "5"."""
    value = d.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise ConfigError("config.wrong_type", key=_dotted(where, key), expected=ConfigError("config.type.text"),
                          value=repr(value))
    return value.strip() or None


def _timeout(google: Mapping[str, Any]) -> float:
    value = google.get("timeout", 120.0)
    if isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0:
        return float(value)
    raise ConfigError("config.positive", key="google.timeout", value=repr(value))


# -- pointing at the line ---------------------------------------------------------------------

_HEADER = re.compile(r"^\s*\[\[?\s*([^\]]+?)\s*\]\]?\s*(?:#.*)?$")
_KEY = re.compile(r"""^\s*((?:[A-Za-z0-9_-]+|"[^"]*"|'[^']*')(?:\s*\.\s*(?:[A-Za-z0-9_-]+|"[^"]*"|'[^']*'))*)\s*=""")


def _split_key(text: str) -> tuple[str, ...]:
    return tuple(part.strip().strip("\"'") for part in text.split("."))


def key_line(text: str, dotted: str) -> int | None:
    """The line (1-based) where ``dotted`` (``delivery.smtp.port``) is written, or where the
    longest part of it that is written is (an inline table, the [table] header)."""
    wanted = _split_key(dotted)
    best: tuple[int, int] | None = None  # (matched parts, line)
    table: tuple[str, ...] = ()
    for number, line in enumerate(text.splitlines(), start=1):
        header = _HEADER.match(line)
        if header:
            table = _split_key(header.group(1))
            full = table
        else:
            key = _KEY.match(line)
            if not key:
                continue
            full = table + _split_key(key.group(1))
        matched = 0
        for a, b in zip(full, wanted, strict=False):  # full may be shorter or longer
            if a != b:
                break
            matched += 1
        if matched == len(full) and matched and (best is None or matched > best[0]):
            best = (matched, number)
    return best[1] if best else None


def located(exc: ConfigError, path: Path | None, text: str) -> ConfigError:
    """``exc`` wrapped with the file and, when the key can be found in ``text``, its line."""
    if path is None:
        return exc
    dotted = exc.params.get("at") or exc.params.get("key")
    line = key_line(text, dotted) if isinstance(dotted, str) else None
    if line is None:
        return ConfigError("config.in_file_noline", path=str(path), error=exc, key=dotted)
    return ConfigError("config.in_file", path=str(path), line=line, error=exc, key=dotted)


# -- TOML syntax errors in words --------------------------------------------------------------

_WHERE = re.compile(r"\(at line (\d+), column (\d+)\)")
_PROBLEMS = (  # tomllib's wording -> our key
    ("expected '=' after a key", "expected_equals"),
    ("invalid value", "invalid_value"),
    ("unterminated string", "unterminated"),
    ("unescaped '\\' in a string", "bad_escape"),
    ("unrecognized escape sequence", "bad_escape"),
    ("invalid hex value", "bad_escape"),
    ("cannot declare", "duplicate"),
    ("cannot overwrite a value", "duplicate"),
    ("cannot mutate", "duplicate"),
    ("invalid statement", "invalid_statement"),
    ("illegal character", "illegal_character"),
)
_FULLWIDTH = re.compile("[\u201c\u201d\u2018\u2019\uff1d\uff1a\uff0c\u3002\uff02\uff07]")


def syntax_error(exc: Exception, path: Path, text: str) -> ConfigError:
    """A TOML syntax error in the template's language: the line the parser names, what is
    wrong in words and the usual fix, never the parser's bare English."""
    message = str(exc)
    where = _WHERE.search(message)
    line, column = (int(where.group(1)), int(where.group(2))) if where else (getattr(exc, "lineno", 0) or 0,
                                                                            getattr(exc, "colno", 0) or 0)
    lower = message.lower()
    problem = next((key for needle, key in _PROBLEMS if needle in lower), "other")
    lines = text.splitlines()
    source = lines[line - 1] if 0 < line <= len(lines) else ""
    return ConfigError("config.syntax", path=str(path), line=line, column=column,
                       problem=ConfigError(f"config.toml.{problem}"),
                       hint=ConfigError(f"config.hint.{_hint(problem, source)}"))


def _hint(problem: str, source: str) -> str:
    if _FULLWIDTH.search(source):
        return "fullwidth"
    if problem == "duplicate":
        return "duplicate"
    if problem == "bad_escape" or re.search(r'"[A-Za-z]:\\', source):
        return "backslash"
    if problem == "unterminated" or source.count('"') % 2:
        return "quote"
    value = source.split("=", 1)[1].strip() if "=" in source else ""
    if problem == "invalid_value" and value and not re.match(r"""["'\[{0-9+-]|(true|false|inf|nan)\b""", value):
        return "unquoted"
    return "generic"


# -- the command line ------------------------------------------------------------------------


def merge_cli(config: Config, *, workbook: str | None = None, spreadsheet: str | None = None,
              template: str | None = None, stock_export: str | None = None) -> Config:
    """Command-line flags win over the file."""
    if workbook:
        config.backend, config.workbook = "xlsx", Path(workbook)
    if spreadsheet:
        feishu = config.backend == "feishu" or re.search(r"(feishu\.cn|larksuite\.com)/", spreadsheet)
        config.backend, config.spreadsheet = ("feishu" if feishu else "google"), spreadsheet
    if template:
        config.template = template
    if stock_export:
        config.stock_export = Path(stock_export)
    return config


def open_backend(config: Config) -> Any:
    """The backend the config names. Raises ConfigError when its location is missing."""
    if config.backend == "google":
        if not config.spreadsheet:
            raise ConfigError("config.no_spreadsheet")
        from .backends.google import GoogleBackend  # gspread and google-auth load only when used

        return GoogleBackend(config.spreadsheet, credentials_path=config.credentials, endpoint=config.endpoint,
                             timeout=config.timeout)
    if config.backend == "feishu":
        if not config.spreadsheet:
            raise ConfigError("feishu.no_spreadsheet")
        from .backends.feishu import FeishuBackend  # lark-oapi loads only when used

        return FeishuBackend(config.spreadsheet, app_id=config.feishu_app_id, app_secret_env=config.feishu_secret_env,
                             domain=config.feishu_domain, timeout=config.timeout)
    if config.workbook is None:
        raise ConfigError("config.no_workbook")
    from .backends.xlsx import XlsxBackend

    return XlsxBackend(config.workbook)


__all__ = ["Config", "load_config", "merge_cli", "open_backend", "peek_template", "find_file"]
