"""The fetcher against a real HTTP server on 127.0.0.1."""

import time

import pytest

from newsbeam.http import (
    BackgroundLoop,
    Fetcher,
    FetchError,
    FetchPolicy,
    check_url,
    forbidden_address,
    retry_after_seconds,
)
from tests.httpserver import Reply, Server

PAGE = "<html><head><title>t</title></head><body><p>hello</p></body></html>"


@pytest.fixture
def server():
    with Server() as srv:
        yield srv


@pytest.fixture
def loop():
    bg = BackgroundLoop()
    yield bg
    bg.stop()


def fetch(loop, url, policy=None, **kw):
    policy = policy or FetchPolicy(allow_private_network=True, backoff=0.01, respect_robots=True)
    fetcher = Fetcher(policy)

    async def go():
        try:
            return await fetcher.get(url, **kw)
        finally:
            await fetcher.close()

    return loop.run(go(), timeout=60)


def test_ok_and_charset_and_content_type(server, loop):
    server.static("/a", PAGE.encode("latin-1"), headers={"Content-Type": "text/html; charset=ISO-8859-1"})
    resp = fetch(loop, server.url("/a"))
    assert resp.status == 200 and resp.charset == "ISO-8859-1" and resp.content_type == "text/html"
    ua = server.requests[-1].headers["User-Agent"]
    assert ua.startswith("newsbeam/") and "+http" in ua


def test_conditional_get_304(server, loop):
    server.route("/feed", lambda req: Reply(304) if req.headers.get("If-None-Match") == '"v1"' else Reply(body=b"x", headers={"ETag": '"v1"'}))
    first = fetch(loop, server.url("/feed"))
    assert first.etag == '"v1"'
    second = fetch(loop, server.url("/feed"), headers={"If-None-Match": '"v1"'})
    assert second.status == 304 and second.body == b""


def test_500_once_then_success_is_retried(server, loop):
    calls = []
    server.route("/flaky", lambda req: (calls.append(1), Reply(500) if len(calls) == 1 else Reply(body=PAGE.encode()))[1])
    resp = fetch(loop, server.url("/flaky"))
    assert resp.status == 200 and resp.attempts == 2


def test_500_always_gives_up_after_retries(server, loop):
    server.route("/down", lambda req: Reply(503))
    with pytest.raises(FetchError) as err:
        fetch(loop, server.url("/down"))
    assert err.value.error_type == "HTTP503" and err.value.retryable
    assert server.hits("/down") == 4  # 1 + 3 retries


def test_404_is_not_retried(server, loop):
    with pytest.raises(FetchError) as err:
        fetch(loop, server.url("/missing"))
    assert err.value.status == 404 and not err.value.retryable
    assert server.hits("/missing") == 1


def test_429_honours_retry_after(server, loop):
    calls = []
    server.route("/busy", lambda req: (calls.append(time.monotonic()), Reply(429, headers={"Retry-After": "1"}) if len(calls) == 1 else Reply(body=b"ok"))[1])
    resp = fetch(loop, server.url("/busy"))
    assert resp.status == 200
    assert calls[1] - calls[0] >= 0.95


def test_retry_after_beyond_cap_fails_fast(server, loop):
    server.route("/later", lambda req: Reply(429, headers={"Retry-After": "3600"}))
    policy = FetchPolicy(allow_private_network=True, max_retry_after=5, retries=0)
    start = time.monotonic()
    with pytest.raises(FetchError):
        fetch(loop, server.url("/later"), policy)
    assert time.monotonic() - start < 3


def test_slow_response_times_out_without_retry(server, loop):
    server.route("/slow", lambda req: Reply(body=b"late", delay=3))
    policy = FetchPolicy(allow_private_network=True, total_timeout=0.5, connect_timeout=0.5)
    start = time.monotonic()
    with pytest.raises(FetchError) as err:
        fetch(loop, server.url("/slow"), policy)
    assert err.value.error_type == "Timeout"
    assert time.monotonic() - start < 2.5


def test_huge_body_is_cut_while_streaming(server, loop):
    server.route("/huge", lambda req: Reply(body=b"<html>", stream_bytes=50 * 1024 * 1024, headers={"Content-Length": None}))
    policy = FetchPolicy(allow_private_network=True, max_bytes=1_000_000)
    with pytest.raises(FetchError) as err:
        fetch(loop, server.url("/huge"), policy)
    assert err.value.error_type == "TooLarge"


def test_declared_huge_body_is_refused_before_reading(server, loop):
    server.route("/big", lambda req: Reply(body=b"<html>", stream_bytes=5_000_000))
    with pytest.raises(FetchError) as err:
        fetch(loop, server.url("/big"), FetchPolicy(allow_private_network=True, max_bytes=100_000))
    assert "Content-Length" in str(err.value)


def test_pdf_is_refused_for_articles(server, loop):
    server.static("/doc.pdf", b"%PDF-1.7", headers={"Content-Type": "application/pdf"})
    with pytest.raises(FetchError) as err:
        fetch(loop, server.url("/doc.pdf"), html_only=True)
    assert err.value.error_type == "UnsupportedContentType"


def test_redirects_followed_and_loops_stopped(server, loop):
    server.route("/r1", lambda req: Reply(301, headers={"Location": "/r2"}))
    server.route("/r2", lambda req: Reply(302, headers={"Location": server.url("/final")}))
    server.static("/final", PAGE)
    assert fetch(loop, server.url("/r1")).final_url == server.url("/final")
    server.route("/loop1", lambda req: Reply(302, headers={"Location": "/loop2"}))
    server.route("/loop2", lambda req: Reply(302, headers={"Location": "/loop1"}))
    with pytest.raises(FetchError) as err:
        fetch(loop, server.url("/loop1"))
    assert err.value.error_type == "RedirectLoop"


def test_robots_disallow_and_crawl_delay(server, loop):
    server.static("/robots.txt", "User-agent: *\nDisallow: /private\nCrawl-delay: 0.5\n", headers={"Content-Type": "text/plain"})
    server.static("/private/a", PAGE)
    server.static("/public/a", PAGE)
    with pytest.raises(FetchError) as err:
        fetch(loop, server.url("/private/a"))
    assert err.value.error_type == "RobotsDisallowed"
    assert server.hits("/private/a") == 0
    fetcher = Fetcher(FetchPolicy(allow_private_network=True))

    async def two():
        try:
            await fetcher.get(server.url("/public/a"))
            await fetcher.get(server.url("/public/a"))
        finally:
            await fetcher.close()

    start = time.monotonic()
    loop.run(two(), timeout=30)
    assert time.monotonic() - start >= 0.45  # the crawl delay spaced the two requests


def test_private_addresses_refused_by_default(server, loop):
    server.static("/a", PAGE)
    with pytest.raises(FetchError) as err:
        fetch(loop, server.url("/a"), FetchPolicy())
    assert err.value.error_type == "ForbiddenAddress"
    assert server.hits("/a") == 0
    with pytest.raises(FetchError) as err:
        fetch(loop, f"http://localhost:{server.port}/a", FetchPolicy())
    assert err.value.error_type == "ForbiddenAddress"


def test_redirect_to_private_address_refused(server, loop):
    # the first hop is "trusted" only because private networks are allowed for it; the
    # guard is applied per hop, so check_url refuses the metadata address literally
    with pytest.raises(FetchError):
        check_url("http://169.254.169.254/latest/meta-data/", allow_private=False)


@pytest.mark.parametrize(
    "address,forbidden",
    [("127.0.0.1", True), ("10.1.2.3", True), ("192.168.0.1", True), ("172.16.5.4", True), ("169.254.169.254", True),
     ("224.0.0.1", True), ("::1", True), ("fe80::1", True), ("::ffff:127.0.0.1", True), ("0.0.0.0", True),
     ("100.64.0.1", True), ("93.184.216.34", False), ("2606:4700::1111", False),
     ("2002:a9fe:a9fe::1", True), ("2002:0a00:0001::1", True), ("2002:5db8:d822::1", False),  # 6to4: the embedded IPv4 decides
     ("2001:0:4136:e378:8000:63bf:f5ff:fffe", True)],  # Teredo, client 10.0.0.1
)
def test_forbidden_address(address, forbidden):
    assert forbidden_address(address) is forbidden


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://example.com/x", "data:text/html,hi", "gopher://x/"])
def test_non_http_schemes_refused(url):
    with pytest.raises(FetchError) as err:
        check_url(url, allow_private=True)
    assert err.value.error_type == "ForbiddenScheme"


def test_retry_after_parsing():
    assert retry_after_seconds("7") == 7
    assert retry_after_seconds(None) is None
    assert retry_after_seconds("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0
    assert retry_after_seconds("soon") is None


def test_a_trusted_feed_cannot_redirect_to_a_private_address_on_another_host(server, loop):
    """The configured feed URL is trusted (guarded=False); where it redirects to on another host is not."""
    server.route("/feed", lambda req: Reply(302, headers={"Location": f"http://localhost:{server.port}/meta"}))
    server.route("/same-host", lambda req: Reply(302, headers={"Location": "/feed2"}))
    server.static("/feed2", b"<rss/>", headers={"Content-Type": "application/rss+xml"})
    server.static("/meta", b"secret", headers={"Content-Type": "text/plain"})
    policy = FetchPolicy(backoff=0.01, respect_robots=False)
    with pytest.raises(FetchError) as err:
        fetch(loop, server.url("/feed"), policy, guarded=False, use_robots=False)
    assert err.value.error_type == "ForbiddenAddress"
    assert server.hits("/meta") == 0
    assert fetch(loop, server.url("/same-host"), policy, guarded=False, use_robots=False).body == b"<rss/>"
    allowed = FetchPolicy(allow_private_network=True, backoff=0.01, respect_robots=False)
    assert fetch(loop, server.url("/feed"), allowed, guarded=False, use_robots=False).body == b"secret"
