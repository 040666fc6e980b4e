"""Text normalisation: what every parser does to a cell before looking at it.

NFKC (full-width digits, letters and punctuation become their half-width twins), zero-width
characters dropped, runs of blanks collapsed, numpy/pandas scalars brought to plain Python.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime, time
from typing import Any

import numpy as np
import pandas as pd

_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\ufe0e\ufe0f\u00ad"))
_BLANKS = re.compile(r"[^\S\n]+")
_BLANK_AROUND_NEWLINE = re.compile(r" ?\n ?")


def _plain(value: Any) -> Any:
    """``None`` for every flavour of missing (as ``pd.isna`` sees it); numpy/pandas scalars as
    plain Python objects, so the parsers below deal with one set of types."""
    if pd.api.types.is_scalar(value) and pd.isna(value):
        return None
    if isinstance(value, np.datetime64):
        return value.astype("M8[us]").item()
    if isinstance(value, np.timedelta64):
        return value.astype("m8[us]").item()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime(warn=False)
    return value


def _display(value: Any) -> str:
    """A non-text cell as a person would read it in the sheet."""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else format(value, ".15g")
    if isinstance(value, datetime):
        if value.time() == time(0):
            return f"{value:%Y-%m-%d}"
        return f"{value:%Y-%m-%d} {_display(value.time())}"
    if isinstance(value, time):
        return f"{value:%H:%M}" if value.second == 0 and value.microsecond == 0 else f"{value:%H:%M:%S}"
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def normalize_text(value: Any) -> str:
    """Cell content as clean text: NFKC, no zero-width characters, single spaces, no blanks
    around line breaks or at the ends. Empty cells give ``''``; ``5.0`` gives ``'5'``."""
    value = _plain(value)
    if value is None:
        return ""
    text = value if isinstance(value, str) else _display(value)
    text = unicodedata.normalize("NFKC", text).translate(_INVISIBLE)
    text = _BLANKS.sub(" ", text.replace("\r\n", "\n").replace("\r", "\n"))
    return _BLANK_AROUND_NEWLINE.sub("\n", text).strip()


def _fold(text: str) -> str:
    """Comparison key for choices: width, spaces and latin case do not matter."""
    return re.sub(r"\s+", "", normalize_text(text)).casefold()



def header_form(text: Any) -> str:
    """How headers, tab titles and setting names compare: NFKC (full-width -> half-width), no
    spaces or line breaks at all, lower case."""
    return normalize_text(text).replace(" ", "").replace("\n", "").lower()


def show(raw: Any) -> str:
    """How a raw cell value appears inside a message: as typed, minus surrounding blanks."""
    return raw.strip() if isinstance(raw, str) else normalize_text(raw)
