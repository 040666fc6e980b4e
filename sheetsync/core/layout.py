"""Turn a template into the tab layouts `sheetsync init` creates (headers, dropdowns, widths).

Every word here is the template's: headers, the note on a required column, the yes/no dropdown,
and the 设置 rows (name, initial value, help) from its ``[[settings]]``.
"""

from __future__ import annotations

from dataclasses import replace

from .model import ColumnLayout, TabLayout
from .template import Column, Template
from .weekly import weekly_header

NUMBER_FORMATS = {"datetime": "yyyy-mm-dd hh:mm", "date": "yyyy-mm-dd"}


def _column(col: Column, template: Template) -> ColumnLayout:
    choices = col.choices if col.type == "choice" else template.bool_choices if col.type == "bool" else ()
    note = col.note or (template.required_note if col.required else "")
    return ColumnLayout(col.name, col.width, tuple(choices), NUMBER_FORMATS.get(col.type), note)


def settings_rows(template: Template) -> tuple[tuple[str, ...], ...]:
    """The 设置 tab's rows as `init` writes them: (name, initial value, help), in the order of the
    settings tab's columns (key, value, help by id)."""
    tab = next(t for t in template.tabs.values() if t.role == "settings")
    by_id = {"key": lambda s: s.name, "value": lambda s: s.initial_text, "help": lambda s: s.help}
    ids = [c.id for c in tab.columns]
    return tuple(tuple(by_id[i](spec) if i in by_id else "" for i in ids) for spec in template.settings)


def layouts(template: Template) -> list[TabLayout]:
    out: list[TabLayout] = []
    for tab in template.tabs.values():
        rows: tuple[tuple, ...] = settings_rows(template) if tab.role == "settings" else ()
        if tab.starter:  # a template's starter rows (the reply book's first replies)
            rows = tuple(tuple(r.get(c.id) for c in tab.columns) for r in tab.starter)
        out.append(TabLayout(tab.title, tuple(_column(c, template) for c in tab.columns), rows=rows))
    owned = template.owned
    out.append(TabLayout(owned["weekly"].title, tuple(ColumnLayout(h, 12) for h in weekly_header(template)),
                         job_owned=True))
    out.append(TabLayout(owned["problems"].title, tuple(ColumnLayout(h, 12) for h in owned["problems"].header),
                         job_owned=True))
    out.append(TabLayout(owned["runlog"].title, tuple(ColumnLayout(h, 12) for h in owned["runlog"].header),
                         job_owned=True))
    if "scorecard" in owned:
        out.append(TabLayout(owned["scorecard"].title, tuple(ColumnLayout(h, 12) for h in owned["scorecard"].header),
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
