"""Traffic whose views must not count: crawlers, excluded networks and the newsroom's own staff.

One :class:`TrafficFilter` per app classifies each ``POST /v1/events`` request once (every event
of a request shares its user agent, address and cookies):

- **Crawlers**: the user agent is checked against the crawler list maintained by the
  ``crawlerdetect`` package (a few thousand patterns, kept up to date upstream, instead of a
  regex list of our own). A check costs about a millisecond, so verdicts are kept per user
  agent in an LRU; a site sees a few thousand distinct user agents, so nearly every request is
  a dictionary hit. A request without a user agent is counted as a bot too: every browser
  sends one, ``navigator.sendBeacon`` included.
- **Excluded networks** (``NEWSREC_EXCLUDED_IPS``, CIDRs): office networks, monitoring. The
  client address is the connection's peer, or, behind ``NEWSREC_TRUST_PROXY`` reverse proxies,
  the address the outermost trusted proxy saw (the N-th ``X-Forwarded-For`` entry from the
  right): the entries further left are whatever the client wrote, so they are never trusted.
- **Staff** (``NEWSREC_STAFF_HEADER``, ``NEWSREC_STAFF_COOKIE``): a request carrying the header
  or the cookie (any non-empty value) is the newsroom reading its own site. ``sendBeacon``
  cannot set headers, so pages should use the cookie (set it on the CMS login).

Nothing of this is stored: the verdict is the only output.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from functools import lru_cache
from typing import Any

from werkzeug.http import parse_cookie

#: Reasons a request's events are dropped, as reported in ``/metrics``.
REASONS = ("bot", "no_user_agent", "excluded_ip", "staff")
#: Longer user agents are cut before the crawler check and the cache (bounds the LRU's memory).
MAX_USER_AGENT = 512

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(text: str) -> tuple[IPNetwork, ...]:
    """Comma-separated CIDRs (``10.0.0.0/8, 2001:db8::/32``; a bare address is a /32 or /128).

    Raises
    ------
    ValueError
        On a value that is not an address or network.
    """
    networks = []
    for part in text.split(","):
        part = part.strip()
        if part:
            networks.append(ipaddress.ip_network(part, strict=False))
    return tuple(networks)


def _header_key(name: str) -> str:
    return "HTTP_" + name.strip().upper().replace("-", "_")


class TrafficFilter:
    """Decides whether a request's views count.

    Parameters
    ----------
    excluded_networks : iterable of ip networks
        Client addresses in these networks do not count.
    trust_proxy : int
        Reverse proxies in front of the service whose ``X-Forwarded-For`` entry is trusted;
        0 ignores the header.
    staff_header, staff_cookie : str or None
        Name of the header or cookie marking staff traffic.
    cache_size : int
        User agents whose crawler verdict is kept.
    """

    def __init__(
        self,
        *,
        excluded_networks: Iterable[IPNetwork] = (),
        trust_proxy: int = 0,
        staff_header: str | None = None,
        staff_cookie: str | None = None,
        cache_size: int = 4096,
    ) -> None:
        # deferred: its pattern tables load on the first app that filters traffic
        from crawlerdetect import CrawlerDetect

        self.excluded_networks = tuple(excluded_networks)
        self.trust_proxy = trust_proxy
        self.staff_header = _header_key(staff_header) if staff_header else None
        self.staff_cookie = staff_cookie or None
        self._detector = CrawlerDetect()
        self.is_crawler = lru_cache(maxsize=cache_size)(self._is_crawler)

    def _is_crawler(self, user_agent: str) -> bool:
        return bool(self._detector.is_crawler(user_agent))

    def client_ip(self, environ: Mapping[str, Any]) -> str | None:
        """The client's address: the peer, or the trusted proxy's view of it."""
        if self.trust_proxy:
            forwarded = environ.get("HTTP_X_FORWARDED_FOR")
            if forwarded:
                hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
                if hops:
                    # With fewer entries than trusted proxies the leftmost is the best we have.
                    return str(hops[-min(self.trust_proxy, len(hops))])
        address = environ.get("REMOTE_ADDR")
        return str(address) if address else None

    def _excluded(self, environ: Mapping[str, Any]) -> bool:
        if not self.excluded_networks:
            return False
        text = self.client_ip(environ)
        if text is None:
            return False
        try:
            address = ipaddress.ip_address(text)
        except ValueError:
            return False
        return any(address in network for network in self.excluded_networks)

    def _staff(self, environ: Mapping[str, Any]) -> bool:
        if self.staff_header is not None and environ.get(self.staff_header):
            return True
        if self.staff_cookie is not None:
            cookies = environ.get("HTTP_COOKIE")
            # cheap substring test first: most requests carry no such cookie
            if cookies and self.staff_cookie in cookies:
                return bool(parse_cookie(cookies).get(self.staff_cookie))
        return False

    def classify(self, environ: Mapping[str, Any]) -> str | None:
        """Why this request's views do not count (one of :data:`REASONS`), or None."""
        user_agent = str(environ.get("HTTP_USER_AGENT") or "").strip()
        if not user_agent:
            return "no_user_agent"
        if self.is_crawler(user_agent[:MAX_USER_AGENT]):
            return "bot"
        if self._excluded(environ):
            return "excluded_ip"
        if self._staff(environ):
            return "staff"
        return None
