"""Typed readers for settings that come from the environment.

Every reader names the variable in its error, so a bad deploy fails at start-up with a message an
operator can act on, instead of at the first request that happens to touch the setting.
"""

from __future__ import annotations

import os
import re
from urllib.parse import urlsplit

from django.core.exceptions import ImproperlyConfigured

_MISSING = object()
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def _raw(name: str, default: object) -> str | object:
    value = os.environ.get(name)
    if value is None:
        if default is _MISSING:
            raise ImproperlyConfigured(f"Set the environment variable {name}.")
        return default
    return value


def env_str(name: str, default: str | object = _MISSING) -> str:
    return _raw(name, default)  # type: ignore[return-value]


def env_bool(name: str, default: bool | object = _MISSING) -> bool:
    value = _raw(name, default)
    if isinstance(value, bool):
        return value
    lowered = str(value).strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ImproperlyConfigured(
        f"{name} must be one of true/false, yes/no, on/off, 1/0; got {value!r}."
    )


def env_int(name: str, default: int | object = _MISSING, *, minimum: int | None = None) -> int:
    value = _raw(name, default)
    if isinstance(value, int):
        number = value
    else:
        try:
            number = int(str(value).strip())
        except ValueError:
            raise ImproperlyConfigured(f"{name} must be a whole number; got {value!r}.") from None
    if minimum is not None and number < minimum:
        raise ImproperlyConfigured(f"{name} must be at least {minimum}; got {number}.")
    return number


def env_list(name: str, default: list[str] | object = _MISSING) -> list[str]:
    """A comma-separated list; blanks between commas are an error, not silently dropped."""
    value = _raw(name, default)
    if isinstance(value, list):
        return value
    text = str(value).strip()
    if not text:
        return []
    items = [item.strip() for item in text.split(",")]
    if any(not item for item in items):
        raise ImproperlyConfigured(
            f"{name} has an empty item in its comma-separated list: {value!r}."
        )
    return items


def env_times(name: str, default: list[str] | object = _MISSING) -> list[str]:
    """A comma-separated list of distinct times of day as HH:MM (24-hour), at least one."""
    times = env_list(name, default)
    if not times:
        raise ImproperlyConfigured(f"{name} needs at least one time of day (HH:MM).")
    for item in times:
        if not re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", item):
            raise ImproperlyConfigured(f"{name} has {item!r}, which is not a time of day as HH:MM.")
    if len(set(times)) != len(times):
        raise ImproperlyConfigured(f"{name} names a time twice: {','.join(times)!r}.")
    return times


def _redacted(url: str) -> str:
    """The URL with any password replaced, for error messages that end up in logs."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return parts._replace(netloc=netloc).geturl()


def env_url(
    name: str, default: str | object | None = _MISSING, *, schemes: tuple[str, ...]
) -> str | None:
    """A URL whose scheme must be one of `schemes` and which must name a host or a path."""
    value = _raw(name, default)
    if value is None:
        return None
    text = str(value).strip()
    parts = urlsplit(text)
    shown = _redacted(text)
    if parts.scheme not in schemes:
        allowed = ", ".join(f"{s}://" for s in schemes)
        raise ImproperlyConfigured(f"{name} must start with one of {allowed}; got {shown!r}.")
    # scheme://host/... or scheme:///path (SQLite files, Unix sockets); not "redis:localhost".
    has_path = parts.path.startswith("/") and parts.path.strip("/")
    if not (parts.hostname or has_path) or not text.startswith(f"{parts.scheme}://"):
        raise ImproperlyConfigured(f"{name} names no host or database: {shown!r}.")
    try:
        parts.port  # noqa: B018 - raises ValueError on a port that is not a number
    except ValueError:
        raise ImproperlyConfigured(f"{name} has an invalid port: {shown!r}.") from None
    return text


def env_secret(name: str, default: str | object = _MISSING, *, min_length: int) -> str:
    value = str(_raw(name, default))
    if len(value) < min_length:
        raise ImproperlyConfigured(f"{name} must be at least {min_length} characters long.")
    return value
