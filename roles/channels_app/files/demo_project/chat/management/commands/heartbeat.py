"""`manage.py heartbeat`: a scheduled job of the chat, run once in a fleet (channels_app_workers
with `hosts:` naming one host): every --interval seconds it tells a room which host and release
it runs on. A worker that must not run twice (a scheduler, Celery beat) is deployed the same way.
"""

import socket
import time

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.core.management.base import BaseCommand

from chat.workers import RELEASE


class Command(BaseCommand):
    help = "Tell a room every --interval seconds which host and release this scheduler runs on."

    def add_arguments(self, parser):
        parser.add_argument("--room", default="lobby", help="the room told (default lobby)")
        parser.add_argument("--interval", type=float, default=30, help="seconds between two heartbeats")

    def handle(self, *args, **options):
        layer = get_channel_layer()
        host = socket.gethostname()
        while True:
            async_to_sync(layer.group_send)(
                f"chat_{options['room']}",
                {"type": "chat.message", "message": f"heartbeat from {host}, release {RELEASE}"},
            )
            time.sleep(options["interval"])
