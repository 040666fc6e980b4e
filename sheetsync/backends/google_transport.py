"""Everything between GoogleBackend and the wire: finding and checking the service-account key,
an authorised HTTP session that retries and never waits forever, gspread's HTTP client aimed at
the configured API root, and turning failures into messages a shop owner can act on.

gspread stays inside the google backend: this module and ``google.py`` are the only places that
import it. Every message is a key of ``messages/backends.toml`` (``backends.google.*``).
"""

from __future__ import annotations

import json
import logging
import os
import random
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping

import requests
from google.auth import exceptions as auth_exceptions
from google.auth.transport.requests import AuthorizedSession
from google.oauth2 import service_account
from gspread.auth import get_config_dir
from gspread.exceptions import APIError
from gspread.http_client import HTTPClient
from gspread.urls import SPREADSHEETS_API_V4_BASE_URL
from urllib3.exceptions import NewConnectionError
from urllib3.util.retry import Retry

from ..errors import BackendError, ConfigError, SheetsyncError
from .base import Reason

log = logging.getLogger(__name__)

# Read and write spreadsheets, nothing else: no Drive access.
SCOPE = "https://www.googleapis.com/auth/spreadsheets"
DEFAULT_ENDPOINT = "https://sheets.googleapis.com"
ENDPOINT_ENV = "SHEETSYNC_GOOGLE_ENDPOINT"
CREDENTIALS_ENV = "GOOGLE_APPLICATION_CREDENTIALS"
# The API root gspread has baked into its URL constants.
GSPREAD_ROOT = SPREADSHEETS_API_V4_BASE_URL.removesuffix("/v4/spreadsheets")

# Google's advice for its APIs: retry 429 and 5xx with exponential backoff, min(2^n + random
# jitter up to 1 s, ~64 s).
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
BACKOFF_MAX = 64.0

# How to get a key file, appended to every message about a missing or unusable one.
KEY_HELP = Reason("backends.google.key_help")


def default_key_path() -> Path:
    """gspread's own default location (~/.config/gspread/service_account.json), looked up when
    called so a changed HOME is honoured."""
    return get_config_dir() / "service_account.json"


# --------------------------------------------------------------------------------------------
# The service-account key


@dataclass(frozen=True)
class ServiceAccountKey:
    path: Path
    info: dict[str, Any]

    @property
    def client_email(self) -> str:
        return self.info["client_email"]

    @property
    def project_id(self) -> str | None:
        return self.info.get("project_id") or None


def find_key_file(explicit: str | os.PathLike | None, environ: Mapping[str, str]) -> Path:
    """Where the key is, in the order gspread users expect: the configured path, then
    GOOGLE_APPLICATION_CREDENTIALS, then gspread's default location. A path that was given
    but does not exist is an error (not a reason to silently try the next place)."""
    if explicit:
        return _existing(Path(explicit).expanduser(), Reason("backends.google.from_config"))
    from_env = environ.get(CREDENTIALS_ENV)
    if from_env:
        return _existing(Path(from_env).expanduser(), Reason("backends.google.from_env", env=CREDENTIALS_ENV))
    fallback = default_key_path()
    if fallback.is_file():
        return fallback
    raise ConfigError("backends.google.no_key", env=CREDENTIALS_ENV, fallback=str(fallback), help=KEY_HELP)


def _existing(path: Path, source: Reason) -> Path:
    if not path.is_file():
        raise ConfigError("backends.google.key_missing", path=str(path), source=source, help=KEY_HELP)
    return path


def load_key(path: Path) -> ServiceAccountKey:
    """Read and check the key file, so a wrong file is named before any network traffic."""
    try:
        info = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError("backends.google.key_unreadable", path=str(path), reason=exc.strerror or str(exc)) from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError("backends.google.key_not_json", path=str(path), error=str(exc), help=KEY_HELP) from None
    if not isinstance(info, dict) or info.get("type") != "service_account":
        raise ConfigError("backends.google.not_service_account", path=str(path), kind=_describe_key_kind(info),
                          help=KEY_HELP)
    missing = [name for name in ("client_email", "private_key", "token_uri") if not info.get(name)]
    if missing:
        raise ConfigError("backends.google.key_incomplete", path=str(path), fields=", ".join(missing), help=KEY_HELP)
    return ServiceAccountKey(path=path, info=info)


def _describe_key_kind(info: Any) -> Reason:
    if isinstance(info, dict) and ("installed" in info or "web" in info):
        return Reason("backends.google.kind_oauth_client")
    if isinstance(info, dict) and info.get("type"):
        return Reason("backends.google.kind_other_type", type=repr(info["type"]))
    return Reason("backends.google.kind_no_type")


class _Credentials(service_account.Credentials):
    """Service-account credentials that only talk to the token endpoint in the key file.

    Recent google-auth versions start a background look-up of the account's "regional access
    boundary" at iamcredentials.googleapis.com after each token refresh. The Sheets API does not
    need it, and it would bypass a configured endpoint/proxy, so it is switched off here."""

    def _is_regional_access_boundary_lookup_required(self) -> bool:
        return False


def make_credentials(key: ServiceAccountKey) -> service_account.Credentials:
    try:
        return _Credentials.from_service_account_info(key.info, scopes=[SCOPE])
    except ValueError as exc:
        raise ConfigError("backends.google.bad_private_key", path=str(key.path), error=str(exc),
                          help=KEY_HELP) from None


# --------------------------------------------------------------------------------------------
# The HTTP session


class SheetsRetry(Retry):
    """urllib3's Retry with Google's backoff formula and an injectable sleep.

    Backoff before retry n is 2^(n-1) s plus up to ``backoff_jitter`` s of random jitter, capped
    at ``backoff_max``; a Retry-After header wins when the server sends one.

    429 is retried for every method: Google answers it before doing anything. 5xx is retried
    for reads only: a 500 or 503 on a batchUpdate does not prove that nothing was written (the
    write may have been applied and only its answer lost), and sending it again could add a
    tab that now exists or append a run-log row twice. Neither is a connection lost *after* a
    POST was sent (POST is not in ``allowed_methods``). The backend re-reads the spreadsheet
    after such a failure and decides from what it sees (``GoogleBackend._send``).
    """

    def __init__(self, *args: Any, sleep: Callable[[float], None] = time.sleep, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._sleep = sleep

    def new(self, **kwargs: Any) -> "SheetsRetry":
        retry = super().new(**kwargs)
        retry._sleep = self._sleep
        return retry

    def is_retry(self, method: str, status_code: int, has_retry_after: bool = False) -> bool:
        if method.upper() == "POST" and status_code >= 500:
            return False
        return status_code in self.status_forcelist

    def get_backoff_time(self) -> float:
        failures = len(self.history)
        if failures == 0:
            return 0.0
        delay = self.backoff_factor * 2 ** (failures - 1) + random.random() * self.backoff_jitter
        return min(self.backoff_max, delay)

    def sleep_for_retry(self, response: Any) -> bool:
        retry_after = self.get_retry_after(response)
        if retry_after:
            self._sleep(retry_after)
            return True
        return False

    def _sleep_backoff(self) -> None:
        delay = self.get_backoff_time()
        if delay > 0:
            self._sleep(delay)


def backoff_delay(failures: int, *, factor: float = 1.0, jitter: float = 1.0, cap: float = BACKOFF_MAX) -> float:
    """The wait before attempt ``failures + 1``: Google's formula, as ``SheetsRetry`` uses it."""
    if failures <= 0:
        return 0.0
    return min(cap, factor * 2 ** (failures - 1) + random.random() * jitter)


def make_retry(max_retries: int, sleep: Callable[[float], None]) -> SheetsRetry:
    return SheetsRetry(
        total=max_retries,
        status_forcelist=RETRY_STATUSES,
        backoff_factor=1.0,
        backoff_jitter=1.0,
        backoff_max=BACKOFF_MAX,
        retry_after_max=int(BACKOFF_MAX),
        respect_retry_after_header=True,
        raise_on_status=False,  # hand the last error response to gspread, which reads Google's reason
        sleep=sleep,
    )


@dataclass
class Traffic:
    """What the API requests of a backend cost so far: requests answered, bytes of request
    bodies sent and of response bodies received as they crossed the wire (compressed when the
    server compressed them). OAuth token requests are not counted."""

    requests: int = 0
    bytes_up: int = 0
    bytes_down: int = 0

    def since(self, earlier: "Traffic") -> "Traffic":
        return Traffic(self.requests - earlier.requests, self.bytes_up - earlier.bytes_up,
                       self.bytes_down - earlier.bytes_down)

    def copy(self) -> "Traffic":
        return Traffic(self.requests, self.bytes_up, self.bytes_down)


# Google compresses an answer only when asked with Accept-Encoding *and* a User-Agent that says
# gzip ("Performance tips" of the Google API docs); a 100k-row read shrinks about 20 times.
USER_AGENT = "sheetsync (gzip)"


class _Session(AuthorizedSession):
    """An AuthorizedSession whose requests always have a timeout (gspread sends timeout=None,
    which means wait forever), retry per ``retry``, ask for gzip and are counted (``traffic``).
    The timeout also reaches the token request: AuthorizedSession passes it on when it
    refreshes the access token."""

    def __init__(self, credentials: service_account.Credentials, *, timeout: float, retry: Retry) -> None:
        super().__init__(credentials)
        self._timeout = timeout
        self.traffic = Traffic()
        self.headers["Accept-Encoding"] = "gzip"
        self.headers["User-Agent"] = USER_AGENT
        adapter = requests.adapters.HTTPAdapter(max_retries=retry)
        self.mount("https://", adapter)
        self.mount("http://", adapter)

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> requests.Response:
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = self._timeout
        response = super().request(method, url, *args, **kwargs)
        body = response.request.body
        self.traffic.requests += 1
        self.traffic.bytes_up += len(body) if body else 0
        wire = getattr(response.raw, "tell", None)
        self.traffic.bytes_down += wire() if callable(wire) and wire() else len(response.content)
        return response


class SheetsHTTPClient(HTTPClient):
    """gspread's HTTP client, aimed at a configurable API root.

    gspread builds every URL from constants in ``gspread.urls``, which ``gspread.http_client``
    imports by value. Re-pointing them would change every gspread user in the process (and would
    have to patch two modules' globals). Instead this client rewrites the root in ``request``,
    the one method all of gspread's helpers (spreadsheets_get, batch_update, ...) go through: the
    override is per instance, the helpers work unchanged, and errors and logs show the URL that
    was really called (unlike a transport adapter that silently swaps hosts)."""

    def __init__(self, session: requests.Session, endpoint: str) -> None:
        super().__init__(auth=None, session=session)  # type: ignore[arg-type]
        self.endpoint = endpoint.rstrip("/")

    def request(self, method: str, endpoint: str, *args: Any, **kwargs: Any) -> requests.Response:
        if endpoint.startswith(GSPREAD_ROOT):
            endpoint = self.endpoint + endpoint[len(GSPREAD_ROOT):]
        return super().request(method, endpoint, *args, **kwargs)


def resolve_endpoint(explicit: str | None, environ: Mapping[str, str]) -> str:
    endpoint = explicit or environ.get(ENDPOINT_ENV) or DEFAULT_ENDPOINT
    if not endpoint.startswith(("https://", "http://")):
        source = Reason("backends.google.endpoint_from_config") if explicit else Reason(
            "backends.google.from_env", env=ENDPOINT_ENV)
        raise ConfigError("backends.google.bad_endpoint", source=source, endpoint=repr(endpoint))
    return endpoint.rstrip("/")


def connect(key: ServiceAccountKey, *, endpoint: str, timeout: float, max_retries: int,
            sleep: Callable[[float], None]) -> SheetsHTTPClient:
    """An HTTP client for the Sheets API: authorised with ``key``, bounded retries, timeouts."""
    session = _Session(make_credentials(key), timeout=timeout, retry=make_retry(max_retries, sleep))
    return SheetsHTTPClient(session, endpoint)


# --------------------------------------------------------------------------------------------
# Failures -> messages


@dataclass(frozen=True)
class CallContext:
    """What a failure message needs to name: the spreadsheet, the account, where we called."""

    spreadsheet_id: str
    key: ServiceAccountKey
    endpoint: str
    max_retries: int


def _reasons(error: Mapping[str, Any]) -> set[str]:
    """ErrorInfo reasons (SERVICE_DISABLED...) and legacy reasons (accessNotConfigured...)."""
    found = {d.get("reason", "") for d in error.get("details", []) if isinstance(d, dict)}
    found |= {e.get("reason", "") for e in error.get("errors", []) if isinstance(e, dict)}
    return found - {""}


def api_failure(err: APIError, ctx: CallContext, *, unchanged: SheetsyncError) -> SheetsyncError:
    """A Sheets API error response -> the SheetsyncError that tells the user what to do.
    ``unchanged`` says what state the spreadsheet was left in."""
    code, message = err.code, str(err.error.get("message", ""))
    reasons = _reasons(err.error)
    if code == 403 and (reasons & {"SERVICE_DISABLED", "accessNotConfigured"} or "has not been used" in message):
        project = ctx.key.project_id
        if project is None:
            return ConfigError("backends.google.api_disabled_no_project", path=str(ctx.key.path))
        return ConfigError("backends.google.api_disabled", project=project)
    if code == 403:
        return ConfigError("backends.google.not_shared", email=ctx.key.client_email, id=ctx.spreadsheet_id)
    if code == 404:
        return ConfigError("backends.google.not_found", id=ctx.spreadsheet_id)
    if code == 401:
        return ConfigError("backends.google.token_rejected", email=ctx.key.client_email, message=message,
                           path=str(ctx.key.path), help=KEY_HELP)
    if code == 429:
        return BackendError("backends.google.quota", retries=ctx.max_retries, unchanged=unchanged)
    if code >= 500:
        return BackendError("backends.google.server_error", code=code, retries=ctx.max_retries, unchanged=unchanged)
    if code == 400 and message.startswith("Unable to parse range"):
        return BackendError("backends.google.tab_gone", message=message, unchanged=unchanged)
    return BackendError("backends.google.rejected", code=code, message=message, unchanged=unchanged)


@contextmanager
def translate_failures(ctx: CallContext, *, writing: bool = False,
                       unchanged: SheetsyncError | None = None) -> Iterator[None]:
    """Turn whatever the API call raises into a SheetsyncError naming the cause and the fix.
    ``unchanged`` (default: the spreadsheet was not changed) says what a failure left behind."""
    unchanged = unchanged or Reason("backends.google.unchanged")
    try:
        yield
    except APIError as err:
        log.debug("Sheets API error: %s", err.error)
        raise api_failure(err, ctx, unchanged=unchanged) from None
    except auth_exceptions.RefreshError as err:
        raise ConfigError("backends.google.key_refused", path=str(ctx.key.path), email=ctx.key.client_email,
                          error=str(err.args[0] if err.args else err), help=KEY_HELP) from None
    except (auth_exceptions.TransportError, requests.RequestException) as err:
        if writing and _maybe_delivered(err):
            raise BackendError("backends.google.write_interrupted", endpoint=ctx.endpoint, error=str(err)) from None
        raise BackendError("backends.google.unreachable", endpoint=ctx.endpoint, error=str(err),
                           unchanged=unchanged) from None


def _maybe_delivered(err: Exception) -> bool:
    """Did the request possibly reach the server? Not when the connection could not even be
    opened; possibly when it broke or timed out while waiting for the answer."""
    if isinstance(err, requests.ConnectTimeout):
        return False
    if isinstance(err, requests.ReadTimeout):
        return True
    if not isinstance(err, requests.ConnectionError):
        return False
    reason = getattr(err.args[0], "reason", None) if err.args else None
    return not isinstance(reason, NewConnectionError)
