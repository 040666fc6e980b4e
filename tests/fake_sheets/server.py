"""A fake Google Sheets API v4 and OAuth token endpoint on 127.0.0.1, for tests and benchmarks.

The real clients talk to it over HTTP: google-auth signs a service-account JWT with the key file
this fake writes and posts it to ``/token`` (the key's ``token_uri``); the fake checks the
signature and hands out an access token; gspread then calls ``/v4/spreadsheets/...`` with it.

Every request is checked against the official discovery document (unknown fields, enums, field
masks, query parameters); problems answer HTTP 400 and are recorded in ``errors``, which
``start_fake_sheets`` asserts empty at the end. Requests are counted per endpoint; failures
(429/5xx with Retry-After, dropped connections) can be queued, and a person's edit can be run
just before the n-th request.

    with start_fake_sheets({"客服台账": rows}) as fake:
        backend = fake.backend()
        ...
        assert fake.count("batchUpdate") == 1
        assert fake.tab("客服台账").fills[(3, 2)] == "FFC7CE"
"""

from __future__ import annotations

import base64
import gzip
import json
import secrets
import shutil
import sys
import tempfile
import threading
import time
import traceback
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Callable, Iterator
from urllib.parse import parse_qs, unquote, urlsplit

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from .discovery import DiscoveryValidator
from .model import ApiError, FakeSpreadsheet, NotImplementedInFake

DEFAULT_SPREADSHEET_ID = "1SheetsyncFakeSpreadsheet0000000000000000AB"
CLIENT_EMAIL = "sheetsync-bot@shop-sync-test.iam.gserviceaccount.com"
PROJECT_ID = "shop-sync-test"
PROJECT_NUMBER = "482915630277"
JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
# google-auth always addresses its assertions to Google's token endpoint, whatever token_uri says.
TOKEN_AUDIENCE = "https://oauth2.googleapis.com/token"
_SHEETS_SCOPES = {"https://www.googleapis.com/auth/spreadsheets", "https://www.googleapis.com/auth/drive",
                  "https://www.googleapis.com/auth/drive.file"}
# batchUpdate requests whose ``fields`` mask applies to a schema, for checking the mask.
_MASKED = {"updateCells": "CellData", "repeatCell": "CellData", "appendCells": "CellData",
           "updateSheetProperties": "SheetProperties", "updateDimensionProperties": "DimensionProperties",
           "updateSpreadsheetProperties": "SpreadsheetProperties", "updateProtectedRange": "ProtectedRange"}
_DROP = object()


# Google refuses a request body over 10 MiB ("Request payload size exceeds the limit").
MAX_PAYLOAD = 10_485_760


def wants_gzip(headers: Any) -> bool:
    """Google's rule for a compressed answer: ``Accept-Encoding: gzip`` *and* a User-Agent that
    contains the string ``gzip`` (developers.google.com, "Performance tips")."""
    accepted = [part.split(";")[0].strip().lower() for part in (headers.get("Accept-Encoding") or "").split(",")]
    return "gzip" in accepted and "gzip" in (headers.get("User-Agent") or "")


@dataclass(frozen=True)
class Failure:
    """One injected failure: an HTTP error (with optional Retry-After and ErrorInfo reason), a
    connection closed without an answer (``drop``), or the normal answer held back for
    ``stall`` seconds (a server that hangs; the client's timeout has to give up first).
    ``applied``: the request is carried out first and only its answer is the failure (a write
    that happened although the client sees a 500 or no answer)."""

    status: int = 503
    retry_after: float | None = None
    reason: str = ""
    drop: bool = False
    stall: float = 0.0
    applied: bool = False


DROP = Failure(drop=True)
LOST = Failure(drop=True, applied=True)  # the write was applied, its answer never arrived


@dataclass
class Recorded:
    """One API request the fake received (token requests are counted separately)."""

    n: int
    http_method: str
    kind: str  # "get", "batchUpdate", "values.batchGet", "values.update", ...
    path: str
    query: dict[str, list[str]]
    body: Any
    status: int = 0
    accept_encoding: str = ""  # the request's Accept-Encoding and User-Agent headers
    user_agent: str = ""
    bytes_up: int = 0  # request body as sent
    bytes_down: int = 0  # response body as sent (compressed when gzip was asked for)
    bytes_plain: int = 0  # response body before compression
    gzipped: bool = False


@lru_cache(maxsize=1)
def _private_key() -> rsa.RSAPrivateKey:
    """Generating an RSA key takes a moment; one per process is enough."""
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _b64decode(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def _error_body(status: int, message: str, rpc_status: str, reason: str = "") -> dict[str, Any]:
    error: dict[str, Any] = {"code": status, "message": message, "status": rpc_status}
    if reason:
        metadata = {"service": "sheets.googleapis.com", "consumer": f"projects/{PROJECT_NUMBER}"}
        error["details"] = [{"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": reason,
                             "domain": "googleapis.com", "metadata": metadata}]
    return {"error": error}


_STOCK_ERRORS = {
    401: ("Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other "
          "valid authentication credential.", "UNAUTHENTICATED"),
    403: ("The caller does not have permission", "PERMISSION_DENIED"),
    404: ("Requested entity was not found.", "NOT_FOUND"),
    429: ("Quota exceeded for quota metric 'Requests' and limit 'Requests per minute per user' of service "
          f"'sheets.googleapis.com' for consumer 'project_number:{PROJECT_NUMBER}'.", "RESOURCE_EXHAUSTED"),
    500: ("Internal error encountered.", "INTERNAL"),
    502: ("Bad Gateway", "UNAVAILABLE"),
    503: ("The service is currently unavailable.", "UNAVAILABLE"),
    504: ("The service is currently unavailable.", "DEADLINE_EXCEEDED"),
}


def _stock_error(status: int, reason: str = "") -> dict[str, Any]:
    message, rpc = _STOCK_ERRORS.get(status, ("Request failed.", "UNKNOWN"))
    if reason == "SERVICE_DISABLED":
        message = (f"Google Sheets API has not been used in project {PROJECT_NUMBER} before or it is disabled. "
                   f"Enable it by visiting https://console.developers.google.com/apis/api/sheets.googleapis.com/"
                   f"overview?project={PROJECT_NUMBER} then retry.")
    if status == 429 and not reason:
        reason = "RATE_LIMIT_EXCEEDED"
    return _error_body(status, message, rpc, reason)


class FakeSheets:
    """The fake service: spreadsheets, a service account that may use them, request log."""

    def __init__(self, *, title: str = "店铺运营表", spreadsheet_id: str = DEFAULT_SPREADSHEET_ID,
                 reject_deprecated: bool = True) -> None:
        self.validator = DiscoveryValidator(reject_deprecated=reject_deprecated)
        self._routes = self.validator.routes()
        self.spreadsheets: dict[str, FakeSpreadsheet] = {}
        self.editors: dict[str, set[str]] = {}
        self.spreadsheet_id = spreadsheet_id
        self.model = self.add_spreadsheet(spreadsheet_id, title)
        self.requests: list[Recorded] = []
        self.errors: list[str] = []
        self.token_requests = 0
        self.scopes: list[str] = []
        self.sleeps: list[float] = []  # what a backend made with backend() asked to sleep
        self.api_enabled = True
        self.client_email = CLIENT_EMAIL
        self.project_id = PROJECT_ID
        self._served = 0
        self._failures: list[tuple[Failure, str | None]] = []
        self._always: tuple[Failure, str | None] | None = None
        self._hooks: dict[int, list[Callable[[FakeSpreadsheet], None]]] = {}
        self._tokens: dict[str, tuple[str, str]] = {}
        self._public_keys = {CLIENT_EMAIL: _private_key().public_key()}
        self._lock = threading.RLock()
        self._current = threading.local()  # the API request the serving thread is answering
        self._dir = Path(tempfile.mkdtemp(prefix="fake-sheets-"))
        self._server = _Server(("127.0.0.1", 0), _handler_for(self))
        self.endpoint = f"http://127.0.0.1:{self._server.server_address[1]}"
        self.token_uri = f"{self.endpoint}/token"
        self.key_file = self.write_key_file(self._dir / "service_account.json")
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="fake-sheets", daemon=True)
        self._thread.start()

    # ---- set-up -------------------------------------------------------------------------

    def add_spreadsheet(self, spreadsheet_id: str, title: str = "店铺运营表") -> FakeSpreadsheet:
        """Another spreadsheet, shared with the service account."""
        model = FakeSpreadsheet(spreadsheet_id, title)
        self.spreadsheets[spreadsheet_id] = model
        self.editors[spreadsheet_id] = {CLIENT_EMAIL}
        return model

    def key_info(self, *, private_key: rsa.RSAPrivateKey | None = None) -> dict[str, Any]:
        """A service-account key in the shape Google's console downloads."""
        pem = (private_key or _private_key()).private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode()
        return {
            "type": "service_account", "project_id": PROJECT_ID, "private_key_id": "f" * 40, "private_key": pem,
            "client_email": CLIENT_EMAIL, "client_id": "104729871436150192837",
            "auth_uri": "https://accounts.google.com/o/oauth2/auth", "token_uri": self.token_uri,
            "auth_provider_x509_cert_url": "https://www.googleapis.com/oauth2/v1/certs",
            "client_x509_cert_url": f"https://www.googleapis.com/robot/v1/metadata/x509/{CLIENT_EMAIL}",
            "universe_domain": "googleapis.com",
        }

    def write_key_file(self, path: Path, **kwargs: Any) -> Path:
        path.write_text(json.dumps(self.key_info(**kwargs), indent=2), encoding="utf-8")
        return path

    def unshare(self, spreadsheet_id: str | None = None) -> None:
        """Take the service account off the spreadsheet's editors (-> 403 PERMISSION_DENIED)."""
        self.editors[spreadsheet_id or self.spreadsheet_id].discard(CLIENT_EMAIL)

    def revoke_key(self) -> None:
        """The key was deleted in the console: the token endpoint rejects its signatures."""
        self._public_keys.pop(CLIENT_EMAIL, None)

    def inject_errors(self, *errors: int | Failure, on: str | None = None) -> None:
        """Queue failures for the next API requests (of kind ``on``, e.g. 'batchUpdate', or any)."""
        for error in errors:
            self._failures.append((error if isinstance(error, Failure) else Failure(status=error), on))

    def fail_always(self, error: int | Failure, *, on: str | None = None) -> None:
        """Every matching request fails from now on (a long outage)."""
        self._always = (error if isinstance(error, Failure) else Failure(status=error), on)

    def before_request(self, n: int, fn: Callable[[FakeSpreadsheet], None]) -> None:
        """Run ``fn(model)`` (a person's edit) just before serving API request number ``n``
        (1-based, counting every API request since start; see ``request_count``)."""
        self._hooks.setdefault(n, []).append(fn)

    def sent(self, size: int, plain: int, gzipped: bool) -> None:
        """The handler (in this thread) wrote an answer of ``size`` bytes to the API request it
        just served (token requests are not recorded)."""
        record = getattr(self._current, "record", None)
        self._current.record = None
        if record is not None:
            record.bytes_down, record.bytes_plain, record.gzipped = size, plain, gzipped

    # ---- looking ------------------------------------------------------------------------

    def bytes_down(self, since: int = 0) -> int:
        return sum(r.bytes_down for r in self.requests[since:])

    def bytes_up(self, since: int = 0) -> int:
        return sum(r.bytes_up for r in self.requests[since:])

    @property
    def request_count(self) -> int:
        return self._served

    def count(self, kind: str | None = None) -> int:
        """API requests received (of one kind: 'get', 'batchUpdate', 'values.batchGet', ...)."""
        return sum(1 for r in self.requests if kind is None or r.kind == kind)

    def kinds(self) -> list[str]:
        return [r.kind for r in self.requests]

    def bodies(self, kind: str = "batchUpdate") -> list[Any]:
        return [r.body for r in self.requests if r.kind == kind]

    def tab(self, title: str) -> Any:
        return self.model.tab(title)

    def snapshot(self) -> Any:
        return self.model.snapshot()

    def backend(self, **kwargs: Any) -> Any:
        """A GoogleBackend wired to this fake (its key, endpoint, and a sleep that records)."""
        from sheetsync.backends.google import GoogleBackend

        kwargs.setdefault("credentials_path", str(self.key_file))
        kwargs.setdefault("endpoint", self.endpoint)
        kwargs.setdefault("sleep", self.sleeps.append)
        return GoogleBackend(kwargs.pop("spreadsheet", self.spreadsheet_id), **kwargs)

    def gspread_client(self) -> Any:
        """A plain gspread Client aimed at the fake, without sheetsync's retries and batching
        (for comparing sheetsync with tutorial-style per-cell code)."""
        import gspread
        from google.auth.transport.requests import AuthorizedSession

        from sheetsync.backends.google_transport import SheetsHTTPClient, load_key, make_credentials

        session = AuthorizedSession(make_credentials(load_key(self.key_file)))
        client = gspread.Client(auth=None, session=session)  # type: ignore[arg-type]
        client.http_client = SheetsHTTPClient(session, self.endpoint)
        return client

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        shutil.rmtree(self._dir, ignore_errors=True)

    # ---- serving ------------------------------------------------------------------------

    def serve(self, http_method: str, target: str, headers: Any, raw: bytes) -> Any:
        """Answer one HTTP request: (status, extra headers, JSON body) or _DROP."""
        url = urlsplit(target)
        self._current.record = None
        if url.path == "/token" and http_method == "POST":
            with self._lock:
                return self._token(raw)
        route = self._route(http_method, url.path)
        if route is None:
            self.errors.append(f"{http_method} {url.path}: not a Sheets v4 method the fake knows")
            return 404, {}, _stock_error(404)
        method, params = route
        query = parse_qs(url.query, keep_blank_values=True)
        with self._lock:
            self._served += 1
            record = Recorded(self._served, http_method, method["id"].removeprefix("sheets.spreadsheets."),
                              url.path, query, None, accept_encoding=headers.get("Accept-Encoding", ""),
                              user_agent=headers.get("User-Agent", ""), bytes_up=len(raw))
            self.requests.append(record)
            self._current.record = record
            result = self._answer(record, method, params, headers, raw)
            record.status = 0 if result is _DROP else result[0]
            return result

    def _route(self, http_method: str, path: str) -> tuple[dict[str, Any], dict[str, str]] | None:
        for verb, pattern, method in self._routes:
            m = pattern.match(path)
            if verb == http_method and m:
                return method, {k: unquote(v) for k, v in m.groupdict().items()}
        return None

    def _answer(self, record: Recorded, method: dict[str, Any], params: dict[str, str], headers: Any,
                raw: bytes) -> Any:
        if len(raw) > MAX_PAYLOAD:  # Google's hard limit on a request body
            self.errors.append(f"{record.kind}: body of {len(raw)} bytes exceeds the {MAX_PAYLOAD} byte limit")
            return 400, {}, _error_body(400, f"Request payload size exceeds the limit: {MAX_PAYLOAD} bytes.",
                                        "INVALID_ARGUMENT")
        try:
            body = record.body = json.loads(raw) if raw else None
        except ValueError as exc:
            self.errors.append(f"{record.kind}: body is not JSON: {exc}")
            return 400, {}, _error_body(400, f"Invalid JSON payload received. {exc}", "INVALID_ARGUMENT")
        for hook in self._hooks.pop(record.n, []):
            hook(self.model)
        failure = self._next_failure(record.kind)
        if failure is not None and failure.stall:
            result = self._answer_normally(record, method, params, headers, body)
            return result if result is _DROP else (*result[:3], failure.stall)
        if failure is not None and failure.applied:
            self._answer_normally(record, method, params, headers, body)
        if failure is not None:
            if failure.drop:
                return _DROP
            extra = {"Retry-After": f"{failure.retry_after:g}"} if failure.retry_after is not None else {}
            return failure.status, extra, _stock_error(failure.status, failure.reason)
        return self._answer_normally(record, method, params, headers, body)

    def _answer_normally(self, record: Recorded, method: dict[str, Any], params: dict[str, str], headers: Any,
                         body: Any) -> Any:
        denied = self._deny(headers, params["spreadsheetId"])
        if denied:
            return denied
        problems = self._problems(record, method, body)
        if problems:
            self.errors += problems
            return 400, {}, _error_body(400, "Invalid request: " + "; ".join(problems), "INVALID_ARGUMENT")
        try:
            return 200, {}, self._dispatch(record, params, body)
        except ApiError as exc:
            return exc.status, {}, _error_body(exc.status, str(exc), exc.rpc_status)
        except NotImplementedInFake as exc:
            self.errors.append(f"{record.kind}: the fake does not implement {exc}")
            return 501, {}, _error_body(501, f"not implemented in the fake: {exc}", "UNIMPLEMENTED")
        except Exception:  # a bug in the fake: fail the test, loudly
            self.errors.append(f"{record.kind}: fake crashed:\n{traceback.format_exc()}")
            return 500, {}, _stock_error(500)

    def _next_failure(self, kind: str) -> Failure | None:
        for i, (failure, on) in enumerate(self._failures):
            if on is None or on == kind:
                del self._failures[i]
                return failure
        if self._always and self._always[1] in (None, kind):
            return self._always[0]
        return None

    def _deny(self, headers: Any, spreadsheet_id: str) -> Any:
        """Authentication, API enabled, spreadsheet exists, shared with the caller."""
        auth = headers.get("Authorization", "")
        grant = self._tokens.get(auth.removeprefix("Bearer ")) if auth.startswith("Bearer ") else None
        if grant is None:
            return 401, {}, _stock_error(401)
        email, scope = grant
        if not _SHEETS_SCOPES & set(scope.split()):
            return 403, {}, _error_body(403, "Request had insufficient authentication scopes.", "PERMISSION_DENIED",
                                        "ACCESS_TOKEN_SCOPE_INSUFFICIENT")
        if not self.api_enabled:
            return 403, {}, _stock_error(403, "SERVICE_DISABLED")
        if spreadsheet_id not in self.spreadsheets:
            return 404, {}, _stock_error(404)
        if email not in self.editors[spreadsheet_id]:
            return 403, {}, _stock_error(403)
        return None

    def _problems(self, record: Recorded, method: dict[str, Any], body: Any) -> list[str]:
        problems = self.validator.check_query(method["id"], record.query)
        problems += self.validator.check_body(method["id"], body)
        for mask in record.query.get("fields", []):
            response = method.get("response", {}).get("$ref")
            if response:
                problems += self.validator.check_mask(response, mask, f"{record.kind} fields")
        if record.kind == "batchUpdate" and isinstance(body, dict):
            for i, request in enumerate(body.get("requests", [])):
                for kind, schema in _MASKED.items():
                    part = request.get(kind) if isinstance(request, dict) else None
                    if isinstance(part, dict) and "fields" in part:
                        problems += self.validator.check_mask(schema, part["fields"], f"requests[{i}].{kind}.fields")
        return problems

    def _dispatch(self, record: Recorded, params: dict[str, str], body: Any) -> dict[str, Any]:
        model = self.spreadsheets[params["spreadsheetId"]]
        query = {k: v[-1] for k, v in record.query.items()}
        kind = record.kind
        if kind == "get":
            return model.render(include_grid=query.get("includeGridData", "").lower() == "true",
                                ranges=record.query.get("ranges", []), mask=query.get("fields"))
        if kind == "batchUpdate":
            if not body.get("requests"):
                raise ApiError("Must specify at least one request.")
            if body.get("includeSpreadsheetInResponse"):
                raise NotImplementedInFake("includeSpreadsheetInResponse")
            return {"spreadsheetId": model.spreadsheet_id, "replies": model.batch_update(body["requests"])}
        render = query.get("valueRenderOption", "FORMATTED_VALUE")
        major = query.get("majorDimension", "ROWS")
        if kind == "values.get":
            return model.values_get(params["range"], render=render, major=major)
        if kind == "values.batchGet":
            ranges = record.query.get("ranges", [])
            return {"spreadsheetId": model.spreadsheet_id,
                    "valueRanges": [model.values_get(r, render=render, major=major) for r in ranges]}
        if kind == "values.update":
            return model.values_update(params["range"], body.get("values", []), query["valueInputOption"])
        if kind == "values.append":
            return model.values_append(params["range"], body.get("values", []), query["valueInputOption"])
        if kind == "values.batchUpdate":
            option = body["valueInputOption"]
            responses = [model.values_update(d["range"], d.get("values", []), option) for d in body["data"]]
            return {"spreadsheetId": model.spreadsheet_id, "responses": responses,
                    "totalUpdatedCells": sum(r["updatedCells"] for r in responses)}
        raise NotImplementedInFake(f"method {kind}")

    # ---- OAuth --------------------------------------------------------------------------

    def _token(self, raw: bytes) -> Any:
        """The service-account JWT bearer flow: check the assertion's signature against the
        key's public half, its audience and lifetime; answer an access token."""
        self.token_requests += 1
        form = {k: v[-1] for k, v in parse_qs(raw.decode()).items()}

        def reject(description: str) -> Any:
            return 400, {}, {"error": "invalid_grant", "error_description": description}

        if form.get("grant_type") != JWT_GRANT or "assertion" not in form:
            return 400, {}, {"error": "unsupported_grant_type", "error_description": "Invalid grant_type."}
        try:
            head, payload, signature = form["assertion"].split(".")
            header, claims = json.loads(_b64decode(head)), json.loads(_b64decode(payload))
        except ValueError:
            return reject("Invalid JWT: malformed.")
        key = self._public_keys.get(claims.get("iss", ""))
        if header.get("alg") != "RS256" or key is None:
            return reject("Invalid JWT Signature.")
        try:
            key.verify(_b64decode(signature), f"{head}.{payload}".encode(), padding.PKCS1v15(), hashes.SHA256())
        except InvalidSignature:
            return reject("Invalid JWT Signature.")
        if claims.get("aud") not in (TOKEN_AUDIENCE, self.token_uri):
            return reject(f"Invalid JWT: audience must be {TOKEN_AUDIENCE}.")
        if not claims.get("exp", 0) > time.time() - 60 or claims["exp"] - claims.get("iat", 0) > 3600:
            return reject("Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe.")
        scope = claims.get("scope", "")
        self.scopes.append(scope)
        token = secrets.token_urlsafe(24)
        self._tokens[token] = (claims["iss"], scope)
        return 200, {}, {"access_token": token, "expires_in": 3599, "token_type": "Bearer"}


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that gave up (timeout) before the answer was written is normal here."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


def _handler_for(fake: FakeSheets) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _serve(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            result = fake.serve(self.command, self.path, self.headers, raw)
            if result is _DROP:
                self.close_connection = True
                return
            status, extra, body, *stall = result
            if stall:
                time.sleep(stall[0])  # outside the fake's lock: other requests go on meanwhile
            payload = json.dumps(body, ensure_ascii=False).encode()
            plain, gzipped = len(payload), wants_gzip(self.headers)
            if gzipped:
                payload = gzip.compress(payload, compresslevel=6)
            fake.sent(len(payload), plain, gzipped)
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=UTF-8")
            if gzipped:
                self.send_header("Content-Encoding", "gzip")
                self.send_header("Vary", "Accept-Encoding")
            self.send_header("Content-Length", str(len(payload)))
            for name, value in extra.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = do_PUT = _serve

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet: the request log is ``fake.requests``."""

    return Handler


@contextmanager
def start_fake_sheets(tabs: dict[str, list[list[Any]]] | None = None, *, title: str = "店铺运营表",
                      reject_deprecated: bool = True, check: bool = True) -> Iterator[FakeSheets]:
    """Start the fake with one spreadsheet holding ``tabs`` ({title: rows}, TabData shape).
    On a clean exit, fails if any request broke the API contract (``check=False`` to skip,
    e.g. for a benchmark's deliberately old-fashioned baseline)."""
    fake = FakeSheets(title=title, reject_deprecated=reject_deprecated)
    try:
        fake.model.load(tabs or {})
        yield fake
    finally:
        fake.close()
    if check:
        assert not fake.errors, "requests the real Sheets API would reject:\n" + "\n".join(fake.errors)
