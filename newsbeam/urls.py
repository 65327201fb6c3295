"""URL canonicalisation: one article, one canonical URL, one id."""

from __future__ import annotations

import functools
import ipaddress
import re
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

# Query parameters that identify a click or a campaign, never the content.
TRACKING_PARAMS = frozenset(
    {
        "fbclid", "gclid", "dclid", "gclsrc", "msclkid", "yclid", "igshid", "mc_cid",
        "mc_eid", "_ga", "_gl", "mkt_tok", "oly_anon_id", "oly_enc_id", "vero_id",
        "wickedid", "twclid", "ttclid", "li_fat_id", "s_cid", "cmpid", "at_medium",
        "at_campaign", "ocid", "ncid", "sr_share", "rss", "feedtype", "cmp",
    }
)
TRACKING_PREFIXES = ("utm_", "pk_", "mtm_", "hsa_", "_hs", "itm_")

_DEFAULT_PORTS = {"http": 80, "https": 443}
_MULTISLASH = re.compile(r"/{2,}")


def _is_tracking(name: str) -> bool:
    low = name.lower()
    return low in TRACKING_PARAMS or low.startswith(TRACKING_PREFIXES)


def canonicalize_url(url: str | None, base: str | None = None) -> str | None:
    """Canonical form of an http(s) URL for identity, or None if it is not one.

    Scheme and host are lower-cased, default ports and the fragment dropped, tracking
    parameters removed and the remaining query parameters sorted (their order never
    changes the page). The path is kept as published: case matters there.
    """
    if not url:
        return None
    url = url.strip()
    if base:
        url = urljoin(base, url)
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not parts.hostname:
        return None
    host = parts.hostname.lower().rstrip(".")
    netloc = host if port in (None, _DEFAULT_PORTS[scheme]) else f"{host}:{port}"
    if ":" in host and not host.startswith("["):
        netloc = f"[{host}]" if port in (None, _DEFAULT_PORTS[scheme]) else f"[{host}]:{port}"
    path = _MULTISLASH.sub("/", parts.path) or "/"
    query = [
        (k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not _is_tracking(k)
    ]
    return urlunsplit((scheme, netloc, path, urlencode(sorted(query)), ""))


def host_of(url: str | None) -> str | None:
    """Host name of a URL without a leading ``www.``, or None."""
    if not url:
        return None
    try:
        host = urlsplit(url).hostname
    except ValueError:
        return None
    if not host:
        return None
    return host[4:] if host.startswith("www.") else host



@functools.lru_cache(maxsize=1)
def _suffix_list():
    # The Public Suffix List ships inside the publicsuffixlist wheel: no network at run time.
    from publicsuffixlist import PublicSuffixList

    return PublicSuffixList()


@functools.lru_cache(maxsize=10_000)
def registrable_domain(host: str | None) -> str | None:
    """The domain one owner registered ("bbc.co.uk" for "news.bbc.co.uk"; "alice.github.io"
    stays itself, as github.io hands out names to different owners); an IP address or a
    name the list does not know is its own domain."""
    if not host:
        return None
    host = host.lower().strip("[]").rstrip(".")
    try:
        ipaddress.ip_address(host)
        return host
    except ValueError:
        pass
    return _suffix_list().privatesuffix(host) or host


def same_site(url_a: str | None, url_b: str | None) -> bool:
    """Whether two URLs belong to the same registrable domain (and so to one publisher)."""
    host_a = urlsplit(url_a).hostname if url_a else None
    host_b = urlsplit(url_b).hostname if url_b else None
    return bool(host_a and host_b) and registrable_domain(host_a) == registrable_domain(host_b)
