"""Turn a template into the tab layouts `sheetsync init` creates (headers, dropdowns, widths)."""

from __future__ import annotations

from dataclasses import replace

from .model import ColumnLayout, TabLayout
from .settings import DEFAULT_ROWS
from .template import Column, Template
from .weekly import weekly_header

NUMBER_FORMATS = {"datetime": "yyyy-mm-dd hh:mm", "date": "yyyy-mm-dd"}
BOOL_CHOICES = ("是", "否")


def _column(col: Column, bool_choices: tuple[str, ...]) -> ColumnLayout:
    choices = col.choices if col.type == "choice" else bool_choices if col.type == "bool" else ()
    note = col.note or ("必填" if col.required else "")
    return ColumnLayout(col.name, col.width, tuple(choices), NUMBER_FORMATS.get(col.type), note)


def layouts(template: Template) -> list[TabLayout]:
    bool_choices = BOOL_CHOICES if template.language.startswith("zh") else ("yes", "no")
    out: list[TabLayout] = []
    for tab in template.tabs.values():
        rows: tuple[tuple, ...] = ()
        if tab.role == "settings":
            rows = tuple(DEFAULT_ROWS) if template.language.startswith("zh") else ()
        out.append(TabLayout(tab.title, tuple(_column(c, bool_choices) for c in tab.columns), rows=rows))
    owned = template.owned
    out.append(TabLayout(owned["weekly"].title, tuple(ColumnLayout(h, 12) for h in weekly_header(template)),
                         job_owned=True))
    out.append(TabLayout(owned["problems"].title, tuple(ColumnLayout(h, 12) for h in owned["problems"].header),
                         job_owned=True))
    out.append(TabLayout(owned["runlog"].title, tuple(ColumnLayout(h, 12) for h in owned["runlog"].header),
                         job_owned=True))
    out.append(TabLayout(owned["state"].title, tuple(ColumnLayout(h, 12) for h in owned["state"].header),
                         job_owned=True, hidden=True))
    return out


def layouts_with_rows(template: Template, rows: dict[str, list[list]]) -> list[TabLayout]:
    """The template's layouts, with the data rows of ``rows`` ({title: [header, *data]}) as
    each tab's initial rows (demo and test workbooks)."""
    out = []
    for layout in layouts(template):
        data = rows.get(layout.title)
        if data is not None:
            layout = replace(layout, rows=tuple(tuple(r) for r in data[1:]))
        out.append(layout)
    return out
