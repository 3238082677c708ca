"""Checks: does the chat work as a user sees it (one pass or fail each, a few requests)."""

import asyncio
import hashlib
import http.cookiejar
import os
import re
import socket
import time
import urllib.error
import urllib.parse
import urllib.request

from chat_client import (HTTP_TIMEOUT, REDIRECTS, TLS, ProbeError, close_all, dropped, http_get, open_sockets,
                         origin, wait_for_message)


async def check_roundtrip(args, result):
    tag = os.urandom(4).hex()
    room_a, room_b = f"roomA_{tag}", f"roomB_{tag}"
    result.update(url2=args.url2, room_a=room_a, room_b=room_b)
    a1, a2, b1 = socks = await open_sockets(
        args, [(args.url, room_a), (args.url2 or args.url, room_a), (args.url, room_b)]
    )
    try:
        text = f"roundtrip {tag}"
        await a1.send(text)
        latencies = await asyncio.gather(wait_for_message(a1, text, 5), wait_for_message(a2, text, 5))
        result.update(a1_latency_ms=latencies[0], a2_latency_ms=latencies[1])
        leaked = await b1.recv(2)  # B1 is in another room: it must stay silent
        result.update(b1_received=leaked, dropped=dropped(socks))
    finally:
        await close_all(socks)
    if latencies[0] is None:
        return f"A1 (the sender) did not receive its own message within 5 s (close codes {result['dropped']})"
    if latencies[1] is None:
        where = (
            "on --url2: cross-host delivery through the channel layer failed" if args.url2 else "same host"
        )
        return f"A2 did not receive the message within 5 s ({where})"
    if leaked is not None:
        return f"B1 in another room received {leaked!r}"
    return None


async def check_reply(args, result):
    """Send --text to a room; the first message of the room that contains --expect comes back."""
    room = f"reply_{os.urandom(4).hex()}"
    result.update(room=room, text=args.text, expect=args.expect)
    (sock,) = await open_sockets(args, [(args.url, room)])
    try:
        await sock.send(args.text)
        deadline = time.monotonic() + args.timeout
        while (message := await sock.recv(deadline - time.monotonic())) is not None:
            if args.expect in message:
                result.update(reply=message, seconds=round(args.timeout - (deadline - time.monotonic()), 2))
                return None
    finally:
        await close_all([sock])
    return f"no message containing {args.expect!r} within {args.timeout} s of sending {args.text!r}"


async def check_listen(args, result):
    """Join --room for --seconds and report what it was sent (a scheduled worker's messages)."""
    result.update(room=args.room, seconds=args.seconds)
    (sock,) = await open_sockets(args, [(args.url, args.room)])
    messages = []
    try:
        deadline = time.monotonic() + args.seconds
        while (message := await sock.recv(deadline - time.monotonic())) is not None:
            messages.append(message)
        result.update(messages=messages, dropped=dropped([sock]))
    finally:
        await close_all([sock])
    if result["dropped"]:
        return f"the connection was closed with code {result['dropped']}"
    return None


async def check_idle(args, result):
    room = f"idle_{os.urandom(4).hex()}"
    result.update(room=room, seconds=args.seconds)
    socks = await open_sockets(args, [(args.url, room)] * 2)
    try:
        # Stay idle (pongs only), but notice at once when a connection drops.
        start = time.monotonic()
        done, dummy = await asyncio.wait(
            [s.read_task for s in socks], timeout=args.seconds, return_when=asyncio.FIRST_COMPLETED
        )
        result.update(
            idle_seconds=round(time.monotonic() - start, 2), server_pings=sum(s.pings for s in socks)
        )
        if done:
            result["dropped"] = dropped(socks)
            return (
                f"a connection was closed with code {result['dropped']} after {result['idle_seconds']} s idle"
            )
        text = f"after idle {room}"
        await socks[0].send(text)
        latencies = await asyncio.gather(*(wait_for_message(s, text, 5) for s in socks))
        result.update(latencies_ms=latencies, dropped=dropped(socks))
    finally:
        await close_all(socks)
    if None in latencies:
        codes = result["dropped"]
        return f"not every client received the message sent after {args.seconds} s idle (close codes {codes})"
    return None


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    # Redirects are followed by hand, so that the status of every step is reported.
    def redirect_request(self, *args, **kwargs):
        return None


class FormClient:
    """HTTP client with a cookie jar for Django pages that hold a form.

    Every request sends --host as Host and http://<host> as Origin and is
    recorded in steps as {"method", "path", "status"}.
    """

    def __init__(self, args, steps):
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(
            urllib.request.ProxyHandler({}), urllib.request.HTTPCookieProcessor(self.jar), _NoRedirect(),
            urllib.request.HTTPSHandler(context=TLS["context"]),
        )
        self.base = args.url.rstrip("/")
        self.host = args.host
        self.steps = steps

    def request(self, path, data=None, referer=None):
        """One request, redirects not followed: (status, headers, body text)."""
        request = urllib.request.Request(self.base + path, data=data)
        request.add_header("Host", self.host)
        request.add_header("Origin", origin(self.base, self.host))
        if data is not None:
            request.add_header("Content-Type", "application/x-www-form-urlencoded")
        if referer:
            request.add_header("Referer", referer)
        try:
            with self.opener.open(request, timeout=HTTP_TIMEOUT) as response:
                status, headers, body = response.status, response.headers, response.read()
        except urllib.error.HTTPError as response:
            status, headers, body = response.code, response.headers, response.read()
        self.steps.append({"method": "POST" if data else "GET", "path": path, "status": status})
        return status, headers, body.decode("utf-8", "replace")

    def fetch(self, path, data=None, referer=None):
        """Request path, following redirects; returns (status, path, body) of the last answer."""
        for dummy in range(5):
            status, headers, body = self.request(path, data, referer)
            if status not in REDIRECTS:
                return status, path, body
            # A relative or absolute Location: keep talking to --url, only take the path.
            path = location_path(headers.get("Location", "/"))
            data = referer = None
        raise ProbeError(f"too many redirects: {self.steps}")

    def csrf_page(self, path):
        """GET the page holding a form: (status, final path, body, CSRF token or None, token source).

        The token is the form's csrfmiddlewaretoken, else the csrftoken cookie's
        value (Django accepts both); the source says which ("form", "cookie" or
        None). The jar keeps the cookie for the POST that follows.
        """
        status, path, page = self.fetch(path)
        cookies = {c.name: c.value for c in self.jar}
        found = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
        if found:
            return status, path, page, found.group(1), "form"
        token = cookies.get("csrftoken")
        return status, path, page, token, "cookie" if token else None

    def has_cookie(self, name):
        return any(c.name == name for c in self.jar)


def location_path(location):
    """The path (and query) of a relative or absolute Location header."""
    parts = urllib.parse.urlsplit(location)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def check_admin_login(args, result):
    steps = result["steps"] = []
    client = FormClient(args, steps)
    status, dummy, dummy, token, dummy = client.csrf_page("/admin/login/")
    result["login_page_status"] = status
    if status != 200:
        return f"GET /admin/login/ answered {status}"
    result["csrf_cookie"] = client.has_cookie("csrftoken")
    if not token:
        return "no CSRF token in the login page or cookies"
    first_post_step = len(steps)
    form = {"username": args.user, "password": args.password, "csrfmiddlewaretoken": token, "next": "/admin/"}
    status, path, page = client.fetch(
        "/admin/login/?next=/admin/",
        data=urllib.parse.urlencode(form).encode(),
        referer=f"{origin(args.url, args.host)}/admin/login/",
    )
    logged_in = "Site administration" in page or 'id="logout-form"' in page
    result.update(post_status=steps[first_post_step]["status"], final_status=status, final_path=path)
    result["logged_in"] = logged_in
    if result["post_status"] == 503:
        return (
            "POST /admin/login/ answered 503: the body did not reach Django (NGINX Unit workaround missing?)"
        )
    if result["post_status"] == 403:
        return "POST /admin/login/ answered 403: CSRF check failed (Host, Origin or CSRF_TRUSTED_ORIGINS?)"
    if status != 200 or path.split("?")[0] != "/admin/" or not logged_in:
        return f"not logged in: ended with {status} on {path} (wrong user or password?)"
    if args.url2:
        return check_session_elsewhere(args, client, result)
    return None


def check_session_elsewhere(args, client, result):
    """The session cookie of the login, sent to --url2: the admin opens there without a login."""
    session = next((c.value for c in client.jar if c.name == "sessionid"), None)
    if not session:
        return "the login set no sessionid cookie"
    request = urllib.request.Request(args.url2.rstrip("/") + "/admin/")
    request.add_header("Host", args.host)
    request.add_header("Cookie", f"sessionid={session}")
    opener = urllib.request.build_opener(
        urllib.request.ProxyHandler({}), _NoRedirect(), urllib.request.HTTPSHandler(context=TLS["context"])
    )
    try:
        with opener.open(request, timeout=HTTP_TIMEOUT) as response:
            status, headers, body = response.status, response.headers, response.read()
    except urllib.error.HTTPError as response:
        status, headers, body = response.code, response.headers, response.read()
    page = body.decode("utf-8", "replace")
    accepted = status == 200 and ("Site administration" in page or 'id="logout-form"' in page)
    result.update(url2=args.url2, url2_status=status, url2_location=headers.get("Location"),
                  session_accepted_on_url2=accepted)
    if not accepted:
        return (f"the session from {args.url} was not accepted by {args.url2}: GET /admin/ answered {status}"
                f" {headers.get('Location') or ''} (one database and one SECRET_KEY for both?)")
    return None


def check_form_post(args, result):
    """GET a page with a form, POST the form back with its CSRF token; check the direct answer."""
    steps = result["steps"] = []
    client = FormClient(args, steps)
    result.update(path=args.path, fields=[name for name, dummy in args.field])
    status, path, dummy, token, source = client.csrf_page(args.path)
    result.update(page_status=status, csrf_cookie=client.has_cookie("csrftoken"), csrf_token_from=source)
    if status != 200:
        return f"GET {args.path} answered {status}"
    if not token:
        return f"no CSRF token in the form on {path} or in the cookies"
    form = [*args.field, ("csrfmiddlewaretoken", token)]
    # Posted back to the page it came from (the final path if the GET was redirected).
    status, headers, body = client.request(
        path, data=urllib.parse.urlencode(form).encode(), referer=f"{origin(args.url, args.host)}{path}"
    )
    location = headers.get("Location")
    result.update(post_path=path, status=status, location=location, bytes=len(body))
    if status != args.expect_status:
        hint = {
            403: ": CSRF check failed (Host, Origin or CSRF_TRUSTED_ORIGINS?)",
            503: ": the body did not reach Django (NGINX Unit workaround missing?)",
        }.get(status, "")
        return f"POST {path} answered {status}, expected {args.expect_status}{hint}"
    expected = args.expect_location
    if expected is not None and expected not in (location, location_path(location or "")):
        return f"POST {path} answered Location {location!r}, expected {expected!r}"
    return None


def check_static(args, result):
    status, headers, body = http_get(args.url, args.host, args.path)
    result.update(
        path=args.path,
        status=status,
        content_type=dict((k.lower(), v) for k, v in headers).get("content-type"),
        bytes=len(body),
        headers=dict(headers),
    )
    return None if status == 200 else f"GET {args.path} answered {status}"


def check_certificate(args, result):
    """The certificate the https URL serves, verified against --ca and the URL's name."""
    parts = urllib.parse.urlsplit(args.url)
    if parts.scheme != "https":
        raise ProbeError("certificate needs an https:// URL")
    with socket.create_connection((parts.hostname, parts.port or 443), timeout=HTTP_TIMEOUT) as raw:
        with TLS["context"].wrap_socket(raw, server_hostname=parts.hostname) as sock:
            cert = sock.getpeercert()
            der = sock.getpeercert(binary_form=True)
    result.update(
        subject=dict(item for rdn in cert["subject"] for item in rdn),
        issuer=dict(item for rdn in cert["issuer"] for item in rdn),
        serial=cert["serialNumber"],
        not_after=cert["notAfter"],
        sha256=hashlib.sha256(der).hexdigest(),
    )
    return None
