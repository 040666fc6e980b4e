"""Everything between GoogleBackend and the wire: finding and checking the service-account key,
an authorised HTTP session that retries and never waits forever, gspread's HTTP client aimed at
the configured API root, and turning failures into messages a shop owner can act on.

gspread stays inside the google backend: this module and ``google.py`` are the only places that
import it.
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

KEY_HELP = ("在 Google Cloud 控制台「IAM 和管理 → 服务账号」里选中服务账号, 打开「密钥 → 添加密钥 → 创建新密钥 → JSON」"
            "下载密钥文件 (详见 README 的 Google Sheets 一节)")


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
    def project_id(self) -> str:
        return self.info.get("project_id") or "(密钥里没有 project_id)"


def find_key_file(explicit: str | os.PathLike | None, environ: Mapping[str, str]) -> Path:
    """Where the key is, in the order gspread users expect: the configured path, then
    GOOGLE_APPLICATION_CREDENTIALS, then gspread's default location. A path that was given
    but does not exist is an error (not a reason to silently try the next place)."""
    if explicit:
        return _existing(Path(explicit).expanduser(), "sheetsync.toml 的 [google] credentials")
    from_env = environ.get(CREDENTIALS_ENV)
    if from_env:
        return _existing(Path(from_env).expanduser(), f"环境变量 {CREDENTIALS_ENV}")
    fallback = default_key_path()
    if fallback.is_file():
        return fallback
    raise ConfigError(
        "找不到 Google 服务账号密钥文件。请任选一种方式告诉 sheetsync 密钥在哪里: "
        f"在 sheetsync.toml 的 [google] 里写 credentials = \"密钥文件路径\"; 或设置环境变量 {CREDENTIALS_ENV}; "
        f"或把密钥放到 {fallback}。还没有密钥的话: {KEY_HELP}。"
    )


def _existing(path: Path, source: str) -> Path:
    if not path.is_file():
        raise ConfigError(f"服务账号密钥文件 {path} 不存在 (来自{source})。请检查路径是否写对; 还没有密钥的话: {KEY_HELP}。")
    return path


def load_key(path: Path) -> ServiceAccountKey:
    """Read and check the key file, so a wrong file is named before any network traffic."""
    try:
        info = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"无法读取服务账号密钥文件 {path}: {exc.strerror or exc}。请检查文件权限。") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(
            f"服务账号密钥文件 {path} 不是有效的 JSON ({exc})。文件可能在复制时被截断或改动了, 请重新下载: {KEY_HELP}。"
        ) from None
    if not isinstance(info, dict) or info.get("type") != "service_account":
        raise ConfigError(f"{path} 不是服务账号密钥 ({_describe_key_kind(info)})。sheetsync 需要服务账号的 JSON 密钥: {KEY_HELP}。")
    missing = [name for name in ("client_email", "private_key", "token_uri") if not info.get(name)]
    if missing:
        raise ConfigError(f"服务账号密钥文件 {path} 缺少字段 {', '.join(missing)}。请重新下载完整的密钥文件: {KEY_HELP}。")
    return ServiceAccountKey(path=path, info=info)


def _describe_key_kind(info: Any) -> str:
    if isinstance(info, dict) and ("installed" in info or "web" in info):
        return "这是 OAuth 客户端文件, 不是服务账号密钥"
    if isinstance(info, dict) and info.get("type"):
        return f"type 是 {info['type']!r}, 应该是 'service_account'"
    return "文件里没有 \"type\": \"service_account\""


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
        raise ConfigError(f"服务账号密钥文件 {key.path} 里的 private_key 无法使用 ({exc})。请重新下载密钥: {KEY_HELP}。") from None


# --------------------------------------------------------------------------------------------
# The HTTP session


class SheetsRetry(Retry):
    """urllib3's Retry with Google's backoff formula and an injectable sleep.

    Backoff before retry n is 2^(n-1) s plus up to ``backoff_jitter`` s of random jitter, capped
    at ``backoff_max``; a Retry-After header wins when the server sends one.

    429 and 5xx are retried for every method, POST included: Sheets applies a batchUpdate all
    or nothing, so such an answer means nothing was written. A connection lost *after* a POST
    was sent is not retried (POST is not in ``allowed_methods``): the write may have happened,
    and sending it again could append a log row twice. The next run re-reads and catches up.
    """

    def __init__(self, *args: Any, sleep: Callable[[float], None] = time.sleep, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._sleep = sleep

    def new(self, **kwargs: Any) -> "SheetsRetry":
        retry = super().new(**kwargs)
        retry._sleep = self._sleep
        return retry

    def is_retry(self, method: str, status_code: int, has_retry_after: bool = False) -> bool:
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


class _Session(AuthorizedSession):
    """An AuthorizedSession whose requests always have a timeout (gspread sends timeout=None,
    which means wait forever) and retry per ``retry``. The timeout also reaches the token
    request: AuthorizedSession passes it on when it refreshes the access token."""

    def __init__(self, credentials: service_account.Credentials, *, timeout: float, retry: Retry) -> None:
        super().__init__(credentials)
        self._timeout = timeout
        adapter = requests.adapters.HTTPAdapter(max_retries=retry)
        self.mount("https://", adapter)
        self.mount("http://", adapter)

    def request(self, method: str, url: str, *args: Any, timeout: Any = None, **kwargs: Any) -> requests.Response:
        return super().request(method, url, *args, timeout=self._timeout if timeout is None else timeout, **kwargs)


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
        source = "google.endpoint" if explicit else f"环境变量 {ENDPOINT_ENV}"
        raise ConfigError(f"{source} 应该是以 https:// 开头的网址, 现在是 {endpoint!r}。不需要代理时删掉这一项即可。")
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


def api_failure(err: APIError, ctx: CallContext, *, unchanged: str) -> SheetsyncError:
    """A Sheets API error response -> the SheetsyncError that tells the user what to do."""
    code, message = err.code, str(err.error.get("message", ""))
    reasons = _reasons(err.error)
    if code == 403 and (reasons & {"SERVICE_DISABLED", "accessNotConfigured"} or "has not been used" in message):
        project = ctx.key.project_id
        return ConfigError(
            f"Google Cloud 项目 {project} 还没有启用 Google Sheets API。请打开 "
            f"https://console.cloud.google.com/apis/library/sheets.googleapis.com?project={project} 点「启用」, "
            "等几分钟后再运行。"
        )
    if code == 403:
        return ConfigError(
            f"表格没有共享给服务账号 {ctx.key.client_email}, 请在表格右上角「共享」里把它加为编辑者 "
            f"(表格 ID: {ctx.spreadsheet_id})。"
        )
    if code == 404:
        return ConfigError(
            f"找不到 ID 为 {ctx.spreadsheet_id} 的 Google 表格。请检查 sheetsync.toml 或 --spreadsheet 里的表格 ID "
            "(可以直接粘贴表格的完整网址)。"
        )
    if code == 401:
        return ConfigError(
            f"Google 不接受服务账号 {ctx.key.client_email} 的访问令牌 ({message})。请检查密钥 {ctx.key.path} 是否已被停用: {KEY_HELP}。"
        )
    if code == 429:
        return BackendError(
            f"Google Sheets API 的配额用完了 (HTTP 429, 重试 {ctx.max_retries} 次后仍被限流)。{unchanged}"
            "请过几分钟再运行; 经常发生的话, 在 Google Cloud 控制台提高 Sheets API 的配额。"
        )
    if code >= 500:
        return BackendError(f"Google 表格服务暂时出错 (HTTP {code}), 重试 {ctx.max_retries} 次后仍失败。{unchanged}请稍后再运行。")
    if code == 400 and message.startswith("Unable to parse range"):
        return BackendError(f"运行期间有工作表被删除或改名了 ({message})。{unchanged}请再运行一次。")
    return BackendError(f"Google 表格拒绝了请求 (HTTP {code}: {message})。{unchanged}")


@contextmanager
def translate_failures(ctx: CallContext, *, writing: bool = False, unchanged: str = "表格没有被修改。") -> Iterator[None]:
    """Turn whatever the API call raises into a SheetsyncError naming the cause and the fix."""
    try:
        yield
    except APIError as err:
        log.debug("Sheets API error: %s", err.error)
        raise api_failure(err, ctx, unchanged=unchanged) from None
    except auth_exceptions.RefreshError as err:
        raise ConfigError(
            f"Google 拒绝了服务账号密钥 {ctx.key.path} ({ctx.key.client_email}): {err.args[0] if err.args else err}。"
            f"密钥可能已被删除、停用或不是最新的: {KEY_HELP}, 替换这个文件。"
        ) from None
    except (auth_exceptions.TransportError, requests.RequestException) as err:
        if writing and _maybe_delivered(err):
            raise BackendError(
                f"写入 Google 表格时连接中断 ({ctx.endpoint}): {err}。无法确认这次修改是否已写入; "
                "下次运行会重新读取表格并补上缺的部分。"
            ) from None
        raise BackendError(f"连不上 Google 表格 ({ctx.endpoint}): {err}。{unchanged}请检查网络或代理设置后再运行。") from None


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
