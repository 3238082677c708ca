#!/usr/bin/env python3
"""Test client for the Django Channels tutorial chat app served by NGINX Unit.

Molecule verify playbooks copy this file into the container and run it with
the system Python (3.11 or newer), so it uses the standard library only and
brings its own small RFC 6455 WebSocket client.

  chat_probe.py roundtrip   --url http://127.0.0.1:80 --host localhost [--url2 URL]
  chat_probe.py idle        --url URL --host HOST --seconds 10
  chat_probe.py burst       --url URL --host HOST --clients 50 --messages 20 [--timeout 60]
                            [--extra-url URL]
  chat_probe.py steady      --url URL --host HOST --clients 40 --rooms 1 --seconds 10 [--warmup 2]
                            [--extra-url URL]
  chat_probe.py alternate   --server NAME=URL[,URL] --server NAME=URL --host HOST --clients 40
                            [--window 1] [--warmup 0.25] [--cycles 10]
  chat_probe.py load        --url URL --host HOST --clients 100 --rooms 10 --seconds 60
                            --http-path /chat/ --http-rate 20 [--drain 10] [--watch-text TEXT]
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
import base64
import hashlib
import http.client
import http.cookiejar
import json
import os
import re
import socket
import ssl
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

WS_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
OP_CONT, OP_TEXT, OP_CLOSE, OP_PING, OP_PONG = 0x0, 0x1, 0x8, 0x9, 0xA
CONNECT_TIMEOUT = 10  # seconds for TCP connect plus WebSocket handshake
HTTP_TIMEOUT = 10
WS_PREFIX = "/ws/chat/"  # default of --ws-prefix: the tutorial's WebSocket route
REDIRECTS = (301, 302, 303, 307, 308)
TLS = {"context": None}  # the client TLS context (--ca), set by main()


def origin(url, host):
    """The Origin a browser sends for a page of url: the URL's scheme and --host."""
    return f"{urllib.parse.urlsplit(url).scheme}://{host}"


class ProbeError(Exception):
    """Ends a check as failed; the message becomes the result's "reason"."""


def describe(exc):
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


def mask(data, key):
    # XOR with the repeated 4-byte key, done on one big integer: pure Python
    # byte loops would be the bottleneck of the burst check.
    n = len(data)
    if not n:
        return data
    repeated = (key * (n // 4 + 1))[:n]
    return (int.from_bytes(data, "big") ^ int.from_bytes(repeated, "big")).to_bytes(n, "big")


class ChatSocket:
    """A minimal RFC 6455 client for one connection to <prefix><room>/ (/ws/chat/<room>/).

    A reader task answers pings, reassembles fragmented messages and queues
    the "message" value of every text message. When the connection ends,
    close_code holds the server's close code (1006: no close frame at all).
    """

    def __init__(self, url, host, room, prefix=WS_PREFIX):
        parts = urllib.parse.urlsplit(url)
        self.tls = parts.scheme == "https"
        self.addr = (parts.hostname, parts.port or (443 if self.tls else 80))
        self.origin = origin(url, host)
        self.path = f"{parts.path.rstrip('/')}{prefix}{room}/"
        self.host = host
        self.close_code = None
        self.pings = 0
        self._closing = False
        self._queue = asyncio.Queue()
        self._write_lock = asyncio.Lock()
        self._reader = self._writer = None
        self.read_task = None  # runs _read_loop; done once the connection has ended

    async def connect(self):
        try:
            await asyncio.wait_for(self._handshake(), CONNECT_TIMEOUT)
        except BaseException:
            if self._writer:
                self._writer.close()
            raise
        self.read_task = asyncio.create_task(self._read_loop())

    async def _handshake(self):
        tls = dict(ssl=TLS["context"], server_hostname=self.addr[0]) if self.tls else {}
        self._reader, self._writer = await asyncio.open_connection(*self.addr, **tls)
        key = base64.b64encode(os.urandom(16)).decode()
        self._writer.write(
            (
                f"GET {self.path} HTTP/1.1\r\nHost: {self.host}\r\n"
                f"Origin: {self.origin}\r\nUpgrade: websocket\r\n"
                f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                "Sec-WebSocket-Version: 13\r\n\r\n"
            ).encode()
        )
        head = (await self._reader.readuntil(b"\r\n\r\n")).decode("latin-1")
        status_line, *lines = head.split("\r\n")
        headers = {}
        for line in lines:
            name, sep, value = line.partition(":")
            if sep:
                headers[name.strip().lower()] = value.strip()
        if status_line.split(" ")[1:2] != ["101"]:
            raise ProbeError(f"WebSocket handshake for {self.path} answered {status_line!r}")
        # The accept value proves the server understood this very handshake.
        digest = hashlib.sha1(key.encode() + WS_GUID).digest()
        if headers.get("sec-websocket-accept") != base64.b64encode(digest).decode():
            raise ProbeError(f"WebSocket handshake for {self.path}: wrong Sec-WebSocket-Accept")

    async def _read_frame(self):
        first, second = await self._reader.readexactly(2)
        length = second & 0x7F
        if length == 126:
            length = int.from_bytes(await self._reader.readexactly(2), "big")
        elif length == 127:
            length = int.from_bytes(await self._reader.readexactly(8), "big")
        key = await self._reader.readexactly(4) if second & 0x80 else None
        payload = await self._reader.readexactly(length)
        return bool(first & 0x80), first & 0x0F, mask(payload, key) if key else payload

    async def _read_loop(self):
        fragments, message_opcode = [], None
        try:
            while True:
                fin, opcode, payload = await self._read_frame()
                if opcode == OP_PING:
                    # Servers may ping idle clients; an unanswered ping ends the connection.
                    self.pings += 1
                    await self._send_frame(OP_PONG, payload)
                elif opcode == OP_CLOSE:
                    self.close_code = int.from_bytes(payload[:2], "big") if len(payload) >= 2 else 1005
                    if not self._closing:  # the server started it: echo, as the RFC asks
                        await self._send_frame(OP_CLOSE, payload[:2])
                    break
                elif opcode != OP_PONG:
                    # Control frames may arrive between fragments; data frames start
                    # a message (text or binary) or continue it (opcode 0).
                    if opcode != OP_CONT:
                        fragments, message_opcode = [], opcode
                    fragments.append(payload)
                    if fin and message_opcode == OP_TEXT:
                        self._deliver(b"".join(fragments).decode("utf-8", "replace"))
        except (asyncio.IncompleteReadError, OSError):
            pass
        finally:
            if self.close_code is None:
                self.close_code = 1006
            self._writer.close()
            self._queue.put_nowait(None)  # wakes a recv() that waits

    def _deliver(self, text):
        try:
            self._queue.put_nowait(json.loads(text)["message"])
        except (ValueError, TypeError, KeyError):
            self._queue.put_nowait(text)

    async def _send_frame(self, opcode, payload):
        n = len(payload)
        if n < 126:
            head = bytes([0x80 | opcode, 0x80 | n])
        elif n < 65536:
            head = bytes([0x80 | opcode, 0x80 | 126]) + n.to_bytes(2, "big")
        else:
            head = bytes([0x80 | opcode, 0x80 | 127]) + n.to_bytes(8, "big")
        key = os.urandom(4)  # clients must mask every frame
        async with self._write_lock:
            self._writer.write(head + key + mask(payload, key))
            await self._writer.drain()

    async def send(self, message):
        if self.close_code is not None:
            raise ConnectionError(f"connection closed with code {self.close_code}")
        await self._send_frame(OP_TEXT, json.dumps({"message": message}).encode())

    async def recv(self, timeout):
        """The next chat message; None after timeout seconds or once the connection ended."""
        if self.close_code is not None and self._queue.empty():
            return None
        try:
            return await asyncio.wait_for(self._queue.get(), max(timeout, 0))
        except asyncio.TimeoutError:
            return None

    async def close(self):
        if self.read_task is None or self.read_task.done():
            return
        self._closing = True
        try:
            await self._send_frame(OP_CLOSE, (1000).to_bytes(2, "big"))
        except OSError:
            pass
        done, _ = await asyncio.wait({self.read_task}, timeout=2)  # the server's echo
        if not done:
            self.read_task.cancel()


async def open_sockets(args, targets):
    """Connect one ChatSocket per (url, room), concurrently; all of them or fail."""
    socks = [ChatSocket(url, args.host, room, args.ws_prefix) for url, room in targets]
    results = await asyncio.gather(*(s.connect() for s in socks), return_exceptions=True)
    errors = [r for r in results if isinstance(r, BaseException)]
    if errors:
        await close_all(socks)
        raise ProbeError(f"{len(errors)} of {len(socks)} WebSocket connections failed: {describe(errors[0])}")
    return socks


async def close_all(socks):
    await asyncio.gather(*(s.close() for s in socks), return_exceptions=True)


def dropped(socks):
    """Close codes of connections the server ended before we closed them."""
    return [s.close_code for s in socks if s.close_code is not None]


async def wait_for_message(sock, text, timeout):
    """Milliseconds until text arrived on sock, or None; other messages are skipped."""
    start = time.monotonic()
    deadline = start + timeout
    while (message := await sock.recv(deadline - time.monotonic())) is not None:
        if message == text:
            return round((time.monotonic() - start) * 1000, 1)
    return None


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


async def check_idle(args, result):
    room = f"idle_{os.urandom(4).hex()}"
    result.update(room=room, seconds=args.seconds)
    socks = await open_sockets(args, [(args.url, room)] * 2)
    try:
        # Stay idle (pongs only), but notice at once when a connection drops.
        start = time.monotonic()
        done, _ = await asyncio.wait(
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


async def collect(sock, prefix, stop):
    """Count unique messages starting with prefix on sock until stop() says so."""
    seen, duplicates = set(), 0
    while not stop(len(seen)):
        message = await sock.recv(0.5)
        if message is None:
            if sock.close_code is not None:
                break
        elif message.startswith(prefix):
            duplicates += message in seen
            seen.add(message)
    return len(seen), duplicates


async def check_burst(args, result):
    n, m = args.clients, args.messages
    run = os.urandom(4).hex()
    room = f"burst_{run}"
    result.update(room=room, clients=n, messages=m, sent=0, expected_deliveries=n * n * m)
    urls = [args.url] + args.extra_url  # clients spread over several servers (make bench)
    socks = await open_sockets(args, [(urls[i % len(urls)], room) for i in range(n)])
    send_errors = 0

    async def sender(i, sock):
        nonlocal send_errors
        for k in range(m):
            try:
                await sock.send(f"{run} {i} {k}")
            except OSError:  # the connection is gone: collect() reports it
                send_errors += 1
                return
            result["sent"] += 1

    def stop(count):
        return count >= n * m or time.monotonic() > deadline

    start = time.monotonic()
    deadline = start + args.timeout
    try:
        counts = await asyncio.gather(
            *(collect(s, f"{run} ", stop) for s in socks), *(sender(i, s) for i, s in enumerate(socks))
        )
        counts = counts[:n]
        result["seconds"] = round(time.monotonic() - start, 2)
        result["dropped"] = dropped(socks)
    finally:
        await close_all(socks)
    received = sum(c for c, _ in counts)
    result.update(
        received=received,
        lost=n * n * m - received,
        duplicates=sum(d for _, d in counts),
        clients_complete=sum(c == n * m for c, _ in counts),
        send_errors=send_errors,
        deliveries_per_second=round(received / max(result["seconds"], 0.001), 1),
    )
    if result["lost"]:
        return f"{result['lost']} of {n * n * m} deliveries missing after {result['seconds']} s"
    return None


def percentile(values, share):
    """The value below which `share` (0..1) of the sorted values lie (nearest rank)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * len(ordered)) - 1))]


async def steady_window(socks, tag, seconds, warmup, timeout):
    """One closed-loop window on socks: every client sends a message, waits until the room's
    broadcast brings it back, and sends the next. What arrives between warmup and warmup +
    seconds counts (messages marked with tag only). A message not back within timeout counts as
    lost and its client sends the next one. Returns the tally and the round trips' latencies."""
    start = time.monotonic()
    begin, end = start + warmup, start + warmup + seconds
    tally = {"deliveries": 0, "round_trips": 0, "lost": 0, "send_errors": 0}
    latencies = []

    async def client(i, sock):
        k = 0
        while (sent := time.monotonic()) < end:
            text = f"{tag} {i} {k}"
            k += 1
            try:
                await sock.send(text)
            except OSError:  # the connection is gone: reported with the close codes
                tally["send_errors"] += 1
                return
            while (message := await sock.recv(sent + timeout - time.monotonic())) != text:
                if message is None:
                    if sock.close_code is not None:
                        return
                    tally["lost"] += 1
                    break
                if begin <= time.monotonic() < end and message.startswith(f"{tag} "):
                    tally["deliveries"] += 1
            else:
                now = time.monotonic()
                if begin <= now < end:
                    tally["deliveries"] += 1
                    if begin <= sent:
                        tally["round_trips"] += 1
                        latencies.append(now - sent)

    await asyncio.gather(*(client(i, s) for i, s in enumerate(socks)))
    return tally, latencies


def window_figures(tally, latencies, seconds):
    """deliveries/s and latency percentiles of one window."""
    figures = {"deliveries_per_second": round(tally["deliveries"] / seconds, 1)}
    if latencies:
        figures.update(latency_p50_ms=round(percentile(latencies, 0.5) * 1000, 1),
                       latency_p99_ms=round(percentile(latencies, 0.99) * 1000, 1))
    return figures


async def check_steady(args, result):
    """Chat deliveries per second at a steady pace, and how long a message takes to come back.

    A burst's rate swings with how its start and end fall; a closed loop does not (see
    steady_window). Only what arrives between --warmup and --warmup + --seconds counts, so
    connecting and the last messages in flight stay out of the figure. A client never has more
    than one message of its own in flight, so the channel layer's per-channel capacity is never
    what limits the rate.
    """
    n, rooms = args.clients, args.rooms
    run = os.urandom(4).hex()
    result.update(clients=n, rooms=rooms, seconds=args.seconds, warmup=args.warmup)
    urls = [args.url] + args.extra_url  # clients spread over several servers (make bench)
    socks = await open_sockets(args, [(urls[i % len(urls)], f"steady_{run}_{i % rooms}") for i in range(n)])
    try:
        tally, latencies = await steady_window(socks, run, args.seconds, args.warmup, args.timeout)
        result["dropped"] = dropped(socks)
    finally:
        await close_all(socks)
    result.update(tally)
    result.update(window_figures(tally, latencies, args.seconds))
    if result["dropped"] or tally["send_errors"]:
        return f"connections ended during the run (close codes {result['dropped']})"
    if tally["lost"] > args.max_lost:
        return f"{tally['lost']} messages did not come back to their sender within {args.timeout} s"
    if not tally["round_trips"]:
        return f"no message came back within the {args.seconds} s measured"
    return None


async def check_alternate(args, result):
    """Chat deliveries per second of several servers, in short windows that alternate.

    A slow spell of the machine lasts seconds: two servers measured many seconds apart are two
    machines compared. Here the servers take turns of --window seconds (steady_window), --cycles
    times, each cycle starting with the next server. Each window connects its --clients anew:
    how a server spreads connections over its processes changes its rate, and a placement kept
    for a whole run would weigh as much as the run's all windows. Per server and cycle:
    deliveries/s, latency and lost messages, so that ratios can be taken between windows a
    second apart.
    """
    run = os.urandom(4).hex()
    urls = dict(args.server)
    result.update(clients=args.clients, window=args.window, warmup=args.warmup, cycles=args.cycles)
    cycles, closed = {name: [] for name in urls}, {}
    for cycle in range(args.cycles):
        names = list(urls)
        for name in names[cycle % len(names):] + names[:cycle % len(names)]:
            room = f"alternate_{run}_{name}_{cycle}"
            socks = await open_sockets(args, [(urls[name][i % len(urls[name])], room) for i in range(args.clients)])
            try:
                tally, latencies = await steady_window(socks, f"{run}{cycle}", args.window, args.warmup, args.timeout)
                if dropped(socks) or tally["send_errors"]:
                    closed[name] = dropped(socks)
            finally:
                await close_all(socks)
            cycles[name].append(dict(tally, **window_figures(tally, latencies, args.window)))
    result.update(servers=cycles, dropped=closed)
    for name, windows in cycles.items():
        lost = sum(w["lost"] for w in windows)
        if name in closed:
            return f"{name}: connections ended during the run (close codes {closed[name]})"
        if lost > args.max_lost:
            return f"{name}: {lost} messages did not come back to their sender within {args.timeout} s"
        if not all(w["round_trips"] for w in windows):
            return f"{name}: a {args.window} s window in which no message came back"
    return None


def connection(url):
    parts = urllib.parse.urlsplit(url)
    if parts.scheme == "https":
        return http.client.HTTPSConnection(parts.hostname, parts.port or 443, timeout=HTTP_TIMEOUT,
                                           context=TLS["context"])
    return http.client.HTTPConnection(parts.hostname, parts.port or 80, timeout=HTTP_TIMEOUT)


def http_get(url, host, path):
    """(status, headers, body) of GET url+path with the Host and Origin the app expects."""
    conn = connection(url)
    try:
        conn.request("GET", path, headers={"Host": host, "Origin": origin(url, host)})
        response = conn.getresponse()
        return response.status, response.getheaders(), response.read()
    finally:
        conn.close()


def outages(failed_slots, rate):
    """[[start, seconds], ...] of each run of failed requests in schedule order (request j starts at
    j / rate); a request that succeeded between two failed ones splits them."""
    runs = []
    for j in sorted(failed_slots):
        if runs and j == runs[-1][1]:
            runs[-1][1] = j + 1
        else:
            runs.append([j, j + 1])
    return [[round(first / rate, 2), round((end - first) / rate, 2)] for first, end in runs]


async def check_load(args, result):
    run = os.urandom(4).hex()
    rooms = [f"load_{run}_{r}" for r in range(args.rooms)]
    members = [i % args.rooms for i in range(args.clients)]  # room index of each client
    result.update(clients=args.clients, rooms=args.rooms, seconds=args.seconds, http_rate=args.http_rate)
    socks = await open_sockets(args, [(args.url, rooms[r]) for r in members])
    if args.ready_file:  # every client is connected: the caller may start what the load is for
        with open(args.ready_file, "w", encoding="utf-8"):
            pass
    sent = [0] * args.rooms
    # failed: the schedule slots (j) of the failed requests; last_ok: when the last good one began.
    web = {"ok": 0, "failed": 0, "statuses": {}, "errors": {}, "latencies": [], "watched": [], "failed_slots": [],
           "last_ok": None}
    start = time.monotonic()
    state = {"sending": True, "deadline": start + args.seconds + args.drain + 5}

    def stopped():
        # --stop-file: the caller ends the load early (when what it waited for is done).
        return args.stop_file is not None and os.path.exists(args.stop_file)

    async def sender(i, sock):
        # One message a second, clients spread over the second to avoid lockstep.
        for k in range(args.seconds):
            await asyncio.sleep(max(0, start + i / args.clients + k - time.monotonic()))
            if stopped():
                return
            try:
                await sock.send(f"{run} {members[i]} {i} {k}")
            except OSError:
                return
            sent[members[i]] += 1

    def one_request(slot):
        begin = time.monotonic()
        try:
            status, _, body = http_get(args.url, args.host, args.http_path)
        except (OSError, http.client.HTTPException) as exc:
            status, error = None, describe(exc)
        else:
            error = None if status < 400 else f"HTTP {status}"
            if args.watch_text and args.watch_text.encode() in body:
                # When a new release began to answer (seconds since the start).
                web["watched"].append(round(begin - start, 2))
        web["latencies"].append(time.monotonic() - begin)
        key = str(status or "error")
        web["statuses"][key] = web["statuses"].get(key, 0) + 1
        web["ok" if error is None else "failed"] += 1
        if error:
            web["errors"][error] = web["errors"].get(error, 0) + 1
            web["failed_slots"].append(slot)
        else:
            web["last_ok"] = max(web["last_ok"] or 0, begin - start)

    async def http_loop():
        # Fixed schedule; each request runs in a thread so a slow answer does not delay the next.
        requests = []
        for j in range(int(args.seconds * args.http_rate)):
            await asyncio.sleep(max(0, start + j / args.http_rate - time.monotonic()))
            if stopped():
                break
            requests.append(asyncio.create_task(asyncio.to_thread(one_request, j)))
        await asyncio.gather(*requests)

    async def send_all():
        await asyncio.gather(*(sender(i, s) for i, s in enumerate(socks)))
        state.update(sending=False, deadline=time.monotonic() + args.drain)

    def stop_for(room):
        def stop(count):  # everything sent to the room has arrived, or time is up
            return (not state["sending"] and count >= sent[room]) or time.monotonic() > state["deadline"]

        return stop

    try:
        results = await asyncio.gather(
            send_all(),
            http_loop(),
            *(collect(s, f"{run} {members[i]} ", stop_for(members[i])) for i, s in enumerate(socks)),
        )
        counts = results[2:]
        ws_disconnects = len(dropped(socks))
    finally:
        await close_all(socks)
    expected = sum(sent[r] * members.count(r) for r in range(args.rooms))
    received = sum(c for c, _ in counts)
    latencies = sorted(web["latencies"]) or [0]
    result.update(
        elapsed_seconds=round(time.monotonic() - start, 2),
        http_ok=web["ok"],
        http_failed=web["failed"],
        http_statuses=web["statuses"],
        http_errors=web["errors"],
        http_p50_ms=round(latencies[len(latencies) // 2] * 1000, 1),
        http_max_ms=round(latencies[-1] * 1000, 1),
        sent=sum(sent),
        expected_deliveries=expected,
        received=received,
        lost=expected - received,
        duplicates=sum(d for _, d in counts),
        ws_disconnects=ws_disconnects,
        # When HTTP failed: [[start, seconds], ...] of each run of failed requests, and when the
        # last good request began (after the last run: HTTP came back).
        http_outages=outages(web["failed_slots"], args.http_rate),
        http_last_ok_seconds=None if web["last_ok"] is None else round(web["last_ok"], 2),
    )
    if args.watch_text:
        result.update(watch_text=args.watch_text, watch_text_responses=len(web["watched"]),
                      watch_text_first_seconds=min(web["watched"], default=None))
    if web["failed"] or result["lost"]:
        return (
            f"{web['failed']} HTTP requests failed, {result['lost']} of {expected} WebSocket deliveries"
            f" lost, {ws_disconnects} WebSocket disconnects"
        )
    return None


def check_http_rate(args, result):
    """Requests per second: --concurrency clients ask for --path in a loop for --seconds."""
    urls = [args.url] + args.extra_url
    tallies = [{"ok": 0, "failed": 0, "servers": set()} for _ in range(args.concurrency)]
    deadline = time.monotonic() + args.seconds

    def client(i):
        url, tally = urls[i % len(urls)], tallies[i]  # one tally per thread: no shared counter
        while time.monotonic() < deadline:
            try:
                status, headers, _ = http_get(url, args.host, args.path)
            except (OSError, http.client.HTTPException):
                status, headers = None, []
            tally["ok" if status == 200 else "failed"] += 1
            tally["servers"].update(v for k, v in headers if k.lower() == "server")

    start = time.monotonic()
    threads = [threading.Thread(target=client, args=(i,)) for i in range(args.concurrency)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - start
    counts = {key: sum(t[key] for t in tallies) for key in ("ok", "failed")}
    servers = set().union(*(t["servers"] for t in tallies))
    result.update(
        path=args.path,
        concurrency=args.concurrency,
        seconds=round(elapsed, 2),
        ok=counts["ok"],
        failed=counts["failed"],
        servers=sorted(servers),
        requests_per_second=round(counts["ok"] / elapsed, 1),
    )
    if counts["failed"] or not counts["ok"]:
        return f"{counts['failed']} of {counts['ok'] + counts['failed']} requests failed"
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
        for _ in range(5):
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
    status, _, _, token, _ = client.csrf_page("/admin/login/")
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
    result.update(path=args.path, fields=[name for name, _ in args.field])
    status, path, _, token, source = client.csrf_page(args.path)
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
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)

    def command(name, func, help_text, parent=common):
        sub = commands.add_parser(name, parents=[parent], help=help_text)
        sub.set_defaults(func=func)
        return sub

    sub = command("roundtrip", check_roundtrip, "message reaches its room, and only its room")
    sub.add_argument("--url2", type=http_url, help="second app host for client A2 (cross-host check)")
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
    sub.add_argument("--drain", type=positive, default=10, help="seconds to wait for late deliveries")
    sub.add_argument("--watch-text", help="count the HTTP answers containing this text (a release marker)")
    sub.add_argument("--stop-file", help="end the load early once this file exists (--seconds is then the longest)")
    sub.add_argument("--ready-file", help="create this file once every WebSocket client is connected")
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


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "rooms", 1) > getattr(args, "clients", 1):
        parser.error(f"{args.command}: --rooms must not exceed --clients")  # exits 2, like argparse's own errors
    result = {"check": args.command, "ok": False, "url": getattr(args, "url", None), "host": args.host}
    TLS["context"] = ssl.create_default_context(cafile=args.ca)
    if args.ws_prefix != WS_PREFIX:
        result["ws_prefix"] = args.ws_prefix
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


if __name__ == "__main__":
    sys.exit(main())
