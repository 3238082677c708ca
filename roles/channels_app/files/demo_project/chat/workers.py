"""The chat's background worker (Channels' "Worker and Background Tasks").

Run by `manage.py runworker chat-stats` (the role's channels_app_workers), outside NGINX Unit: a
room's "/stats" goes to the channel chat-stats, and this worker answers the room with the
requests it has handled and the release it runs, so that one can watch it follow a deploy.
"""

from pathlib import Path

from asgiref.sync import async_to_sync
from channels.consumer import SyncConsumer

STATS_CHANNEL = "chat-stats"
# The release directory this code runs from (releases/<id> under the app's root).
RELEASE = Path(__file__).resolve().parent.parent.name


class StatsConsumer(SyncConsumer):
    handled = 0

    def stats_request(self, event):
        StatsConsumer.handled += 1
        async_to_sync(self.channel_layer.group_send)(
            event["group"],
            {"type": "chat.message",
             "message": f"stats from the worker of release {RELEASE}: {StatsConsumer.handled} requests handled"},
        )
