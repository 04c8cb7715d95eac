"""HTTP client of the platform and feedback APIs (sources.md §1 and §3): paging, auth, retries.

429 waits for `Retry-After` (at least), 500/502/503, timeouts, dropped connections and malformed
pages are retried with exponential backoff and jitter up to `max_retries` times, then
`ApiUnavailableError`. 401/403 raise `AuthError` at once. The token is never logged nor put in
an exception message.
"""

from __future__ import annotations

import email.utils
import logging
import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

import msgspec
import requests

from vaxclean.personal_data import mask_text

log = logging.getLogger(__name__)

ENDPOINT_PATHS = {"immunizations": "/api/v1/immunizations", "tickets": "/api/v1/tickets"}
RETRYABLE_STATUS = frozenset({429, 500, 502, 503})


class ApiError(RuntimeError):
    """The API did not deliver a window."""


class AuthError(ApiError):
    """401/403: the token is missing, wrong or lacks the right; retrying cannot help."""


class ApiUnavailableError(ApiError):
    """Transient failures went on past the retry budget."""


class ApiRequestError(ApiError):
    """A non-retryable answer (400, 404, ...) or a broken paging protocol."""


class _Transient(Exception):  # noqa: N818 - internal signal, never escapes this module
    def __init__(self, reason: str, retry_after_s: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after_s = retry_after_s


class Page(msgspec.Struct):
    """One page: each record kept as its raw JSON bytes (decoded later, one at a time)."""

    data: list[msgspec.Raw]
    next_cursor: str | None = None


_PAGE_DECODER = msgspec.json.Decoder(Page)


@dataclass(frozen=True)
class RetryPolicy:
    max_retries: int = 6
    backoff_base_s: float = 1.0
    backoff_max_s: float = 60.0
    retry_after_max_s: float = 300.0

    def backoff_s(self, attempt: int) -> float:
        """Exponential backoff with equal jitter for retry number `attempt` (0-based)."""
        ceiling = min(self.backoff_max_s, self.backoff_base_s * 2**attempt)
        return ceiling / 2 + random.uniform(0, ceiling / 2)  # noqa: S311 - jitter, not crypto


def format_utc(value: datetime) -> str:
    """ISO-8601 UTC with `Z`, as sent in query parameters."""
    value = value.astimezone(UTC)
    text = value.strftime("%Y-%m-%dT%H:%M:%S")
    if value.microsecond:
        text += f".{value.microsecond:06d}"
    return text + "Z"


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or HTTP-date); None if absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


class ApiClient:
    """Pages through one endpoint's window; one `requests.Session` (keep-alive) per client."""

    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        timeout_s: float = 30.0,
        retry: RetryPolicy | None = None,
        session: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout_s = timeout_s
        self.retry = retry or RetryPolicy()
        self.session = session or requests.Session()
        self.session.headers.update({"Authorization": f"Bearer {token}", "Accept": "application/json"})
        self._sleep = sleep
        self.retries_done = 0

    def close(self) -> None:
        self.session.close()

    def __enter__(self) -> ApiClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def iter_pages(self, endpoint: str, since: datetime, until: datetime, limit: int) -> Iterator[Page]:
        """Every page of `[since, until)`, in order, until `next_cursor` is null."""
        params: dict[str, str | int] = {
            "updated_since": format_utc(since), "updated_until": format_utc(until), "limit": limit,
        }
        cursor: str | None = None
        while True:
            page = self.get_page(endpoint, {**params, **({"cursor": cursor} if cursor else {})})
            yield page
            if page.next_cursor is None:
                return
            if page.next_cursor == cursor:
                raise ApiRequestError(f"{endpoint}: the API returned the same cursor twice")
            cursor = page.next_cursor

    def get_page(self, endpoint: str, params: dict[str, str | int]) -> Page:
        """One page, retried as the policy says."""
        url = self.base_url + ENDPOINT_PATHS[endpoint]
        for attempt in range(self.retry.max_retries + 1):
            try:
                return self._get_once(endpoint, url, params)
            except _Transient as problem:
                if attempt >= self.retry.max_retries:
                    raise ApiUnavailableError(
                        f"{endpoint}: still failing after {self.retry.max_retries} retries (last: {problem.reason})"
                    ) from None
                wait_s = self._wait_s(attempt, problem)
                log.warning("%s: %s; retry %d/%d in %.2fs", endpoint, problem.reason, attempt + 1,
                            self.retry.max_retries, wait_s)
                self.retries_done += 1
                self._sleep(wait_s)
        raise AssertionError("unreachable")  # pragma: no cover

    def _wait_s(self, attempt: int, problem: _Transient) -> float:
        backoff = self.retry.backoff_s(attempt)
        if problem.retry_after_s is None:
            return backoff
        return max(min(problem.retry_after_s, self.retry.retry_after_max_s), backoff)

    def _get_once(self, endpoint: str, url: str, params: dict[str, str | int]) -> Page:
        try:
            response = self.session.get(url, params=params, timeout=self.timeout_s)
        except requests.Timeout as exc:
            raise _Transient(f"timeout after {self.timeout_s}s") from exc
        except (requests.ConnectionError, requests.exceptions.ChunkedEncodingError) as exc:
            raise _Transient(f"connection error ({type(exc).__name__})") from exc
        status = response.status_code
        if status in (401, 403):
            raise AuthError(f"{endpoint}: HTTP {status} from {ENDPOINT_PATHS[endpoint]}: check the API token")
        if status in RETRYABLE_STATUS:
            retry_after = parse_retry_after(response.headers.get("Retry-After")) if status == 429 else None
            raise _Transient(f"HTTP {status}", retry_after)
        if status != 200:
            # the body may echo a record: masked (vaxclean.personal_data.mask_text)
            raise ApiRequestError(f"{endpoint}: HTTP {status} from {ENDPOINT_PATHS[endpoint]}: "
                                  f"{mask_text(response.text[:200])}")
        try:
            return _PAGE_DECODER.decode(response.content)
        except msgspec.DecodeError as exc:
            raise _Transient("malformed page body") from exc
