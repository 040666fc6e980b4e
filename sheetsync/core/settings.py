"""Shop settings: the key/value 设置 tab, with defaults for everything.

A value a person typed that cannot be understood is reported as a finding on that cell and the
default is used, so one typo in 设置 never stops the checks.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import date, time, timedelta
from typing import Any, Mapping
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from . import parsing
from .model import Finding

WEEKDAYS_ZH = "一二三四五六日"
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
    min_samples: int = 2
    daily_time: time = time(22, 0)
    weekly_weekday: int = 6  # Sunday
    weekly_time: time = time(20, 0)
    weekly_recipients: tuple[str, ...] = ()
    findings: tuple[Finding, ...] = field(default=(), compare=False)

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.tz_name)

    def clock(self):
        from .worktime import WorkClock

        return WorkClock(start=self.work_start, end=self.work_end, rest_days=self.rest_days)


# key (as in the zh template) -> (field, kind, English alias)
# kinds: text, tz, hours_range, date_list, minutes, hours, days, int, time, weekday_time, emails
SETTING_KEYS: dict[str, tuple[str, str, str]] = {
    "店名": ("shop_name", "text", "shop name"),
    "时区": ("tz_name", "tz", "time zone"),
    "工作时间": ("work_hours", "hours_range", "working hours"),
    "休息日": ("rest_days", "date_list", "rest days"),
    "客服首响时限(分钟)": ("cs_first_response", "minutes", "first response limit (minutes)"),
    "售后首次回复时限(分钟)": ("dispute_first_reply", "minutes", "dispute first reply limit (minutes)"),
    "品控核实时限(小时)": ("qc_verify", "hours", "quality check limit (hours)"),
    "售后解决时限(小时)": ("dispute_resolve", "hours", "dispute resolution limit (hours)"),
    "差评发现时限(小时)": ("review_discover", "hours", "review discovery limit (hours)"),
    "差评联系时限(小时)": ("review_contact", "hours", "review contact limit (hours)"),
    "回访时限(天)": ("revisit", "days", "follow-up limit (days)"),
    "推广签字提前(小时)": ("promo_sign_lead", "hours", "promotion sign-off lead (hours)"),
    "首次合作最少样品数": ("min_samples", "int", "minimum samples for new suppliers"),
    "日报时间": ("daily_time", "time", "daily digest time"),
    "周报时间": ("weekly", "weekday_time", "weekly summary time"),
    "周报收件人": ("weekly_recipients", "emails", "weekly summary recipients"),
}

DEFAULT_MESSAGES = {
    "settings_unknown_key": "不认识的设置项「{key}」, 已忽略。可用的设置项: {known}",
    "settings_bad_value": "设置「{key}」{problem}。暂时按默认值计算, 请改正。",
}

DEFAULT_ROWS: tuple[tuple[str, str, str], ...] = (
    ("店名", "", "出现在周报标题和邮件主题里"),
    ("时区", "Asia/Shanghai", "所有时间按这个时区理解"),
    ("工作时间", "09:00-23:00", "时限只计算工作时间; 留空 = 全天计时"),
    ("休息日", "", "这些日期时限暂停, 多个用逗号分开, 如 2026-10-01, 2026-10-02"),
    ("客服首响时限(分钟)", "10", "客户咨询后多少分钟内必须首次回复"),
    ("售后首次回复时限(分钟)", "10", "售后纠纷接诉后多少分钟内必须首次回复"),
    ("品控核实时限(小时)", "2", "质量问题多少小时内由选品核实"),
    ("售后解决时限(小时)", "24", "售后纠纷多少小时内解决"),
    ("差评发现时限(小时)", "24", "中差评发布后多少小时内应被发现"),
    ("差评联系时限(小时)", "24", "发现中差评后多少小时内联系顾客"),
    ("回访时限(天)", "2", "处理完成后多少天内回访"),
    ("推广签字提前(小时)", "24", "活动开始前多少小时必须签字"),
    ("首次合作最少样品数", "2", "首次合作的供应商至少要看几个样品"),
    ("日报时间", "22:00", "客服日报发送时间"),
    ("周报时间", "周日 20:00", "周报发送时间"),
    ("周报收件人", "", "邮箱, 多个用逗号分开; 留空 = 成员表里所有人"),
)


def _lookup_key(raw: Any) -> str | None:
    text = parsing.normalize_text(raw)
    if not text:
        return None
    for key, (_f, _k, alias) in SETTING_KEYS.items():
        if text == parsing.normalize_text(key) or text.lower() == alias.lower():
            return key
    return None


def _convert(kind: str, raw: Any, year: int) -> Any:
    """Convert one value; raises parsing.CellParseError with a plain-language message."""
    if kind == "text":
        return parsing.normalize_text(raw)
    if kind == "tz":
        name = parsing.normalize_text(raw)
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            raise parsing.CellParseError("tz", raw, f"看不懂的时区: {raw} (例如 Asia/Shanghai)") from None
        return name
    if kind == "hours_range":
        return parsing.parse_time_range(raw)
    if kind == "date_list":
        return frozenset(d for d in (parsing.parse_date(p, year=year) for p in parsing.split_list(raw)) if d)
    if kind in ("minutes", "hours", "days"):
        n, unit = _duration(raw, kind)
        if n is None or n <= 0:
            raise parsing.CellParseError("number", raw, f"时限必须是大于 0 的数字, 现在是: {raw}")
        try:
            limit = timedelta(**{unit: n})
        except OverflowError:
            limit = timedelta.max
        if limit > MAX_LIMIT:
            raise parsing.CellParseError("number", raw, f"时限太长了: {raw} (最多 {MAX_LIMIT.days} 天)")
        return limit
    if kind == "int":
        n = parsing.parse_int(raw)
        if n is None or n < 0:
            raise parsing.CellParseError("number", raw, f"必须是不小于 0 的整数, 现在是: {raw}")
        return n
    if kind == "time":
        t = parsing.parse_time_of_day(raw)
        if t is None:
            raise parsing.CellParseError("time", raw, f"看不懂的时间: {raw} (例如 22:00)")
        return t
    if kind == "weekday_time":
        return parsing.parse_weekday_time(raw)
    if kind == "emails":
        items = parsing.split_list(raw)
        bad = [x for x in items if "@" not in x]
        if bad:
            raise parsing.CellParseError("email", raw, f"不是邮箱地址: {', '.join(bad)}")
        return tuple(items)
    raise AssertionError(kind)


_UNITS = {"分钟": "minutes", "分": "minutes", "min": "minutes", "mins": "minutes", "minutes": "minutes",
          "小时": "hours", "时": "hours", "h": "hours", "hours": "hours",
          "天": "days", "日": "days", "d": "days", "days": "days"}
_DURATION = re.compile(r"^\s*(?P<n>[-+]?\d+(?:\.\d+)?)\s*(?P<unit>[^\d\s.]*)\s*$")


def _duration(raw: Any, default_unit: str) -> tuple[float | None, str]:
    """'10' in the setting's own unit, or with a unit: '2小时' in a minutes setting is 120 minutes."""
    if isinstance(raw, (int, float)) and not isinstance(raw, bool):
        return float(raw), default_unit
    match = _DURATION.match(parsing.normalize_text(raw).lower())
    if match and (not match["unit"] or match["unit"] in _UNITS):
        return float(match["n"]), _UNITS.get(match["unit"], default_unit)
    raise parsing.CellParseError("number", raw, f"看不懂的时长: {raw} (例如 10、30分钟、2小时、1天)")


def settings_from_rows(rows: list[list[Any]], *, tab_title: str = "设置", year: int = 2026,
                       owner_role: str = "店长", first_row: int = 2, key_col: int = 1, value_col: int = 2,
                       key_header: str = "项目", value_header: str = "值",
                       messages: Mapping[str, str] | None = None) -> Settings:
    """Build Settings from the 设置 tab's rows (all of them, header included). The key and value
    columns are wherever the tab's header put them (``key_col``/``value_col``, 1-based).
    ``messages`` (the template's) may word the two notes: settings_unknown_key, settings_bad_value."""
    words = {**DEFAULT_MESSAGES, **(messages or {})}
    values: dict[str, Any] = {}
    findings: list[Finding] = []
    for r, row in enumerate(rows[first_row - 1:], start=first_row):
        name = row[key_col - 1] if len(row) >= key_col else None
        raw = row[value_col - 1] if len(row) >= value_col else None
        key = _lookup_key(name)
        if key is None:
            if parsing.normalize_text(name):
                findings.append(Finding(tab_title, r, key_header, key_col, name, "settings.unknown_key",
                                        words["settings_unknown_key"].format(
                                            key=name, known="、".join(SETTING_KEYS),
                                            known_en=", ".join(a for _f, _k, a in SETTING_KEYS.values())),
                                        row_key=str(name), owner_role=owner_role, paint=False))
            continue
        if raw is None or parsing.normalize_text(raw) == "":
            continue  # empty: keep default
        field_name, kind, _alias = SETTING_KEYS[key]
        try:
            values[field_name] = _convert(kind, raw, year)
        except parsing.CellParseError as exc:
            findings.append(Finding(tab_title, r, value_header, value_col, raw, "settings.bad_value",
                                    words["settings_bad_value"].format(key=key, problem=exc.message, value=raw,
                                                                       alias=SETTING_KEYS[key][2]),
                                    row_key=key, owner_role=owner_role))
    kwargs: dict[str, Any] = {}
    for name, value in values.items():
        if name == "work_hours":
            kwargs["work_start"], kwargs["work_end"] = value if value else (None, None)
        elif name == "weekly":
            kwargs["weekly_weekday"], kwargs["weekly_time"] = value
        else:
            kwargs[name] = value
    return replace(Settings(), findings=tuple(findings), **kwargs)
