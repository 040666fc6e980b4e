"""Load and check the declarative workbook templates in ``sheet_templates/``.

A template is data (TOML): tabs, their columns (header, aliases, type, dropdown values,
required...), rules, the job-owned tabs and the weekly KPIs. Everything a rule or KPI refers to
is checked here, at load time, so a typo in a template is one clear ``TemplateError`` naming the
file, the tab and the thing — not a crash in the middle of a run.
"""

from __future__ import annotations

import difflib
from functools import lru_cache
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Mapping

from ..errors import TemplateError
from .parsing import header_form, normalize_text
from .rules import CONDITION_PARAMS, KINDS, Condition, Param, Rule, RuleKind
from .rules_orders import BAND_LIMITS, Band  # also registers the kinds of rules_orders
from . import cs_rules  # noqa: F401  (declares the customer-service rule kinds, after the others)
from .settings import Settings, SettingSpec, read_specs

COLUMN_TYPES = ("text", "date", "datetime", "int", "number", "choice", "bool", "sku_list", "email")
TAB_ROLES = ("data", "members", "settings", "inventory")
SETTING_FIELDS = {f.name for f in fields(Settings)} - {"findings"}

# fields every rule may have, whatever its kind
RULE_FIELDS = ("kind", "code", "column", "job", "owner", "owner_column")
# cross-tab rules belong to reconcile-stock; everything else to validate
JOBS = ("validate", "reconcile-stock")
# job-owned tabs a template may declare in [owned.<key>] besides the four every template has
OPTIONAL_OWNED = ("scorecard",)


@dataclass(frozen=True)
class Column:
    id: str
    name: str
    type: str = "text"
    aliases: tuple[str, ...] = ()
    required: bool = False
    unique: bool = False
    min: float | None = None
    choices: tuple[str, ...] = ()
    width: float = 12.0
    note: str = ""
    choice_aliases: Mapping[str, str] = field(default_factory=dict)  # other spellings -> a choice
    optional: bool = False  # a missing optional column is no problem (its checks are skipped)

    def header_forms(self) -> frozenset[str]:
        return _header_forms(self.name, self.id, self.aliases)


@dataclass(frozen=True)
class TabTemplate:
    key: str
    title: str
    aliases: tuple[str, ...]
    role: str
    owner: str
    key_columns: tuple[str, ...]
    columns: tuple[Column, ...]
    rules: tuple[Rule, ...] = ()
    optional: bool = False  # a workbook without this tab is fine (no tab.missing); `init` still lays it out
    starter: tuple[Mapping[str, Any], ...] = ()  # rows `init` writes into a new tab: column id -> value

    def column(self, ref: str) -> Column:
        """Find a column by id or header name (forgiving); KeyError when unknown."""
        for col in self.columns:  # rules ask by id, once per mask: no normalising on that path
            if col.id == ref:
                return col
        wanted = _norm_header(ref)
        for col in self.columns:
            if wanted in col.header_forms():
                return col
        raise KeyError(ref)

    def title_forms(self) -> set[str]:
        return {_norm_header(t) for t in (self.title, self.key, *self.aliases)}


@dataclass(frozen=True)
class OwnedTab:
    key: str
    title: str
    aliases: tuple[str, ...] = ()
    header: tuple[str, ...] = ()
    labels: Mapping[str, str] = field(default_factory=dict)  # other words the job writes in it ("全店")

    def title_forms(self) -> set[str]:
        return {_norm_header(t) for t in (self.title, *self.aliases)}


@dataclass(frozen=True)
class Kpi:
    key: str
    label: str
    tab: str
    date: str  # column id
    when: tuple[Condition, ...] = ()
    sla: str = ""  # rule code
    count_label: str = ""
    # --- issue 11: a numerator counted on another tab (returns / orders), a denominator filter, counts
    num_tab: str = ""  # tab id of the numerator rows ("" = the KPI's own tab)
    num_date: str = ""  # their date column
    exclude: tuple[Condition, ...] = ()  # rows of `tab` matching all of these are not counted
    unit: str = "rate"  # "rate" (numerator / denominator) | "count" (rows of the week)
    better: str = "higher"  # "higher" | "lower" (退货率, 售后纠纷数): which way of a change is good news


@dataclass(frozen=True)
class Breakdown:
    label: str
    tab: str
    date: str
    by: str
    when: tuple[Condition, ...] = ()
    missed: str = ""  # an sla rule code: only the rows that missed it (周报 lists the reasons given)


@dataclass(frozen=True)
class FeedbackSource:
    """A tab whose rows are problems fed back to selection (issue 11): per SKU and 供应商."""

    tab: str
    date: str  # column id
    by: str  # the reason / type column
    label: str = ""
    detail: str = ""  # the column quoted in the note ("" = `by`)
    quality: tuple[Condition, ...] = ()  # rows that are quality problems (counted for the alert)
    sku: str = ""  # column id of the row's SKU ("" = none; joined through `order`)
    order: str = ""  # column id of the row's order number (joined to the orders tab)


@dataclass(frozen=True)
class Feedback:
    orders: str = ""  # tab id with `order` and `sku` columns ("" = no join)
    selection: str = ""  # tab id with `sku`, `supplier`, `date` columns
    selection_pass: tuple[Condition, ...] = ()
    sources: tuple[FeedbackSource, ...] = ()
    top_label: str = ""  # 周报 column: the SKUs with the most problems
    supplier_label: str = ""  # 周报 column: each 供应商's pass rate
    top: int = 5


@dataclass(frozen=True)
class Template:
    name: str
    language: str
    path: Path
    messages: Mapping[str, str]
    tabs: Mapping[str, TabTemplate]
    owned: Mapping[str, OwnedTab]
    kpis: tuple[Kpi, ...]
    breakdowns: tuple[Breakdown, ...]
    weekly_columns: Mapping[str, str]
    manager_role: str = "店长"  # who owns layout problems (missing tabs, 设置 typos)
    settings: tuple[SettingSpec, ...] = ()  # the 设置 tab's rows ([[settings]])
    required_note: str = ""  # [layout]: the header note `init` puts on a required column
    bool_choices: tuple[str, ...] = ()  # [layout]: the dropdown of yes/no columns
    # Other shipped templates: name -> (tab titles, column headers) as compared (_norm_header),
    # to tell a workbook laid out by another language's template.
    others: Mapping[str, tuple[frozenset[str], frozenset[str]]] = field(default_factory=dict, repr=False,
                                                                       compare=False)
    feedback: Feedback = field(default_factory=Feedback)  # [feedback]: problems fed back to selection

    def quote(self, text: Any) -> str:
        """「x」 in Chinese templates, 'x' in English ones (messages.quote)."""
        return self.messages.get("quote", "「{}」").format(text)

    def join(self, items: Any) -> str:
        return self.messages.get("join", "、").join(str(i) for i in items)

    def data_tabs(self) -> list[TabTemplate]:
        return list(self.tabs.values())

    def rule(self, code: str) -> tuple[TabTemplate, Rule]:
        for tab in self.tabs.values():
            for rule in tab.rules:
                if rule.code == code:
                    return tab, rule
        raise KeyError(code)

    def message(self, key: str, **values: Any) -> str:
        return self.messages[key].format(**values)


@lru_cache(maxsize=4096)
def _header_forms(name: str, col_id: str, aliases: tuple[str, ...]) -> frozenset[str]:
    return frozenset(_norm_header(h) for h in (name, col_id, *aliases))


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _norm_header(text: Any) -> str:
    """Header comparison form: NFKC (full-width -> half-width), no spaces at all, lower case."""
    return header_form(text)


def closest(name: str, candidates: list[str], none: str = "") -> str:
    """The candidate most like ``name`` (for 'did you mean'), or ``none`` when none is close."""
    norm = {_norm_header(c): c for c in candidates if normalize_text(c)}
    hits = difflib.get_close_matches(_norm_header(name), list(norm), n=1, cutoff=0.3)
    return norm[hits[0]] if hits else none


def _near(name: str, candidates: list[str]) -> Any:
    """``closest`` for a keyed error: the candidate, or the catalogue's word for none."""
    return closest(name, candidates, "") or TemplateError("core.none")


# ---------------------------------------------------------------------------------------------


def read_template(path: Path, data: dict[str, Any],
                  others: Mapping[str, tuple[frozenset[str], frozenset[str]]] | None = None) -> Template:
    """Check a template's content (``data``, read from ``path``) and build it. Pure: the file is
    read by the shell (``sheetsync.templates.load_template``)."""
    reader = _TemplateReader(path, data)
    template = reader.read()
    return replace(template, others=dict(others or {}), feedback=reader.feedback(template.tabs))


class _TemplateReader:
    def __init__(self, path: Path, data: dict[str, Any]) -> None:
        self.path = path
        self.data = data

    def error(self, name: str, where: str, /, **params: Any) -> TemplateError:
        """A mistake in the template file: ``template.<name>`` of messages/binding.toml."""
        return TemplateError(f"template.{name}", file=self.path.name, where=where, **params)

    def read(self) -> Template:
        meta = self.data.get("template", {})
        messages = dict(self.data.get("messages", {}))
        raw_tabs = self.data.get("tabs")
        if not isinstance(raw_tabs, dict) or not raw_tabs:
            raise self.error("no_tabs", "[tabs]")
        tabs = {key: self._tab(key, spec) for key, spec in raw_tabs.items()}
        roles = [t.role for t in tabs.values()]
        for needed in ("members", "settings", "inventory"):
            if roles.count(needed) != 1:
                raise self.error("role_count", "[tabs]", role=needed, count=roles.count(needed))
        inventory = next(t for t in tabs.values() if t.role == "inventory")
        for needed in ("sku", "stock", "min_price"):
            if needed not in {c.id for c in inventory.columns}:
                raise self.error("inventory_column", f"[tabs.{inventory.key}]", column=needed)
        for tab in tabs.values():
            for rule in tab.rules:
                ref = rule.params.get("inventory")
                if ref is not None and ref != inventory.key:
                    raise TemplateError("core.rule.bad_inventory", file=self.path.name, tab=tab.key, rule=rule.code,
                                        value=ref, inventory=inventory.key)
        owned = {}
        for key in ("weekly", "problems", "runlog", "state"):
            spec = self.data.get("owned", {}).get(key)
            if not spec or "title" not in spec:
                raise self.error("owned_title", f"[owned.{key}]")
            owned[key] = OwnedTab(key, spec["title"], tuple(spec.get("aliases", ())), tuple(spec.get("header", ())))
        for key in OPTIONAL_OWNED:  # job-owned tabs of later features: a template may leave them out
            spec = self.data.get("owned", {}).get(key)
            if spec:
                if "title" not in spec:
                    raise self.error("owned_title", f"[owned.{key}]")
                owned[key] = OwnedTab(key, spec["title"], tuple(spec.get("aliases", ())),
                                      tuple(spec.get("header", ())), dict(spec.get("labels", {})))
        kpis = tuple(self._kpi(i, spec, tabs) for i, spec in enumerate(self.data.get("kpis", [])))
        breakdowns = tuple(self._breakdown(i, spec, tabs) for i, spec in enumerate(self.data.get("breakdowns", [])))
        weekly_columns = dict(self.data.get("weekly_columns", {}))
        for key in ("week", "start", "end", "previous", "change", "counts"):
            if key not in weekly_columns:
                raise self.error("missing_key", "[weekly_columns]", key=key)
        layout = self.data.get("layout", {})
        bool_choices = tuple(str(c) for c in layout.get("bool_choices", ()))
        if len(bool_choices) != 2:
            raise self.error("bool_choices", "[layout]")
        return Template(meta.get("name", self.path.stem), meta.get("language", "zh-CN"), self.path, messages,
                        tabs, owned, kpis, breakdowns, weekly_columns, meta.get("manager_role", ""),
                        read_specs(self.data.get("settings", []), self.error), str(layout.get("required_note", "")),
                        bool_choices)

    # -- tabs and columns ----------------------------------------------------------------------

    def _tab(self, key: str, spec: dict[str, Any]) -> TabTemplate:
        where = f"[tabs.{key}]"
        if "title" not in spec:
            raise self.error("tab.no_title", where)
        role = spec.get("role", "data")
        if role not in TAB_ROLES:
            raise self.error("tab.bad_role", where, role=str(role), known=TAB_ROLES)
        columns = tuple(self._column(where, c) for c in spec.get("columns", []))
        if not columns:
            raise self.error("tab.no_columns", where)
        ids = [c.id for c in columns]
        dupes = {i for i in ids if ids.count(i) > 1}
        if dupes:
            raise self.error("tab.duplicate_ids", where, ids=tuple(sorted(dupes)))
        shell = TabTemplate(key, spec["title"], tuple(spec.get("aliases", ())), role, spec.get("owner", ""),
                            (), columns)
        key_columns = tuple(self._col_ref(shell, where, "key", ref) for ref in spec.get("key", []))
        shell = TabTemplate(key, shell.title, shell.aliases, role, shell.owner, key_columns, columns)
        rules = tuple(self._rule(shell, i, r) for i, r in enumerate(spec.get("rules", [])))
        codes = [r.code for r in rules]
        if len(set(codes)) != len(codes):
            raise self.error("duplicate_codes", where, codes=tuple(sorted({c for c in codes if codes.count(c) > 1})))
        optional = spec.get("optional", False)
        if not isinstance(optional, bool) or (optional and role != "data"):
            raise self.error("tab.bad_optional", where)
        starter = []
        for row in spec.get("starter", []):
            starter.append({self._col_ref(shell, f"{where} starter", "starter", k): v for k, v in row.items()})
        return TabTemplate(key, shell.title, shell.aliases, role, shell.owner, key_columns, columns, rules, optional,
                           tuple(starter))

    def _column(self, where: str, spec: dict[str, Any]) -> Column:
        for needed in ("id", "name"):
            if needed not in spec:
                raise self.error("column.missing_field", where, field=needed, spec=str(spec))
        ctype = spec.get("type", "text")
        if ctype not in COLUMN_TYPES:
            raise self.error("column.bad_type", where, column=spec["name"], type=str(ctype), known=COLUMN_TYPES)
        choices = tuple(spec.get("choices", ()))
        if ctype == "choice" and not choices:
            raise self.error("column.no_choices", where, column=spec["name"])
        known = {"id", "name", "type", "aliases", "required", "unique", "min", "choices", "width", "note",
                 "choice_aliases", "optional"}
        extra = set(spec) - known
        if extra:
            raise self.error("column.unknown_fields", where, column=spec["name"], fields=tuple(sorted(extra)))
        aliases = {str(k): str(v) for k, v in spec.get("choice_aliases", {}).items()}
        wrong = sorted(v for v in aliases.values() if v not in choices)
        if wrong:
            raise self.error("column.bad_choice_aliases", where, column=spec["name"], values=tuple(wrong))
        return Column(spec["id"], spec["name"], ctype, tuple(spec.get("aliases", ())), bool(spec.get("required")),
                      bool(spec.get("unique")), spec.get("min"), choices, float(spec.get("width", 12)),
                      spec.get("note", ""), aliases, bool(spec.get("optional", False)))

    def _col_ref(self, tab: TabTemplate, where: str, what: str, ref: Any) -> str:
        try:
            return tab.column(str(ref)).id
        except KeyError:
            names = [c.name for c in tab.columns]
            raise self.error("unknown_column", where, what=what, ref=str(ref), closest=_near(str(ref), names),
                             columns=tuple(names)) from None

    def _conditions(self, tab: TabTemplate, where: str, spec: Any) -> tuple[Condition, ...]:
        if spec is None:
            return ()
        if not isinstance(spec, dict):
            raise self.error("bad_condition", where, spec=repr(spec))
        out = []
        for ref, value in spec.items():
            col = self._col_ref(tab, where, "when", ref)
            text = str(value)
            if text == "@empty":
                out.append(Condition(col, "empty"))
            elif text == "@filled":
                out.append(Condition(col, "filled"))
            elif text.startswith("!"):
                out.append(Condition(col, "ne", text[1:]))
            else:
                out.append(Condition(col, "eq", text))
            column = tab.column(col)
            if column.type == "choice" and out[-1].op in ("eq", "ne") and out[-1].value not in column.choices:
                raise self.error("condition_choice", where, column=column.name, value=out[-1].value,
                                 choices=tuple(column.choices))
        return tuple(out)

    def _rule(self, tab: TabTemplate, index: int, spec: dict[str, Any]) -> Rule:
        """Any rule, checked against its kind's declaration (sheetsync/core/rules.py KINDS)."""
        code = str(spec.get("code") or f"{tab.key}.rule{index + 1}")

        def fail(key: str, **params: Any) -> TemplateError:
            return TemplateError(f"core.rule.{key}", file=self.path.name, tab=tab.key, rule=code, **params)

        kind_name = spec.get("kind")
        if kind_name not in KINDS:
            raise fail("unknown_kind", kind=str(kind_name), closest=_near(str(kind_name), list(KINDS)),
                       known=tuple(KINDS))
        kind = KINDS[kind_name]
        if "column" not in spec:
            raise fail("no_column")
        fields = kind.message_fields()
        allowed = [*RULE_FIELDS, *(p.name for p in kind.params), *fields]
        for name in spec:
            if name not in allowed:
                raise fail("unknown_param", kind=kind.name, param=name, closest=_near(name, allowed),
                           known=tuple(allowed))
        for p in kind.params:
            if p.required and p.name not in spec:
                raise fail("missing_param", kind=kind.name, param=p.name, type=p.type)
        column = self._rule_column(tab, spec["column"], "column", fail)
        owner_column = ""
        if "owner_column" in spec:
            owner_column = self._rule_column(tab, spec["owner_column"], "owner_column", fail)
        params: dict[str, Any] = {}
        conditions: dict[str, Any] = {}
        for p in kind.params:
            if p.name in spec:
                value = self._rule_param(tab, kind, p, spec[p.name], params, fail)
                (conditions if p.name in CONDITION_PARAMS else params)[p.name] = value
        job = spec.get("job", "validate")
        if job not in JOBS:
            raise fail("bad_job", job=str(job), known=JOBS)
        messages: dict[str, str] = {}
        for name, outcome in fields.items():
            if name in spec:
                if not isinstance(spec[name], str) or not spec[name].strip():
                    raise fail("bad_message", param=name)
                messages[outcome] = spec[name]
        return Rule(kind.name, code, column, job, conditions.get("when", ()), conditions.get("when_any", ()),
                    conditions.get("unless", ()), params, messages, str(spec.get("owner", "")), owner_column)

    def _rule_column(self, tab: TabTemplate, ref: Any, param: str, fail: Any) -> str:
        try:
            return tab.column(str(ref)).id
        except KeyError:
            names = [c.name for c in tab.columns]
            raise fail("unknown_column", param=param, column=str(ref),
                       closest=_near(str(ref), names), columns=tuple(names)) from None

    def _rule_param(self, tab: TabTemplate, kind: RuleKind, p: Param, value: Any, params: dict[str, Any],
                    fail: Any) -> Any:
        """One parameter, checked and resolved by its declared type."""
        where = f"[tabs.{tab.key}] {p.name}"
        if p.type == "column":
            return self._rule_column(tab, value, p.name, fail)
        if p.type == "columns":
            if not isinstance(value, list) or not value:
                raise fail("bad_param", param=p.name, type=p.type, expected=TemplateError(f"core.rule.type.{p.type}"))
            return tuple(self._rule_column(tab, r, p.name, fail) for r in value)
        if p.type == "setting":
            if value not in SETTING_FIELDS:
                raise fail("unknown_setting", setting=str(value), closest=_near(str(value), sorted(SETTING_FIELDS)),
                           known=tuple(sorted(SETTING_FIELDS)))
            return value
        if p.type == "conditions":
            return self._conditions(tab, where, value)
        if p.type == "condition_groups":
            if not isinstance(value, list):
                raise fail("bad_param", param=p.name, type=p.type, expected=TemplateError(f"core.rule.type.{p.type}"))
            return tuple(self._conditions(tab, where, g) for g in value)
        if p.type == "bool":
            if not isinstance(value, bool):
                raise fail("bad_param", param=p.name, type=p.type, expected=TemplateError(f"core.rule.type.{p.type}"))
            return value
        if p.type == "enum":
            if value not in p.values:
                raise fail("bad_enum", param=p.name, value=str(value), known=p.values)
            return value
        if p.type in ("text", "tab"):
            if not isinstance(value, str) or not value:
                raise fail("bad_param", param=p.name, type=p.type, expected=TemplateError(f"core.rule.type.{p.type}"))
            return value
        if p.type == "choice_map":
            if not isinstance(value, dict) or not all(isinstance(v, list) for v in value.values()):
                raise fail("bad_param", param=p.name, type=p.type, expected=TemplateError(f"core.rule.type.{p.type}"))
            by_col = tab.column(params["by"]) if "by" in params else None
            mapping = {str(k): tuple(str(x) for x in v) for k, v in value.items()}
            unknown = [k for k in mapping if by_col is not None and by_col.choices and k not in by_col.choices]
            if unknown and by_col is not None:
                raise fail("bad_choice_key", values=tuple(unknown), column=by_col.name, known=by_col.choices)
            return mapping
        if p.type == "alias_map":
            if not isinstance(value, dict):
                raise fail("bad_param", param=p.name, type=p.type, expected=TemplateError(f"core.rule.type.{p.type}"))
            aliases = {str(k): str(v) for k, v in value.items()}
            allowed_values = {v for vs in params.get("choices", {}).values() for v in vs}
            allowed_values |= {x for band in params.get("bands", ()) for x in (band.name, *band.channels)}
            wrong = sorted(v for v in aliases.values() if v not in allowed_values)
            if wrong:
                raise fail("bad_alias", values=tuple(wrong))
            return aliases
        if p.type == "number_map":
            if not isinstance(value, dict) or not all(_is_number(v) for v in value.values()):
                raise fail("bad_param", param=p.name, type=p.type, expected=TemplateError(f"core.rule.type.{p.type}"))
            return {str(k): float(v) for k, v in value.items()}
        if p.type == "bands":
            return self._bands(value, p, fail)
        if p.type == "texts":  # one text or a list of them (the same thing said in each language)
            items = [value] if isinstance(value, str) else value
            if not isinstance(items, list) or not items or not all(isinstance(v, str) and v for v in items):
                raise fail("bad_param", param=p.name, type=p.type, expected=TemplateError(f"core.rule.type.{p.type}"))
            return tuple(items)
        if p.type == "phrase_map":
            if not isinstance(value, dict) or not value or not all(isinstance(v, str) and v for v in value.values()):
                raise fail("bad_param", param=p.name, type=p.type, expected=TemplateError(f"core.rule.type.{p.type}"))
            return {str(k): str(v) for k, v in value.items()}
        raise AssertionError(f"parameter type {p.type!r} of {kind.name} has no check")  # pragma: no cover

    def _bands(self, value: Any, p: Param, fail: Any) -> tuple[Band, ...]:
        """A list of bands (``[{ name = "…", channels = […], weight_below = 2, … }]``), in order."""
        bad = fail("bad_param", param=p.name, type=p.type, expected=TemplateError(f"core.rule.type.{p.type}"))
        if not isinstance(value, list) or not value:
            raise bad
        bands = []
        for i, spec in enumerate(value):
            if not isinstance(spec, dict):
                raise bad
            extra = sorted(set(spec) - {"name", "channels", *BAND_LIMITS})
            if extra:
                raise fail("bad_band", index=i + 1, fields=tuple(extra), known=("name", "channels", *BAND_LIMITS))
            name, channels = spec.get("name"), spec.get("channels")
            if not isinstance(name, str) or not name.strip() or not isinstance(channels, list) or not channels \
                    or not all(isinstance(c, str) and c.strip() for c in channels):
                raise fail("bad_band", index=i + 1, fields=("name", "channels"),
                           known=("name", "channels", *BAND_LIMITS))
            limits = {k: spec[k] for k in BAND_LIMITS if k in spec}
            if not all(_is_number(v) for v in limits.values()):
                raise fail("bad_band", index=i + 1, fields=tuple(sorted(limits)), known=BAND_LIMITS)
            bands.append(Band(name.strip(), tuple(c.strip() for c in channels),
                              tuple((k, float(v)) for k, v in limits.items())))
        return tuple(bands)

    # -- KPIs ----------------------------------------------------------------------------------

    def _kpi(self, i: int, spec: dict[str, Any], tabs: dict[str, TabTemplate]) -> Kpi:
        where = f"[[kpis]] #{i + 1}"
        for needed in ("key", "label", "tab", "date"):
            if needed not in spec:
                raise self.error("missing_key", where, key=needed)
        tab = self._tab_ref(where, spec["tab"], tabs)
        date = self._col_ref(tab, where, "date", spec["date"])
        unit = spec.get("unit", "rate")
        if unit not in ("rate", "count"):
            raise self.error("kpi_unit", where, unit=str(unit))
        better = spec.get("better", "higher")
        if better not in ("higher", "lower"):
            raise self.error("kpi_better", where, better=str(better))
        num = spec.get("numerator", {})
        if unit == "rate" and not num:
            raise self.error("missing_key", where, key="numerator")
        exclude = self._conditions(tab, where, spec.get("exclude"))
        num_tab, num_date = "", ""
        if "tab" in num:  # rows of another tab in the same week (returns / orders)
            other = self._tab_ref(where, num["tab"], tabs)
            if "date" not in num:
                raise self.error("missing_key", where, key="numerator.date")
            num_tab, num_date = other.key, self._col_ref(other, where, "date", num["date"])
            when = self._conditions(other, where, num.get("when"))
            return Kpi(spec["key"], spec["label"], tab.key, date, when, "", spec.get("count_label", ""), num_tab,
                       num_date, exclude, unit, better)
        sla = num.get("sla", "")
        if sla and not any(r.code == sla and r.kind == "sla" for r in tab.rules):
            raise self.error("unknown_sla", where, tab=tab.title, sla=sla)
        when = self._conditions(tab, where, num.get("when"))
        if unit == "rate" and not sla and not when:
            raise self.error("numerator", where)
        return Kpi(spec["key"], spec["label"], tab.key, date, when, sla, spec.get("count_label", ""), "", "",
                   exclude, unit, better)

    # -- problems fed back to selection (issue 11) ---------------------------------------------

    def feedback(self, tabs: Mapping[str, TabTemplate]) -> Feedback:
        spec = self.data.get("feedback")
        if not spec:
            return Feedback()
        where = "[feedback]"
        orders = selection = ""
        if spec.get("orders"):
            orders = self._tab_ref(where, spec["orders"], dict(tabs)).key
            for needed in ("order", "sku"):
                if needed not in {c.id for c in tabs[orders].columns}:
                    raise self.error("feedback_column", where, tab=orders, column=needed)
        sel_pass: tuple[Condition, ...] = ()
        if spec.get("selection"):
            selection = self._tab_ref(where, spec["selection"], dict(tabs)).key
            for needed in ("sku", "supplier", "date"):
                if needed not in {c.id for c in tabs[selection].columns}:
                    raise self.error("feedback_column", where, tab=selection, column=needed)
            sel_pass = self._conditions(tabs[selection], where, spec.get("selection_pass"))
        sources = []
        for i, src in enumerate(spec.get("sources", [])):
            at = f"[[feedback.sources]] #{i + 1}"
            for needed in ("tab", "date", "by"):
                if needed not in src:
                    raise self.error("missing_key", at, key=needed)
            tab = self._tab_ref(at, src["tab"], dict(tabs))

            def ref(what: str, tab: TabTemplate = tab, at: str = at, src: dict[str, Any] = src) -> str:
                return self._col_ref(tab, at, what, src[what]) if src.get(what) else ""

            sources.append(FeedbackSource(tab.key, ref("date"), ref("by"), str(src.get("label", tab.title)),
                                          ref("detail"), self._conditions(tab, at, src.get("quality")), ref("sku"),
                                          ref("order")))
        return Feedback(orders, selection, sel_pass, tuple(sources), str(spec.get("top_label", "")),
                        str(spec.get("supplier_label", "")), int(spec.get("top", 5)))

    def _breakdown(self, i: int, spec: dict[str, Any], tabs: dict[str, TabTemplate]) -> Breakdown:
        where = f"[[breakdowns]] #{i + 1}"
        for needed in ("label", "tab", "date", "by"):
            if needed not in spec:
                raise self.error("missing_key", where, key=needed)
        tab = self._tab_ref(where, spec["tab"], tabs)
        missed = str(spec.get("missed", ""))
        if missed and not any(r.code == missed and r.kind == "sla" for r in tab.rules):
            raise self.error("unknown_sla", where, tab=tab.title, sla=missed)
        return Breakdown(spec["label"], tab.key, self._col_ref(tab, where, "date", spec["date"]),
                         self._col_ref(tab, where, "by", spec["by"]),
                         self._conditions(tab, where, spec.get("when")), missed)

    def _tab_ref(self, where: str, ref: str, tabs: dict[str, TabTemplate]) -> TabTemplate:
        if ref in tabs:
            return tabs[ref]
        raise self.error("unknown_tab", where, ref=ref, known=tuple(tabs))
