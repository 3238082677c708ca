"""Settings of the Django Channels tutorial chat project ("mysite").

Every value comes from the environment; nothing here is edited at deploy time.

Variable                      Default
DJANGO_SECRET_KEY             required (or DJANGO_SECRET_KEY_FILE; not both)
DJANGO_SECRET_KEY_FILE        path of a file holding the key (surrounding blanks stripped)
DJANGO_DEBUG                  off
DJANGO_ALLOWED_HOSTS          localhost,127.0.0.1,[::1]   (WebSocket Origins are checked against it)
DJANGO_CSRF_TRUSTED_ORIGINS   empty (comma separated, with scheme: http://example.org:8080)
DJANGO_DATA_DIR               the project directory (where the default SQLite file lives)
DATABASE_URL                  sqlite:///db.sqlite3 (relative sqlite paths are in DJANGO_DATA_DIR)
DJANGO_STATIC_ROOT            <project directory>/static   (collectstatic target)
DJANGO_STATIC_URL             /static/
CHANNEL_LAYER                 memory   (or redis, or redis-pubsub)
REDIS_URL                     redis://127.0.0.1:6379/0   (CHANNEL_LAYER=redis or redis-pubsub)
CHANNEL_LAYER_CAPACITY        20000
CHANNEL_LAYER_EXPIRY          60   (seconds)
DJANGO_HTTPS                  off  (on: secure cookies and redirect to HTTPS)
DJANGO_SECURE_HSTS_SECONDS    0
DJANGO_SECURE_PROXY_SSL_HEADER off (on: trust X-Forwarded-Proto: https from a proxy)
DJANGO_LOG_LEVEL              INFO (logs go to stderr)
"""

from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

from .env import database_from_url, env_bool, env_int, env_list, env_str, secret_key

BASE_DIR = Path(__file__).resolve().parent.parent

SECRET_KEY = secret_key()
DEBUG = env_bool("DJANGO_DEBUG", False)

# Host names this site answers to. AllowedHostsOriginValidator (mysite/asgi.py)
# accepts a WebSocket only when its Origin header names one of these hosts.
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"])
# Needed only when the browser's origin differs from the Host header Django
# sees (for example a proxy on another port); each item includes the scheme.
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "chat",
    # For its runworker command: the background worker (chat/workers.py).
    "channels",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "mysite.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# The project is served by an ASGI server (NGINX Unit); there is no WSGI entry.
ASGI_APPLICATION = "mysite.asgi.application"

# Database ---------------------------------------------------------------------
# The directory that holds the SQLite file must be writable by the user the
# application runs as (SQLite creates its journal next to the database).
DATA_DIR = BASE_DIR / env_str("DJANGO_DATA_DIR", ".")  # an absolute value wins
DATABASES = {
    # Without DATABASE_URL: SQLite file db.sqlite3 in DATA_DIR.
    "default": database_from_url(env_str("DATABASE_URL", "sqlite:///db.sqlite3"), DATA_DIR),
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# Static files -----------------------------------------------------------------
# `manage.py collectstatic` copies the apps' static files (chat/static/...) and
# the admin's into STATIC_ROOT; the web server (an NGINX Unit "share" route for
# STATIC_URL) serves them from there, Django does not.
STATIC_URL = env_str("DJANGO_STATIC_URL", "/static/")
if not STATIC_URL.endswith("/"):
    STATIC_URL += "/"
STATIC_ROOT = BASE_DIR / env_str("DJANGO_STATIC_ROOT", "static")  # an absolute value wins

# Channels ---------------------------------------------------------------------
CHANNEL_LAYER = env_str("CHANNEL_LAYER", "memory").lower()
# Capacity: how many messages may wait in one channel's queue before the layer
# drops new ones (group_send drops them, logging "over capacity" at INFO). With
# channels-redis every WebSocket of one process shares the process's queue, so
# it must hold the process's whole inbound traffic while the process is slowed
# (a deploy starting new processes): 2000 lost 2,159 of 210,000 deliveries to
# 3,000 clients through a deploy, 20000 none (the role's default). With the
# library's default of 100, a burst of 50 clients x 20 messages in one room
# lost 82-88%. The cost is Redis memory, only while messages actually wait.
CHANNEL_LAYER_CAPACITY = env_int("CHANNEL_LAYER_CAPACITY", 20000, minimum=1)
# Seconds a message may wait in a channel before it is discarded as stale.
CHANNEL_LAYER_EXPIRY = env_int("CHANNEL_LAYER_EXPIRY", 60, minimum=1)

if CHANNEL_LAYER == "memory":
    # One layer per process: fine for one NGINX Unit process. With several
    # processes clients connected to different processes do not see each
    # other's messages: use redis then.
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels.layers.InMemoryChannelLayer",
            "CONFIG": {"capacity": CHANNEL_LAYER_CAPACITY, "expiry": CHANNEL_LAYER_EXPIRY},
        },
    }
elif CHANNEL_LAYER == "redis-pubsub":
    # Redis pub/sub: a group message is published once and each process hands it to its own
    # members (RedisChannelLayer pushes one copy per member). Messages are not stored: one sent
    # while nobody listens is gone, so there is no capacity or expiry.
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {
                "hosts": [
                    {
                        "address": env_str("REDIS_URL", "redis://127.0.0.1:6379/0"),
                        "socket_timeout": None,
                        "socket_connect_timeout": 5,
                    }
                ],
            },
        },
    }
elif CHANNEL_LAYER == "redis":
    # redis://[:PASSWORD@]HOST:PORT/DB (percent-encode special characters), or
    # rediss:// for TLS, or unix:///path/redis.sock?db=0.
    REDIS_URL = env_str("REDIS_URL", "redis://127.0.0.1:6379/0")
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {
                "hosts": [
                    {
                        "address": REDIS_URL,
                        # channels-redis waits for messages with a blocking
                        # BZPOPMIN of 5 s. redis-py 8 made socket_timeout default
                        # to 5 s, so the read times out as the command ends and
                        # every consumer idle for 5 s dies (django/channels_redis
                        # #422). requirements.txt pins redis-py 7.4 (no default
                        # timeout) and this keeps reads untimed with newer ones.
                        "socket_timeout": None,
                        # Fail fast instead of hanging when Redis is unreachable.
                        "socket_connect_timeout": 5,
                    }
                ],
                "capacity": CHANNEL_LAYER_CAPACITY,
                "expiry": CHANNEL_LAYER_EXPIRY,
            },
        },
    }
else:
    raise ImproperlyConfigured(
        f"CHANNEL_LAYER={CHANNEL_LAYER!r} is not supported: use 'memory', 'redis' or 'redis-pubsub'."
    )

# Security ---------------------------------------------------------------------
# The demo is served over plain HTTP by default. DJANGO_HTTPS=on (TLS on the
# NGINX Unit listener or on a proxy in front) turns on secure cookies and the
# redirect of plain HTTP requests to HTTPS.
HTTPS = env_bool("DJANGO_HTTPS", False)
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
SECURE_SSL_REDIRECT = HTTPS
SECURE_HSTS_SECONDS = env_int("DJANGO_SECURE_HSTS_SECONDS", 0, minimum=0)
if env_bool("DJANGO_SECURE_PROXY_SSL_HEADER", False):
    # Only behind a proxy that always sets (and never passes on) this header.
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
if not HTTPS:
    # These `check --deploy` warnings ask for HTTPS-only features (HSTS, the
    # HTTPS redirect, Secure cookies) that cannot work on a plain HTTP site.
    SILENCED_SYSTEM_CHECKS = [
        "security.W004",
        "security.W008",
        "security.W012",
        "security.W016",
    ]

# Logging: everything to stderr, which NGINX Unit writes to its log ------------
LOG_LEVEL = env_str("DJANGO_LOG_LEVEL", "INFO").upper()
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s [%(process)d] %(message)s"},
    },
    "handlers": {
        "stderr": {
            "class": "logging.StreamHandler",
            "stream": "ext://sys.stderr",
            "formatter": "plain",
        },
    },
    "root": {"handlers": ["stderr"], "level": LOG_LEVEL},
    "loggers": {
        # Replace Django's default handlers (console only with DEBUG, mail_admins).
        "django": {"handlers": ["stderr"], "level": LOG_LEVEL, "propagate": False},
    },
}
