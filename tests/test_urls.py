import pytest

from newsbeam.urls import canonicalize_url, host_of


@pytest.mark.parametrize(
    "url,expected",
    [
        ("HTTPS://Example.COM/News/A?utm_source=rss&utm_medium=feed#top", "https://example.com/News/A"),
        ("http://example.com:80/a?b=2&a=1", "http://example.com/a?a=1&b=2"),
        ("https://example.com:8443/a?fbclid=x&id=7&gclid=y", "https://example.com:8443/a?id=7"),
        ("https://example.com", "https://example.com/"),
        ("https://example.com//a//b", "https://example.com/a/b"),
        ("ftp://example.com/a", None),
        ("file:///etc/passwd", None),
        ("javascript:alert(1)", None),
        ("", None),
        ("http://[::1]:8080/x", "http://[::1]:8080/x"),
    ],
)
def test_canonicalize(url, expected):
    assert canonicalize_url(url) == expected


def test_canonicalize_resolves_relative_links():
    assert canonicalize_url("/a/b?utm_campaign=x", base="https://site.example/feed") == "https://site.example/a/b"


def test_same_article_with_and_without_tracking_is_one_url():
    a = canonicalize_url("https://wire.example.com/2026/10/25/prisoner-release?utm_source=rss&utm_medium=feed")
    b = canonicalize_url("https://WIRE.example.com/2026/10/25/prisoner-release#comments")
    assert a == b


def test_host_of():
    assert host_of("https://www.example.org/x") == "example.org"
    assert host_of(None) is None


def test_same_site_uses_the_public_suffix_list():
    from newsbeam.urls import registrable_domain, same_site

    assert registrable_domain("news.bbc.co.uk") == "bbc.co.uk"
    assert same_site("https://www.bbc.co.uk/a", "https://news.bbc.co.uk/b")
    assert not same_site("https://alice.github.io/a", "https://bob.github.io/a")  # one suffix, two owners
    assert not same_site("http://127.0.0.1:8000/a", "http://localhost:8000/a")
    assert same_site("http://127.0.0.1:8000/a", "http://127.0.0.1:9000/b")


def test_a_page_cannot_claim_another_sites_article_as_canonical():
    from newsbeam.fetching import page_canonical

    hostile = '<html><head><link rel="canonical" href="https://victim.example/world/story-1"></head></html>'
    assert page_canonical(hostile, "https://evil.example/x") == "https://evil.example/x"
    own = '<html><head><link rel="canonical" href="https://www.victim.example/world/story-1"></head></html>'
    assert page_canonical(own, "https://m.victim.example/story-1?utm_source=x") == "https://www.victim.example/world/story-1"
