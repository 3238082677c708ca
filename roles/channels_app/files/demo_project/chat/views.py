# chat/views.py
import asyncio

from channels.layers import get_channel_layer
from django.http import JsonResponse
from django.shortcuts import render


def index(request):
    return render(request, "chat/index.html")


def client(request):
    """What Django sees of the client: its address and the scheme of its request, and the
    forwarding headers that reached it. Behind a proxy, these show whether the proxy's word is
    taken (and only the proxy's)."""
    return JsonResponse({
        "remote_addr": request.META.get("REMOTE_ADDR"),
        "scheme": request.scheme,
        "x_forwarded_for": request.META.get("HTTP_X_FORWARDED_FOR"),
        "x_forwarded_proto": request.META.get("HTTP_X_FORWARDED_PROTO"),
    })


def room(request, room_name):
    return render(request, "chat/room.html", {"room_name": room_name})


async def healthz(request):
    """Liveness check for deployments: a round trip through the channel layer.

    Sends one message to a fresh channel and reads it back, so with
    CHANNEL_LAYER=redis a 200 means Redis is reachable with the configured URL
    and password. Answers 503 with the error's class name otherwise (no details
    that could leak configuration).
    """
    layer = get_channel_layer()
    body = {"status": "ok", "channel_layer": type(layer).__name__}
    try:
        channel = await layer.new_channel("healthz.")
        await layer.send(channel, {"type": "healthz.ping"})
        message = await asyncio.wait_for(layer.receive(channel), timeout=5)
        if message.get("type") != "healthz.ping":
            raise RuntimeError("unexpected message")
    except Exception as exc:  # noqa: BLE001 - any failure means "unhealthy"
        body.update(status="error", error=type(exc).__name__)
        return JsonResponse(body, status=503)
    return JsonResponse(body)
