"""Everything between FeishuBackend and the wire: the official ``lark-oapi`` client (its token
handling and domain override), bounded retries of rate-limited and failed calls, and turning
Feishu's answers into messages a shop owner can act on.

Every call goes through the SDK: the sheet list through its typed
``client.sheets.v3.spreadsheet_sheet.query``, the v2 endpoints it has no typed call for through
``client.request(lark.BaseRequest)``. ``lark_oapi`` is imported here and in ``feishu.py`` only.
"""

from __future__ import annotations

import json
import logging
import os
import random
import re
import time
from dataclasses import dataclass
from typing import Any, Callable, Mapping

import lark_oapi as lark
import requests
from lark_oapi.api.sheets.v3 import QuerySpreadsheetSheetRequest
from lark_oapi.core.cache import ICache
from lark_oapi.core.exception import ObtainAccessTokenException

from ..errors import BackendError, ConfigError, SheetsyncError

log = logging.getLogger(__name__)

DEFAULT_DOMAIN = "https://open.feishu.cn"
LARK_DOMAIN = "https://open.larksuite.com"
DOMAIN_ENV = "SHEETSYNC_FEISHU_DOMAIN"
SECRET_ENV = "SHEETSYNC_FEISHU_APP_SECRET"

# The same bounded backoff as the Google backend: 2^(n-1) s + up to 1 s jitter, capped at 64 s;
# the rate-limit reset header, when Feishu sends one, says exactly how long to wait.
BACKOFF_MAX = 64.0
RESET_HEADER = "x-ogw-ratelimit-reset"
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
# Feishu's body codes (server-docs/api-call-guide/generic-error-code and the sheets pages).
RATE_LIMIT_CODES = frozenset({99991400, 90217, 1310217})
TOKEN_INVALID_CODES = frozenset({99991663, 99991668, 99991661})
SCOPE_CODES = frozenset({99991672, 99991679})
FORBIDDEN_CODES = frozenset({1310213, 91403, 90003})
NOT_FOUND_CODES = frozenset({1310214, 91402, 90001})


def resolve_domain(explicit: str | None, environ: Mapping[str, str]) -> str:
    """The environment variable wins (as SHEETSYNC_GOOGLE_ENDPOINT does for Google), then
    ``[feishu] domain``, then open.feishu.cn."""
    domain = (environ.get(DOMAIN_ENV) or explicit or DEFAULT_DOMAIN).strip().rstrip("/")
    source = DOMAIN_ENV if environ.get(DOMAIN_ENV) else "[feishu] domain"
    if not re.match(r"^https?://[^/]+$", domain):
        raise ConfigError("feishu.bad_domain", source=source, domain=domain, feishu=DEFAULT_DOMAIN, lark=LARK_DOMAIN)
    return domain


def app_secret(secret_env: str, environ: Mapping[str, str], app_id: str) -> str:
    secret = environ.get(secret_env, "").strip()
    if not secret:
        raise ConfigError("feishu.no_secret", env=secret_env, app_id=app_id)
    return secret


class TokenCache(ICache):
    """The token cache handed to the SDK (``ClientBuilder.cache``): the SDK's own in-memory
    behaviour (a token is kept until shortly before it expires), plus a way to forget a token
    the server no longer accepts. One per process, like the SDK's default."""

    def __init__(self) -> None:
        self._items: dict[str, tuple[str, float]] = {}

    def get(self, key: str) -> str | None:
        value, expire = self._items.get(key, ("", 0.0))
        return value if value and expire > time.time() else None

    def set(self, key: str, value: str, expire: int) -> None:
        self._items[key] = (value, float(expire))

    def forget(self, app_id: str) -> None:
        for key in [k for k in self._items if k.endswith(f":{app_id}")]:
            del self._items[key]


TOKENS = TokenCache()


def make_client(app_id: str, secret: str, domain: str, timeout: float) -> lark.Client:
    try:
        return (lark.Client.builder().app_id(app_id).app_secret(secret).domain(domain).timeout(timeout)
                .cache(TOKENS).log_level(lark.LogLevel.ERROR).build())
    except ValueError:  # the SDK accepts https://, and http:// only for loopback
        raise ConfigError("feishu.bad_domain", source="[feishu] domain", domain=domain, feishu=DEFAULT_DOMAIN,
                          lark=LARK_DOMAIN) from None


@dataclass
class Answer:
    """One decoded answer: Feishu's ``code``/``msg`` and its ``data`` object."""

    status: int
    code: int
    msg: str
    data: dict[str, Any]
    headers: dict[str, str]


def _decode(resp: Any) -> Answer:
    raw = resp.raw
    headers = {k.lower(): v for k, v in (raw.headers or {}).items()} if raw is not None else {}
    body: dict[str, Any] = {}
    if raw is not None and raw.content:
        try:
            body = json.loads(raw.content)
        except ValueError:
            body = {}
    code = body.get("code", resp.code if resp.code is not None else -1)
    return Answer(status=raw.status_code if raw is not None else 0, code=int(code if code is not None else -1),
                  msg=str(body.get("msg", resp.msg or "")), data=body.get("data") or {}, headers=headers)


class FeishuAPI:
    """The calls the backend makes, each retried within bounds and translated on failure."""

    def __init__(self, *, app_id: str, secret: str, secret_env: str, domain: str, token: str,
                 timeout: float = 120.0, max_retries: int = 6, sleep: Callable[[float], None] = time.sleep) -> None:
        self.app_id, self.secret_env, self.domain, self.token = app_id, secret_env, domain, token
        self.max_retries = max_retries
        self.sleep = sleep
        self.client = make_client(app_id, secret, domain, timeout)
        self.requests = 0  # API requests sent (token requests not counted)

    # ---- the calls ------------------------------------------------------------------------

    def query_sheets(self) -> list[dict[str, Any]]:
        """GET /open-apis/sheets/v3/spreadsheets/:token/sheets/query (typed SDK call)."""
        request = QuerySpreadsheetSheetRequest.builder().spreadsheet_token(self.token).build()
        answer = self._call(lambda: self.client.sheets.v3.spreadsheet_sheet.query(request), idempotent=True)
        return list(answer.data.get("sheets") or [])

    def get(self, uri: str, queries: list[tuple[str, str]]) -> dict[str, Any]:
        return self._generic(lark.HttpMethod.GET, uri, queries=queries, idempotent=True)

    def send(self, method: str, uri: str, body: Any, *, idempotent: bool, unchanged: str = "") -> dict[str, Any]:
        return self._generic(getattr(lark.HttpMethod, method), uri, body=body, idempotent=idempotent,
                             writing=True, unchanged=unchanged)

    def _generic(self, method: Any, uri: str, *, queries: list[tuple[str, str]] | None = None, body: Any = None,
                 idempotent: bool, writing: bool = False, unchanged: str = "") -> dict[str, Any]:
        def call() -> Any:
            builder = (lark.BaseRequest.builder().http_method(method).uri(uri)
                       .token_types({lark.AccessTokenType.TENANT}).paths({"spreadsheet_token": self.token}))
            if queries:
                builder = builder.queries(list(queries))
            if body is not None:
                builder = builder.headers({"Content-Type": "application/json; charset=utf-8"}).body(body)
            return self.client.request(builder.build())

        return self._call(call, idempotent=idempotent, writing=writing, unchanged=unchanged).data

    # ---- retries and failures -------------------------------------------------------------

    def _call(self, call: Callable[[], Any], *, idempotent: bool, writing: bool = False,
              unchanged: str = "") -> Answer:
        """Send, retrying 429 (always: Feishu refused it, nothing was applied) and 5xx (only for
        calls that are safe to repeat) with bounded backoff. A connection lost after a write
        was sent is never retried: it may have been applied, and the next run re-reads."""
        failures = 0
        refreshed = False
        unchanged = unchanged or "feishu.unchanged"
        while True:
            try:
                self.requests += 1
                answer = _decode(call())
            except ObtainAccessTokenException as exc:
                raise self._token_failure(exc) from None
            except requests.RequestException as exc:
                if writing and _maybe_delivered(exc):
                    raise BackendError("feishu.write_unconfirmed", domain=self.domain, error=str(exc)) from None
                if failures < self.max_retries and not writing:
                    failures += 1
                    self._backoff(failures, None)
                    continue
                raise BackendError("feishu.unreachable", domain=self.domain, error=str(exc),
                                   unchanged=_unchanged(unchanged)) from None
            if answer.code == 0 and answer.status < 400:
                return answer
            if answer.code in TOKEN_INVALID_CODES and not refreshed:
                refreshed = True  # a cached token the server no longer knows: get a new one, once
                TOKENS.forget(self.app_id)
                continue
            limited = answer.status == 429 or answer.code in RATE_LIMIT_CODES
            retryable = limited or (answer.status in RETRY_STATUSES and idempotent)
            if retryable and failures < self.max_retries:
                failures += 1
                self._backoff(failures, answer.headers.get(RESET_HEADER))
                continue
            raise self._failure(answer, limited, unchanged)

    def _backoff(self, failures: int, reset: str | None) -> None:
        delay = None
        if reset:
            try:
                delay = min(BACKOFF_MAX, max(0.0, float(reset)))
            except ValueError:
                delay = None
        if delay is None:
            delay = min(BACKOFF_MAX, 2 ** (failures - 1) + random.random())
        log.info("feishu: retry %d in %.1f s", failures, delay)
        self.sleep(delay)

    def _token_failure(self, exc: ObtainAccessTokenException) -> SheetsyncError:
        return ConfigError("feishu.bad_credentials", app_id=self.app_id, env=self.secret_env, code=exc.code,
                           msg=exc.msg or "")

    def _failure(self, answer: Answer, limited: bool, unchanged: str) -> SheetsyncError:
        code, msg = answer.code, answer.msg
        common = {"app_id": self.app_id, "token": self.token, "code": code, "msg": msg}
        if limited:
            return BackendError("feishu.rate_limited", retries=self.max_retries, unchanged=_unchanged(unchanged))
        if code in SCOPE_CODES:
            return ConfigError("feishu.scope_missing", **common)
        if code in FORBIDDEN_CODES or answer.status == 403:
            return ConfigError("feishu.not_shared", **common)
        if code in NOT_FOUND_CODES or answer.status == 404:
            return ConfigError("feishu.not_found", **common)
        if answer.status >= 500:
            return BackendError("feishu.unavailable", status=answer.status, retries=self.max_retries,
                                unchanged=_unchanged(unchanged))
        return BackendError("feishu.rejected", status=answer.status, code=code, msg=msg,
                            unchanged=_unchanged(unchanged))


def _unchanged(key: str) -> SheetsyncError:
    """The 'the sheet was (not) changed' sentence, as a nested keyed message."""
    return BackendError(key)


def _maybe_delivered(err: Exception) -> bool:
    """Could the request have reached the server? Not if the connection never opened."""
    if isinstance(err, requests.ConnectTimeout):
        return False
    if isinstance(err, requests.ReadTimeout):
        return True
    if not isinstance(err, requests.ConnectionError):
        return False
    text = repr(err.args[0]) if err.args else ""
    return "NewConnectionError" not in text and "Failed to establish" not in text


def secret_from_env(secret_env: str | None, app_id: str) -> tuple[str, str]:
    env = secret_env or SECRET_ENV
    return env, app_secret(env, os.environ, app_id)
