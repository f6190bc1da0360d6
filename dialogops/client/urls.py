"""The Dialog API's base URL: refused early when no request could go to it, and shown
without the credential its userinfo may hold."""

from __future__ import annotations

import ipaddress
import re
import urllib.parse

from dialogops.errors import UsageError
from dialogops.masking import secrets

# A base URL and host name any request could go to (RFC 1035 sizes; `_` as Docker allows).
_MAX_URL = 2048
_MAX_HOST = 253
_LABEL = re.compile(r"[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?")


def check_url(url: str) -> None:
    """Refuse, before anything is sent or written, a base URL no request could go to.

    `http(s)://host[:port][/path]` with a host name, an IPv4 or a bracketed IPv6 address;
    no spaces, control characters or percent escapes in the host.
    """
    if not _valid_url(url):
        raise UsageError(f"the Dialog API URL {url!r} is not an http(s) URL")


def _valid_url(url: str) -> bool:
    if len(url) > _MAX_URL or any(char.isspace() or not char.isprintable() for char in url):
        return False
    try:
        parts = urllib.parse.urlsplit(url)
        port = parts.port
    except ValueError:  # e.g. an unclosed IPv6 bracket or a port that is not a number
        return False
    host = parts.hostname
    if parts.scheme not in ("http", "https") or not host or port == 0:
        return False
    if host.startswith("[") or ":" in host:
        try:
            ipaddress.IPv6Address(host.strip("[]"))
        except ValueError:
            return False
        return True
    try:
        ascii_host = host.encode("idna").decode("ascii")
    except UnicodeError:  # a label too long, empty, or not a name at all
        return False
    return len(ascii_host) <= _MAX_HOST and all(
        _LABEL.fullmatch(label) for label in ascii_host.rstrip(".").split(".")
    )


def without_userinfo(url: str) -> str:
    parts = urllib.parse.urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return urllib.parse.urlunsplit(parts._replace(netloc="***@" + parts.netloc.rpartition("@")[2]))


def register_userinfo(url: str) -> None:
    """The password of `user:password@` is a secret wherever it shows up."""
    parts = urllib.parse.urlsplit(url)
    if parts.password:
        secrets.add(parts.password)
        secrets.add(urllib.parse.unquote(parts.password))
