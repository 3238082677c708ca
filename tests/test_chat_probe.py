"""chat_probe's steady command (what make bench measures WebSocket serving with), against a
small chat server of the tutorial's shape: every message sent to a room comes back to
everyone in it, the sender included."""

import asyncio
import json
from pathlib import Path

from script_module import load_script
from websockets.asyncio.server import serve

PROBE = Path(__file__).resolve().parent.parent / "molecule" / "shared" / "files" / "chat_probe.py"


chat_probe = load_script(PROBE)


def steady(*extra, drop=lambda text: False, close_after=None):
    """Run `chat_probe steady` against a chat server; drop(text) makes it swallow a message,
    close_after ends every connection after that many messages."""
    rooms = {}

    async def handler(connection):
        room = rooms.setdefault(connection.request.path, set())
        room.add(connection)
        received = 0
        try:
            async for frame in connection:
                received += 1
                if close_after is not None and received > close_after:
                    await connection.close()
                    return
                if not drop(json.loads(frame)["message"]):
                    for member in list(room):
                        await member.send(frame)
        finally:
            room.discard(connection)

    async def main():
        async with serve(handler, "127.0.0.1", 0) as server:
            port = server.sockets[0].getsockname()[1]
            args = chat_probe.build_parser().parse_args(
                ["steady", "--url", f"http://127.0.0.1:{port}", "--host", "localhost",
                 "--warmup", "1", "--seconds", "1", "--timeout", "1", *extra])
            result = {}
            reason = await chat_probe.check_steady(args, result)
            return reason, result, rooms

    return asyncio.run(main())


def test_steady_counts_what_every_client_of_a_room_receives():
    reason, result, rooms = steady("--clients", "6", "--rooms", "2")
    assert reason is None
    assert sorted(len(v) for v in rooms.values()) == [0, 0]  # all closed again
    assert len(rooms) == 2  # 6 clients spread over 2 rooms
    assert result["lost"] == 0
    assert result["round_trips"] > 50
    # Each message reaches the 3 clients of its room: about 3 deliveries per round trip.
    assert 2.5 * result["round_trips"] <= result["deliveries"] <= 3.5 * result["round_trips"]
    assert result["deliveries_per_second"] == result["deliveries"] / 1
    assert 0 < result["latency_p50_ms"] <= result["latency_p99_ms"]


def test_steady_fails_when_messages_do_not_come_back():
    # The server swallows each client's fourth message: the client waits --timeout, then goes on.
    reason, result, dummy = steady("--clients", "3", drop=lambda text: text.endswith(" 3"))
    assert result["lost"] == 3
    assert reason == "3 messages did not come back to their sender within 1 s"


def test_steady_tolerates_lost_messages_up_to_max_lost():
    reason, result, dummy = steady("--clients", "3", "--max-lost", "3", drop=lambda text: text.endswith(" 3"))
    assert reason is None
    assert result["lost"] == 3
    assert result["round_trips"] > 0


def test_steady_fails_when_the_server_ends_connections():
    reason, result, dummy = steady("--clients", "2", "--max-lost", "100", close_after=5)
    assert reason.startswith("connections ended during the run")
    assert result["dropped"] == [1000, 1000]


def test_percentile_nearest_rank():
    values = list(range(1, 101))
    assert chat_probe.percentile(values, 0.5) == 50
    assert chat_probe.percentile(values, 0.99) == 99
    assert chat_probe.percentile([7], 0.99) == 7
