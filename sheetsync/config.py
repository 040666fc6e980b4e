"""sheetsync.toml: where the workbook is and how to reach people. Command-line flags win.

Shop settings (time limits, working hours, time zone) are NOT here: they live in the workbook's
设置 tab, where the shop can change them.

    backend = "xlsx"                 # or "google"
    workbook = "shop.xlsx"           # xlsx backend
    template = "zh-CN"               # or "en", or a path to a .toml template
    stock_export = "exports/stock.csv"   # optional back-office export to reconcile 库存 against
    state_dir = ".sheetsync"         # scheduler bookkeeping and the outbox live here

    [google]
    spreadsheet = "https://docs.google.com/spreadsheets/d/…"   # or the id
    credentials = "service-account.json"
    endpoint = ""                    # optional API base URL (proxy / tests)
    timeout = 120                    # seconds per request (default 120)

    [delivery]                       # see docs/scheduling.md
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from .errors import ConfigError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

DEFAULT_FILE = "sheetsync.toml"
KNOWN_KEYS = {"backend", "workbook", "template", "stock_export", "state_dir", "google", "delivery"}


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
    delivery: Mapping[str, Any] = field(default_factory=dict)
    path: Path | None = None  # the file it came from

    def resolved_state_dir(self) -> Path:
        if self.state_dir is not None:
            return self.state_dir
        base = self.path.parent if self.path else (self.workbook.parent if self.workbook else Path.cwd())
        return base / ".sheetsync"


def load_config(path: str | Path | None = None, *, cwd: Path | None = None) -> Config:
    """Read ``path`` (an error if given and missing), else ./sheetsync.toml if present, else defaults."""
    cwd = cwd or Path.cwd()
    if path is None:
        candidate = cwd / DEFAULT_FILE
        if not candidate.exists():
            return Config()
        path = candidate
    path = Path(path)
    if not path.exists():
        raise ConfigError(f"找不到配置文件 {path}。去掉 --config, 或先创建它 (格式见 README)。")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"配置文件 {path} 不是合法的 TOML: {exc}") from None
    unknown = set(data) - KNOWN_KEYS
    if unknown:
        raise ConfigError(f"配置文件 {path} 里有不认识的项: {', '.join(sorted(unknown))}。可用: {', '.join(sorted(KNOWN_KEYS))}")
    base = path.parent

    def rel(value: Any) -> Path | None:
        if value in (None, ""):
            return None
        p = Path(os.path.expanduser(str(value)))
        return p if p.is_absolute() else base / p

    delivery = dict(data.get("delivery", {}))
    if delivery.get("outbox_dir"):  # relative to sheetsync.toml, like every other path in it
        delivery["outbox_dir"] = str(rel(delivery["outbox_dir"]))
    google = data.get("google", {})
    backend = data.get("backend", "google" if google.get("spreadsheet") else "xlsx")
    if backend not in ("xlsx", "google"):
        raise ConfigError(f"配置文件 {path}: backend 只能是 \"xlsx\" 或 \"google\", 现在是 \"{backend}\"")
    credentials = google.get("credentials")
    return Config(
        backend=backend,
        workbook=rel(data.get("workbook")),
        spreadsheet=google.get("spreadsheet") or None,
        credentials=str(rel(credentials)) if credentials else None,
        endpoint=google.get("endpoint") or None,
        timeout=_timeout(google.get("timeout", 120.0), path),
        template=str(data.get("template", "zh-CN")),
        stock_export=rel(data.get("stock_export")),
        state_dir=rel(data.get("state_dir")),
        delivery=delivery,
        path=path,
    )


def _timeout(value, path: Path) -> float:
    if isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0:
        return float(value)
    raise ConfigError(f"配置文件 {path}: [google] timeout 应该是秒数 (大于 0 的数字), 现在是 {value!r}")


def merge_cli(config: Config, *, workbook: str | None = None, spreadsheet: str | None = None,
              template: str | None = None, stock_export: str | None = None) -> Config:
    """Command-line flags win over the file."""
    if workbook:
        config.backend, config.workbook = "xlsx", Path(workbook)
    if spreadsheet:
        config.backend, config.spreadsheet = "google", spreadsheet
    if template:
        config.template = template
    if stock_export:
        config.stock_export = Path(stock_export)
    return config


def open_backend(config: Config):
    """The backend the config names. Raises ConfigError when its location is missing."""
    if config.backend == "google":
        if not config.spreadsheet:
            raise ConfigError("没有指定 Google 表格。用 --spreadsheet 表格ID或网址, 或在 sheetsync.toml 的 [google] 里写 spreadsheet。")
        from .backends.google import GoogleBackend

        return GoogleBackend(config.spreadsheet, credentials_path=config.credentials, endpoint=config.endpoint,
                             timeout=config.timeout)
    if config.workbook is None:
        raise ConfigError("没有指定工作簿。用 --workbook 文件.xlsx, 或在 sheetsync.toml 里写 workbook = \"文件.xlsx\"; "
                          "想先看看效果可以运行 sheetsync demo。")
    from .backends.xlsx import XlsxBackend

    return XlsxBackend(config.workbook)
