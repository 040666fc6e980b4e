"""Sample workbooks for a small lab-grown-diamond jewellery shop, in the template's language.

The shop itself is data: ``sheet_templates/demo/<language>.toml`` holds its team, catalogue,
products, promotions, customers, questions, disputes and reviews, typed the way people really
type into Excel; this module only places them in time and lays them out under the template's
headers (tabs and columns are named by template id in the data file). Two uses:

* ``demo_rows(now, template)`` is what ``sheetsync demo`` writes into a fresh workbook: about two
  weeks of a shop's sheets up to ``now``, mostly clean, with messy-but-valid forms
  (``'2026/11/20 10:05'``, ``'５'``, ``'5件'``, ``'¥199'``, ``'1,299'``, ``'Y'``, ``'✓'``, blank
  rows, trailing spaces) and one deliberate mistake for every rule. ``demo_cases(template)`` says
  where each mistake is, so a person trying the demo knows what the red should be;
  ``demo_clean_cases(template)`` lists rows that look suspicious but are right and must stay white.
* ``seed_week_rows(week_start, template)`` is the week from the shop's own story (the Sunday
  quality meeting): 9 of 10 selections passed, 1 of 2 promotions without a mistake, 84 of 86
  questions answered within ten minutes, 6 of 6 disputes solved within a day, and a previous
  week at 70% selection pass rate. Tests use it to check the weekly KPIs.

Everything is computed from the arguments (no clock, no randomness): the same ``now`` always
gives the same workbook, and every language gets the same rows in the same places, so the same
checks flag the same cells. Values are what a person types: real ``datetime``/``date`` objects
and numbers where Excel would store them, strings where a person typed text. ``DEMO_CASES``,
``SHOP_NAME``, ``SELECTOR`` and friends are the zh-CN shop's, for tests and benchmarks.
"""

from __future__ import annotations

import re
import sys
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any, Mapping

from .core.layout import layouts
from .core.template import Template
from .templates import load_template
from .paths import templates_dir

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

DEFAULT_LANGUAGE = "zh-CN"
ROLES = ("selection", "promotion", "service", "finance", "manager")
# how often each question type comes up (ids of [demo.cs_log] types)
_TYPE_CYCLE = ("product", "product", "promotion", "product", "after_sales", "product", "other", "promotion",
               "product", "after_sales")
_HANDLER = {"quality": "selection", "logistics": "finance", "customer": "service"}
_TIME = re.compile(r"([+-]?\d+) (\d{1,2}):(\d{2})")

TemplateLike = Template | str | Path | None


def demo_file(language: str) -> Path:
    return templates_dir() / "demo" / f"{language}.toml"


@lru_cache(maxsize=4)
def load_demo(language: str) -> Mapping[str, Any]:
    """The demo shop of ``language`` (the default language's when it has none)."""
    path = demo_file(language)
    if not path.is_file():
        path = demo_file(DEFAULT_LANGUAGE)
    with path.open("rb") as fh:
        return tomllib.load(fh)


class _Shop:
    """The demo data of one template's language, and how its rows are laid out."""

    def __init__(self, template: TemplateLike):
        self.template = template if isinstance(template, Template) else load_template(template or DEFAULT_LANGUAGE)
        self.data = load_demo(self.template.language)
        self.team = {role: row[0] for role, row in self.data["team"].items()}
        self.words: Mapping[str, str] = self.data["words"]
        self.typed: Mapping[str, str] = self.data["typed"]
        self.anchors: dict[str, datetime] = {}
        self.today = date.min

    # -- values ---------------------------------------------------------------------------

    def value(self, v: Any) -> Any:
        """A cell as the data file gives it: "" is empty, "@role" the team member's name."""
        if isinstance(v, str):
            if v == "":
                return None
            if v.startswith("@") and v[1:] in self.team:
                return self.team[v[1:]]
        return v

    def when(self, v: Any) -> Any:
        """A time in the data file's notation ("-12 10:00", "@soon", "slash:-8 22:00")."""
        if not isinstance(v, str) or v == "":
            return self.value(v)
        form, _, spec = v.partition(":") if v.startswith(("slash:", "spoken:")) else ("", "", v)
        if spec.startswith("@"):
            moment = self.anchors[spec[1:]]
        else:
            match = _TIME.fullmatch(spec)
            if not match:
                raise ValueError(f"demo data: not a time: {v!r}")
            offset, hh, mm = (int(g) for g in match.groups())
            moment = datetime.combine(self.today + timedelta(days=offset), time(hh, mm))
        return self.type_as(form, moment) if form else moment

    def type_as(self, form: str, dt: datetime) -> str:
        """The time typed as text: '2026/11/20 10:05', '2026年11月20日 10点05分'..."""
        h12 = dt.hour % 12 or 12
        return self.typed[form].format(y=dt.year, m=dt.month, d=dt.day, mm=f"{dt.month:02d}", dd=f"{dt.day:02d}",
                                       h=dt.hour, hh=f"{dt.hour:02d}", mi=f"{dt.minute:02d}", h12=h12,
                                       ampm="am" if dt.hour < 12 else "pm")

    def month_day(self, d: date) -> str:
        """'11-20': a date typed without the year."""
        return self.typed["month_day"].format(m=d.month, d=d.day)

    def customer(self, i: int) -> str:
        surnames = self.data["demo"]["cs_log"]["surnames"]
        title = self.words["mr"] if i % 4 == 0 else self.words["ms"]
        return self.words["customer"].format(surname=surnames[(i * 7) % len(surnames)], title=title)

    def yes_no(self, flag: bool) -> str:
        return self.words["yes"] if flag else self.words["no"]

    # -- tabs -----------------------------------------------------------------------------

    def title(self, tab_id: str) -> str:
        return self.template.tabs[tab_id].title

    def table(self, tab_id: str, records: list[dict[str, Any] | None]) -> list[list[Any]]:
        """Header row plus one row per record ({column id: value}), in the template's column
        order; ``None`` is a blank row a person left. An id that is not a column of the tab is a
        bug in the data or in this module, so it fails loudly."""
        columns = self.template.tabs[tab_id].columns
        ids = [c.id for c in columns]
        rows: list[list[Any]] = [[c.name for c in columns]]
        for rec in records:
            if rec is None:
                rows.append([None] * len(ids))
                continue
            unknown = set(rec) - set(ids)
            if unknown:
                raise KeyError(f"{tab_id}: no such column {sorted(unknown)}")
            rows.append([rec.get(i) for i in ids])
        return rows

    def members(self) -> list[list[Any]]:
        # [name, role, e-mail] or [name, role, e-mail, 手机号] (what the group bots @mention)
        return self.table("members", [{"name": row[0], "role": row[1], "email": row[2],
                                       **({"mobile": row[3]} if len(row) > 3 else {})}
                                      for row in self.data["team"].values()])

    def settings(self, work_hours: str) -> list[list[Any]]:
        """The template's 设置 rows as ``init`` writes them, with the shop's name and hours."""
        values = {"shop_name": self.data["shop"]["name"], "work_hours": work_hours,
                  "return_shipping": self.data["shop"].get("return_shipping", "")}
        tab = next(t for t in self.template.tabs.values() if t.role == "settings")
        layout = next(lay for lay in layouts(self.template) if lay.title == tab.title)
        column_ids = [c.id for c in tab.columns]
        records: list[dict[str, Any] | None] = []
        for setting_id, row in _settings_rows(self.template, [list(r) for r in layout.rows]):
            rec = dict(zip(column_ids, row, strict=False))
            if setting_id in values:
                rec["value"] = values[setting_id]
            records.append(rec)
        return self.table(tab.key, records)

    def cases(self, key: str) -> list[tuple[str, str, str]]:
        return [(self.title(tab), rule, where) for tab, rule, where in self.data["demo"][key]]


def _settings_rows(template: Template, rows: list[list[Any]]) -> list[tuple[str, list[Any]]]:
    """(setting id, row) of each 设置 row: the template's ``[[settings]]``, in row order."""
    return [(spec.id, row) for spec, row in zip(template.settings, rows, strict=True)]


def _at(day: date, hhmm: str) -> datetime:
    hh, mm = hhmm.split(":")
    return datetime.combine(day, time(int(hh), int(mm)))


def _order_no(i: int) -> str:
    """A 16-digit order number; distinct for every i (the multiplier is coprime with 10**10)."""
    return f"382165{((i + 1) * 2654435761 + 97531) % 10**10:010d}"


def _last_slot(now: datetime, lag: timedelta) -> datetime:
    """The latest of 10:00, 15:00 or 21:30 (today or yesterday) at least ``lag`` before ``now``.

    Always inside working hours (09:00-23:00), so a row placed there is late by working time
    whatever hour the demo is run at, yet never more than about 14 hours old."""
    latest = now - lag
    slots = [_at(now.date() - timedelta(days=back), hhmm) for back in (0, 1) for hhmm in ("21:30", "15:00", "10:00")]
    return next(s for s in slots if s <= latest)


def _next_slot(now: datetime, lead: timedelta) -> datetime:
    """The first 10:00 or 20:00 at least ``lead`` after ``now``: less than 24 hours away."""
    earliest = now + lead
    slots = [_at(now.date() + timedelta(days=ahead), hhmm) for ahead in (0, 1, 2) for hhmm in ("10:00", "20:00")]
    return next(s for s in slots if s >= earliest)


# ---------------------------------------------------------------------------------------------
# demo_rows: two weeks ending at ``now``


def demo_rows(now: datetime, template: TemplateLike = None) -> dict[str, list[list[Any]]]:
    """Tab title -> rows (row 0 is the header) for the demo workbook of ``template`` (default
    zh-CN), about two weeks up to ``now`` (naive, shop-local time). Mostly clean; see
    ``demo_cases`` for the deliberate mistakes."""
    shop = _Shop(template)
    shop.today = now.date()
    soon = _next_slot(now, timedelta(hours=3))
    shop.anchors = {"soon": soon, "soon_end": soon + timedelta(hours=4),
                    "recent": _last_slot(now, timedelta(hours=1)), "waiting": _last_slot(now, timedelta(minutes=45))}
    tabs = {
        "members": shop.members(),
        "settings": shop.settings(shop.data["shop"]["work_hours"]),
        "selection": shop.table("selection", _demo_selection(shop)),
        "promotions": shop.table("promotions", _demo_promotions(shop)),
        "inventory": shop.table("inventory", _demo_inventory(shop)),
        "cs_log": shop.table("cs_log", _demo_cs_log(shop, now)),
        "disputes": shop.table("disputes", _demo_disputes(shop)),
        "reviews": shop.table("reviews", _demo_reviews(shop)),
        "orders": shop.table("orders", _demo_rows_of(shop, "orders", _ORDER_COLUMNS)),
        "returns": shop.table("returns", _demo_rows_of(shop, "returns", _RETURN_COLUMNS)),
        **_demo_cs_team(shop),
    }
    return {shop.title(tab): rows for tab, rows in tabs.items()}


_ORDER_COLUMNS = ("order", "ordered_at", "platform", "sku", "amount", "currency", "weight", "length", "width", "height",
                  "channel", "shipped_at", "tracking")
_RETURN_COLUMNS = ("order", "sku", "reason", "requested_at", "followup_at", "followup_result")
_ORDER_TIMES = {"ordered_at", "shipped_at", "requested_at", "followup_at"}


def _demo_rows_of(shop: _Shop, tab: str, columns: tuple[str, ...]) -> list[dict[str, Any] | None]:
    """[demo.orders] / [demo.returns]: order "#n" is the n-th demo order number."""
    def value(col: str, v: Any) -> Any:
        if col == "order" and isinstance(v, str) and v.startswith("#"):
            return _order_no(200 + int(v[1:]))
        return shop.when(v) if col in _ORDER_TIMES else shop.value(v)

    return [{col: value(col, v) for col, v in zip(columns, row, strict=True)}
            for row in shop.data["demo"].get(tab, {}).get("rows", [])]


def _demo_cs_team(shop: _Shop) -> dict[str, list[list[Any]]]:
    """排班 (the agent's shifts over the demo's days and tomorrow, lunch left as a gap) and 话术
    (the shop's standard replies), for templates that have those tabs."""
    out: dict[str, list[list[Any]]] = {}
    data = shop.data["demo"].get("shifts")
    if "shifts" in shop.template.tabs and data:
        records: list[dict[str, Any] | None] = []
        for back in range(int(data["days"]), -2, -1):  # ... up to tomorrow
            day = shop.today - timedelta(days=back)
            for start, end in data["shifts"]:
                records.append({"date": day, "agent": shop.value(data["agent"]), "start": start, "end": end})
        for back, start, end in data.get("extra", []):
            records.append({"date": shop.today - timedelta(days=back), "agent": shop.value(data["agent"]),
                            "start": start, "end": end})
        out["shifts"] = shop.table("shifts", records)
    book = shop.data["demo"].get("replies")
    if "replies" in shop.template.tabs and book:
        types = shop.data["demo"]["cs_log"]["types"]
        out["replies"] = shop.table("replies", [{"type": types[t], "scene": scene, "language": language, "reply": reply}
                                               for t, scene, language, reply in book["rows"]])
    return out


def demo_cases(template: TemplateLike = None) -> list[tuple[str, str, str]]:
    """(tab title, rule broken, a value that identifies the row) for every deliberate mistake."""
    return _Shop(template).cases("cases")


def demo_clean_cases(template: TemplateLike = None) -> list[tuple[str, str, str]]:
    """Rows that look wrong at first sight but are right: they must stay white."""
    return _Shop(template).cases("clean_cases")


def oversell_promotion(template: TemplateLike = None) -> str:
    """The promotion from the shop's story that promises more stock than there is."""
    return str(_Shop(template).data["demo"]["oversell_promotion"])


def _checks(shop: _Shop, given: Any) -> tuple[Any, Any, Any]:
    if not given:
        return (shop.words["pass"],) * 3
    return given[0], given[1], given[2]


def _selection_record(day: Any, product: str, sku: str, supplier: str, first: Any, samples: Any,
                      checks: tuple[Any, Any, Any], verdict: Any, reason: Any, checker: Any) -> dict[str, Any]:
    return {"date": day, "product": product, "sku": sku, "supplier": supplier, "first_time": first,
            "samples": samples, "setting_check": checks[0], "cert_check": checks[1], "look_check": checks[2],
            "verdict": verdict, "return_reason": reason, "checker": checker}


def _demo_selection(shop: _Shop) -> list[dict[str, Any] | None]:
    records: list[dict[str, Any] | None] = []
    for i, (back, product, sku, supplier, first, samples, checks, verdict, reason, checker) in enumerate(
            shop.data["demo"]["selection"]["rows"]):
        day = shop.today - timedelta(days=back)
        typed_short = i in (3, 15) and day.year == shop.today.year  # '11-20' only means this year
        records.append(_selection_record(shop.month_day(day) if typed_short else day, product, sku, supplier, first,
                                         samples, _checks(shop, checks), verdict, shop.value(reason),
                                         shop.value(checker)))
        if i == 11:
            records.append(None)  # a blank row someone left between two weeks
    return records


_PROMOTION_COLUMNS = ("name", "start", "end", "skus", "price", "declared_stock", "author", "signer", "signed_at",
                      "error", "error_note", "excluded")
_TIME_COLUMNS = {"start", "end", "signed_at"}


def _demo_promotions(shop: _Shop) -> list[dict[str, Any] | None]:
    return [{col: shop.when(v) if col in _TIME_COLUMNS else shop.value(v)
             for col, v in zip(_PROMOTION_COLUMNS, row, strict=True)}
            for row in shop.data["demo"]["promotions"]["rows"]]


def _inventory_record(sku: str, name: str, stock: Any, floor: Any, updated: datetime) -> dict[str, Any]:
    return {"sku": sku, "product": name, "stock": stock, "min_price": floor, "updated": updated}


def _demo_inventory(shop: _Shop) -> list[dict[str, Any] | None]:
    def updated(back: int) -> datetime:
        return _at(shop.today - timedelta(days=back), f"{17 + back % 5}:{(back * 13) % 60:02d}")

    inv = shop.data["demo"]["inventory"]
    typed = {(sku, column): value for sku, column, value in inv["typed"]}  # how finance typed a few cells
    records: list[dict[str, Any] | None] = []
    for i, (sku, name, stock, floor) in enumerate(shop.data["catalog"]["rows"]):
        records.append(_inventory_record(sku, name, typed.get((sku, "stock"), stock),
                                         typed.get((sku, "min_price"), floor), updated(1 + i % 6)))
    records[4:4] = [_inventory_record(sku, name, stock, floor, updated(back))
                    for sku, name, stock, floor, back in inv["inserted"]]
    records += [_inventory_record(sku, name, stock, floor, updated(back))
                for sku, name, stock, floor, back in inv["appended"]]
    return records


def _inquiry(shop: _Shop, asked: datetime, delay: int | None, customer: str, qtype: str, summary: str,
             remark: Any, deal: Any, resolved: Any, agent: Any) -> dict[str, Any]:
    return {"date": asked.date(), "customer": customer, "type": shop.data["demo"]["cs_log"]["types"][qtype],
            "summary": summary, "asked_at": asked,
            "answered_at": None if delay is None else asked + timedelta(minutes=delay), "agent": agent,
            "deal": deal, "resolved": resolved, "remark": shop.value(remark)}


def _question(shop: _Shop, i: int) -> tuple[str, str, str]:
    qtype = _TYPE_CYCLE[i % len(_TYPE_CYCLE)]
    options = shop.data["demo"]["cs_log"]["questions"][qtype]
    summary, remark = options[i % len(options)]
    return qtype, summary, remark


def _clean_inquiries(shop: _Shop, now: datetime) -> list[dict[str, Any]]:
    """Eight to eleven questions a day, answered within 1-7 minutes, all inside working hours."""
    records: list[dict[str, Any]] = []
    i = 0
    for back in range(13, -1, -1):
        day = now.date() - timedelta(days=back)
        per_day = 8 + (back * 5) % 4
        for j in range(per_day):
            i += 1
            asked = _at(day, "09:20") + timedelta(minutes=j * (780 // per_day) + (i * 17) % 23)
            delay = 1 + (i * 5) % 7
            if asked + timedelta(minutes=delay) > now:
                continue
            qtype, summary, remark = _question(shop, i)
            deal = shop.yes_no(qtype in ("product", "promotion") and i % 3 == 0)
            agent = shop.team["manager"] if day.weekday() == 5 else shop.team["service"]  # the manager covers Saturdays
            records.append(_inquiry(shop, asked, delay, shop.customer(i), qtype, summary, remark, deal,
                                    shop.words["yes"], agent))
    return records


def _demo_cs_log(shop: _Shop, now: datetime) -> list[dict[str, Any] | None]:
    cases = [_inquiry(shop, shop.when(asked), shop.value(delay), customer, qtype, summary, remark, shop.value(deal),
                      shop.value(resolved), shop.value(agent))
             for asked, delay, customer, qtype, summary, remark, deal, resolved, agent
             in shop.data["demo"]["cs_log"]["cases"]]
    case_customers = {rec["customer"] for rec in cases}
    records = sorted(_clean_inquiries(shop, now) + cases, key=lambda r: r["asked_at"])
    out: list[dict[str, Any] | None] = []
    deals = 0
    for i, rec in enumerate(records):
        if rec["customer"] not in case_customers:
            _mess_up_inquiry(shop, i, rec)
        if rec["deal"] == shop.words["yes"]:
            deals += 1
            rec["deal"] = {4: "Y", 9: "✓"}.get(deals, shop.words["yes"])
        out.append(rec)
        if i == 45:
            out.append(None)  # a blank row in the middle
    return out


def _mess_up_inquiry(shop: _Shop, i: int, rec: dict[str, Any]) -> None:
    """Retype a few clean rows the way people do: dates as text, no year (only for this year's
    dates, which is what a person means by '11-20'), trailing spaces."""
    if i in (17, 88):
        rec["asked_at"] = shop.type_as("slash", rec["asked_at"])
    elif i in (29, 101):
        rec["asked_at"] = shop.type_as("spoken", rec["asked_at"])
    if i in (23, 64) and rec["date"].year == shop.today.year:
        rec["date"] = shop.month_day(rec["date"])
    if i == 51:
        rec["agent"] += "  "


def _dispute(shop: _Shop, order: str, customer: str, received: datetime, category: str, description: str,
             reply_min: int, handler: Any, verified: Any, solution: Any, resolved: Any, status: str,
             remark: Any = None) -> dict[str, Any]:
    return {"order": order, "customer": customer, "received_at": received,
            "category": shop.data["demo"]["disputes"]["categories"][category], "description": description,
            "first_reply_at": received + timedelta(minutes=reply_min), "handler": handler,
            "verified_at": verified, "solution": solution, "resolved_at": resolved, "status": shop.words[status],
            "remark": remark}


def _demo_disputes(shop: _Shop) -> list[dict[str, Any] | None]:
    data = shop.data["demo"]["disputes"]
    clean: list[dict[str, Any]] = []
    for i, (back, hhmm, category, customer, desc, solution, reply, verify, hours) in enumerate(data["clean"]):
        received = _at(shop.today - timedelta(days=back), hhmm)
        verified = received + timedelta(minutes=verify) if verify else None
        clean.append(_dispute(shop, _order_no(i), customer, received, category, desc, reply,
                              shop.team[_HANDLER[category]], verified, solution, received + timedelta(hours=hours),
                              "resolved"))
    customer, category, desc, reply, remark = data["fresh"]
    clean.append(_dispute(shop, _order_no(len(clean)), customer, shop.anchors["recent"], category, desc, reply,
                          shop.team[_HANDLER[category]], None, None, None, "open", remark))
    cases = [_dispute(shop, order, customer, shop.when(received), category, desc, reply, shop.value(handler),
                      shop.when(verified), shop.value(solution), shop.when(resolved), status, shop.value(remark))
             for order, customer, received, category, desc, reply, handler, verified, solution, resolved, status, remark
             in data["cases"]]
    skus = data.get("skus", {})  # description -> SKU (issue 11: problems fed back to selection)
    for rec in clean + cases:
        rec["sku"] = skus.get(rec["description"])
    ordered = sorted(clean + cases, key=lambda r: r["received_at"])
    records: list[dict[str, Any] | None] = [*ordered]
    # two clean rows typed as text (after sorting: the dicts are shared with ``records``)
    clean[2]["received_at"] = shop.type_as("spoken", clean[2]["received_at"])
    clean[5]["first_reply_at"] = shop.type_as("slash", clean[5]["first_reply_at"])
    return records


_REVIEW_COLUMNS = ("order", "posted_at", "found_at", "rating", "content", "reason", "contacted_at", "channel",
                   "solution", "done_at", "revisit_at", "satisfied", "asked_change", "changed")
_REVIEW_TIMES = {"posted_at", "found_at", "contacted_at", "done_at", "revisit_at"}
_REVIEW_WORDS = {"rating", "channel"}  # ids of [words]


def _review_value(shop: _Shop, column: str, v: Any, base: int) -> Any:
    if column == "order" and isinstance(v, str) and v.startswith("#"):
        return _order_no(base + int(v[1:]))
    if column in _REVIEW_TIMES:
        return shop.when(v)
    if column in _REVIEW_WORDS and v:
        return shop.words[v]
    return shop.value(v)


def _demo_reviews(shop: _Shop) -> list[dict[str, Any] | None]:
    base = 100  # order numbers distinct from the disputes'
    return [{col: _review_value(shop, col, v, base) for col, v in zip(_REVIEW_COLUMNS, row, strict=True)}
            for row in shop.data["demo"]["reviews"]["rows"]]


# ---------------------------------------------------------------------------------------------
# seed_week_rows: the week from the shop's story, and the week before


def seed_week_rows(week_start: date, template: TemplateLike = None) -> dict[str, list[list[Any]]]:
    """Tab title -> rows (row 0 is the header) for the seed story's week ``week_start`` (a Monday)
    through Sunday, plus the previous week. Clean except where the KPIs need otherwise; working
    hours are left empty (round the clock) so every SLA count is plain arithmetic.

    This week: selections 9/10 passed, promotions 1/2 without an error, questions 84/86 answered
    within 10 minutes, disputes 6/6 solved within 24 hours. Last week: selections 7/10."""
    shop = _Shop(template)
    previous = week_start - timedelta(days=7)
    tabs = {
        "members": shop.members(),
        "settings": shop.settings(""),
        "selection": shop.table("selection", _seed_selection(shop, previous, 3) + _seed_selection(shop, week_start, 1)),
        "promotions": shop.table("promotions", _seed_promotions(shop, previous, week_start)),
        "inventory": shop.table("inventory", [_inventory_record(sku, name, stock, floor, _at(previous, "18:00"))
                                              for sku, name, stock, floor in shop.data["catalog"]["rows"]]),
        "cs_log": shop.table("cs_log", _seed_inquiries(shop, previous, (11, 10, 10, 10, 10, 10, 11), ())
                             + _seed_inquiries(shop, week_start, (13, 13, 12, 12, 12, 12, 12),
                                               ((1, 3, 21), (3, 8, 17)))),
        "disputes": shop.table("disputes", _seed_disputes(shop, previous, 12, 0)
                               + _seed_disputes(shop, week_start, 6, 12)),
        "reviews": shop.table("reviews", _seed_reviews(shop, previous, 50) + _seed_reviews(shop, week_start, 51)),
        "orders": shop.table("orders", []),
        "returns": shop.table("returns", []),
        **{key: shop.table(key, []) for key in ("shifts", "replies") if key in shop.template.tabs},  # left empty
    }
    return {shop.title(tab): rows for tab, rows in tabs.items()}


def _seed_selection(shop: _Shop, monday: date, returned: int) -> list[dict[str, Any] | None]:
    """Ten checks Monday to Saturday; the first ``returned`` of the 4th, 6th and 9th are returned.
    The 4th comes from a new supplier (two samples), as in the story."""
    seed, words, catalog = shop.data["seed"], shop.words, shop.data["catalog"]["rows"]
    return_slots = (3, 5, 8)[:returned]
    records: list[dict[str, Any] | None] = []
    for i in range(10):
        _sku, name, _stock, _floor = catalog[(i + monday.toordinal()) % len(catalog)]
        checks, verdict, reason = [words["pass"]] * 3, words["pass"], None
        if i in return_slots:
            failed, reason = seed["returns"][return_slots.index(i)]
            checks[failed], verdict = words["fail"], words["returned"]
        suppliers = seed["suppliers"]
        first, supplier = ((words["yes"], seed["new_supplier"]) if i == 3
                           else (words["no"], suppliers[i % len(suppliers)]))
        records.append(_selection_record(monday + timedelta(days=i * 6 // 10), name, _sku, supplier, first, 2,
                                         (checks[0], checks[1], checks[2]), verdict, reason, shop.team["selection"]))
    return records


def _seed_promotions(shop: _Shop, previous: date, monday: date) -> list[dict[str, Any] | None]:
    """Two promotions starting in each week, signed by finance two days ahead; one mistake in
    this week's second (the story's forgotten SKU)."""
    records: list[dict[str, Any] | None] = []
    for week, day, hhmm, name, skus, price, declared, note in shop.data["seed"]["promotions"]:
        start = _at((previous, monday)[week] + timedelta(days=day), hhmm)
        end = datetime.combine(start.date() + timedelta(days=1), time(23, 59))
        records.append({"name": name, "start": start, "end": end, "skus": skus, "price": price,
                        "declared_stock": declared, "author": shop.team["promotion"], "signer": shop.team["finance"],
                        "signed_at": start - timedelta(days=2),
                        "error": shop.words["error" if note else "no_error"], "error_note": shop.value(note)})
    return records


def _seed_inquiries(shop: _Shop, monday: date, per_day: tuple[int, ...],
                    late: tuple[tuple[int, int, int], ...]) -> list[dict[str, Any] | None]:
    """``per_day[k]`` questions on day k, every 65 minutes from 09:10, answered in 1-8 minutes;
    ``late`` lists (day, index, minutes) answered late — the agent was at lunch or dinner."""
    late_map = {(day, j): minutes for day, j, minutes in late}
    records: list[dict[str, Any] | None] = []
    i = 0
    for k, count in enumerate(per_day):
        day = monday + timedelta(days=k)
        for j in range(count):
            i += 1
            qtype, summary, remark = _question(shop, i)
            delay = late_map.get((k, j), 1 + (i * 3) % 8)
            if (k, j) in late_map:
                remark = shop.words["late_remark"]
            deal = shop.yes_no(qtype in ("product", "promotion") and i % 3 == 0)
            records.append(_inquiry(shop, _at(day, "09:10") + timedelta(minutes=65 * j), delay, shop.customer(i),
                                    qtype, summary, remark, deal, shop.words["yes"], shop.team["service"]))
    return records


def _seed_disputes(shop: _Shop, monday: date, count: int, first_order: int) -> list[dict[str, Any] | None]:
    """``count`` disputes spread over Monday to Saturday, each replied to in 5 minutes, quality
    problems verified within the hour, every one solved 3-5 hours after it came in."""
    plan = shop.data["seed"]["disputes"]
    records: list[dict[str, Any] | None] = []
    for i in range(count):
        category, description, solution = plan[i % len(plan)]
        day = i * 6 // count
        later_that_day = i > 0 and (i - 1) * 6 // count == day
        received = _at(monday + timedelta(days=day), "16:40" if later_that_day else "10:20")
        received += timedelta(minutes=(i * 7) % 30)
        verified = received + timedelta(minutes=60) if category == "quality" else None
        records.append(_dispute(shop, _order_no(first_order + i), shop.customer(i + 3), received, category,
                                description, 5, shop.team[_HANDLER[category]], verified, solution,
                                received + timedelta(hours=3 + i % 3), "resolved"))
    return records


def _seed_reviews(shop: _Shop, monday: date, order: int) -> list[dict[str, Any] | None]:
    """One bad review a week, found two hours later, phoned, solved, revisited next day and changed."""
    plan = shop.data["seed"]["reviews"]
    rating, content, reason, solution = plan[order % len(plan)]
    posted = _at(monday + timedelta(days=2), "11:00")
    yes = shop.words["yes"]
    return [{"order": _order_no(order), "posted_at": posted, "found_at": posted + timedelta(hours=2),
             "rating": shop.words[rating], "content": content, "reason": reason,
             "contacted_at": posted + timedelta(hours=3), "channel": shop.words["phone"], "solution": solution,
             "done_at": posted + timedelta(hours=4), "revisit_at": posted + timedelta(days=1), "satisfied": yes,
             "asked_change": yes, "changed": yes}]


# ---------------------------------------------------------------------------------------------
# The zh-CN shop's names, for tests and benchmarks (read on first use).

_ZH_NAMES = {"SELECTOR": "selection", "PROMOTER": "promotion", "AGENT": "service", "FINANCE": "finance",
             "MANAGER": "manager"}


def __getattr__(name: str) -> Any:
    if name in _ZH_NAMES:
        return load_demo(DEFAULT_LANGUAGE)["team"][_ZH_NAMES[name]][0]
    if name == "SHOP_NAME":
        return load_demo(DEFAULT_LANGUAGE)["shop"]["name"]
    if name == "DEMO_CASES":
        return demo_cases()
    if name == "DEMO_CLEAN_CASES":
        return demo_clean_cases()
    if name == "OVERSELL_PROMOTION":
        return oversell_promotion()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
