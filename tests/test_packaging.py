"""The wheel ships every package folder and every data file the code reads (a fresh
`pip install .` must work, not only an editable install)."""

from __future__ import annotations

import sys
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]


def setuptools_config() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]


def test_every_package_folder_is_listed():
    listed = set(setuptools_config()["packages"])
    found = {".".join(p.parent.relative_to(ROOT).parts) for p in (ROOT / "sheetsync").rglob("__init__.py")}
    assert found - listed == set()


def test_every_template_file_is_package_data():
    patterns = setuptools_config()["package-data"]["sheetsync.sheet_templates"]
    folder = ROOT / "sheet_templates"
    shipped = {p for pattern in patterns for p in folder.glob(pattern)}
    wanted = {p for p in folder.rglob("*") if p.is_file() and p.suffix in (".toml", ".j2")}
    assert sorted(str(p.relative_to(folder)) for p in wanted - shipped) == []
