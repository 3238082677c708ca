"""The probe's clients: a minimal RFC 6455 WebSocket client for the chat's rooms, and HTTP.

Standard library only: the probe runs on the test hosts' system Python (3.11 or newer).
"""

import asyncio
import base64
import hashlib
import http.client
import json
import os
import time
import urllib.parse

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
        self.ended_at = None  # time.monotonic() when the connection ended

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
            self.ended_at = time.monotonic()
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

    def wake(self):
        """Make a recv() that waits return None now (its caller has something to look at)."""
        self._queue.put_nowait(None)

    async def recv(self, timeout):
        """The next chat message; None after timeout seconds or once the connection ended."""
        if not self._queue.empty():  # no timer and no task for a message already here
            return self._queue.get_nowait()
        if self.close_code is not None:
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
        done, dummy = await asyncio.wait({self.read_task}, timeout=2)  # the server's echo
        if not done:
            self.read_task.cancel()


class ReconnectingSocket:
    """A ChatSocket that opens itself again when the server ends it, as the chat page does: after
    0.1 s, then twice as long after each failed attempt (2 s at most), until give_up_at.

    recv() goes on across a reconnect (close_code stays None unless it gave up); send() while
    closed raises ConnectionError (that message is not sent). gaps: [(ended, open again)] of each
    reconnect, time.monotonic(); dropped_codes: the close code of each connection the server ended;
    failed_attempts: why each attempt to open it again failed.
    """

    FIRST_DELAY, MAX_DELAY = 0.1, 2.0

    def __init__(self, url, host, room, prefix=WS_PREFIX):
        self.target = (url, host, room, prefix)
        self.sock = ChatSocket(*self.target)
        self.gaps, self.dropped_codes, self.failed_attempts = [], [], []
        self.give_up_at = float("inf")
        self.close_code = None
        self._closed = False

    @property
    def pings(self):
        return self.sock.pings

    async def connect(self):
        await self.sock.connect()

    async def _reopen(self):
        ended = self.sock.ended_at or time.monotonic()
        self.dropped_codes.append(self.sock.close_code)
        delay = self.FIRST_DELAY
        while not self._closed:
            await asyncio.sleep(delay)
            if time.monotonic() > self.give_up_at:
                self.close_code = self.sock.close_code
                return
            sock = ChatSocket(*self.target)
            try:
                await sock.connect()
            except (OSError, asyncio.TimeoutError, ProbeError) as exc:
                self.failed_attempts.append(describe(exc))
                delay = min(delay * 2, self.MAX_DELAY)
                continue
            self.sock = sock
            self.gaps.append((ended, time.monotonic()))
            return

    async def recv(self, timeout):
        message = await self.sock.recv(timeout)
        if message is None and self.sock.close_code is not None and not self._closed and self.close_code is None:
            await self._reopen()
        return message

    async def send(self, message):
        await self.sock.send(message)

    def wake(self):
        self.sock.wake()

    async def close(self):
        self._closed = True
        await self.sock.close()


async def open_sockets(args, targets):
    """Connect one ChatSocket per (url, room), concurrently; all of them or fail. With
    args.reconnect, each reconnects by itself when the server ends it (ReconnectingSocket)."""
    kind = ReconnectingSocket if getattr(args, "reconnect", False) else ChatSocket
    socks = [kind(url, args.host, room, args.ws_prefix) for url, room in targets]
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
    codes = []
    for sock in socks:
        if isinstance(sock, ReconnectingSocket):
            codes.extend(sock.dropped_codes)
        elif sock.close_code is not None:
            codes.append(sock.close_code)
    return codes


async def wait_for_message(sock, text, timeout):
    """Milliseconds until text arrived on sock, or None; other messages are skipped."""
    start = time.monotonic()
    deadline = start + timeout
    while (message := await sock.recv(deadline - time.monotonic())) is not None:
        if message == text:
            return round((time.monotonic() - start) * 1000, 1)
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
