"""Small helpers that read the demo project's configuration from the environment.

The project follows the twelve-factor style: nothing in the code tree is edited
at deploy time, every knob is an environment variable (NGINX Unit passes them
through the application's "environment" object). Every helper raises
ImproperlyConfigured with the variable's name when a value cannot be used, so a
bad deployment fails at application start with a message that says what to fix.
Only the standard library and Django are used (no dj-database-url & co).
"""

import os
from pathlib import Path
from urllib.parse import parse_qsl, unquote, urlsplit

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def env_str(name, default=None):
    """The variable's value with surrounding blanks removed; default if unset or blank."""
    value = os.environ.get(name, "").strip()
    return value if value else default


def env_bool(name, default=False):
    value = env_str(name)
    if value is None:
        return default
    lowered = value.lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ImproperlyConfigured(
        f"{name}={value!r} is not a boolean: use one of "
        f"{', '.join(sorted(_TRUE))} or {', '.join(sorted(_FALSE))}."
    )


def env_int(name, default, minimum=None):
    value = env_str(name)
    if value is None:
        return default
    try:
        number = int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={value!r} is not an integer.") from None
    if minimum is not None and number < minimum:
        raise ImproperlyConfigured(f"{name}={number} is too small (minimum {minimum}).")
    return number


def env_list(name, default):
    """A comma separated list: blanks around items and empty items are dropped."""
    value = env_str(name)
    if value is None:
        return list(default)
    return [item.strip() for item in value.split(",") if item.strip()]


def secret_key():
    """The secret key, from DJANGO_SECRET_KEY or the file named by DJANGO_SECRET_KEY_FILE.

    There is deliberately no default: a project that starts with a guessable key
    signs sessions and CSRF tokens with it. The file variant lets a deployment
    keep the key out of the process manager's configuration (NGINX Unit shows an
    application's environment to anyone who can read its control API).
    """
    key = os.environ.get("DJANGO_SECRET_KEY", "")
    key_file = env_str("DJANGO_SECRET_KEY_FILE")
    if key and key_file:
        raise ImproperlyConfigured(
            "Both DJANGO_SECRET_KEY and DJANGO_SECRET_KEY_FILE are set: set only one of them."
        )
    if key_file:
        try:
            key = Path(key_file).read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError) as exc:
            reason = getattr(exc, "strerror", None) or exc
            raise ImproperlyConfigured(
                f"DJANGO_SECRET_KEY_FILE={key_file!r} cannot be read: {reason}."
            ) from exc
        if not key:
            raise ImproperlyConfigured(f"DJANGO_SECRET_KEY_FILE={key_file!r} is empty.")
    if not key.strip():
        raise ImproperlyConfigured(
            "DJANGO_SECRET_KEY is not set: refusing to start without a secret key. "
            "Set DJANGO_SECRET_KEY to the key, or DJANGO_SECRET_KEY_FILE to the path "
            "of a file that holds it."
        )
    return key


_DB_ENGINES = {
    "sqlite": "django.db.backends.sqlite3",
    "postgres": "django.db.backends.postgresql",
    "postgresql": "django.db.backends.postgresql",
    "pgsql": "django.db.backends.postgresql",
    "mysql": "django.db.backends.mysql",
}


def database_from_url(url, data_dir):
    """Django DATABASES["default"] from a database URL.

    sqlite:////abs/path/db.sqlite3   absolute path (four slashes)
    sqlite:///db.sqlite3             path relative to data_dir (DJANGO_DATA_DIR)
    sqlite://:memory:                in-memory database (tests only)
    postgres://USER:PASS@HOST:PORT/NAME?opt=value   (also postgresql://, mysql://)
    Percent-encode special characters in user names and passwords. The driver
    for PostgreSQL or MySQL (psycopg, mysqlclient) is not in requirements.txt:
    install it next to the project when using one of them.
    """
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in _DB_ENGINES:
        raise ImproperlyConfigured(
            f"DATABASE_URL has the unsupported scheme {parts.scheme!r} "
            f"(supported: {', '.join(sorted(_DB_ENGINES))})."
        )
    options = dict(parse_qsl(parts.query))
    if scheme == "sqlite":
        if parts.netloc == ":memory:" or parts.path in ("/:memory:", ""):
            name = ":memory:"
        elif parts.netloc:
            raise ImproperlyConfigured(
                f"DATABASE_URL {url!r}: a sqlite URL has no host; use "
                "sqlite:////absolute/path.sqlite3 (four slashes) or sqlite:///relative.sqlite3."
            )
        else:
            # urlsplit keeps the slash after the empty host: "/rel" or "//abs".
            path = unquote(parts.path[1:])
            name = str(Path(path) if path.startswith("/") else Path(data_dir) / path)
        # Wait for a lock instead of failing at once when several NGINX Unit
        # processes write at the same time, and take the write lock up front.
        sqlite_options = {"timeout": 20, "transaction_mode": "IMMEDIATE"}
        sqlite_options.update(options)
        try:
            sqlite_options["timeout"] = float(sqlite_options["timeout"])
        except ValueError:
            raise ImproperlyConfigured(
                "DATABASE_URL: timeout must be a number of seconds."
            ) from None
        return {"ENGINE": _DB_ENGINES[scheme], "NAME": name, "OPTIONS": sqlite_options}
    name = unquote(parts.path.lstrip("/"))
    if not name:
        raise ImproperlyConfigured(f"DATABASE_URL for {scheme} names no database.")
    try:
        port = parts.port
    except ValueError:
        raise ImproperlyConfigured(f"DATABASE_URL for {scheme} has an invalid port.") from None
    hostinfo = parts.netloc.rpartition("@")[2]
    if hostinfo.startswith("["):  # [IPv6]:port
        host = parts.hostname or ""
    else:
        # Kept as written (not lower-cased) and unquoted, so that a host such
        # as %2Fvar%2Frun%2Fpostgresql names a Unix socket directory.
        host = unquote(hostinfo.rpartition(":")[0] if port is not None else hostinfo)
    return {
        "ENGINE": _DB_ENGINES[scheme],
        "NAME": name,
        "USER": unquote(parts.username or ""),
        "PASSWORD": unquote(parts.password or ""),
        "HOST": host,
        "PORT": str(port or ""),
        "OPTIONS": options,
    }
