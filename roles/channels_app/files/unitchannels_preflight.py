"""Pre-flight of a release of a Django Channels app, before NGINX Unit sees it.

Run by the deploy (ROOT/bin/manage --preflight ...) in the release's directory, with its
virtualenv, its environment and secrets, as the app's user: as Unit would run it. Each check
does what Unit and its first clients will do, in this process:

  import         the loader imports the app as Unit does (Django set up, secrets loaded), and
                 what it names is an ASGI application;
  channel layer  the layer the settings configure is the one the app gets, and a message sent
                 through it comes back (a missing channels-redis, a wrong REDIS_URL or password);
  health path    channels_app_health_path is a URL of the app's URLconf;
  websocket      a WebSocket handshake on channels_app_health_ws_path is routed and accepted.

On the first failure it prints, on standard error, the readable message first (what failed, the
variable to look at, the fix), then Python's traceback, and exits 1. On success it prints one
JSON line of what it checked. Standard library, Django, Channels and asgiref only.
"""

import argparse
import asyncio
import inspect
import json
import os
import sys
import traceback

LAYER_TIMEOUT = 10


class PreflightError(Exception):
    """A check failed: what, why, and what to do."""

    def __init__(self, check, message, fix):
        super().__init__(message)
        self.check, self.message, self.fix = check, message, fix
        self.details = traceback.format_exc() if sys.exc_info()[0] else ""


def describe(exc):
    return "%s: %s" % (type(exc).__name__, exc)


def is_wsgi(app):
    """Whether app looks like a WSGI application (environ, start_response), not an ASGI one."""
    call = app if inspect.isfunction(app) or inspect.ismethod(app) else getattr(app, "__call__", None)
    if call is None or inspect.iscoroutinefunction(call):
        return False
    try:
        params = [p for p in inspect.signature(call).parameters.values()
                  if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    except (TypeError, ValueError):
        return False
    return [p.name for p in params] == ["environ", "start_response"]


def check_import():
    """Import the loader as Unit does; the wrapped app and the loader module."""
    # Unit's "path": the loader's directory (this script's), then the release (the cwd).
    sys.path.insert(1, os.getcwd())
    target = os.environ.get("UNITCHANNELS_APP", "")
    try:
        import unitchannels_loader as loader  # pylint: disable=import-outside-toplevel
    except Exception as exc:  # anything the app's import raises
        raise PreflightError(
            "import", "the ASGI application %s does not import: %s" % (target, describe(exc)),
            "Fix the module (the traceback below), or set channels_app_asgi_module and "
            "channels_app_asgi_callable to the app's ASGI application.") from exc
    if is_wsgi(loader._target):  # pylint: disable=protected-access
        raise PreflightError(
            "import", "%s is a WSGI application (environ, start_response), not an ASGI one" % target,
            "Point channels_app_asgi_module at the project's asgi.py (Channels' ProtocolTypeRouter).")
    return loader


def check_channel_layer():
    """Send a message through the configured channel layer and receive it; its backend or None."""
    from django.conf import settings  # pylint: disable=import-outside-toplevel
    layers = getattr(settings, "CHANNEL_LAYERS", None) or {}
    if "default" not in layers:
        return None
    backend = layers["default"].get("BACKEND", "?")
    try:
        from channels.layers import get_channel_layer  # pylint: disable=import-outside-toplevel
        layer = get_channel_layer()
    except Exception as exc:
        fix = ("Add channels-redis to the app's requirements (the role adds it when it chooses a Redis "
               "layer and the app pins none)." if "channels_redis" in backend else
               "Check CHANNEL_LAYERS in the settings and that its backend is in the app's requirements.")
        raise PreflightError("channel layer", "the channel layer %s cannot be used: %s" % (backend, describe(exc)),
                             fix) from exc

    async def round_trip():
        channel = await layer.new_channel()
        # Listening before sending: a pub/sub layer keeps nothing for a channel nobody listens to.
        receiving = asyncio.ensure_future(layer.receive(channel))
        await asyncio.sleep(0.2)
        if receiving.done():  # it failed already (no connection)
            return receiving.result()
        await layer.send(channel, {"type": "unitchannels.preflight"})
        return await asyncio.wait_for(receiving, LAYER_TIMEOUT)

    try:
        message = asyncio.run(round_trip())
    except Exception as exc:
        redis = "redis" in backend.lower()
        raise PreflightError(
            "channel layer",
            "a message sent through the channel layer (%s) did not come back within %d s: %s"
            % (backend, LAYER_TIMEOUT, describe(exc) if str(exc) or not isinstance(exc, asyncio.TimeoutError)
               else "no answer"),
            "Check that Redis runs and that channels_app_redis_url (REDIS_URL) names it with the right "
            "password (redis_password)." if redis else "Check the channel layer's settings.") from exc
    if message.get("type") != "unitchannels.preflight":
        raise PreflightError("channel layer", "the channel layer (%s) gave back %r" % (backend, message),
                             "Check the channel layer's settings.")
    return backend


def check_http_path(path, statuses, static_url):
    """The health path is in the app's URLconf (unless Unit serves it, or a 404 is expected)."""
    if 404 in statuses or (static_url and path.startswith(static_url)):
        return "not checked"
    from django.urls import Resolver404, resolve  # pylint: disable=import-outside-toplevel
    try:
        resolve(path.split("?", 1)[0])
    except Resolver404:
        slash = ""
        if not path.endswith("/"):
            try:
                resolve(path + "/")
                slash = " (%s/ is: Django answers %s with a redirect)" % (path, path)
            except Resolver404:
                pass
        raise PreflightError(
            "health path",
            "channels_app_health_path %s is not a URL of the app: Django's URLconf has no match for it%s"
            % (path, slash),
            "Set channels_app_health_path to a page the app serves (and channels_app_health_status "
            "to what it answers).") from None
    return "resolved"


async def open_websocket(app, path, host, timeout):
    """What the app answers a WebSocket handshake on path: the first message it sends."""
    from asgiref.testing import ApplicationCommunicator  # pylint: disable=import-outside-toplevel
    scope = {
        "type": "websocket", "asgi": {"version": "3.0"}, "http_version": "1.1", "scheme": "ws",
        "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": "",
        "headers": [(b"host", host.encode()), (b"origin", ("http://%s" % host).encode())],
        "client": ["127.0.0.1", 0], "server": ["127.0.0.1", 80], "subprotocols": [],
    }
    communicator = ApplicationCommunicator(app, scope)
    await communicator.send_input({"type": "websocket.connect"})
    answer = await communicator.receive_output(timeout)
    if answer.get("type") == "websocket.accept":
        await communicator.send_input({"type": "websocket.disconnect", "code": 1000})
    try:
        await communicator.wait(timeout)
    except Exception:  # the consumer's own end of the socket is not this check's business
        pass
    return answer


def check_websocket(app, path, host, timeout):
    if not path:
        return "off"
    variable = "channels_app_health_ws_path %s" % path
    off = 'Set channels_app_health_ws_path to a WebSocket route the app accepts, or to "" to turn the WebSocket probe off.'
    try:
        answer = asyncio.run(open_websocket(app, path, host, timeout))
    except ValueError as exc:
        if "No route found" in str(exc):
            raise PreflightError("websocket", "%s is not a WebSocket route of the app (Channels: %s)" % (variable, exc),
                                 off) from exc
        raise PreflightError("websocket", "a WebSocket handshake on %s raised %s" % (variable, describe(exc)), off) from exc
    except Exception as exc:
        raise PreflightError("websocket", "a WebSocket handshake on %s raised %s" % (variable, describe(exc)), off) from exc
    if answer.get("type") != "websocket.accept":
        raise PreflightError("websocket", "the app refused a WebSocket handshake on %s (Host and Origin %s): it sent %s"
                             % (variable, host, answer), off)
    return "accepted"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--health-path", default="/")
    parser.add_argument("--health-status", type=int, action="append", default=[])
    parser.add_argument("--health-ws-path", default="")
    parser.add_argument("--host", default="localhost")
    parser.add_argument("--static-url", default="")
    parser.add_argument("--timeout", type=float, default=10)
    args = parser.parse_args(argv)
    done = {}
    try:
        loader = check_import()
        done["import"] = os.environ.get("UNITCHANNELS_APP", "")
        done["channel_layer"] = check_channel_layer()
        done["health_path"] = check_http_path(args.health_path, args.health_status or [200], args.static_url)
        done["websocket"] = check_websocket(loader.application, args.health_ws_path, args.host, args.timeout)
    except PreflightError as failure:
        sys.stderr.write("Pre-flight (%s): %s. %s\n" % (failure.check, failure.message.rstrip("."), failure.fix))
        if failure.details:
            sys.stderr.write("\n" + failure.details)
        return 1
    print(json.dumps(done))
    return 0


if __name__ == "__main__":
    sys.exit(main())
