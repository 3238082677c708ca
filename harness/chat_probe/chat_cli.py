"""Test client for the Django Channels tutorial chat app served by NGINX Unit.

Molecule verify playbooks and the bench copy this directory into the test hosts and run it
(python3 DIR) with the system Python (3.11 or newer), so it uses the standard library only and
brings its own small RFC 6455 WebSocket client (chat_client.py); chat_checks.py holds the checks,
chat_load.py the loads.

  chat_probe.py roundtrip   --url http://127.0.0.1:80 --host localhost [--url2 URL]
  chat_probe.py reply       --url URL --host HOST --text /stats --expect "stats from" [--timeout 10]
  chat_probe.py listen      --url URL --host HOST --room lobby --seconds 5
  chat_probe.py idle        --url URL --host HOST --seconds 10
  chat_probe.py burst       --url URL --host HOST --clients 50 --messages 20 [--timeout 60]
                            [--extra-url URL]
  chat_probe.py steady      --url URL --host HOST --clients 40 --rooms 1 --seconds 10 [--warmup 2]
                            [--extra-url URL]
  chat_probe.py alternate   --server NAME=URL[,URL] --server NAME=URL --host HOST --clients 40
                            [--window 1] [--warmup 0.25] [--cycles 10]
  chat_probe.py load        --url URL --host HOST --clients 100 --rooms 10 --seconds 60
                            --http-path /chat/ --http-rate 20 [--interval 1] [--drain 10]
                            [--watch-text TEXT] [--stop-file F] [--ready-file F]
                            [--task-text /task --task-interval 0.15 --tasks-min 200]
  chat_probe.py http-rate   --url URL --host HOST --concurrency 8 --seconds 10 [--extra-url URL]
  chat_probe.py admin-login --url URL --host HOST --user admin --password X
  chat_probe.py static      --url URL --host HOST --path /static/chat/site.css
  chat_probe.py form-post   --url URL --host HOST --path /rooms/ --field room_name=lobby
                            [--expect-status 302] [--expect-location /rooms/lobby/]
  chat_probe.py certificate --url https://HOST:PORT --host HOST --ca CA.pem

Every URL may be https:// (WebSockets then go over wss://): the server's certificate is verified
against --ca (default: the system's CAs) and the name in the URL.

Every subcommand prints one JSON object ("check", "ok", its measurements and,
on failure, "reason") and exits 0 when the check passes, 1 when it fails and
2 on usage errors. Django checks the Host header against ALLOWED_HOSTS and the
WebSocket Origin as well, so every request sends --host as Host and
http://<host> as Origin. Room names use "_" because the tutorial's WebSocket
route only accepts \\w+ room names. --ws-prefix (default /ws/chat/) is the path
the WebSocket room routes live under: /ws/rooms/ makes roundtrip, idle, burst,
steady, alternate and load talk to <url>/ws/rooms/<room>/.
"""

import argparse
import asyncio
import json
import re
import resource
import ssl
import urllib.parse

from chat_checks import (check_admin_login, check_certificate, check_form_post, check_idle, check_listen,
                         check_reply, check_roundtrip, check_static)
from chat_client import TLS, WS_PREFIX, ProbeError, describe
from chat_load import check_alternate, check_burst, check_http_rate, check_load, check_steady


def http_url(value):
    parts = urllib.parse.urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise argparse.ArgumentTypeError(f"{value!r} is not an http(s)://HOST[:PORT] URL")
    return value


def ws_prefix(value):
    if not value.startswith("/"):
        raise argparse.ArgumentTypeError(f"{value!r} is not a path such as /ws/chat/")
    return value if value.endswith("/") else value + "/"


def form_field(value):
    name, sep, field_value = value.partition("=")
    if not sep or not name:
        raise argparse.ArgumentTypeError(f"{value!r} is not NAME=VALUE")
    return name, field_value


def http_status(value):
    if not value.isdigit() or not 100 <= int(value) <= 599:
        raise argparse.ArgumentTypeError(f"{value!r} is not an HTTP status code")
    return int(value)


def positive(value):
    if not value.isdigit() or int(value) < 1:
        raise argparse.ArgumentTypeError(f"{value!r} is not a positive integer")
    return int(value)


def positive_float(value):
    try:
        number = float(value)
    except ValueError:
        number = 0
    if number <= 0:
        raise argparse.ArgumentTypeError(f"{value!r} is not a positive number")
    return number


def server_spec(value):
    """NAME=URL[,URL...] of alternate: NAME a room-name word, each URL http(s)."""
    name, dummy, urls = value.partition("=")
    if not re.fullmatch(r"\w+", name) or not urls:
        raise argparse.ArgumentTypeError(f"{value!r} is not NAME=URL[,URL...] (NAME letters, digits and _)")
    return name, [http_url(url) for url in urls.split(",")]


def build_parser():
    # Every command talks to --url, except alternate (its --server options).
    target = argparse.ArgumentParser(add_help=False)
    target.add_argument("--host", required=True, help="Host header (must be in ALLOWED_HOSTS)")
    target.add_argument("--ca", help="PEM file of the CA https URLs are verified against (default: the system's)")
    target.add_argument(
        "--ws-prefix", type=ws_prefix, default=WS_PREFIX, help=f"path of the WebSocket rooms (default {WS_PREFIX})"
    )
    common = argparse.ArgumentParser(add_help=False, parents=[target])
    common.add_argument("--url", type=http_url, required=True, help="base URL, e.g. http://127.0.0.1:80")
    parser = argparse.ArgumentParser(prog="chat_probe", description=__doc__.split("\n\n", 1)[0])
    commands = parser.add_subparsers(dest="command", required=True)

    def command(name, func, help_text, parent=common):
        sub = commands.add_parser(name, parents=[parent], help=help_text)
        sub.set_defaults(func=func)
        return sub

    sub = command("roundtrip", check_roundtrip, "message reaches its room, and only its room")
    sub.add_argument("--url2", type=http_url, help="second app host for client A2 (cross-host check)")
    sub = command("reply", check_reply, "a message to a room gets an answer (from a background worker)")
    sub.add_argument("--text", required=True, help="what to send to the room")
    sub.add_argument("--expect", required=True, help="text the answer contains")
    sub.add_argument("--timeout", type=positive, default=10)
    sub = command("listen", check_listen, "what a room is sent for a while (by a scheduled worker)")
    sub.add_argument("--room", required=True, help="room name (letters, digits and _)")
    sub.add_argument("--seconds", type=positive, default=5)
    sub = command("idle", check_idle, "connections survive being idle")
    sub.add_argument("--seconds", type=positive, default=10)
    sub = command("burst", check_burst, "N clients each send M messages at once, nothing is lost")
    sub.add_argument("--clients", type=positive, default=50)
    sub.add_argument("--messages", type=positive, default=20)
    sub.add_argument("--timeout", type=positive, default=60)
    sub.add_argument("--extra-url", type=http_url, action="append", default=[], help="spread clients over more servers")
    sub = command("steady", check_steady, "deliveries/s and latency, each client one message in flight")
    sub.add_argument("--clients", type=positive, default=40)
    sub.add_argument("--rooms", type=positive, default=1)
    sub.add_argument("--seconds", type=positive, default=10, help="length of the measured window")
    sub.add_argument("--warmup", type=positive, default=2, help="seconds before the window opens")
    sub.add_argument("--timeout", type=positive, default=5, help="longest wait for one's own message")
    sub.add_argument("--max-lost", type=int, default=0, help="messages that may be lost before the check fails")
    sub.add_argument("--extra-url", type=http_url, action="append", default=[], help="spread clients over more servers")
    sub = command("alternate", check_alternate, "deliveries/s of several servers in alternating windows", target)
    sub.add_argument("--server", type=server_spec, action="append", required=True, metavar="NAME=URL[,URL]",
                     help="a server to measure, its clients spread over its URLs (repeat for each server)")
    sub.add_argument("--clients", type=positive, default=40, help="connections per server, all in one room")
    sub.add_argument("--window", type=positive_float, default=1.0, help="seconds measured per turn")
    sub.add_argument("--warmup", type=positive_float, default=0.25, help="seconds before each window opens")
    sub.add_argument("--cycles", type=positive, default=10, help="turns of every server")
    sub.add_argument("--timeout", type=positive, default=5, help="longest wait for one's own message")
    sub.add_argument("--max-lost", type=int, default=0, help="messages a server may lose before the check fails")
    sub = command("load", check_load, "steady WebSocket and HTTP traffic for a while")
    sub.add_argument("--clients", type=positive, default=100)
    sub.add_argument("--rooms", type=positive, default=10)
    sub.add_argument("--seconds", type=positive, default=60)
    sub.add_argument("--http-path", default="/chat/")
    sub.add_argument("--http-rate", type=positive, default=20, help="HTTP GETs per second")
    sub.add_argument("--interval", type=positive_float, default=1.0, help="seconds between two messages of a client")
    sub.add_argument("--drain", type=positive, default=10, help="seconds to wait for late deliveries")
    sub.add_argument("--watch-text", help="count the HTTP answers containing this text (a release marker)")
    sub.add_argument("--stop-file", help="end the load early once this file exists (--seconds is then the longest)")
    sub.add_argument("--ready-file", help="create this file once every WebSocket client is connected")
    sub.add_argument("--task-text", help="also send 'TEXT RUN-N' to a room of its own, answered by a background worker")
    sub.add_argument("--task-interval", type=positive_float, default=0.2, help="seconds between two tasks")
    sub.add_argument("--tasks-min", type=int, default=0, help="tasks sent at least, even after the stop file")
    sub.add_argument("--reconnect", action="store_true",
                     help="a client whose connection the server ends opens it again, as the chat page does")
    sub = command("http-rate", check_http_rate, "requests per second for a page")
    sub.add_argument("--path", default="/chat/")
    sub.add_argument("--concurrency", type=positive, default=8)
    sub.add_argument("--seconds", type=positive, default=10)
    sub.add_argument("--extra-url", type=http_url, action="append", default=[], help="spread clients over more servers")
    sub = command("admin-login", check_admin_login, "log in to the Django admin")
    sub.add_argument("--user", required=True)
    sub.add_argument("--password", required=True)
    sub.add_argument("--url2", type=http_url, help="then open /admin/ there with the login's session cookie")
    command("certificate", check_certificate, "the certificate an https URL serves, verified")
    sub = command("static", check_static, "a static file is served")
    sub.add_argument("--path", default="/static/chat/site.css")
    sub = command("form-post", check_form_post, "POST a page's form with its CSRF token, check the answer")
    sub.add_argument("--path", default="/rooms/", help="page holding the form (GET, then POST to it)")
    sub.add_argument("--field", type=form_field, action="append", default=[], metavar="NAME=VALUE",
                     help="a form field to post (repeatable)")
    sub.add_argument("--expect-status", type=http_status, default=302)
    sub.add_argument("--expect-location", help="expected Location header (its path and query suffice)")
    return parser


def raise_open_files():
    """Each WebSocket is a file: take the hard limit of open files as the soft one; return it."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "rooms", 1) > getattr(args, "clients", 1):
        parser.error(f"{args.command}: --rooms must not exceed --clients")  # exits 2, like argparse's own errors
    result = {"check": args.command, "ok": False, "url": getattr(args, "url", None), "host": args.host}
    TLS["context"] = ssl.create_default_context(cafile=args.ca)
    if args.ws_prefix != WS_PREFIX:
        result["ws_prefix"] = args.ws_prefix
    if args.command == "load":
        result["open_files_limit"] = raise_open_files()
    try:
        reason = args.func(args, result)
        if asyncio.iscoroutine(reason):
            reason = asyncio.run(reason)
    except ProbeError as exc:
        reason = str(exc)
    except Exception as exc:  # noqa: BLE001 - connection refused & co. are failed checks too
        reason = describe(exc)
    result["ok"] = reason is None
    if reason is not None:
        result["reason"] = reason
    print(json.dumps(result))
    return 0 if reason is None else 1
