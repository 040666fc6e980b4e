"""Read the back-office stock export (CSV or XLSX) the shop downloads from its seller centre."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from .core import parsing
from .errors import ConfigError

SKU_HEADERS = ("sku", "货号", "商家编码", "商品编码", "sku编码")
STOCK_HEADERS = ("库存", "stock", "可售库存", "数量", "qty", "quantity", "库存数量")


class _Undecodable(ValueError):
    """Neither UTF-8 nor GBK."""


def _find(columns: list[str], wanted: tuple[str, ...]) -> str | None:
    for col in columns:
        if parsing.normalize_text(col).replace(" ", "").lower() in wanted:
            return col
    return None


def load_stock_export(path: str | Path) -> tuple[dict[str, float], str]:
    """{SKU (upper case): count}, and the file name for messages."""
    path = Path(path)
    if not path.exists():
        raise ConfigError("config.stock_export.not_found", path=str(path))
    try:
        if path.suffix.lower() in (".xlsx", ".xlsm", ".xls"):
            frame = pd.read_excel(path, dtype=object, engine="calamine")
        else:
            frame = _read_csv(path)
    except _Undecodable:
        raise ConfigError("config.stock_export.unreadable", name=path.name,
                          reason=ConfigError("config.stock_export.encoding")) from None
    except (ValueError, OSError) as exc:  # the reader's own words (pandas, the OS): passed through
        raise ConfigError("config.stock_export.unreadable", name=path.name, reason=str(exc)) from None
    columns = [str(c) for c in frame.columns]
    frame.columns = columns
    sku_col, stock_col = _find(columns, SKU_HEADERS), _find(columns, STOCK_HEADERS)
    if sku_col is None or stock_col is None:
        raise ConfigError("config.stock_export.columns", name=path.name, columns=tuple(columns))
    counts: dict[str, float] = {}
    for sku, qty in zip(frame[sku_col], frame[stock_col], strict=True):
        key = parsing.normalize_text(sku).upper()
        if not key:
            continue
        try:
            value = parsing.parse_number(qty)
        except parsing.CellParseError:
            continue
        if value is not None:
            counts[key] = value
    return counts, path.name


def _read_csv(path: Path) -> pd.DataFrame:
    for encoding in ("utf-8-sig", "gb18030"):  # Chinese back offices export GBK more often than not
        try:
            return pd.read_csv(path, dtype=object, encoding=encoding)
        except UnicodeDecodeError:
            continue
    raise _Undecodable(path.name)
