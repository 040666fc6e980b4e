"""The files of a template folder: finding the template, reading its TOML (cached), the
language's catalogue data the core words findings with, and the other shipped templates'
names (to tell a workbook laid out by another language's template)."""

from __future__ import annotations

import copy
import sys
from functools import lru_cache
from pathlib import Path
from typing import Any, Mapping

from ..errors import TemplateError
from ..paths import templates_dir
from .parsing import header_form, normalize_text

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


def resolve_template_path(name_or_path: str | Path | None) -> Path:
    if name_or_path is None:
        name_or_path = "zh-CN"
    candidate = Path(name_or_path)
    if candidate.suffix == ".toml" and candidate.exists():
        return candidate
    if candidate.is_dir() and (candidate / "workbook.toml").exists():
        return candidate / "workbook.toml"
    shipped = templates_dir() / str(name_or_path) / "workbook.toml"
    if shipped.exists():
        return shipped
    available = sorted(p.parent.name for p in templates_dir().glob("*/workbook.toml"))
    raise TemplateError("template.not_found", name=str(name_or_path), known=tuple(available))


def read_toml(path: Path) -> dict[str, Any]:
    """A TOML file's content (parsed once per file version; a fresh copy each call)."""
    stat = path.stat()
    return copy.deepcopy(_parse_toml(path, stat.st_mtime_ns, stat.st_size))


@lru_cache(maxsize=64)
def _parse_toml(path: Path, _mtime_ns: int, _size: int) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise TemplateError("template.bad_toml", file=path.name, error=str(exc)) from None


def _flatten(data: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in data.items():
        if isinstance(value, Mapping):
            out.update(_flatten(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


def catalogue_texts(path: Path, language: str) -> dict[str, Any]:
    """findings.* and fmt.* entries of the language's messages/*.toml (next to the template file,
    else the shipped folder of its language, else zh-CN's)."""
    texts: dict[str, Any] = {}
    for folder in (templates_dir() / "zh-CN" / "messages", templates_dir() / language / "messages",
                   path.parent / "messages"):
        for file in sorted(folder.glob("*.toml")) if folder.is_dir() else ():
            texts.update({k: v for k, v in _flatten(read_toml(file)).items() if k.startswith(("findings.", "fmt."))})
    return texts


def other_templates(path: Path) -> dict[str, tuple[frozenset[str], frozenset[str]]]:
    """Tab titles and column headers (names, not aliases; as compared) of every other shipped
    template."""
    out = {}
    for other in sorted(templates_dir().glob("*/workbook.toml")):
        if other.resolve() == path.resolve():
            continue
        try:
            data = read_toml(other)
        except TemplateError:
            continue
        tabs = [t for t in data.get("tabs", {}).values() if isinstance(t, dict)]
        titles = frozenset(header_form(t.get("title", "")) for t in tabs) - {""}
        headers = frozenset(header_form(c.get("name", "")) for t in tabs for c in t.get("columns", [])
                            if isinstance(c, dict)) - {""}
        out[other.parent.name] = (titles, headers)
    return out


def render_text(texts: Mapping[str, Any], code: str, params: Mapping[str, Any]) -> str:
    """The finding ``code`` worded by catalogue data (key ``findings.<code>``), ``""`` when there is
    none. Values read as the catalogue formats them: lists joined, numbers without '.0'."""
    pattern = texts.get(f"findings.{code}")
    if not isinstance(pattern, str):
        return ""
    return pattern.format_map(_Shown(texts, params))


def _show(texts: Mapping[str, Any], value: Any) -> str:
    if value is None:
        return str(texts.get("fmt.empty", ""))
    if isinstance(value, bool):
        return str(texts.get("fmt.yes" if value else "fmt.no", value))
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else f"{value:g}"
    if isinstance(value, (tuple, list, frozenset, set)):
        items = sorted(value) if isinstance(value, (set, frozenset)) else value
        return str(texts.get("fmt.join", ", ")).join(_show(texts, v) for v in items)
    return value if isinstance(value, str) else normalize_text(value)


class _Shown(dict[str, Any]):
    def __init__(self, texts: Mapping[str, Any], params: Mapping[str, Any]) -> None:
        super().__init__(params)
        self.texts = texts

    def __getitem__(self, key: str) -> str:
        if key not in self:
            return "{" + key + "}"
        return _show(self.texts, dict.__getitem__(self, key))

    def __missing__(self, key: str) -> str:
        return "{" + key + "}"
