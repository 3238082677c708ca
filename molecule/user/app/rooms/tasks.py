"""The rooms app's background task, run by `manage.py runworker rooms-tasks` (outside NGINX Unit).

A room's "/task ID" goes to the channel rooms-tasks; the worker takes 0.1 s over it and tells the
room "task ID done by worker WORKER_CODE". WORKER_CODE marks the code a release ships.
"""
import time

from asgiref.sync import async_to_sync
from channels.consumer import SyncConsumer

TASKS_CHANNEL = "rooms-tasks"
WORKER_CODE = "w1"


class TaskConsumer(SyncConsumer):
    def task_run(self, event):
        time.sleep(0.1)
        async_to_sync(self.channel_layer.group_send)(
            event["group"], {"type": "room.message", "message": f"task {event['task']} done by worker {WORKER_CODE}"}
        )
