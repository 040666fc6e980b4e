"""What a run costs on Google Sheets: answers come gzipped (asked for the way Google wants it),
each run says its requests and bytes, marks on neighbouring rows go out as one request, and a
job-owned tab is updated by difference."""

from __future__ import annotations

from datetime import datetime

import pytest

from conftest import NOW, base_tabs, row_for
from fake_sheets import start_fake_sheets
from sheetsync.app import RunOutcome
from sheetsync.engine import run
from sheetsync.registry import get_jobs

D = datetime
MARK_FIELDS = "userEnteredFormat.backgroundColorStyle,note"
pytestmark = pytest.mark.usefixtures("chinese")


def late_answers(template, n: int, start: int = 0) -> list[list]:
    """``n`` questions answered after two hours (late), one after another on the sheet."""
    return [row_for(template, "cs_log", customer=f"客户{i}", type="产品咨询", asked_at=D(2026, 11, 20, 10, i % 60),
                    answered_at=D(2026, 11, 20, 12, i % 60), agent="童欣", resolved="是")
            for i in range(start, start + n)]


def shop(template, n: int = 30) -> dict[str, list[list]]:
    tabs = base_tabs(template)
    tabs["客服台账"] += late_answers(template, n)
    return tabs


def test_answers_come_gzipped_and_the_run_says_what_it_cost(template):
    with start_fake_sheets(shop(template)) as fake:
        report = run(fake.backend(), get_jobs(None), now=NOW, template=template)
        assert fake.requests and all(r.accept_encoding == "gzip" and "gzip" in r.user_agent for r in fake.requests)
        read = fake.requests[0]
        assert read.kind == "get" and read.gzipped and read.bytes_down * 4 < read.bytes_plain
        assert report.traffic.requests == fake.count()  # the OAuth token request is not an API request
        assert report.traffic.bytes_down == fake.bytes_down()
        assert report.traffic.bytes_up == fake.bytes_up() > 0
        text = RunOutcome(report).text()
        assert f"网络: {fake.count()} 次请求, 下载 " in text and " KB, 上传 " in text


def test_the_fake_only_compresses_when_asked_like_google(template):
    """A client that does not say gzip in its User-Agent gets plain JSON (Google's rule)."""
    with start_fake_sheets(shop(template, 3)) as fake:
        client = fake.gspread_client()
        client.http_client.session.headers["Accept-Encoding"] = "gzip"
        client.open_by_key(fake.spreadsheet_id).fetch_sheet_metadata()
        assert fake.requests[-1].bytes_down == fake.requests[-1].bytes_plain
        assert not fake.requests[-1].gzipped


def test_an_idle_run_reads_once_and_costs_a_fraction_of_the_plain_read(template):
    with start_fake_sheets(shop(template, 200)) as fake:
        run(fake.backend(), get_jobs(None), now=NOW, template=template)
        seen = len(fake.requests)
        again = run(fake.backend(), get_jobs(None), now=NOW, template=template)
        assert again.applied is None and again.traffic.requests == 1
        idle = fake.requests[seen:]
        assert [r.kind for r in idle] == ["get"]
        assert idle[0].bytes_down * 10 <= idle[0].bytes_plain  # at most a tenth of the uncompressed read


def updates(fake, fields: str) -> list[dict]:
    return [r["updateCells"] for body in fake.bodies() for r in body["requests"]
            if "updateCells" in r and r["updateCells"]["fields"] == fields]


def test_marks_on_neighbouring_rows_are_one_request(template):
    with start_fake_sheets(shop(template, 30)) as fake:
        report = run(fake.backend(), get_jobs(None), now=NOW, template=template)
        late = [f for f in report.findings if f.code == "cs.first_response"]
        assert len(late) == 30
        marks = updates(fake, MARK_FIELDS)
        runs = [u for u in marks if u["start"]["columnIndex"] == late[0].col - 1]
        assert len(runs) == 1 and len(runs[0]["rows"]) == 30
        tab = fake.tab("客服台账")
        assert all(f.message in tab.notes[(f.row, f.col)] and tab.fills[(f.row, f.col)] for f in late)


def sheet_id(fake, title: str) -> int:
    return fake.model.sheet(title).sheet_id


def test_problem_list_is_updated_by_difference(template):
    with start_fake_sheets(shop(template, 40)) as fake:
        first = run(fake.backend(), get_jobs(None), now=NOW, template=template)
        assert len(fake.tab("问题清单").rows) == len(first.findings) + 1
        # the last late answer is corrected: its problem leaves the end of the list
        col = 1 + [c.id for c in template.tabs["cs_log"].columns].index("answered_at")
        last = len(fake.tab("客服台账").rows)
        fake.model.set_value("客服台账", last, col, D(2026, 11, 20, 10, 41))
        batches = len(fake.bodies())
        later = run(fake.backend(), get_jobs(None), now=NOW, template=template)
        assert len(later.findings) == len(first.findings) - 1
        problems = sheet_id(fake, "问题清单")
        requests = [r for body in fake.bodies()[batches:] for r in body["requests"]]
        rows_written = sum(len(r["updateCells"].get("rows", ())) for r in requests
                           if "updateCells" in r and r["updateCells"].get("start", {}).get("sheetId") == problems)
        assert rows_written <= 1  # not the whole list again
        listed = fake.tab("问题清单").rows
        assert len(listed) == len(later.findings) + 1
        assert [r[:4] for r in listed[1:]] == [[f.tab, f.row, f.column, f.cell_ref] for f in later.findings]
