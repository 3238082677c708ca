"""The Channels tutorial's chat consumer, renamed: group rooms_<name>."""
import json

from channels.generic.websocket import AsyncWebsocketConsumer

from .tasks import TASKS_CHANNEL


class RoomConsumer(AsyncWebsocketConsumer):
    async def connect(self):
        self.room_name = self.scope["url_route"]["kwargs"]["room_name"]
        self.room_group_name = f"rooms_{self.room_name}"
        await self.channel_layer.group_add(self.room_group_name, self.channel_name)
        await self.accept()

    async def disconnect(self, close_code):
        await self.channel_layer.group_discard(self.room_group_name, self.channel_name)

    async def receive(self, text_data):
        message = json.loads(text_data)["message"]
        if message.startswith("/task "):  # for the background worker (tasks.py)
            await self.channel_layer.send(
                TASKS_CHANNEL, {"type": "task.run", "group": self.room_group_name, "task": message[6:]}
            )
            return
        await self.channel_layer.group_send(
            self.room_group_name, {"type": "room.message", "message": message}
        )

    async def room_message(self, event):
        await self.send(text_data=json.dumps({"message": event["message"]}))
