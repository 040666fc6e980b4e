"""A fake Feishu Open API (sheets v2/v3 and the tenant_access_token endpoint) on 127.0.0.1.

The real ``lark-oapi`` client talks to it over HTTP through its domain override: it posts the
app id and secret to ``/open-apis/auth/v3/tenant_access_token/internal``, gets a token, then
calls the sheets endpoints with it. Every request is checked against the documented shapes in
``shapes.py``; problems answer HTTP 400 and are recorded in ``errors`` (asserted empty when the
context manager exits). Requests are counted by kind; failures (429 with the rate-limit reset
header, 5xx, dropped connections, a write applied whose answer is lost) can be queued, and a
person's edit can run just before the n-th request.

    with start_fake_feishu({"客服台账": rows}) as fake:
        backend = fake.backend()
        ...
        assert fake.count("values_batch_update") == 1
"""

from __future__ import annotations

import json
import secrets
import sys
import threading
import traceback
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Iterator
from urllib.parse import parse_qs, urlsplit

from .model import MAX_CF_PER_SHEET, ApiError, FakeSpreadsheet, Sheet, cells_in, render
from .shapes import ENDPOINTS, TOKEN, Endpoint, check, check_query

DEFAULT_TOKEN = "shtcnSheetsyncFake000000001"
SCOPES = {"sheets:spreadsheet", "drive:drive"}
_DROP = object()


@dataclass(frozen=True)
class Failure:
    """An injected failure: an HTTP error (429 carries the reset header), a connection closed
    without an answer (``drop``), or the request applied and then its answer lost (``lost``)."""

    status: int = 503
    reset: float | None = None
    drop: bool = False
    lost: bool = False


DROP = Failure(drop=True)
LOST = Failure(lost=True)


@dataclass
class Recorded:
    n: int
    kind: str
    method: str
    path: str
    query: dict[str, list[str]]
    body: Any
    status: int = 0


def _answer(code: int = 0, msg: str = "success", data: Any = None, status: int = 200) -> tuple:
    body: dict[str, Any] = {"code": code, "msg": msg}
    if data is not None:
        body["data"] = data
    return status, {}, body


class FakeFeishu:
    def __init__(self, *, token: str = DEFAULT_TOKEN, title: str = "店铺运营表") -> None:
        self.app_id = "cli_" + secrets.token_hex(8)  # unique per fake: the SDK caches tokens per app id
        self.app_secret = secrets.token_urlsafe(24)
        self.scopes = set(SCOPES)
        self.token = token
        self.model = FakeSpreadsheet(token, title)
        self.collaborators = {token}  # spreadsheets the app was added to
        self.requests: list[Recorded] = []
        self.errors: list[str] = []
        self.token_requests = 0
        self.sleeps: list[float] = []
        self._tokens: set[str] = set()
        self._failures: list[tuple[Failure, str | None]] = []
        self._hooks: dict[int, list[Callable[[FakeSpreadsheet], None]]] = {}
        self._lock = threading.RLock()
        self._server = _Server(("127.0.0.1", 0), _handler_for(self))
        self.domain = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True, name="fake-feishu")
        self._thread.start()

    # ---- set-up -------------------------------------------------------------------------

    def inject(self, *failures: int | Failure, on: str | None = None) -> None:
        """Queue failures for the next requests (of kind ``on``, e.g. 'values_batch_update')."""
        for f in failures:
            self._failures.append((f if isinstance(f, Failure) else Failure(status=f), on))

    def before_request(self, n: int, fn: Callable[[FakeSpreadsheet], None]) -> None:
        """Run ``fn(model)`` (a person's edit) just before API request number ``n`` (1-based)."""
        self._hooks.setdefault(n, []).append(fn)

    def revoke_tokens(self) -> None:
        self._tokens.clear()

    # ---- looking ------------------------------------------------------------------------

    @property
    def request_count(self) -> int:
        return len(self.requests)

    def count(self, kind: str | None = None) -> int:
        return sum(1 for r in self.requests if kind is None or r.kind == kind)

    def writes(self) -> int:
        kinds = {e.kind for e in ENDPOINTS if e.writes}
        return sum(1 for r in self.requests if r.kind in kinds)

    def kinds(self) -> list[str]:
        return [r.kind for r in self.requests]

    def bodies(self, kind: str) -> list[Any]:
        return [r.body for r in self.requests if r.kind == kind]

    def backend(self, **kwargs: Any) -> Any:
        from sheetsync.backends.feishu import FeishuBackend

        kwargs.setdefault("app_id", self.app_id)
        kwargs.setdefault("secret", self.app_secret)
        kwargs.setdefault("domain", self.domain)
        kwargs.setdefault("sleep", self.sleeps.append)
        return FeishuBackend(kwargs.pop("spreadsheet", self.token), **kwargs)

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    # ---- serving ------------------------------------------------------------------------

    def serve(self, method: str, target: str, headers: Any, raw: bytes) -> Any:
        url = urlsplit(target)
        query = parse_qs(url.query, keep_blank_values=True)
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            self.errors.append(f"{method} {url.path}: body is not JSON")
            return _answer(9499, "invalid json", status=400)
        with self._lock:
            if method == TOKEN.method and url.path == TOKEN.path:
                return self._token(body)
            endpoint, token = self._route(method, url.path)
            if endpoint is None:
                self.errors.append(f"{method} {url.path}: not an endpoint the fake knows")
                return _answer(404, "not found", status=404)
            record = Recorded(len(self.requests) + 1, endpoint.kind, method, url.path, query, body)
            self.requests.append(record)
            result = self._serve(record, endpoint, token, headers, body)
            record.status = 0 if result is _DROP else result[0]
            return result

    def _route(self, method: str, path: str) -> tuple[Endpoint | None, str]:
        for e in ENDPOINTS:
            m = e.pattern.match(path)
            if m and e.method == method:
                return e, m["token"]
        return None, ""

    def _token(self, body: Any) -> Any:
        self.token_requests += 1
        problems = check(TOKEN.body, body, "tenant_access_token")  # type: ignore[arg-type]
        if problems:
            self.errors += problems
            return _answer(10003, "invalid param", status=400)
        if body["app_id"] != self.app_id:
            return _answer(10003, "invalid param: app_id not exist", status=400)
        if body["app_secret"] != self.app_secret:
            return _answer(10014, "app secret invalid", status=400)
        token = "t-" + secrets.token_hex(16)
        self._tokens.add(token)
        return 200, {}, {"code": 0, "msg": "ok", "tenant_access_token": token, "expire": 7200}

    def _serve(self, record: Recorded, endpoint: Endpoint, token: str, headers: Any, body: Any) -> Any:
        auth = headers.get("Authorization", "")
        if auth.removeprefix("Bearer ") not in self._tokens:
            return _answer(99991663, "Invalid access token for authorization. Please make a request with token "
                                     "attached.", status=401)
        if not self.scopes & SCOPES:
            return _answer(99991672, "Access denied. One of the following scopes is required: "
                                     "[sheets:spreadsheet, drive:drive].", status=400)
        if token not in self.collaborators:
            return _answer(1310213 if "/v2/" in record.path else 91403, "permission fail", status=403)
        if token != self.model.token:
            return _answer(1310214, "SpreadSheet Not Found", status=404)
        problems = check_query(endpoint, record.query)
        if endpoint.body is not None:
            if not str(headers.get("Content-Type", "")).startswith("application/json"):
                problems.append(f"{endpoint.kind}: Content-Type must be application/json; charset=utf-8")
            problems += check(endpoint.body, body, endpoint.kind)
        elif body not in (None, {}):
            problems.append(f"{endpoint.kind}: takes no body")
        if problems:
            self.errors += [f"{p}  [{endpoint.doc}]" for p in problems]
            return _answer(90001, "; ".join(problems)[:500], status=400)
        for hook in self._hooks.pop(record.n, []):
            hook(self.model)
        failure = self._next_failure(endpoint.kind)
        if failure is not None and not failure.lost:
            if failure.drop:
                return _DROP
            extra = {}
            if failure.status == 429:
                extra = {"x-ogw-ratelimit-limit": "100", "x-ogw-ratelimit-reset": f"{failure.reset or 1:g}"}
                return failure.status, extra, {"code": 99991400, "msg": "request trigger frequency limit"}
            return failure.status, extra, {"code": 1315201 if failure.status >= 500 else 90001,
                                           "msg": "internal error" if failure.status >= 500 else "bad request"}
        try:
            data = self._dispatch(endpoint, record, body)
        except ApiError as exc:
            return _answer(exc.code, exc.msg, status=exc.status)
        except Exception:
            self.errors.append(f"{endpoint.kind}: fake crashed:\n{traceback.format_exc()}")
            return _answer(1315201, "internal error", status=500)
        if failure is not None and failure.lost:
            return _DROP  # applied, but the answer never arrives
        return _answer(data=data)

    def _next_failure(self, kind: str) -> Failure | None:
        for i, (failure, on) in enumerate(self._failures):
            if on is None or on == kind:
                del self._failures[i]
                return failure
        return None

    # ---- the endpoints ------------------------------------------------------------------

    def _dispatch(self, endpoint: Endpoint, record: Recorded, body: Any) -> Any:
        m = self.model
        q = {k: v[-1] for k, v in record.query.items()}
        kind = endpoint.kind
        if kind == "sheets.query":
            return {"sheets": [{"sheet_id": s.sheet_id, "title": s.title, "index": s.index, "hidden": s.hidden,
                                "grid_properties": {"frozen_row_count": s.frozen_rows, "frozen_column_count": 0,
                                                    "row_count": s.rows, "column_count": s.cols},
                                "resource_type": "sheet",
                                "merges": [{"start_row_index": r1 - 1, "start_column_index": c1 - 1,
                                            "end_row_index": r2 - 1, "end_column_index": c2 - 1}
                                           for r1, c1, r2, c2 in s.merges]} for s in m.sheets]}
        if kind == "values_batch_get":
            out = []
            for text in q["ranges"].split(","):
                sheet, bounds = m.parse_range(text)
                out.append({"majorDimension": "ROWS", "range": text, "revision": 1,
                            "values": render(sheet, bounds, m, q.get("valueRenderOption", "ToString"),
                                             "dateTimeRenderOption" in q)})
            return {"revision": 1, "spreadsheetToken": m.token, "valueRanges": out,
                    "totalCells": sum(len(r) for vr in out for r in vr["values"])}
        if kind == "values_batch_update":
            responses = []
            for vr in body["valueRanges"]:
                sheet, (r1, c1, r2, c2) = m.parse_range(vr["range"])
                values = vr["values"]
                if len(values) != r2 - r1 + 1 or any(len(row) != c2 - c1 + 1 for row in values):
                    raise ApiError(90202, f"range {vr['range']} does not match the values' size")
                for i, row in enumerate(values):
                    for j, v in enumerate(row):
                        cell = sheet.cell(r1 + i, c1 + j)
                        cell.value = None if v == "" else v
                responses.append({"spreadsheetToken": m.token, "updatedRange": vr["range"],
                                  "updatedRows": len(values), "updatedColumns": c2 - c1 + 1,
                                  "updatedCells": sum(len(r) for r in values)})
            return {"responses": responses, "revision": 1, "spreadsheetToken": m.token}
        if kind == "styles_batch_update":
            for item in body["data"]:
                for text in item["ranges"]:
                    sheet, (r1, c1, r2, c2) = m.parse_range(text)
                    for r in range(r1, r2 + 1):
                        for c in range(c1, c2 + 1):
                            cell = sheet.cell(r, c)
                            style = item["style"]
                            if "formatter" in style:
                                cell.formatter = style["formatter"]
                            cell.style.update({k: v for k, v in style.items() if k != "formatter"})
            return {"spreadsheetToken": m.token, "totalUpdatedCells": 0, "revision": 1}
        if kind == "sheets_batch_update":
            return {"replies": [self._sheet_request(r) for r in body["requests"]]}
        if kind == "dimension_range.add":
            d = body["dimension"]
            sheet = m.by_id(d["sheetId"])
            if d["majorDimension"] == "ROWS":
                sheet.rows += d["length"]
            else:
                sheet.cols += d["length"]
            return {"addCount": d["length"], "majorDimension": d["majorDimension"]}
        if kind == "dimension_range.update":
            d = body["dimension"]
            sheet = m.by_id(d["sheetId"])
            limit = sheet.cols if d["majorDimension"] == "COLUMNS" else sheet.rows
            if not d["startIndex"] <= d["endIndex"] <= limit:
                raise ApiError(90202, f"dimension {d} outside the grid")
            if "fixedSize" in body["dimensionProperties"] and d["majorDimension"] == "COLUMNS":
                for c in range(d["startIndex"], d["endIndex"] + 1):
                    sheet.widths[c] = body["dimensionProperties"]["fixedSize"]
            return {}
        if kind == "dataValidation":
            sheet, _bounds = m.parse_range(body["range"])
            sheet.validations.append(body)
            return {}
        if kind == "condition_formats.get":
            out = []
            for sid in q["sheet_ids"].split(","):
                sheet = m.by_id(sid)
                out += [{"sheet_id": sid, "condition_format": dict(cf)} for cf in sheet.cfs]
            return {"sheet_condition_formats": out}
        if kind.startswith("condition_formats.batch_"):
            return {"responses": [self._cf(kind, item) for item in
                                  body.get("sheet_condition_formats") or body.get("sheet_cf_ids")]}
        raise ApiError(404, f"not implemented in the fake: {kind}", 404)

    def _sheet_request(self, request: dict[str, Any]) -> dict[str, Any]:
        m = self.model
        if len(request) != 1:
            raise ApiError(90001, "one operation per request entry")
        if "addSheet" in request:
            props = request["addSheet"]["properties"]
            sheet = m.add_tab(props["title"])
            return {"addSheet": {"properties": {"sheetId": sheet.sheet_id, "title": sheet.title, "index": sheet.index}}}
        if "deleteSheet" in request:
            sheet = m.by_id(request["deleteSheet"]["sheetId"])
            m.sheets.remove(sheet)
            return {"deleteSheet": {"result": True, "sheetId": sheet.sheet_id}}
        if "updateSheet" in request:
            props = request["updateSheet"]["properties"]
            sheet = m.by_id(props["sheetId"])
            if "hidden" in props:
                sheet.hidden = props["hidden"]
            if "frozenRowCount" in props:
                sheet.frozen_rows = props["frozenRowCount"]
            if "protect" in props:
                sheet.protect = props["protect"]
            if "title" in props:
                sheet.title = props["title"]
            return {"updateSheet": {"properties": props}}
        raise ApiError(90001, f"operation not implemented in the fake: {list(request)}")

    def _cf(self, kind: str, item: dict[str, Any]) -> dict[str, Any]:
        sheet: Sheet = self.model.by_id(item["sheet_id"])
        if kind == "condition_formats.batch_delete":
            before = len(sheet.cfs)
            sheet.cfs = [cf for cf in sheet.cfs if cf["cf_id"] != item["cf_id"]]
            ok = len(sheet.cfs) < before
            return {"sheet_id": sheet.sheet_id, "cf_id": item["cf_id"], "res_code": 0 if ok else 1, "res_msg": ""}
        cf = dict(item["condition_format"])
        for text in cf["ranges"]:
            if text.partition("!")[0] != sheet.sheet_id:
                raise ApiError(90202, f"range {text} is not on sheet {sheet.sheet_id}")
            self.model.parse_range(text)
        cells_in(cf["ranges"], sheet)
        if kind == "condition_formats.batch_create":
            if len(sheet.cfs) >= MAX_CF_PER_SHEET:
                raise ApiError(90202, "a sheet holds at most 20 conditional formats")
            cf["cf_id"] = secrets.token_hex(5)
            sheet.cfs.append(cf)
        else:
            for i, old in enumerate(sheet.cfs):
                if old["cf_id"] == cf.get("cf_id"):
                    sheet.cfs[i] = cf
                    break
            else:
                raise ApiError(90202, f"no conditional format {cf.get('cf_id')}")
        return {"sheet_id": sheet.sheet_id, "cf_id": cf["cf_id"], "res_code": 0, "res_msg": ""}


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


def _handler_for(fake: FakeFeishu) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _serve(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            result = fake.serve(self.command, self.path, self.headers, raw)
            if result is _DROP:
                self.close_connection = True
                return
            status, extra, body = result
            payload = json.dumps(body, ensure_ascii=False).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(payload)))
            for name, value in extra.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = do_PUT = do_DELETE = _serve

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet: the request log is ``fake.requests``."""

    return Handler


@contextmanager
def start_fake_feishu(tabs: dict[str, list[list[Any]]] | None = None, *, check: bool = True) -> Iterator[FakeFeishu]:
    fake = FakeFeishu()
    try:
        fake.model.load(tabs or {})
        yield fake
    finally:
        fake.close()
    if check:
        assert not fake.errors, "requests the real Feishu API would reject:\n" + "\n".join(fake.errors)
