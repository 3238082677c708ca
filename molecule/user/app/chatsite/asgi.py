"""ASGI config for chatsite, as in the Channels tutorial (no lifespan handler)."""
import os

from channels.auth import AuthMiddlewareStack
from channels.routing import ChannelNameRouter, ProtocolTypeRouter, URLRouter
from channels.security.websocket import AllowedHostsOriginValidator
from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chatsite.settings")
# Initialize Django ASGI application early to ensure the AppRegistry
# is populated before importing code that may import ORM models.
django_asgi_app = get_asgi_application()

from rooms.routing import websocket_urlpatterns  # noqa: E402
from rooms.tasks import TASKS_CHANNEL, TaskConsumer  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": AllowedHostsOriginValidator(
            AuthMiddlewareStack(URLRouter(websocket_urlpatterns))
        ),
        # The background worker's channel (manage.py runworker rooms-tasks), not served by Unit.
        "channel": ChannelNameRouter({TASKS_CHANNEL: TaskConsumer.as_asgi()}),
    }
)
