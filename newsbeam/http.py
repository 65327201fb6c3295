"""A polite, bounded, SSRF-safe HTTP client for feeds and article pages (asyncio + aiohttp).

One ``Fetcher`` keeps many requests in flight across hosts while each host gets at most
``per_host_concurrency`` at once and a minimum delay between request starts (raised to
the robots.txt Crawl-delay). Every response is bounded: connect and total timeouts,
redirects followed by hand (each hop re-checked), the body read in chunks and abandoned
past ``max_bytes``. URLs from feeds are third-party input: unless private networks are
allowed, a URL that is not http(s), or whose host resolves to a loopback, private,
link-local, multicast or otherwise non-global address, is refused before any connection,
and again at connect time by the resolver (so DNS rebinding cannot slip past the check).

``BackgroundLoop`` runs the event loop on its own thread, so synchronous code (Beam DoFns)
submits coroutines and collects results as they finish.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import dataclasses
import email.utils
import ipaddress
import logging
import random
import re
import socket
import threading
import time
import urllib.robotparser
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

import aiohttp
from multidict import CIMultiDict

LOGGER = logging.getLogger(__name__)

REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
HTML_TYPES = ("text/html", "application/xhtml+xml")
CHUNK = 64 * 1024
# robots.txt files are small; a larger one is treated as unreadable (RFC 9309 allows 500 KiB).
ROBOTS_MAX_BYTES = 512 * 1024
# Never wait longer than this for a Crawl-delay, whatever the site asks.
MAX_CRAWL_DELAY = 30.0


@dataclass(frozen=True)
class FetchPolicy:
    """Limits and manners of the fetcher (the ``fetch`` section of the config)."""

    user_agent: str = "newsbeam/0.1 (+https://github.com/newsbeam/newsbeam; news research crawler)"
    connect_timeout: float = 10.0
    total_timeout: float = 30.0
    max_bytes: int = 10_000_000
    max_redirects: int = 5
    retries: int = 3
    backoff: float = 0.5
    max_retry_after: float = 60.0
    concurrency: int = 64
    per_host_concurrency: int = 2
    min_host_delay: float = 0.0
    respect_robots: bool = True
    allow_private_network: bool = False
    # Link-local addresses (169.254.0.0/16, fe80::/10) and the cloud metadata services on
    # them (169.254.169.254, fd00:ec2::254, metadata.google.internal) stay refused when
    # private networks are allowed: an intranet feed is not a reason to let a redirect
    # read a machine's cloud credentials. Only this option, named for it, lifts that.
    allow_link_local_network: bool = False


@dataclass(frozen=True)
class Response:
    url: str  # as requested
    final_url: str  # after redirects
    status: int
    body: bytes
    content_type: str | None
    charset: str | None
    etag: str | None
    last_modified: str | None
    attempts: int


class FetchError(Exception):
    """A fetch that failed; ``retryable`` says whether a later run may succeed."""

    def __init__(self, error_type: str, message: str, status: int | None = None, retryable: bool = False):
        super().__init__(message)
        self.error_type = error_type
        self.status = status
        self.retryable = retryable


# -- address guard --------------------------------------------------------------------


# Cloud metadata services outside the link-local ranges (AWS's IPv6 endpoint).
METADATA_ADDRESSES = frozenset({ipaddress.ip_address("fd00:ec2::254")})


# IPv6 prefixes whose last 32 bits are an IPv4 address that a packet reaches through a
# translator: NAT64's well-known prefix (RFC 6052), its local-use prefix (RFC 8215), and
# the deprecated IPv4-compatible form ::a.b.c.d (RFC 4291).
_IPV4_IN_LOW_BITS = (
    ipaddress.ip_network("64:ff9b::/96"),
    ipaddress.ip_network("64:ff9b:1::/48"),
    ipaddress.ip_network("::/96"),
)


def embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address carries, in every form that reaches it: mapped
    (::ffff:a.b.c.d), 6to4 (2002::/16), Teredo's client, NAT64 (64:ff9b::/96,
    64:ff9b:1::/48) and IPv4-compatible (::a.b.c.d; :: and ::1 aside, judged as IPv6)."""
    found = ip.ipv4_mapped or ip.sixtofour or (ip.teredo[1] if ip.teredo else None)
    if found is not None:
        return found
    if int(ip) > 1 and any(ip in net for net in _IPV4_IN_LOW_BITS):
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def forbidden_address(address: str, allow_private: bool = False, allow_link_local: bool = False) -> bool:
    """True for addresses a third-party URL may not reach: anything not globally routable.

    ``allow_private`` lets private, loopback and other non-global addresses through, but
    not link-local ones nor a cloud metadata address: ``allow_link_local`` does that.
    """
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return True
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = embedded_ipv4(ip)
        if embedded is not None:
            ip = embedded
    if ip.is_link_local or ip in METADATA_ADDRESSES:
        return not allow_link_local
    if allow_private:
        return False
    return not ip.is_global or ip.is_multicast or ip.is_reserved or ip.is_unspecified


def _is_ip_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


class GuardedResolver(aiohttp.abc.AbstractResolver):
    """Resolves like the system resolver, but refuses hosts with a forbidden address."""

    def __init__(self, allow_private: bool = False, allow_link_local: bool = False):
        self._inner = aiohttp.ThreadedResolver()
        self._allow = (allow_private, allow_link_local)

    async def resolve(self, host: str, port: int = 0, family: int = socket.AF_INET):
        results = await self._inner.resolve(host, port, family)
        bad = [r["host"] for r in results if forbidden_address(r["host"], *self._allow)]
        if bad:
            raise FetchError("ForbiddenAddress", f"{host} resolves to a non-public address ({bad[0]})")
        return results

    async def close(self) -> None:
        await self._inner.close()


def check_url(url: str, allow_private: bool, allow_link_local: bool = False) -> None:
    """Refuse a third-party URL that is not http(s) or names a forbidden IP literally."""
    try:
        parts = urlsplit(url)
    except ValueError as exc:
        raise FetchError("BadUrl", f"unparseable URL: {exc}") from None
    if parts.scheme.lower() not in ("http", "https"):
        raise FetchError("ForbiddenScheme", f"only http(s) URLs are fetched, not {parts.scheme or 'a relative URL'}:")
    if not parts.hostname:
        raise FetchError("BadUrl", "URL has no host")
    if _is_ip_literal(parts.hostname) and forbidden_address(parts.hostname, allow_private, allow_link_local):
        raise FetchError("ForbiddenAddress", f"{parts.hostname} is not a public address"
                         + (" (link-local: allow_link_local_network allows it)" if allow_private else ""))


# -- politeness -----------------------------------------------------------------------


class _HostGate:
    """At most ``limit`` requests to one host at once, starts spaced by ``delay`` seconds."""

    def __init__(self, limit: int, delay: float):
        self.semaphore = asyncio.Semaphore(limit)
        self.delay = delay
        self._lock = asyncio.Lock()
        self._next = 0.0

    async def __aenter__(self):
        await self.semaphore.acquire()
        async with self._lock:
            wait = self._next - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            self._next = time.monotonic() + self.delay
        return self

    async def __aexit__(self, *exc):
        self.semaphore.release()


def retry_after_seconds(value: str | None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when is None:
        return None
    return max(0.0, when.timestamp() - time.time())


_CRAWL_DELAY = re.compile(r"^\s*crawl-delay\s*:\s*([0-9]*\.?[0-9]+)", re.I | re.M)
_CHARSET = re.compile(r"charset\s*=\s*[\"']?([\w.:-]+)", re.I)


class Fetcher:
    """Fetch URLs politely and safely; create and use it inside one event loop."""

    def __init__(self, policy: FetchPolicy):
        self.policy = policy
        self._gates: dict[str, _HostGate] = {}
        self._robots: dict[str, asyncio.Future] = {}
        self._sessions: dict[bool, aiohttp.ClientSession] = {}
        self._host_checks: dict[str, asyncio.Future] = {}
        self.requests = 0

    def _guard(self) -> tuple[bool, bool]:
        """(private allowed, link-local allowed) for third-party URLs."""
        return self.policy.allow_private_network, self.policy.allow_link_local_network

    def _session(self, guarded: bool) -> aiohttp.ClientSession:
        # Unguarded: a URL the user configured. Everything else is resolved by the guard.
        guarded = guarded and not all(self._guard())
        session = self._sessions.get(guarded)
        if session is None:
            connector = aiohttp.TCPConnector(
                limit=self.policy.concurrency,
                limit_per_host=0,  # the host gates enforce the per-host limit
                resolver=GuardedResolver(*self._guard()) if guarded else aiohttp.ThreadedResolver(),
                ttl_dns_cache=300,
            )
            session = aiohttp.ClientSession(
                connector=connector,
                timeout=aiohttp.ClientTimeout(
                    total=self.policy.total_timeout,
                    sock_connect=self.policy.connect_timeout,
                ),
                headers={"User-Agent": self.policy.user_agent, "Accept-Encoding": "gzip, deflate"},
                auto_decompress=True,
                cookie_jar=aiohttp.DummyCookieJar(),
            )
            self._sessions[guarded] = session
        return session

    async def close(self) -> None:
        for session in self._sessions.values():
            await session.close()
        self._sessions.clear()

    def _gate(self, host: str) -> _HostGate:
        gate = self._gates.get(host)
        if gate is None:
            gate = self._gates[host] = _HostGate(self.policy.per_host_concurrency, self.policy.min_host_delay)
        return gate

    async def _resolve_check(self, host: str) -> None:
        infos = await asyncio.get_running_loop().getaddrinfo(host, None, type=socket.SOCK_STREAM)
        for info in infos:
            if forbidden_address(info[4][0], *self._guard()):
                raise FetchError("ForbiddenAddress", f"{host} resolves to a non-public address ({info[4][0]})")

    async def _check_host(self, url: str) -> None:
        """Refuse a host that resolves to a forbidden address, before any connection.

        Cached per host for the run; the connector's resolver checks again at connect time.
        """
        host = urlsplit(url).hostname or ""
        if _is_ip_literal(host):
            return
        future = self._host_checks.get(host)
        if future is None:
            future = self._host_checks[host] = asyncio.ensure_future(self._resolve_check(host))
        try:
            await asyncio.shield(future)
        except FetchError:
            raise
        except OSError as exc:
            raise FetchError("DNSError", f"cannot resolve {host}: {exc}", retryable=True) from None

    # -- robots.txt ---------------------------------------------------------------------

    async def _load_robots(self, origin: str, guarded: bool) -> urllib.robotparser.RobotFileParser | None:
        """The parsed robots.txt of an origin; None means "allow everything"."""
        try:
            resp = await self._get_once(origin + "/robots.txt", {}, guarded, ROBOTS_MAX_BYTES, use_robots=False)
        except FetchError as exc:
            if exc.status is not None and 400 <= exc.status < 500:
                return None  # RFC 9309: unavailable robots.txt (4xx) means no restrictions
            raise FetchError("RobotsUnavailable", f"robots.txt of {origin} unreachable: {exc}", exc.status, True) from None
        text = resp.body.decode("utf-8", errors="replace")
        parser = urllib.robotparser.RobotFileParser()
        parser.parse(text.splitlines())
        delay = parser.crawl_delay(self.policy.user_agent) or parser.crawl_delay("*")
        if delay is None:
            # robotparser reads whole seconds only; "Crawl-delay: 0.5" is common too.
            match = _CRAWL_DELAY.search(text)
            delay = float(match.group(1)) if match else None
        host = urlsplit(origin).netloc
        if delay:
            gate = self._gate(host)
            gate.delay = max(gate.delay, min(float(delay), MAX_CRAWL_DELAY))
        return parser

    async def _allowed(self, url: str, guarded: bool) -> None:
        parts = urlsplit(url)
        origin = f"{parts.scheme}://{parts.netloc}"
        future = self._robots.get(origin)
        if future is None:
            future = self._robots[origin] = asyncio.ensure_future(self._load_robots(origin, guarded))
        parser = await asyncio.shield(future)
        if parser is not None and not parser.can_fetch(self.policy.user_agent, url):
            raise FetchError("RobotsDisallowed", f"robots.txt of {origin} disallows {parts.path or '/'}")

    # -- requests -----------------------------------------------------------------------

    async def get(
        self,
        url: str,
        *,
        headers: dict[str, str] | None = None,
        guarded: bool = True,
        html_only: bool = False,
        use_robots: bool = True,
    ) -> Response:
        """GET with retries; raises FetchError. ``guarded`` applies the SSRF rules."""
        attempt = 0
        while True:
            attempt += 1
            try:
                resp = await self._get_once(url, headers or {}, guarded, self.policy.max_bytes, use_robots)
            except FetchError as exc:
                if not exc.retryable or attempt > self.policy.retries:
                    raise
                wait = getattr(exc, "retry_after", None)
                if wait is None:
                    wait = self.policy.backoff * (2 ** (attempt - 1)) * (0.5 + random.random())
                LOGGER.debug("retrying %s in %.2fs after %s", url, wait, exc)
                await asyncio.sleep(wait)
                continue
            if html_only and resp.status == 200:
                ctype = resp.content_type or ""
                if ctype and not ctype.startswith(HTML_TYPES):
                    raise FetchError("UnsupportedContentType", f"content type {ctype} is not HTML", resp.status)
            return dataclasses.replace(resp, attempts=attempt)

    async def _get_once(self, url: str, headers: dict, guarded: bool, max_bytes: int, use_robots: bool) -> Response:
        seen = set()
        current = url
        origin = urlsplit(url).hostname
        for hop in range(self.policy.max_redirects + 1):
            # An unguarded URL is one the user configured (a feed): trusted, and so is a
            # redirect on its own host. A redirect elsewhere is not what the user trusted
            # (a feed must not send newsbeam to 169.254.169.254): it is guarded like any
            # third-party URL, unless allow_private_network lifts the guard for all.
            hop_guarded = guarded or (hop > 0 and urlsplit(current).hostname != origin)
            if hop_guarded:
                check_url(current, *self._guard())
                if not all(self._guard()):
                    await self._check_host(current)
            else:
                check_url(current, True, True)
            if current in seen:
                raise FetchError("RedirectLoop", f"redirect loop at {current}")
            seen.add(current)
            if use_robots and self.policy.respect_robots:
                await self._allowed(current, hop_guarded)
            status, resp_headers, body = await self._request(current, headers, hop_guarded, max_bytes)
            if status in REDIRECT_STATUSES and resp_headers.get("Location"):
                current = urljoin(current, resp_headers["Location"])
                continue
            if status == 304:
                return self._response(url, current, status, b"", resp_headers)
            if status in RETRY_STATUSES:
                err = FetchError(f"HTTP{status}", f"HTTP {status} from {current}", status, True)
                wait = retry_after_seconds(resp_headers.get("Retry-After"))
                if wait is not None:
                    if wait > self.policy.max_retry_after:
                        raise FetchError(
                            f"HTTP{status}", f"HTTP {status}; Retry-After {wait:.0f}s exceeds fetch.max_retry_after", status, True
                        )
                    err.retry_after = wait
                raise err
            if status >= 400:
                raise FetchError(f"HTTP{status}", f"HTTP {status} from {current}", status, False)
            return self._response(url, current, status, body, resp_headers)
        raise FetchError("TooManyRedirects", f"more than {self.policy.max_redirects} redirects from {url}")

    @staticmethod
    def _response(url, final_url, status, body, headers) -> Response:
        ctype_header = headers.get("Content-Type") or ""
        match = _CHARSET.search(ctype_header)
        return Response(
            url=url,
            final_url=final_url,
            status=status,
            body=body,
            content_type=ctype_header.split(";")[0].strip().lower() or None,
            charset=match.group(1) if match else None,
            etag=headers.get("ETag"),
            last_modified=headers.get("Last-Modified"),
            attempts=1,
        )

    async def _request(self, url: str, headers: dict, guarded: bool, max_bytes: int):
        host = urlsplit(url).netloc.lower()
        session = self._session(guarded)
        async with self._gate(host):
            self.requests += 1
            try:
                async with session.get(url, headers=headers, allow_redirects=False) as resp:
                    if resp.status in REDIRECT_STATUSES or resp.status == 304 or resp.status >= 400:
                        return resp.status, CIMultiDict(resp.headers), b""
                    length = resp.content_length
                    if length is not None and length > max_bytes:
                        raise FetchError("TooLarge", f"Content-Length {length} exceeds {max_bytes} bytes", resp.status)
                    chunks, size = [], 0
                    async for chunk in resp.content.iter_chunked(CHUNK):
                        size += len(chunk)
                        if size > max_bytes:
                            raise FetchError("TooLarge", f"body exceeds {max_bytes} bytes", resp.status)
                        chunks.append(chunk)
                    return resp.status, CIMultiDict(resp.headers), b"".join(chunks)
            except FetchError:
                raise
            except asyncio.TimeoutError:
                # A server that hangs once is likely to hang again: no retry, bounded cost.
                raise FetchError("Timeout", f"no complete response within {self.policy.total_timeout}s") from None
            except aiohttp.ClientConnectorError as exc:
                inner = exc.os_error if isinstance(getattr(exc, "os_error", None), FetchError) else None
                if inner is not None:
                    raise inner from None
                raise FetchError("ConnectionError", str(exc), retryable=True) from None
            except (aiohttp.ClientError, OSError) as exc:
                cause = exc.__cause__ if isinstance(exc.__cause__, FetchError) else None
                if cause is not None:
                    raise cause from None
                raise FetchError(type(exc).__name__, str(exc) or type(exc).__name__, retryable=True) from None


class BackgroundLoop:
    """An asyncio loop on a daemon thread, for submitting coroutines from sync code."""

    def __init__(self):
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name="newsbeam-fetch", daemon=True)
        self._thread.start()

    def submit(self, coro) -> concurrent.futures.Future:
        return asyncio.run_coroutine_threadsafe(coro, self.loop)

    def run(self, coro, timeout: float | None = None):
        return self.submit(coro).result(timeout)

    def stop(self) -> None:
        if self.loop.is_running():
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join(timeout=5)
        if not self.loop.is_running() and not self.loop.is_closed():
            self.loop.close()


def find_canonical(html: str, base: str) -> str | None:
    """The href of ``<link rel="canonical">`` in a page's head, made absolute."""
    head = html[:200_000]
    for match in re.finditer(r"<link\b[^>]*>", head, re.I):
        tag = match.group(0)
        if re.search(r"""rel\s*=\s*["']?canonical\b""", tag, re.I):
            href = re.search(r"""href\s*=\s*["']([^"']+)["']""", tag, re.I)
            if href:
                return urljoin(base, href.group(1).strip())
    return None
