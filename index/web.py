"""Fetching pages, feeds and sitemaps over HTTP, refusing what a server must not fetch.

A URL given by a user or found in a feed is untrusted: fetching it from the server could
reach the server's own network. So each request, and each redirect it follows, is checked:
http or https only; every address the host resolves to must be public (not private,
loopback, link-local, multicast, reserved or unspecified) unless `allow_private` is set
(the tests serve pages from 127.0.0.1); the body is read up to a size limit; the content
type must be one the caller can use; every request has a time-out.

Known gap: the host is resolved for the check and again by the HTTP client when it
connects, so a DNS server that answers differently the second time (DNS rebinding) could
still steer a request; running the service behind an egress proxy closes that.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urljoin, urlsplit

import httpx

from index.errors import BylineError

Kind = Literal["page", "feed", "any"]

PAGE_TYPES = frozenset({"text/html", "application/xhtml+xml"})
FEED_TYPES = frozenset(
    {
        "application/rss+xml",
        "application/atom+xml",
        "application/rdf+xml",
        "application/xml",
        "text/xml",
    }
)
_ACCEPT = {
    "page": "text/html,application/xhtml+xml;q=0.9",
    "feed": "application/rss+xml,application/atom+xml,application/xml;q=0.9,text/xml;q=0.8",
    "any": "text/html,application/xhtml+xml,application/rss+xml,application/atom+xml,"
    "application/xml;q=0.9,text/xml;q=0.8",
}


class FetchError(BylineError):
    """A URL could not be fetched, or was refused; the message says which and why."""

    code = "fetch_failed"

    def __init__(self, url: str, reason: str) -> None:
        super().__init__(f"{url}: {reason}")
        self.url = url
        self.reason = reason


@dataclass(frozen=True, slots=True)
class FetchPolicy:
    allow_private: bool = False
    """Fetch from any address (BYLINE_FETCH_ALLOW_PRIVATE): for a newsroom's own network."""
    allowed_networks: tuple[str, ...] = ()
    """Private networks allowed even so, such as "127.0.0.1/32" for a local test server."""
    max_bytes: int = 5_000_000
    timeout_seconds: float = 15.0
    max_redirects: int = 5
    user_agent: str = "Byline/0.1 (news search; +https://github.com/byline)"


@dataclass(frozen=True, slots=True)
class Fetched:
    url: str
    """The final URL, after redirects."""
    status: int
    """200, or 304 when the validators sent still hold (no body then)."""
    content: bytes = b""
    content_type: str = ""
    etag: str | None = None
    last_modified: str | None = None

    @property
    def is_page(self) -> bool:
        return self.content_type in PAGE_TYPES


def _public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return not (
        ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
    )


def check_url(url: str, policy: FetchPolicy) -> None:
    """Raise FetchError unless `url` may be fetched under `policy`."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise FetchError(url, f"only http and https URLs are fetched, not {parts.scheme or '?'}:")
    if not parts.hostname:
        raise FetchError(url, "the URL has no host")
    if policy.allow_private:
        return
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
        infos = socket.getaddrinfo(parts.hostname, port, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, ValueError) as exc:
        raise FetchError(url, f"the host cannot be resolved ({exc})") from None
    allowed = [ipaddress.ip_network(n) for n in policy.allowed_networks]
    private = sorted(
        {
            address
            for address in (str(info[4][0]) for info in infos)
            if not _public(address)
            and not any(ipaddress.ip_address(address) in net for net in allowed)
        }
    )
    if private:
        raise FetchError(
            url,
            f"refused: {parts.hostname} resolves to a private, loopback or link-local address "
            f"({', '.join(private)}); set BYLINE_FETCH_ALLOW_PRIVATE=true to allow it",
        )


def _media_type(header: str | None) -> str:
    return (header or "").split(";", 1)[0].strip().lower()


class Fetcher:
    """One HTTP client with the policy's checks, time-outs and limits."""

    def __init__(self, policy: FetchPolicy | None = None) -> None:
        self.policy = policy or FetchPolicy()
        self._client = httpx.Client(
            follow_redirects=False,  # each hop is checked here
            timeout=httpx.Timeout(self.policy.timeout_seconds),
            headers={"User-Agent": self.policy.user_agent},
        )

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> Fetcher:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def get(
        self,
        url: str,
        kind: Kind = "any",
        *,
        etag: str | None = None,
        last_modified: str | None = None,
    ) -> Fetched:
        """GET `url` (conditionally, when validators are given); FetchError on any refusal."""
        headers = {"Accept": _ACCEPT[kind]}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        current = url
        for _ in range(self.policy.max_redirects + 1):
            check_url(current, self.policy)
            try:
                with self._client.stream("GET", current, headers=headers) as response:
                    if response.status_code in (301, 302, 303, 307, 308):
                        location = response.headers.get("location")
                        if not location:
                            raise FetchError(current, "a redirect without a Location header")
                        current = urljoin(current, location)
                        continue
                    return self._read(current, response, kind)
            except httpx.TimeoutException:
                raise FetchError(
                    current, f"timed out after {self.policy.timeout_seconds:g} s"
                ) from None
            except httpx.HTTPError as exc:
                raise FetchError(current, f"request failed ({exc})") from None
        raise FetchError(url, f"more than {self.policy.max_redirects} redirects")

    def _read(self, url: str, response: httpx.Response, kind: Kind) -> Fetched:
        validators = {
            "etag": response.headers.get("etag"),
            "last_modified": response.headers.get("last-modified"),
        }
        if response.status_code == 304:
            return Fetched(url, 304, **validators)
        if response.status_code != 200:
            raise FetchError(url, f"HTTP {response.status_code}")
        media = _media_type(response.headers.get("content-type"))
        allowed = {"page": PAGE_TYPES, "feed": FEED_TYPES, "any": PAGE_TYPES | FEED_TYPES}[kind]
        if media not in allowed:
            raise FetchError(
                url, f"content type {media or 'missing'} is not one Byline reads ({kind})"
            )
        declared = response.headers.get("content-length")
        limit = self.policy.max_bytes
        if declared and declared.isdigit() and int(declared) > limit:
            raise FetchError(url, f"the body ({int(declared):,} bytes) is over {limit:,} bytes")
        body = bytearray()
        for chunk in response.iter_bytes():
            body += chunk
            if len(body) > limit:
                raise FetchError(url, f"the body is over {limit:,} bytes")
        return Fetched(url, 200, bytes(body), media, **validators)
