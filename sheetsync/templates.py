"""Loading templates from files: finding the template (a shipped language folder of
``sheet_templates/``, a folder, or a ``.toml`` file), reading its TOML (cached), and the other
shipped templates' names (to tell a workbook laid out by another language's template). The
checking of what the file says is the pure core's (``core.template.read_template``)."""

from __future__ import annotations

import copy
import sys
from functools import lru_cache
from pathlib import Path
from typing import Any

from .core.parsing import header_form
from .core.template import Template, read_template
from .errors import TemplateError
from .paths import templates_dir

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


def load_template(name_or_path: str | Path | None = None) -> Template:
    """The template ``name_or_path`` names (default zh-CN), read and checked."""
    path = resolve_template_path(name_or_path)
    return read_template(path, read_toml(path), others=other_templates(path))


__all__ = ["load_template", "other_templates", "read_toml", "resolve_template_path"]
