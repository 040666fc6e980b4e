"""Message catalogues: every word a person reads, per language, as data.

A language is a folder in ``sheet_templates/`` (``zh-CN/``, ``en/``). Its ``messages/*.toml``
files are merged into one catalogue of dotted keys (``[cli.run] done = "…"`` becomes
``cli.run.done``). A message is a ``str.format`` pattern with named parameters; parameters are
plain values from the core (numbers, datetimes, tuples, :class:`~sheetsync.core.model.Duration`)
and are formatted here, in the catalogue's language (``fmt.*`` keys say how).

Adding a language is adding a folder: no Python changes.
"""

from __future__ import annotations

import logging
import math
import string
import sys
from dataclasses import dataclass
from datetime import date, datetime, time
from functools import lru_cache
from pathlib import Path
from typing import Any, Mapping

from ..core.model import Duration
from ..paths import templates_dir

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

log = logging.getLogger(__name__)

DEFAULT_LANGUAGE = "zh-CN"


class MissingMessage(KeyError):
    """A key no catalogue of this language (nor the default one) has: a bug in sheetsync or in a
    language folder, found by the catalogue tests."""


def _flatten(data: Mapping[str, Any], prefix: str = "") -> dict[str, str]:
    out: dict[str, str] = {}
    for key, value in data.items():
        full = f"{prefix}{key}"
        if isinstance(value, Mapping):
            out.update(_flatten(value, full + "."))
        elif isinstance(value, list):
            out[full] = value  # type: ignore[assignment]  # e.g. weekday names
        else:
            out[full] = str(value)
    return out


class _Formatter(string.Formatter):
    def __init__(self, cat: "Catalogue") -> None:
        self.cat = cat

    def format_field(self, value: Any, format_spec: str) -> str:
        if format_spec:
            return format(value, format_spec)
        return self.cat.value(value)


@dataclass
class Catalogue:
    """One language's messages. ``text(key, **params)`` renders one."""

    language: str
    entries: dict[str, Any]

    def has(self, key: str) -> bool:
        return key in self.entries

    def raw(self, key: str) -> Any:
        try:
            return self.entries[key]
        except KeyError:
            raise MissingMessage(f"{self.language}: no message {key!r}") from None

    def text(self, key: str, /, **params: Any) -> str:
        """The message ``key`` with ``params`` filled in. A parameter the pattern does not use is
        ignored; one it uses but was not given renders as ``{name}`` (never a crash at the edge)."""
        return self.format(self.raw(key), **params)

    def format(self, pattern: str, /, **params: Any) -> str:
        parts = _compiled(pattern) if isinstance(pattern, str) else None
        try:
            if parts is None:  # attribute or index fields, conversions, nested specs: the general way
                return _Formatter(self).vformat(pattern, (), _Lenient(params))
            out: list[str] = []
            for literal, name, spec in parts:  # what vformat does for plain ``{name}`` / ``{name:spec}``
                if literal:
                    out.append(literal)
                if name is not None:
                    value = params[name] if name in params else "{" + name + "}"
                    out.append(format(value, spec) if spec else self.value(value))
            return "".join(out)
        except (ValueError, IndexError) as exc:  # a broken pattern in a language file
            log.warning("message pattern %r cannot be formatted: %s", pattern, exc)
            return pattern

    # -- values --------------------------------------------------------------------------------

    def value(self, value: Any) -> str:
        """How a parameter value reads in this language."""
        if value is None:
            return self.entries.get("fmt.empty", "")
        if isinstance(value, bool):
            return self.entries["fmt.yes" if value else "fmt.no"]
        if isinstance(value, Duration):
            return self.duration(value)
        if isinstance(value, float):
            if math.isnan(value):
                return self.entries.get("fmt.empty", "")
            if value.is_integer():
                return str(int(value))
            return f"{value:g}"
        if isinstance(value, datetime):
            if value.hour == 0 and value.minute == 0 and value.second == 0:
                return value.strftime(self.entries["fmt.date"])
            if value.second:
                return value.strftime(self.entries["fmt.datetime_seconds"])
            return value.strftime(self.entries["fmt.datetime"])
        if isinstance(value, date):
            return value.strftime(self.entries["fmt.date"])
        if isinstance(value, time):
            return value.strftime(self.entries["fmt.time"])
        if isinstance(value, (tuple, list, set, frozenset)):
            items = sorted(value) if isinstance(value, (set, frozenset)) else value
            return self.join(self.value(v) for v in items)
        return str(value)

    def join(self, items: Any) -> str:
        return self.entries["fmt.join"].join(str(i) for i in items)

    def quote(self, text: Any) -> str:
        return self.entries["fmt.quote"].format(self.value(text))

    def percent(self, ratio: float | None, digits: int = 1) -> str:
        if ratio is None:
            return self.entries.get("fmt.no_value", "-")
        text = f"{ratio * 100:.{digits}f}".rstrip("0").rstrip(".")
        return f"{text}%"

    def duration(self, d: Duration) -> str:
        """A limit reads in the unit it was set in (10分钟, 24 hours, 15秒 — never 0.25分钟); a
        measured duration in days/hours/minutes, with its seconds while it is under ten minutes
        (40秒, 1分钟10秒: a 70-second reply over a one-minute limit never reads "1分钟")."""
        sep = self.entries.get("fmt.unit_sep", "")
        units = self.entries
        seconds = d.seconds
        if d.limit:
            for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
                if seconds >= size and float(seconds / size).is_integer() and (unit != "day" or seconds >= 2 * 86400):
                    return f"{seconds / size:g}{sep}{units['fmt.' + unit]}"
            if seconds < 600 and float(seconds).is_integer():
                return self._parts(0, 0, int(seconds) // 60, int(seconds) % 60)
            if seconds >= 60:
                return f"{seconds / 60:g}{sep}{units['fmt.minute']}"
            return f"{seconds:g}{sep}{units['fmt.second']}"
        total = int(round(seconds))
        if total < 600:
            return self._parts(0, 0, total // 60, total % 60)
        minutes = int(round(seconds / 60))
        days, rest = divmod(minutes, 24 * 60)
        hours, mins = divmod(rest, 60)
        return self._parts(days, hours, mins, 0)

    def _parts(self, days: int, hours: int, minutes: int, seconds: int) -> str:
        """'1天2小时', '1分钟10秒', '40 s', '2 h 30 min': the units that are not zero ('0秒' when all are)."""
        sep = self.entries.get("fmt.unit_sep", "")
        parts = [f"{n}{sep}{self.entries['fmt.' + unit]}"
                 for n, unit in ((days, "day"), (hours, "hour"), (minutes, "minute"), (seconds, "second")) if n]
        if not parts:
            parts = [f"0{sep}{self.entries['fmt.second']}"]
        return self.entries.get("fmt.parts_sep", "").join(parts)


@lru_cache(maxsize=8192)
def _compiled(pattern: str) -> tuple[tuple[str, str | None, str], ...] | None:
    """``pattern`` parsed once into (literal text, field name, format spec) parts, when every field
    is a plain ``{name}`` or ``{name:spec}``; None otherwise (and for a pattern that does not parse).
    Rendering the messages of an idle run's many thousand findings parsed each pattern every time."""
    parts: list[tuple[str, str | None, str]] = []
    try:
        for literal, name, spec, conversion in string.Formatter().parse(pattern):
            if name is not None and (not name.isidentifier() or conversion is not None or "{" in (spec or "")):
                return None
            parts.append((literal, name, spec or ""))
    except ValueError:
        return None
    return tuple(parts)


class _Lenient(dict[str, Any]):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def language_dir(language: str) -> Path:
    return templates_dir() / language


def languages() -> list[str]:
    """The languages shipped in ``sheet_templates/`` (folders with a ``messages/`` folder)."""
    return sorted(p.parent.name for p in templates_dir().glob("*/messages"))


@lru_cache(maxsize=8)
def load_catalogue(language: str = DEFAULT_LANGUAGE) -> Catalogue:
    """The merged catalogue of ``language``; keys it lacks fall back to the default language."""
    entries: dict[str, Any] = {}
    if language != DEFAULT_LANGUAGE:
        entries.update(load_catalogue(DEFAULT_LANGUAGE).entries)
    folder = language_dir(language) / "messages"
    if not folder.is_dir():
        folder = language_dir(DEFAULT_LANGUAGE) / "messages"
    for path in sorted(folder.glob("*.toml")):
        with path.open("rb") as fh:
            entries.update(_flatten(tomllib.load(fh)))
    return Catalogue(language, entries)


def with_overrides(cat: Catalogue, overrides: Mapping[str, Any]) -> Catalogue:
    """A catalogue with some messages replaced (a shop's own template file rewording a few)."""
    if not overrides:
        return cat
    return Catalogue(cat.language, {**cat.entries, **_flatten(overrides)})


# -- the edge's language ----------------------------------------------------------------------
# The shell (CLI, scheduler) decides once which language a process speaks; errors raised deep
# inside render in it when they are finally printed. The pure core never looks at this.

_active: list[Catalogue] = []


def set_language(language: str | Catalogue) -> Catalogue:
    cat = language if isinstance(language, Catalogue) else load_catalogue(language)
    _active[:] = [cat]
    return cat


def active() -> Catalogue:
    return _active[0] if _active else load_catalogue(DEFAULT_LANGUAGE)


def t(key: str, /, **params: Any) -> str:
    """Render ``key`` in the edge's language (shell code only)."""
    return active().text(key, **params)
