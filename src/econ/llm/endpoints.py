"""Where an `openai:` backend sends its requests and with which key, checked before a run
starts: a bad URL or key is one line to the user, not a failure inside every request."""

from __future__ import annotations

import os
from urllib.parse import urlsplit, urlunsplit

from econ.errors import UserError


def base_url_problem(url: str) -> str | None:
    """Why `url` cannot be a base URL (None if it can), checked before a run starts.

    Without this a malformed URL only fails inside each request, after every retry, or
    escapes the network stack as an unrelated error (an out-of-range port overflows there).
    """
    if any(c.isspace() for c in url):
        return "it contains whitespace"
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        return "it must start with http:// or https://"
    if not parts.hostname:
        return "it has no host"
    try:
        port = parts.port
    except ValueError:
        return "its port is not a number from 1 to 65535"
    if port == 0:
        return "its port is not a number from 1 to 65535"
    return None


def redact_url(url: str) -> str:
    """The URL with any user:password replaced by ***, for names, records and saved configs."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    host = parts.netloc.rsplit("@", 1)[1]
    return urlunsplit(parts._replace(netloc=f"***@{host}"))


def env_api_key(variable: str) -> str | None:
    """The key in environment variable `variable` (None if unset or empty).

    HTTP headers carry only ASCII, so a key with other characters (often a pasted typographic
    quote) is refused here with one line instead of failing inside every request.
    """
    key = (os.environ.get(variable) or "").strip()
    if key and not (key.isascii() and key.isprintable()):
        raise UserError(
            f"the API key in ${variable} holds non-ASCII or control characters; "
            "HTTP headers cannot carry it"
        )
    return key or None
