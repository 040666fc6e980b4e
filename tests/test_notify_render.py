"""Rendering the weekly summary and the daily digest: subjects, HTML, plain text, chart, bot markdown.

The reports are the seed week of the product brief (9/10, 1/2, 84/86, 6/6), from helpers_reports.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import replace
from datetime import datetime, timedelta
from html.parser import HTMLParser

import pytest

from sheetsync.core.model import OpenProblem, UnresolvedInquiry
from sheetsync.delivery.chart import SERIES_COLORS, hex_rgb, trend_chart_png
from sheetsync.delivery.render import HISTORY_WEEKS, calendar_weeks, clean_header, md_escape, render_daily, render_weekly
from sheetsync.i18n import load_catalogue

from helpers_reports import CJK, LABELS, WEEK_START, english, english_digest, seed_digest, seed_report, week


# ---------------------------------------------------------------------------------------------
# Subjects


@pytest.mark.parametrize("shop, counts, previous, expected", [
    ("小店", (9, 10), 0.7, "【小店】周报 11.16–11.22 选品合格率 90%(+20)"),
    ("", (9, 10), 0.7, "周报 11.16–11.22 选品合格率 90%(+20)"),
    ("小店", (13, 20), 0.7, "【小店】周报 11.16–11.22 选品合格率 65%(−5)"),
    ("小店", (7, 10), 0.7, "【小店】周报 11.16–11.22 选品合格率 70%(持平)"),
    ("小店", (9, 10), None, "【小店】周报 11.16–11.22 选品合格率 90%(首周)"),
    ("小店", (0, 0), 0.7, "【小店】周报 11.16–11.22 选品合格率 —"),
    ("小店", (2, 3), 0.6, "【小店】周报 11.16–11.22 选品合格率 66.7%(+6.7)"),
    ("小店\r\nBcc: x@y", (9, 10), 0.7, "【小店 Bcc: x@y】周报 11.16–11.22 选品合格率 90%(+20)"),
    ("\u0007小\x00店\u2028", (9, 10), 0.7, "【小店】周报 11.16–11.22 选品合格率 90%(+20)"),
])
def test_weekly_subject(shop, counts, previous, expected):
    msg = render_weekly(seed_report(shop=shop, first_counts=counts, first_previous=previous))
    assert msg.subject == expected


@pytest.mark.parametrize("shop, unresolved, expected", [
    ("小店", None, "【小店】客服日报 11.22 咨询 12 条, 未解决 1 条"),
    ("", (), "客服日报 11.22 咨询 12 条, 未解决 0 条"),
    ("A\nB", (), "【A B】客服日报 11.22 咨询 12 条, 未解决 0 条"),
])
def test_daily_subject(shop, unresolved, expected):
    assert render_daily(seed_digest(shop=shop, unresolved=unresolved)).subject == expected


@pytest.mark.parametrize("counts, previous, expected", [
    ((9, 10), 0.7, "[Sparkle Lab] Weekly report Nov 16–Nov 22: Product pass rate 90% (+20 pts)"),
    ((13, 20), 0.7, "[Sparkle Lab] Weekly report Nov 16–Nov 22: Product pass rate 65% (−5 pts)"),
    ((7, 10), 0.7, "[Sparkle Lab] Weekly report Nov 16–Nov 22: Product pass rate 70% (no change)"),
    ((9, 10), None, "[Sparkle Lab] Weekly report Nov 16–Nov 22: Product pass rate 90% (first week)"),
    ((0, 0), 0.7, "[Sparkle Lab] Weekly report Nov 16–Nov 22: Product pass rate —"),
])
def test_weekly_subject_in_english(counts, previous, expected):
    report = english(seed_report(first_counts=counts, first_previous=previous))
    assert render_weekly(report, "en").subject == expected
    assert render_weekly(replace(report, shop=""), "en").subject == expected.removeprefix("[Sparkle Lab] ")


def test_daily_subject_in_english():
    assert render_daily(english_digest(), "en").subject == \
        "[Sparkle Lab] Customer service digest Nov 22: 12 inquiries, 1 unresolved"


@pytest.mark.parametrize("raw, expected", [
    ("店\r\nBcc: x@y", "店 Bcc: x@y"),
    ("a\tb\x0bc", "a b c"),
    ("zero\u200bwidth", "zerowidth"),
    ("  spaced   out ", "spaced out"),
    (None, ""),
])
def test_clean_header(raw, expected):
    assert clean_header(raw) == expected


# ---------------------------------------------------------------------------------------------
# HTML


class _Cells(HTMLParser):
    """Collects (text, style) of every table cell, and every img src."""

    def __init__(self):
        super().__init__()
        self.cells: list[tuple[str, str]] = []
        self.images: list[str] = []
        self._stack: list[list[str]] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "td":
            self._stack.append([attrs.get("style", ""), ""])
        if tag == "img":
            self.images.append(attrs["src"])

    def handle_endtag(self, tag):
        if tag == "td" and self._stack:
            style, text = self._stack.pop()
            self.cells.append((text.strip(), style))

    def handle_data(self, data):
        if self._stack:
            self._stack[-1][1] += data


def cells(html: str) -> _Cells:
    parser = _Cells()
    parser.feed(html)
    return parser


def test_weekly_html_shows_kpis_with_counts_and_coloured_change():
    report = seed_report(first_counts=(13, 20))  # 65%, down 5 points from 70%
    parsed = cells(render_weekly(report).html)
    texts = [t for t, _s in parsed.cells]
    for expected in ("选品合格率13/20", "65%", "70%", "推广准确率1/2", "50%", "客服响应率84/86",
                     "97.7%", "售后解决率6/6", "100%"):
        assert expected in texts
    style = dict((t, s) for t, s in parsed.cells)
    assert "color:#B91C1C" in style["▼−5"]  # down: red
    assert "color:#15803D" in style["▲+2.7"]  # 95% -> 97.7%: green
    assert "color:#6B7280" in style["持平"]


def test_weekly_html_is_phone_friendly_single_column():
    html = render_weekly(seed_report()).html
    assert "max-width:600px" in html
    assert '<meta name="viewport"' in html
    assert "<style" not in html and "<link" not in html  # inline CSS only


@pytest.mark.parametrize("where", ["shop", "problem", "owner", "breakdown"])
def test_cell_text_is_escaped_in_html(where):
    evil = "<script>alert(1)</script>"
    report = seed_report()
    if where == "shop":
        report = replace(report, shop=evil)
    elif where == "problem":
        report = replace(report, problems=(replace(report.problems[0], message=evil),))
    elif where == "owner":
        report = replace(report, problems=(replace(report.problems[0], owner=evil),))
    else:
        report = replace(report, week=replace(report.week, breakdowns=(("退回原因", ((evil, 1),)),)))
    msg = render_weekly(report)
    assert "<script>" not in msg.html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in msg.html


def test_daily_html_escapes_unresolved_inquiries():
    evil = UnresolvedInquiry(4, "<b>客户</b>", "其他", "<img src=x onerror=alert(1)>", "<i>客服</i>", None)
    html = render_daily(seed_digest(unresolved=(evil,))).html
    assert "<img src=x" not in html and "<b>客户" not in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html


def test_open_problems_grouped_by_owner_oldest_first():
    text = render_weekly(seed_report()).text
    lilei = text.index("李雷 · 2 条")
    wangfang = text.index("王芳 · 1 条")
    assert lilei < text.index("首次响应超过 10 分钟") < text.index("纠纷未解决") < wangfang
    assert wangfang < text.index("「推广确认单」第3行「声明库存」: 声明库存 5 大于库存 3, 会超卖 (自 11-20 14:00)")


def test_long_problem_lists_are_cut_per_owner():
    many = tuple(OpenProblem("客服台账", r, "是否解决", f"第{r}条", "cs.unresolved", "客服", "李雷",
                             datetime(2026, 11, 1, 9, r))
                 for r in range(2, 27))
    msg = render_weekly(seed_report(problems=many), problems_per_owner=20)
    assert "李雷 · 25 条" in msg.text
    assert "另有 5 条, 见表格「问题清单」" in msg.text and "另有 5 条, 见表格「问题清单」" in msg.html
    assert "第21条" in msg.text and "第22条" not in msg.text


def test_plain_text_part_has_the_same_content():
    text = render_weekly(seed_report()).text
    for expected in ("选品合格率: 90% (9/10), 上周 70%, 变化 +20", "推广准确率: 50% (1/2), 上周 50%, 变化 持平",
                     "客服响应率: 97.7% (84/86)", "售后纠纷类别", "- 质量问题: 2", "退回原因\n- 本周没有",
                     "未解决问题 (3)"):
        assert expected in text


def test_daily_text_lists_types_and_unresolved():
    text = render_daily(seed_digest()).text
    assert "咨询 12 条, 按时响应 11 条 (91.7%), 成交 5 条, 未解决 1 条" in text
    assert "- 产品咨询: 7" in text
    assert "- 张女士 · 售后问题: 戒指镶嵌松动, 要求退款 (客服 李雷, 咨询于 11-22 15:02, 客服台账第9行)" in text


# ---------------------------------------------------------------------------------------------
# Chart


def _paeth(a: int, b: int, c: int) -> int:
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    return a if pa <= pb and pa <= pc else (b if pb <= pc else c)


def decode_png(data: bytes) -> tuple[int, int, list[bytes]]:
    """Minimal PNG reader (8-bit RGB, all five filter types): (width, height, rows)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, chunks = 8, {}
    idat = b""
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos:pos + 4])
        kind, body = data[pos + 4:pos + 8], data[pos + 8:pos + 8 + length]
        (crc,) = struct.unpack(">I", data[pos + 8 + length:pos + 12 + length])
        assert crc == zlib.crc32(kind + body) & 0xFFFFFFFF, kind
        chunks[kind] = body
        idat += body if kind == b"IDAT" else b""
        pos += 12 + length
    width, height, depth, color_type = struct.unpack(">IIBB", chunks[b"IHDR"][:10])
    assert (depth, color_type) == (8, 2) and b"IEND" in chunks
    raw, stride, rows, prev = zlib.decompress(idat), width * 3, [], bytes(width * 3)
    for y in range(height):
        ftype, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride if ftype else 0):  # filter 0 (None): bytes as they are
            a, b, c = (line[i - 3] if i >= 3 else 0), prev[i], (prev[i - 3] if i >= 3 else 0)
            pred = [0, a, b, (a + b) // 2, _paeth(a, b, c)][ftype]
            line[i] = (line[i] + pred) & 0xFF
        rows.append(bytes(line))
        prev = bytes(line)
    return width, height, rows


def test_weekly_has_inline_trend_chart_referenced_by_cid():
    report = seed_report(history_weeks=6)
    msg = render_weekly(report)
    assert len(msg.images) == 1
    image = msg.images[0]
    assert cells(msg.html).images == [f"cid:{image.cid}"]
    width, height, rows = decode_png(image.data)
    assert (width, height) == (1120, 440)
    pixels = b"".join(rows)
    rates = [k for k in report.week.kpis if k.unit == "rate"]
    for color in SERIES_COLORS[:len(rates)]:
        assert bytes(hex_rgb(color)) in pixels  # every KPI line is drawn
    for label in LABELS.values():
        assert label in msg.html  # legend in the HTML


@pytest.mark.parametrize(("language", "heading", "line", "days"), [
    ("zh-CN", "近 4 周趋势", "近 4 周 (", ["10.26", "11.02", "11.09", "11.16"]),
    ("en", "Last 4 weeks", "Last 4 weeks (", ["Oct 26", "Nov 2", "Nov 9", "Nov 16"]),
])
def test_a_week_without_data_shows_in_the_trend_as_no_value(language, heading, line, days):
    """Weeks with data 10.26, 11.09 and 11.16: the trend is of the last 4 calendar weeks, 11.02
    with "—" in each KPI, not three weeks side by side as if they were consecutive."""
    report = seed_report(history_weeks=4)
    report = english(report) if language == "en" else report
    quiet = WEEK_START - timedelta(days=14)
    msg = render_weekly(replace(report, history=tuple(w for w in report.history if w.week_start != quiet)), language)
    assert heading in msg.html and line in msg.text
    rows = [r for r in msg.text.splitlines() if r.startswith("- ") and r.count(" / ") == 3]
    assert [r.split(":")[0] for r in rows] == [f"- {d}" for d in days]
    assert rows[1] == f"- {days[1]}: — / — / — / —"
    assert len(msg.images) == 1  # the chart has its gap (drawn as test_chart_leaves_gap_for_weeks_without_data)


def _a_week(weeks_back: int, days_back: int = 0):
    return week(WEEK_START - timedelta(weeks=weeks_back, days=days_back), ((7, 10), (1, 2), (82, 86), (5, 6)))


@pytest.mark.parametrize(("back", "shown"), [
    ((2,), [2, 1, 0]),  # the quiet week between is in the trend
    ((52, 2), [2, 1, 0]),  # a row dated a year off adds no empty weeks
    ((11, 3), list(range(11, -1, -1))),  # from the first week with data among the last 12
    ((12, 11), list(range(11, -1, -1))),
    ((520,), [0]),
    ((), [0]),
])
def test_the_trend_is_of_consecutive_weeks_among_the_last_twelve(back, shown):
    weeks = calendar_weeks(tuple(_a_week(b) for b in back) + (_a_week(0),))
    assert [(WEEK_START - m).days // 7 for m, _w in weeks] == shown
    assert [w is not None for _m, w in weeks] == [b in (*back, 0) for b in shown]
    assert HISTORY_WEEKS == 12 and calendar_weeks(()) == []


def test_the_trend_keeps_weeks_off_the_weekday_as_they_are_and_at_most_twelve():
    odd = tuple(_a_week(b, days_back=3) for b in range(30, 0, -1)) + (_a_week(0),)
    assert calendar_weeks(odd) == [(w.week_start, w) for w in odd[-HISTORY_WEEKS:]]


def test_no_chart_unless_two_weeks_of_the_trend_have_data():
    report = seed_report(history_weeks=1)
    far = replace(report.week, week_start=WEEK_START - timedelta(weeks=40))
    msg = render_weekly(replace(report, history=(far, report.week)))
    assert msg.images == () and "cid:" not in msg.html
    assert render_weekly(replace(report, history=(_a_week(3), report.week))).images != ()


def test_single_week_has_no_chart():
    msg = render_weekly(seed_report(history_weeks=1))
    assert msg.images == () and "cid:" not in msg.html


def test_chart_leaves_gap_for_weeks_without_data():
    with_gap = trend_chart_png(["11.02", "11.09", "11.16"], [[0.5, None, 0.5]], colors=["#FF0000"])
    _w, _h, rows = decode_png(with_gap)
    middle_column = [row[1120 // 2 * 3:1120 // 2 * 3 + 3] for row in rows]
    assert b"\xff\x00\x00" not in middle_column  # no line through the missing week
    joined = trend_chart_png(["11.02", "11.09", "11.16"], [[0.5, 0.5, 0.5]], colors=["#FF0000"])
    _w, _h, rows = decode_png(joined)
    assert b"\xff\x00\x00" in [row[1120 // 2 * 3:1120 // 2 * 3 + 3] for row in rows]


# ---------------------------------------------------------------------------------------------
# Identity and bots


def test_message_id_is_stable_per_kind_shop_and_period():
    first, second = render_weekly(seed_report()), render_weekly(seed_report(first_counts=(8, 10)))
    assert first.message_id == second.message_id
    assert first.key == "weekly-2026-11-16"
    assert first.message_id.startswith("<weekly-2026-11-16.") and first.message_id.endswith("@sheetsync>")
    assert render_weekly(seed_report(shop="别的店")).message_id != first.message_id
    assert render_daily(seed_digest()).key == "daily-2026-11-22"


@pytest.mark.parametrize("raw, forbidden", [
    ("[x](http://evil)", ["[", "](", "http://"]),
    ("@all 快来", ["@"]),
    ('<at user_id="all">所有人</at>', ["<at", "</at>"]),
    ("**粗体** _斜_ `代码`", ["**", "_", "`"]),
    ("第一行\n# 标题", ["\n", "#"]),
])
def test_md_escape_neutralises_markdown(raw, forbidden):
    escaped = md_escape(raw)
    for bad in forbidden:
        assert bad not in escaped


def test_bot_markdown_has_kpis_counts_and_problem_count():
    assert render_weekly(seed_report()).bot_markdown == (
        "- 选品合格率 **90%** (9/10, +20)\n"
        "- 推广准确率 **50%** (1/2, 持平)\n"
        "- 客服响应率 **97.7%** (84/86, +2.7)\n"
        "- 售后解决率 **100%** (6/6, 持平)\n"
        "- 未解决问题 **3** 条"
    )


def test_daily_bot_markdown_escapes_cells():
    evil = UnresolvedInquiry(4, "@all", "其他", "[x](http://evil)", "客服", None)
    md = render_daily(seed_digest(shop="[店](http://evil)", unresolved=(evil,))).bot_markdown
    assert "@all" not in md and "](" not in md and "[x]" not in md
    assert "＠all" in md


# ---------------------------------------------------------------------------------------------
# One language per message


def test_english_weekly_reads_english_in_every_part():
    msg = render_weekly(english(seed_report()), load_catalogue("en"))
    for part in (msg.subject, msg.text, msg.html, msg.bot_title, msg.bot_markdown):
        assert not CJK.findall(part), part
    assert "- Product pass rate: 90% (9/10), last week 70%, change +20 pts" in msg.text
    assert "Tina · 1" in msg.text and "Open problems (3)" in msg.text
    assert "- 'Promotions' row 3, 'Declared stock': Declared stock is 5" in msg.text
    assert "(since Nov 20 14:00)" in msg.text and "- 'Settings': Unknown setting" in msg.text
    assert "Return reasons\n- none this week" in msg.text
    assert '<html lang="en">' in msg.html and "This week's KPIs" in msg.html
    assert msg.bot_title == "[Sparkle Lab] Weekly report Nov 16–Nov 22"
    assert msg.bot_markdown.splitlines() == [
        "- Product pass rate **90%** (9/10, +20 pts)", "- Promotion accuracy **50%** (1/2, no change)",
        "- CS response rate **97.7%** (84/86, +2.7 pts)", "- Dispute resolution rate **100%** (6/6, no change)",
        "- Open problems: **3**"]


def test_english_daily_reads_english_in_every_part():
    msg = render_daily(english_digest(), "en")
    for part in (msg.subject, msg.text, msg.html, msg.bot_title, msg.bot_markdown):
        assert not CJK.findall(part), part
    assert "Inquiries 12, answered in time 11 (91.7%), deals 5, unresolved 1" in msg.text
    assert ("- Ms Zhang · after-sales: The stone wobbles, wants a refund (agent Tina, asked Nov 22 15:02, "
            "Customer service log row 9)") in msg.text
    assert msg.bot_markdown.splitlines()[0] == "- Inquiries: **12**, answered in time: 11 (91.7%), deals: 5"
    empty = render_daily(english_digest(unresolved=()), "en")
    assert "Every inquiry of the day is resolved." in empty.text and "Every inquiry" in empty.html


def test_english_bot_markdown_neutralises_cells_without_full_width_forms():
    evil = UnresolvedInquiry(4, "@all", "other", "[x](http://evil) **now** <at id=all>", "Tina", None)
    digest = english_digest(unresolved=(evil,) * 7)
    md = render_daily(replace(digest, shop="[Shop](http://evil)"), "en").bot_markdown
    assert "@all" not in md and "](" not in md and "http://" not in md and "**now**" not in md and "<at" not in md
    assert not CJK.findall(md)
    assert "  - 2 more on the 'Customer service log' tab" in md
    title = render_daily(replace(digest, shop="[Shop](http://evil)"), "en").bot_title
    assert "](" not in title and not CJK.findall(title)


def test_english_chart_labels_are_drawable_week_dates():
    msg = render_weekly(english(seed_report(history_weeks=3)), "en")
    assert len(msg.images) == 1 and decode_png(msg.images[0].data)[0] == 1120
    assert "white-space:nowrap;\">Nov 2</td>" in msg.html


def test_every_language_has_the_same_delivery_keys_and_a_lookalike_per_markdown_character():
    zh, en = load_catalogue("zh-CN"), load_catalogue("en")
    keys = {k for k in zh.entries if k.startswith("delivery.")}
    assert keys == {k for k in en.entries if k.startswith("delivery.")}
    for cat in (zh, en):
        assert len(cat.raw("delivery.fmt.md_lookalikes")) == 15 and len(cat.raw("delivery.fmt.months")) == 12
    assert not [k for k in keys if CJK.findall(str(en.raw(k)))]


@pytest.mark.parametrize("better, previous, now, color", [
    ("higher", 0.8, 0.9, "#15803D"), ("higher", 0.9, 0.8, "#B91C1C"),
    ("lower", 4, 10, "#B91C1C"), ("lower", 12, 6, "#15803D")])
def test_a_rise_is_green_unless_lower_is_better(better, previous, now, color):
    """售后纠纷数 up from 4 to 10 is bad news (red), 选品合格率 up is good news (green)."""
    from sheetsync.core.model import Kpi
    from sheetsync.delivery.render import change_color

    kpi = (Kpi("dispute_count", "售后纠纷数", int(now), 0, previous, "count", better) if better == "lower"
           else Kpi("selection_pass", "选品合格率", int(now * 10), 10, previous, "rate", better))
    assert change_color(kpi) == color


def test_the_templates_say_returns_and_disputes_are_better_lower(template):
    from sheetsync.templates import load_template

    for tpl in (template, load_template("en")):
        better = {k.key: k.better for k in tpl.kpis}
        assert better["return_rate"] == better["dispute_count"] == "lower"
        assert better["selection_pass"] == "higher"


def test_eight_rate_lines_are_all_drawn_in_eight_colours():
    """The template has eight KPIs; a chart that had four colours silently left out lines 5 and on."""
    from sheetsync.delivery.chart import trend_chart_png

    series = [[0.1 * k + 0.05, 0.1 * k + 0.1] for k in range(8)]
    _w, _h, rows = decode_png(trend_chart_png(["11/16", "11/23"], series))
    pixels = b"".join(rows)
    assert len(set(SERIES_COLORS)) >= 8
    for color in SERIES_COLORS[:8]:
        assert bytes(hex_rgb(color)) in pixels
