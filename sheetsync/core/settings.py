"""Shop settings: the key/value 设置 tab, with defaults for everything.

Which settings exist, the names people type for them, their units, defaults and help texts are
template data (``[[settings]]`` in ``workbook.toml``, read into :class:`SettingSpec`); this module
holds the typed :class:`Settings` the jobs use, keyed by id.

A value a person typed that cannot be understood is reported as a finding on that cell (a code
and parameters; the words are the edge's) and the default is used, so one typo in 设置 never
stops the checks.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import date, time, timedelta
from typing import TYPE_CHECKING, Any, Callable, Mapping, Sequence
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from . import parsing
from .model import Finding, normalise_key_part

if TYPE_CHECKING:
    from .worktime import WorkClock

MAX_LIMIT = timedelta(days=366)  # a time limit longer than a year is a typo


@dataclass(frozen=True)
class Settings:
    shop_name: str = ""
    tz_name: str = "Asia/Shanghai"
    work_start: time | None = None  # None: the SLA clock runs round the clock
    work_end: time | None = None
    rest_days: frozenset[date] = frozenset()
    cs_first_response: timedelta = timedelta(minutes=10)
    dispute_first_reply: timedelta = timedelta(minutes=10)
    qc_verify: timedelta = timedelta(hours=2)
    dispute_resolve: timedelta = timedelta(hours=24)
    review_discover: timedelta = timedelta(hours=24)
    review_contact: timedelta = timedelta(hours=24)
    revisit: timedelta = timedelta(days=2)
    promo_sign_lead: timedelta = timedelta(hours=24)
    warn_lead: int = 30  # percent of a time limit: the warning (amber) starts that long before the deadline
    min_samples: int = 2
    daily_time: time = time(22, 0)
    weekly_weekday: int = 6  # Sunday
    weekly_time: time = time(20, 0)
    weekly_recipients: tuple[str, ...] = ()
    # alerts and the check beat (issue 9)
    check_interval: timedelta = timedelta(minutes=2)  # in working hours; 15 minutes outside
    escalate_after: timedelta = timedelta(hours=2)  # working time after the owner was told
    alert_off_hours: bool = False  # False: alerts due outside 工作时间 wait for the next opening
    # --- issue 11: orders, returns, problems fed back to selection
    ship_limit: timedelta = timedelta(hours=24)
    ship_clock: str = "calendar"  # "work" | "calendar": how the ship limit counts
    return_followup: timedelta = timedelta(days=2)
    return_followup_clock: str = "calendar"
    quality_alert_count: int = 2  # quality problems of one SKU / supplier within quality_window
    quality_window: timedelta = timedelta(days=30)
    # customer service (the shop's reward rule, the monthly scorecard, policy facts)
    cs_reward_limit: timedelta = timedelta(seconds=15)
    cs_reward_share: float = 0.95
    cs_conversion_target: float = 0.55
    cs_conversion_types: tuple[str, ...] = ()
    cs_reward_max_complaints: int = 0
    cs_reward_bonus: float = 0.20
    cs_penalty_complaints: int = 3
    cs_penalty: float = 0.10
    cs_complaint_reasons: tuple[str, ...] = ()
    cs_scorecard_day: int = 1
    cs_scorecard_time: time = time(9, 0)
    return_shipping: str = ""
    delivery_days: str = ""
    findings: tuple[Finding, ...] = field(default=(), compare=False)

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.tz_name)

    def clock(self) -> WorkClock:
        from .worktime import WorkClock

        return WorkClock(start=self.work_start, end=self.work_end, rest_days=self.rest_days)


# The typed contract: setting id -> the type its value has. Two ids fill two fields each
# (work_hours: work_start/work_end, weekly: weekly_weekday/weekly_time); the others are fields.
SETTING_TYPES: Mapping[str, str] = {
    "shop_name": "text",
    "tz_name": "tz",
    "work_hours": "hours_range",
    "rest_days": "date_list",
    "cs_first_response": "duration",
    "dispute_first_reply": "duration",
    "qc_verify": "duration",
    "dispute_resolve": "duration",
    "review_discover": "duration",
    "review_contact": "duration",
    "revisit": "duration",
    "promo_sign_lead": "duration",
    "min_samples": "count",
    "daily_time": "time",
    "weekly": "weekday_time",
    "weekly_recipients": "emails",
    "check_interval": "duration",
    "escalate_after": "duration",
    "alert_off_hours": "bool",
    "warn_lead": "count",  # issue 9: percent of a limit
    # --- issue 11
    "ship_limit": "duration",
    "ship_clock": "clock",
    "return_followup": "duration",
    "return_followup_clock": "clock",
    "quality_alert_count": "count",
    "quality_window": "duration",
    "return_shipping": "text",
    "delivery_days": "text",
    "cs_reward_limit": "duration",
    "cs_reward_share": "percent",
    "cs_conversion_target": "percent",
    "cs_conversion_types": "text_list",
    "cs_reward_max_complaints": "count",
    "cs_reward_bonus": "percent",
    "cs_penalty_complaints": "count",
    "cs_penalty": "percent",
    "cs_complaint_reasons": "text_list",
    "cs_scorecard_day": "day_of_month",
    "cs_scorecard_time": "time",
}
UNITS = ("seconds", "minutes", "hours", "days")
# Settings whose default is words of the template's language (question types, review reasons): the
# template's default is the only one; Settings() leaves them empty.
WORD_SETTINGS = ("cs_conversion_types", "cs_complaint_reasons")


@dataclass(frozen=True)
class SettingSpec:
    """One row of the 设置 tab as the template declares it."""

    id: str
    name: str  # the key people see in the tab
    type: str
    aliases: tuple[str, ...] = ()  # other names that match (the other language's name too)
    unit: str = ""  # durations: seconds / minutes / hours / days (a number without a unit is in this unit)
    default: str = ""  # used when the value is empty or the row is missing ("" = Settings' own)
    initial: str | None = None  # what `sheetsync init` writes; None = the default
    help: str = ""

    @property
    def initial_text(self) -> str:
        return self.default if self.initial is None else self.initial

    def forms(self) -> set[str]:
        return {_key_form(n) for n in (self.name, self.id, *self.aliases)}


class BadSetting(ValueError):
    """A value that cannot be used: ``problem`` names what is wrong (the finding's code is
    ``settings.bad.<problem>``), ``params`` hold the details."""

    def __init__(self, problem: str, **params: Any) -> None:
        super().__init__(problem)
        self.problem = problem
        self.params = params


def _key_form(text: Any) -> str:
    return parsing.normalize_text(text).replace(" ", "").lower()


def convert(spec: SettingSpec, raw: Any, year: int) -> Any:
    """The typed value of one setting; raises :class:`BadSetting`."""
    kind = spec.type
    try:
        if kind == "text":
            return parsing.normalize_text(raw)
        if kind == "tz":
            name = parsing.normalize_text(raw)
            try:
                ZoneInfo(name)
            except (ZoneInfoNotFoundError, ValueError):
                raise BadSetting("tz") from None
            return name
        if kind == "hours_range":
            return parsing.parse_time_range(raw)
        if kind == "date_list":
            return frozenset(d for d in (parsing.parse_date(p, year=year) for p in parsing.split_list(raw)) if d)
        if kind == "duration":
            return _limit(raw, spec.unit)
        if kind == "count":
            try:
                n = parsing.parse_int(raw)
            except parsing.CellParseError:
                n = None
            if n is None or n < 0:
                raise BadSetting("count")
            return n
        if kind == "time":
            try:
                return parsing.parse_time_of_day(raw)
            except parsing.CellParseError:
                raise BadSetting("time") from None
        if kind == "weekday_time":
            return parsing.parse_weekday_time(raw)
        if kind == "bool":
            flag = parsing.parse_bool(raw)
            if flag is None:
                raise BadSetting("bool")
            return flag
        if kind == "clock":
            return parse_clock(raw)
        if kind == "percent":
            return _percent(raw)
        if kind == "text_list":
            return tuple(parsing.normalize_text(x) for x in parsing.split_list(raw))
        if kind == "day_of_month":
            try:
                n = parsing.parse_int(raw)
            except parsing.CellParseError:
                n = None
            if n is None or not 1 <= n <= 28:
                raise BadSetting("day_of_month")
            return n
        if kind == "emails":
            items = parsing.split_list(raw)
            bad = tuple(x for x in items if "@" not in x)
            if bad:
                raise BadSetting("email", bad=bad)
            return items
    except parsing.CellParseError as exc:
        raise BadSetting(exc.kind, **exc.params) from None
    raise AssertionError(kind)


# What people type for how a limit counts time (input vocabulary, like the parsers' 点/下午).
_CLOCKS = {"工作时间": "work", "工作时段": "work", "work": "work", "working": "work", "workinghours": "work",
           "working hours": "work", "全天": "calendar", "自然时间": "calendar", "日历时间": "calendar",
           "24小时": "calendar", "calendar": "calendar", "around the clock": "calendar", "round the clock": "calendar",
           "aroundtheclock": "calendar", "roundtheclock": "calendar", "calendar time": "calendar"}


def parse_clock(raw: Any) -> str:
    """'工作时间' / 'working hours' -> "work", '全天' / 'calendar' -> "calendar"; BadSetting otherwise."""
    text = parsing.normalize_text(raw).lower()
    found = _CLOCKS.get(text) or _CLOCKS.get(text.replace(" ", ""))
    if found is None:
        raise BadSetting("clock")
    return found
def _percent(raw: Any) -> float:
    """'55%', '55' or '0.55' -> 0.55 (a number above 1 is in percent)."""
    typed = parsing.normalize_text(raw) if isinstance(raw, str) else ""
    try:
        n = parsing.parse_number(typed.rstrip("%").strip() if typed else raw)
    except parsing.CellParseError:
        n = None
    if n is None or n < 0 or n > 100:
        raise BadSetting("percent")
    return n / 100 if n > 1 or typed.endswith("%") else float(n)


def _limit(raw: Any, unit: str) -> timedelta:
    n, unit = _duration(raw, unit)
    if n <= 0:
        raise BadSetting("limit")
    try:
        limit = timedelta(**{unit: n})
    except OverflowError:
        limit = timedelta.max
    if limit > MAX_LIMIT:
        raise BadSetting("limit_too_long", max_days=MAX_LIMIT.days)
    return limit


# What people type after a number (input vocabulary, like the parsers' 点/下午).
_UNITS = {"秒": "seconds", "秒钟": "seconds", "s": "seconds", "sec": "seconds", "secs": "seconds",
          "second": "seconds", "seconds": "seconds",
          "分钟": "minutes", "分": "minutes", "min": "minutes", "mins": "minutes", "minute": "minutes",
          "minutes": "minutes", "小时": "hours", "时": "hours", "h": "hours", "hr": "hours", "hrs": "hours",
          "hour": "hours", "hours": "hours", "天": "days", "日": "days", "d": "days", "day": "days", "days": "days"}
_DURATION = re.compile(r"^\s*(?P<n>[-+]?\d+(?:\.\d+)?)\s*(?P<unit>[^\d\s.]*)\s*$")


def _duration(raw: Any, default_unit: str) -> tuple[float, str]:
    """'10' in the setting's own unit, or with a unit: '2小时' in a minutes setting is 120 minutes,
    '15秒' / '0.25分钟' / '15 s' are 15 seconds."""
    if isinstance(raw, (int, float)) and not isinstance(raw, bool):
        return float(raw), default_unit
    match = _DURATION.match(parsing.normalize_text(raw).lower())
    if match and (not match["unit"] or match["unit"] in _UNITS):
        return float(match["n"]), _UNITS.get(match["unit"], default_unit)
    raise BadSetting("duration")


def _lookup(raw: Any, specs: Sequence[SettingSpec]) -> SettingSpec | None:
    form = _key_form(raw)
    if not form:
        return None
    return next((s for s in specs if form in s.forms()), None)


def settings_from_rows(rows: list[list[Any]], *, specs: Sequence[SettingSpec], tab_title: str = "",
                       year: int = 2026, owner_role: str = "", first_row: int = 2, key_col: int = 1,
                       value_col: int = 2, key_header: str = "", value_header: str = "",
                       tab_id: str = "settings") -> Settings:
    """Build Settings from the 设置 tab's rows (all of them, header included). ``specs`` are the
    template's settings; the key and value columns are wherever the tab's header put them
    (``key_col``/``value_col``, 1-based). A template default applies where a value is empty or
    a row is missing. Findings carry a code and parameters; the edge words them."""
    values: dict[str, Any] = {}
    for spec in specs:
        if spec.default:
            values[spec.id] = convert(spec, spec.default, year)  # checked when the template was read
    findings: list[Finding] = []

    def finding(row: int, name: Any, header: str, col: int, col_id: str, cell: Any, code: str, paint: bool, /,
                **params: Any) -> Finding:
        return Finding(tab_title, row, header, col, cell, code, "",
                       row_key=normalise_key_part(name), owner_role=owner_role, paint=paint, tab_id=tab_id,
                       column_id=col_id, params=params)

    for r, row in enumerate(rows[first_row - 1:], start=first_row):
        name = row[key_col - 1] if len(row) >= key_col else None
        raw = row[value_col - 1] if len(row) >= value_col else None
        found = _lookup(name, specs)
        if found is None:
            if parsing.normalize_text(name):
                findings.append(finding(r, name, key_header, key_col, "key", name, "settings.unknown_key", False,
                                        key=parsing.show(name), known=tuple(s.name for s in specs)))
            continue
        if raw is None or parsing.normalize_text(raw) == "":
            continue  # empty: keep the default
        spec = found
        try:
            values[spec.id] = convert(spec, raw, year)
        except BadSetting as exc:
            params = {"raw": parsing.show(raw), **exc.params, "key": parsing.show(name), "value": parsing.show(raw),
                      "setting": spec.id}
            findings.append(finding(r, name, value_header, value_col, "value", raw, f"settings.bad.{exc.problem}", True,
                                    **params))
    kwargs: dict[str, Any] = {}
    for name, value in values.items():
        if name == "work_hours":
            kwargs["work_start"], kwargs["work_end"] = value if value else (None, None)
        elif name == "weekly":
            kwargs["weekly_weekday"], kwargs["weekly_time"] = value
        else:
            kwargs[name] = value
    return replace(Settings(), findings=tuple(findings), **kwargs)


def read_specs(entries: Any, error: Callable[..., Exception]) -> tuple[SettingSpec, ...]:
    """The template's ``[[settings]]`` tables, checked: ids and types of the typed contract, a unit
    for durations, defaults that convert. ``error(key, where, **params)`` makes the exception."""
    specs = []
    for i, spec in enumerate(entries if isinstance(entries, list) else []):
        where = f"[[settings]] #{i + 1}"
        for needed in ("id", "name", "type"):
            if needed not in spec:
                raise error("settings.missing_field", where, field=needed)
        sid, stype = spec["id"], spec["type"]
        if sid not in SETTING_TYPES:
            raise error("settings.unknown_id", where, id=str(sid), known=tuple(SETTING_TYPES))
        if stype != SETTING_TYPES[sid]:
            raise error("settings.bad_type", where, id=sid, type=str(stype), expected=SETTING_TYPES[sid])
        extra = set(spec) - {"id", "name", "aliases", "type", "unit", "default", "initial", "help"}
        if extra:
            raise error("settings.unknown_fields", where, fields=tuple(sorted(extra)))
        unit = str(spec.get("unit", ""))
        if stype == "duration" and unit not in UNITS:
            raise error("settings.need_unit", where, id=sid, known=UNITS)
        if stype != "duration" and unit:
            raise error("settings.no_unit", where, id=sid)
        initial = spec.get("initial")
        made = SettingSpec(sid, str(spec["name"]), stype, tuple(str(a) for a in spec.get("aliases", ())), unit,
                           str(spec.get("default", "")), None if initial is None else str(initial),
                           str(spec.get("help", "")))
        for what in ("default", "initial"):
            text = getattr(made, what)
            try:
                if text:
                    convert(made, text, 2026)
            except BadSetting:
                raise error("settings.bad_value", where, id=sid, field=what, value=text) from None
        specs.append(made)
    ids = [s.id for s in specs]
    dupes = tuple(sorted({i for i in ids if ids.count(i) > 1}))
    if dupes:
        raise error("settings.duplicate_ids", "[[settings]]", ids=dupes)
    forms: dict[str, str] = {}
    for made in specs:
        for form in made.forms():
            if forms.setdefault(form, made.id) != made.id:
                raise error("settings.duplicate_name", "[[settings]]", name=form, first=forms[form], second=made.id)
    return tuple(specs)
