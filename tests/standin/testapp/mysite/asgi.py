"""Test application for the NGINX Unit stand-in's own tests.

Plays the part of the Django Channels chat app of the recorded transcripts
(stdlib only: neither Django nor Channels are installed where these tests
run).  WebSocket messages of a room are relayed through a broadcast server the
test starts (address in ../broadcast.addr), because in-memory state is per
process - exactly why an in-memory channel layer breaks with processes > 1.
"""

import asyncio
import json
import os

HERE = os.path.dirname(os.path.abspath(__file__))
INDEX = (b'<!DOCTYPE html><html><head><meta charset="utf-8"/><title>Chat Rooms'
         b'</title></head><body>What chat room would you like to enter?</body></html>')


async def application(scope, receive, send):
    if scope["type"] == "lifespan":
        # What Django's ASGIHandler does; Unit logs it at info level.
        raise ValueError("Django can only handle ASGI/HTTP connections, not lifespan.")
    if scope["type"] == "websocket":
        return await chat(scope, receive, send)
    return await http(scope, receive, send)


async def respond(send, status, body, ctype=b"text/html; charset=utf-8", headers=()):
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", ctype),
                            (b"content-length", str(len(body)).encode())] + list(headers)})
    await send({"type": "http.response.body", "body": body})


def scope_json(scope):
    out = {}
    for k, v in scope.items():
        if k == "headers":
            v = [[n.decode("latin-1"), x.decode("latin-1")] for n, x in v]
        elif isinstance(v, bytes):
            v = v.decode("latin-1")
        elif isinstance(v, tuple):
            v = list(v)
        out[k] = v
    return out


async def http(scope, receive, send):
    path = scope["path"][len(scope.get("root_path", "")):]
    if path == "/":
        return await respond(send, 200, INDEX)
    if path.startswith("/chat/"):
        room = path.split("/")[2]
        return await respond(send, 200, ("<title>Chat room %s</title>" % room).encode())
    if path == "/scope":
        return await respond(send, 200, json.dumps(scope_json(scope)).encode(),
                             b"application/json")
    if path == "/pid":
        return await respond(send, 200, str(os.getpid()).encode(), b"text/plain")
    if path == "/receive":
        # Everything receive() hands out, until it blocks for 0.3 s.
        msgs = []
        while True:
            try:
                m = await asyncio.wait_for(receive(), 0.3)
            except asyncio.TimeoutError:
                msgs.append("blocked")
                break
            m = {k: (v.decode("latin-1") if isinstance(v, bytes) else v)
                 for k, v in m.items()}
            msgs.append(m)
            if len(msgs) > 5:
                break
        return await respond(send, 200, json.dumps(msgs).encode(), b"application/json")
    if path == "/stream":
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"text/plain")]})
        for part in (b"one ", b"two ", b"three"):
            await send({"type": "http.response.body", "body": part, "more_body": True})
        await send({"type": "http.response.body", "body": b""})
        return
    if path == "/raise":
        raise RuntimeError("application failed before the response")
    if path == "/env":
        return await respond(send, 200, json.dumps(
            {"uid": os.getuid(), "cwd": os.getcwd(),
             "CHANNEL_LAYER": os.environ.get("CHANNEL_LAYER")}).encode(),
            b"application/json")
    return await respond(send, 404, b"not found")


async def chat(scope, receive, send):
    msg = await receive()
    assert msg["type"] == "websocket.connect"
    room = scope["path"].strip("/").split("/")[-1]
    with open(os.path.join(HERE, "..", "broadcast.addr")) as f:
        host, port = f.read().split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    await reader.readline()       # {"subscribed": true}
    await send({"type": "websocket.accept"})

    async def relay():
        while True:
            line = await reader.readline()
            if not line:
                return
            data = json.loads(line)
            if data["room"] == room:
                await send({"type": "websocket.send",
                            "text": json.dumps({"message": data["message"]})})

    task = asyncio.get_running_loop().create_task(relay())
    await send({"type": "websocket.send",
                "text": json.dumps({"joined": room, "pid": os.getpid()})})
    try:
        while True:
            msg = await receive()
            if msg["type"] == "websocket.disconnect":
                break
            text = msg.get("text")
            if text is None:
                await send({"type": "websocket.send", "bytes": msg.get("bytes") or b""})
                continue
            message = json.loads(text)["message"]
            writer.write((json.dumps({"room": room, "message": message}) + "\n").encode())
            await writer.drain()
    finally:
        task.cancel()
        writer.close()


def make_application():
    """For "factory": true."""
    return application
