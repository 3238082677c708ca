"""Entry point NGINX Unit runs for a Django Channels app deployed by unitchannels.deploy.

Unit's application configuration names this module; it prepares the process, then hands every
request to the real ASGI application:

1. Secrets. UNITCHANNELS_ENV_FILE names a JSON file (mode 0400, owned by the app user) of
   environment variables (DJANGO_SECRET_KEY, DATABASE_URL, REDIS_URL, ...). They are loaded into
   os.environ here, so they never appear in Unit's configuration, which anyone with access to
   the control socket can read back.

2. The application. UNITCHANNELS_APP is "package.module:attribute" (":application" may be left
   out). It is imported when this module is imported, so a broken release stops Unit from
   starting the application (with the traceback in Unit's log, and Unit keeps the previous
   configuration) instead of failing at the first request. Django is set up first
   (django.setup(), as manage.py runserver does before it imports the app) when
   DJANGO_SETTINGS_MODULE is set: an asgi.py that imports its routing, and so its models, before
   it calls get_asgi_application() runs as it does under runserver, instead of failing with
   "AppRegistryNotReady: Apps aren't loaded yet". get_asgi_application() sets Django up again,
   which then does nothing.

3. The NGINX Unit 1.34 fix, when UNITCHANNELS_UNIT_134_FIX is true. Unit up to 1.34.x (seen with
   1.34.2) hands an ASGI application one extra message after the last chunk of a request body:
   another {"type": "http.request", "body": b"", "more_body": False}. The ASGI spec allows only
   "http.disconnect" after a message with more_body False. Django 5.x waits for that disconnect,
   trips over the extra message

       AssertionError: Invalid ASGI message after request body: http.request

   and every request with a body (a login form POST, say) ends in a 503. Reported as
   nginx/unit#1561, fixed by nginx/unit#1563 in NGINX Unit 1.35.0. For "http" scopes the
   wrapper swallows that stray empty message and waits for the next real one; WebSocket and
   lifespan scopes pass through untouched. The deploy role turns it on only for Unit < 1.35.

4. Lifespan. Unit starts every ASGI process with a "lifespan" scope. An app built the Channels
   tutorial's way (a ProtocolTypeRouter without a "lifespan" entry) raises ValueError for it, and
   Unit logs "ASGI Lifespan processing exception" with that traceback at every process start.
   When the app is such a router, the loader answers startup and shutdown itself; an app that
   handles lifespan (a "lifespan" entry, or any other ASGI callable) gets the scope as it is.

5. WebSocket receive after close. The ASGI spec says that once an app has sent websocket.close,
   receive() returns websocket.disconnect. Unit instead logs "receive() called for closed
   WebSocket" and raises RuntimeError("WebSocket already closed"), which then shows as a
   traceback. Channels consumers call receive() again after they close a socket themselves
   (a denied Origin, a consumer calling self.close()), so every refused WebSocket logged an
   error. The loader answers that receive() with websocket.disconnect, as the spec and the
   other ASGI servers (Daphne, Uvicorn) do.

6. uvloop, when UNITCHANNELS_UVLOOP is true and uvloop is installed in the virtualenv (the role
   installs it with channels_app_uvloop). Unit's Python module makes each process's event loop
   through asyncio's event loop policy, so setting uvloop's policy here, before Unit asks for a
   loop, runs the app on uvloop. Without uvloop the process says so in Unit's log and runs on
   asyncio's own loop.

7. Messages the channel layer drops. channels-redis queues a group message for each receiving
   process and drops it for a process whose queue already holds the layer's capacity; it says
   so only at INFO ("N of M channels over capacity in group G"), which nothing shows by default.
   The loader sends those lines to Unit's log (the app's standard error), so that loss under
   overload shows where the operator looks, unless the app's logging already handles that logger.

8. One thread hop per consumer message, when UNITCHANNELS_SKIP_IDLE_DB_CLOSE is true. Channels
   4.2 and later call close_old_connections() through sync_to_async before a consumer handles
   each message, so every message any WebSocket receives waits for Django's one sync thread (and
   for the GIL, which the busy event loop holds). With 10,000 clients on 2 processes that queue
   made deliveries seconds late. close_old_connections() only acts on a database connection
   that is open, and Django opens every one through connect(), which sends connection_created:
   the loader remembers the connections it saw opened and makes the hop only while one of them
   is still open. An app whose consumers use the database (CONN_MAX_AGE kept open included)
   gets Channels' cleanup as before; one whose consumers do not skips a hop that did nothing.

9. Garbage collector thresholds, when UNITCHANNELS_GC_THRESHOLD is set ("20000,20,20", as
   gc.set_threshold takes them). A process holding thousands of WebSockets keeps hundreds of
   thousands of objects; with Python's default (700, 10, 10) the collector walks them several
   times a second (a quarter of the process's time at 5,000 WebSockets, pauses near 1 s). A
   larger first threshold makes those walks rare; what a collection frees stays the same.

Standard library only (uvloop is optional).
"""

import asyncio
import gc
import importlib
import json
import logging
import os
import sys
import threading
import weakref

__all__ = ["application", "wrap_receive", "handles_lifespan", "serve_lifespan", "guard_websocket", "use_uvloop",
           "setup_django", "report_layer_drops", "skip_idle_db_close", "set_gc_threshold"]

TARGET_VARIABLE = "UNITCHANNELS_APP"
ENV_FILE_VARIABLE = "UNITCHANNELS_ENV_FILE"
FIX_VARIABLE = "UNITCHANNELS_UNIT_134_FIX"
UVLOOP_VARIABLE = "UNITCHANNELS_UVLOOP"
DB_CLOSE_VARIABLE = "UNITCHANNELS_SKIP_IDLE_DB_CLOSE"
GC_VARIABLE = "UNITCHANNELS_GC_THRESHOLD"
# channels-redis's logger: its INFO lines about group messages dropped for full queues.
LAYER_LOGGER = "channels_redis.core"

logger = logging.getLogger("unitchannels_loader")


def _load_target(spec):
    """Import "package.module:attribute" and return the attribute."""
    if not spec:
        raise RuntimeError(
            f"{TARGET_VARIABLE} is not set: name the ASGI application to wrap, "
            "for example mysite.asgi:application"
        )
    module_name, dummy, attribute = spec.partition(":")
    module_name = module_name.strip()
    attribute = attribute.strip() or "application"
    if not module_name:
        raise RuntimeError(f"{TARGET_VARIABLE}={spec!r} names no module")
    target = importlib.import_module(module_name)
    for part in attribute.split("."):
        try:
            target = getattr(target, part)
        except AttributeError:
            raise RuntimeError(
                f"{TARGET_VARIABLE}={spec!r}: module {module_name!r} has no "
                f"attribute {attribute!r}"
            ) from None
    if not callable(target):
        raise RuntimeError(f"{TARGET_VARIABLE}={spec!r} is not callable")
    return target


def wrap_receive(receive):
    """Return a `receive` that hides stray empty http.request messages.

    Only messages that arrive after the request body is complete and that
    carry nothing (empty body, more_body False) are dropped: they are exactly
    what Unit 1.34 adds, and carry no data an application could need.
    """
    body_complete = False

    async def receive_without_stray_request():
        nonlocal body_complete
        while True:
            message = await receive()
            if message.get("type") != "http.request":
                return message
            more_body = message.get("more_body", False)
            if body_complete and not more_body and not message.get("body"):
                logger.debug("dropped an empty http.request after the request body")
                continue  # wait for the next message, typically http.disconnect
            if not more_body:
                body_complete = True
            return message

    return receive_without_stray_request


def handles_lifespan(app):
    """Whether the app itself answers the lifespan scope.

    Only a router with a mapping of scope types (Channels' ProtocolTypeRouter) can be known not
    to: any other callable gets the scope and answers it as it sees fit.
    """
    mapping = getattr(app, "application_mapping", None)
    return not isinstance(mapping, dict) or "lifespan" in mapping


async def serve_lifespan(receive, send):
    """Answer lifespan startup and shutdown for an app that has nothing to start or stop."""
    while True:
        message = await receive()
        if message.get("type") == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message.get("type") == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


def guard_websocket(receive, send):
    """Return (receive, send) for a WebSocket scope that follow the spec after a close.

    Once the app has sent websocket.close, receive() answers websocket.disconnect with the
    close code instead of asking Unit, which would log an error and raise.
    """
    closed_with = None

    async def guarded_send(message):
        nonlocal closed_with
        await send(message)
        if message.get("type") == "websocket.close":
            closed_with = message.get("code") or 1000

    async def guarded_receive():
        if closed_with is not None:
            return {"type": "websocket.disconnect", "code": closed_with}
        return await receive()

    return guarded_receive, guarded_send


def _load_environment(path):
    """Load the secrets file (a JSON object of strings) into os.environ."""
    if not path:
        return
    try:
        with open(path, encoding="utf-8") as handle:
            values = json.load(handle)
    except (OSError, ValueError) as exc:
        raise RuntimeError(f"{ENV_FILE_VARIABLE}={path!r} cannot be read: {exc}") from None
    if not isinstance(values, dict):
        raise RuntimeError(f"{ENV_FILE_VARIABLE}={path!r} does not hold a JSON object")
    os.environ.update({str(key): str(value) for key, value in values.items()})


def _truthy(value):
    return value.strip().lower() in {"1", "true", "yes", "on"}


def use_uvloop(wanted):
    """Make uvloop's policy asyncio's when wanted and installed; return the loop's name."""
    if not wanted:
        return "asyncio"
    try:
        import uvloop
    except ImportError:
        logger.warning("%s is on but uvloop is not installed in the virtualenv: running on asyncio's loop",
                       UVLOOP_VARIABLE)
        return "asyncio"
    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    return "uvloop"


def setup_django():
    """django.setup() when the settings are named and Django is installed; whether it ran."""
    if not os.environ.get("DJANGO_SETTINGS_MODULE", "").strip():
        return False
    try:
        import django
    except ImportError:
        return False
    # As get_asgi_application() does: the script prefix comes from each request's root_path.
    django.setup(set_prefix=False)
    return True


class _OverCapacity(logging.Filter):
    def filter(self, record):
        return "over capacity" in str(record.msg)


def report_layer_drops():
    """Show channels-redis's lines about dropped group messages in Unit's log; whether it does."""
    drops = logging.getLogger(LAYER_LOGGER)
    if drops.hasHandlers():  # the app's LOGGING routes it: its choice
        return False
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(name)s: %(message)s"))
    handler.addFilter(_OverCapacity())
    drops.addHandler(handler)
    drops.setLevel(logging.INFO)
    return True


def skip_idle_db_close(wanted):
    """Make Channels' per-message close_old_connections() hop only while a connection is open.

    Returns whether it did: Channels without aclose_old_connections (before 4.2) or no Django
    leaves nothing to do.
    """
    if not wanted:
        return False
    try:
        import channels.consumer
        from django.db.backends.signals import connection_created
    except ImportError:
        return False
    close_in_sync_thread = getattr(channels.consumer, "aclose_old_connections", None)
    if close_in_sync_thread is None:
        return False
    opened, guard = weakref.WeakSet(), threading.Lock()

    def remember(sender, connection, **kwargs):  # sent in the thread that opened it
        with guard:
            opened.add(connection)

    async def close_old_connections_if_open():
        with guard:
            still_open = any(wrapper.connection is not None for wrapper in opened)
        if still_open:
            await close_in_sync_thread()

    connection_created.connect(remember, weak=False, dispatch_uid="unitchannels_loader")
    channels.consumer.aclose_old_connections = close_old_connections_if_open
    return True


def set_gc_threshold(value):
    """gc.set_threshold() from "N[,N[,N]]"; empty leaves Python's. Returns the thresholds in force."""
    if value:
        try:
            thresholds = [int(part) for part in value.split(",")]
        except ValueError:
            thresholds = []
        if not 1 <= len(thresholds) <= 3 or min(thresholds) < 1:
            raise RuntimeError(f"{GC_VARIABLE}={value!r}: expected one to three positive integers, such as 20000,20,20")
        gc.set_threshold(*thresholds)
    return gc.get_threshold()


# All of it now, at import: a missing secret or a broken release shows at app start.
_load_environment(os.environ.get(ENV_FILE_VARIABLE, "").strip())
django_set_up = setup_django()
# Before the app's import: a connection it opens is remembered too.
skipping_idle_db_close = skip_idle_db_close(django_set_up and _truthy(os.environ.get(DB_CLOSE_VARIABLE, "")))
_target = _load_target(os.environ.get(TARGET_VARIABLE, "").strip())
_fix_unit_134 = _truthy(os.environ.get(FIX_VARIABLE, ""))
event_loop = use_uvloop(_truthy(os.environ.get(UVLOOP_VARIABLE, "")))
reporting_layer_drops = report_layer_drops()
gc_threshold = set_gc_threshold(os.environ.get(GC_VARIABLE, "").strip())


_answer_lifespan = not handles_lifespan(_target)


async def application(scope, receive, send):
    """ASGI 3 entry point handed to NGINX Unit."""
    kind = scope.get("type")
    if kind == "http" and _fix_unit_134:
        receive = wrap_receive(receive)
    elif kind == "websocket":
        receive, send = guard_websocket(receive, send)
    elif kind == "lifespan" and _answer_lifespan:
        return await serve_lifespan(receive, send)
    return await _target(scope, receive, send)
