# chat/consumers.py
"""The tutorial's asynchronous chat consumer (Channels tutorial, part 3).

Each WebSocket on /ws/chat/<room>/ joins the channel-layer group chat_<room>;
a text frame {"message": ...} received from one client is sent to the group,
and every member forwards it to its client as {"message": ...}.
"""

import json

from channels.generic.websocket import AsyncWebsocketConsumer

from chat.workers import STATS_CHANNEL


class ChatConsumer(AsyncWebsocketConsumer):
    async def connect(self):
        self.room_name = self.scope["url_route"]["kwargs"]["room_name"]
        self.room_group_name = f"chat_{self.room_name}"

        # Join room group
        await self.channel_layer.group_add(self.room_group_name, self.channel_name)

        await self.accept()

    async def disconnect(self, close_code):
        # Leave room group
        await self.channel_layer.group_discard(self.room_group_name, self.channel_name)

    # Receive message from WebSocket
    async def receive(self, text_data):
        text_data_json = json.loads(text_data)
        message = text_data_json["message"]

        # "/stats": the background worker answers the room (chat/workers.py).
        if message.strip() == "/stats":
            await self.channel_layer.send(STATS_CHANNEL, {"type": "stats.request", "group": self.room_group_name})
            return

        # Send message to room group
        await self.channel_layer.group_send(
            self.room_group_name, {"type": "chat.message", "message": message}
        )

    # Receive message from room group
    async def chat_message(self, event):
        message = event["message"]

        # Send message to WebSocket
        await self.send(text_data=json.dumps({"message": message}))
