"""ASGI entry point of the chat project: module mysite.asgi, callable `application`.

As in the Channels tutorial: plain HTTP goes to Django, WebSockets go through
the Origin check (against ALLOWED_HOSTS), the session/auth middleware and the
chat routes. Settings are loaded here, at import time, so a configuration error
(a missing DJANGO_SECRET_KEY, say) stops the application from starting instead
of failing the first request.
"""

import os

from channels.auth import AuthMiddlewareStack
from channels.routing import ChannelNameRouter, ProtocolTypeRouter, URLRouter
from channels.security.websocket import AllowedHostsOriginValidator
from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mysite.settings")
# Initialize Django ASGI application early to ensure the AppRegistry
# is populated before importing code that may import ORM models.
django_asgi_app = get_asgi_application()

from chat.routing import websocket_urlpatterns  # noqa: E402
from chat.workers import StatsConsumer  # noqa: E402


async def lifespan(scope, receive, send):
    """Acknowledge the ASGI lifespan protocol; there is nothing to set up.

    Servers such as NGINX Unit and Uvicorn start every application with a
    "lifespan" scope. Without a handler ProtocolTypeRouter raises ValueError
    and the server logs that traceback ("ASGI Lifespan processing exception")
    each time the application starts.
    """
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": AllowedHostsOriginValidator(
            AuthMiddlewareStack(URLRouter(websocket_urlpatterns))
        ),
        "lifespan": lifespan,
        # The background worker's channel (manage.py runworker chat-stats), not served by Unit.
        "channel": ChannelNameRouter({"chat-stats": StatsConsumer.as_asgi()}),
    }
)
