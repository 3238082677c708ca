"""chat_probe's steady and alternate commands (what make bench measures WebSocket serving
with), against a small chat server of the tutorial's shape: every message sent to a room comes back to
everyone in it, the sender included."""

import asyncio
import json
import resource
import sys
from http import HTTPStatus
from pathlib import Path

import pytest

from websockets.asyncio.client import connect
from websockets.asyncio.server import serve

# The probe's directory is what runs on the test hosts (python3 DIR); its modules import each
# other by name.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "harness" / "chat_probe"))

import chat_checks  # noqa: E402
import chat_cli  # noqa: E402
import chat_load  # noqa: E402


def chat_handler(rooms, drop=lambda text: False, close_after=None, delay=0.0):
    """A chat server's handler: every frame goes to everyone in its room (the path). drop(text)
    swallows a message, close_after ends a connection after that many messages, delay slows
    each broadcast down."""

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
                if delay:
                    await asyncio.sleep(delay)
                if not drop(json.loads(frame)["message"]):
                    for member in list(room):
                        await member.send(frame)
        finally:
            room.discard(connection)

    return handler


def steady(*extra, drop=lambda text: False, close_after=None):
    """Run `chat_probe steady` against a chat server."""
    rooms = {}

    async def main():
        async with serve(chat_handler(rooms, drop, close_after), "127.0.0.1", 0) as server:
            port = server.sockets[0].getsockname()[1]
            args = chat_cli.build_parser().parse_args(
                ["steady", "--url", f"http://127.0.0.1:{port}", "--host", "localhost",
                 "--warmup", "1", "--seconds", "1", "--timeout", "1", *extra])
            result = {}
            reason = await chat_load.check_steady(args, result)
            return reason, result, rooms

    return asyncio.run(main())


def alternate(*extra, fast_drop=lambda text: False, slow_delay=0.005):
    """Run `chat_probe alternate` against two chat servers, "fast" and "slow"."""
    rooms = {"fast": {}, "slow": {}}

    async def main():
        async with serve(chat_handler(rooms["fast"], fast_drop), "127.0.0.1", 0) as fast, \
                serve(chat_handler(rooms["slow"], delay=slow_delay), "127.0.0.1", 0) as slow:
            ports = {name: server.sockets[0].getsockname()[1] for name, server in (("fast", fast), ("slow", slow))}
            args = chat_cli.build_parser().parse_args(
                ["alternate", "--host", "localhost", "--clients", "4", "--window", "0.3", "--warmup", "0.1",
                 "--cycles", "3", "--timeout", "1", *extra]
                + [f"--server={name}=http://127.0.0.1:{port}" for name, port in ports.items()])
            result = {}
            reason = await chat_load.check_alternate(args, result)
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
    assert chat_load.percentile(values, 0.5) == 50
    assert chat_load.percentile(values, 0.99) == 99
    assert chat_load.percentile([7], 0.99) == 7


def test_windowed_p99_puts_each_message_in_the_window_it_was_sent_in():
    start = 1000.0
    # 100 messages sent in the first 10 s, one of them slow; 10 sent in the third window.
    deliveries = [(start + i / 10, 0.005) for i in range(99)] + [(start + 9.95, 2.0)]
    deliveries += [(start + 20 + i, 0.3) for i in range(10)]
    assert chat_load.windowed_p99(deliveries, start, 10) == [[0, 5.0], [20, 300.0]]
    assert chat_load.windowed_p99([], start, 10) == []


def test_alternate_measures_every_server_in_its_own_windows():
    reason, result, rooms = alternate()
    assert reason is None
    # Each window: the server's 4 clients connected anew in a room of their own, closed after it.
    assert [len(r) for r in rooms.values()] == [3, 3]
    assert all(len(members) == 0 for r in rooms.values() for members in r.values())
    fast, slow = result["servers"]["fast"], result["servers"]["slow"]
    assert len(fast) == len(slow) == 3
    assert all(w["round_trips"] > 0 and w["lost"] == 0 for w in fast + slow)
    # Each message reaches the 4 clients of the room; the slowed server delivers fewer per second.
    assert all(3.5 * w["round_trips"] <= w["deliveries"] <= 4.5 * w["round_trips"] for w in fast + slow)
    assert min(w["deliveries_per_second"] for w in fast) > max(w["deliveries_per_second"] for w in slow)
    assert all(0 < w["latency_p50_ms"] <= w["latency_p99_ms"] for w in fast + slow)


def test_alternate_names_the_server_that_loses_messages():
    reason, result, dummy = alternate(fast_drop=lambda text: text.endswith(" 3"))
    lost = sum(w["lost"] for w in result["servers"]["fast"])
    assert lost > 0 and all(w["lost"] == 0 for w in result["servers"]["slow"])
    assert reason == f"fast: {lost} messages did not come back to their sender within 1 s"


def test_alternate_tolerates_lost_messages_up_to_max_lost():
    # Windows long enough for messages to come back after the lost one's timeout.
    reason, result, dummy = alternate("--max-lost", "1000", "--window", "1.5", "--cycles", "1",
                                      fast_drop=lambda text: text.endswith(" 3"))
    assert reason is None
    assert result["servers"]["fast"][0]["lost"] == 4 and result["servers"]["fast"][0]["round_trips"] > 0


@pytest.mark.parametrize("spec", ["no-equals", "bad name=http://127.0.0.1:1", "x=", "x=ftp://h"])
def test_alternate_rejects_a_malformed_server(spec, capsys):
    with pytest.raises(SystemExit) as exc:
        chat_cli.build_parser().parse_args(["alternate", "--host", "h", "--server", spec])
    assert exc.value.code == 2
    assert "--server" in capsys.readouterr().err


def task_load(answer):
    """Run `chat_probe load --task-text /task` against a chat server whose "background worker"
    answers each task with answer(task_id): the list of messages it sends back."""
    rooms = {}
    broadcast = chat_handler(rooms)

    async def handler(connection):
        if not connection.request.path.startswith("/ws/chat/tasks_"):
            await broadcast(connection)
            return
        async for frame in connection:
            text = json.loads(frame)["message"]
            if text.startswith("/task "):
                for reply in answer(text.split()[1]):
                    await connection.send(json.dumps({"message": reply}))

    def page(connection, request):  # the load's HTTP loop asks for a page
        if "Upgrade" not in request.headers:
            return connection.respond(HTTPStatus.OK, "page\n")
        return None

    async def main():
        async with serve(handler, "127.0.0.1", 0, process_request=page) as server:
            port = server.sockets[0].getsockname()[1]
            args = chat_cli.build_parser().parse_args(
                ["load", "--url", f"http://127.0.0.1:{port}", "--host", "localhost", "--clients", "2", "--rooms", "1",
                 "--seconds", "2", "--http-rate", "2", "--drain", "2", "--task-text", "/task",
                 "--task-interval", "0.1"])
            result = {}
            reason = await chat_load.check_load(args, result)
            return reason, result

    return asyncio.run(main())


def test_load_counts_the_tasks_each_worker_answered():
    # Tasks 0-9 answered by the old worker, the rest by the new one.
    reason, result = task_load(lambda task: [f"task {task} done by worker {'v1' if int(task[9:]) < 10 else 'v2'}"])
    assert reason is None, result
    assert result["tasks_sent"] >= 15
    assert result["tasks_answered"] == result["tasks_sent"]
    assert result["tasks_by_worker"] == {"v1": 10, "v2": result["tasks_sent"] - 10}
    assert result["tasks_last_worker"] == "v2"
    assert result["tasks_missing"] == [] and result["tasks_duplicates"] == 0
    # The chat clients' own messages: all delivered, and how long each took.
    assert result["lost"] == 0 and result["received"] > 0
    assert 0 < result["delivery_p50_ms"] <= result["delivery_p99_ms"] <= result["delivery_max_ms"] < 1000
    assert [window for window, dummy in result["delivery_p99_ms_by_10s"]][:1] == [0]


def test_load_fails_on_a_task_lost_or_answered_twice():
    def answer(task):
        number = int(task[9:])
        return [] if number == 3 else [f"task {task} done by worker v1"] * (2 if number == 5 else 1)

    reason, result = task_load(answer)
    assert result["tasks_missing"] == [3]
    assert result["tasks_duplicates"] == 1
    assert reason.startswith(f"of {result['tasks_sent']} tasks, 1 got no answer (first: [3]) and 1 were answered twice")


def on_chat_server(check, argv, meanwhile=None):
    """Run a chat_probe check (argv: its command and options but --url and --host) against a chat
    server; meanwhile(port), a coroutine, runs beside it. Returns the check's reason and result."""

    async def main():
        async with serve(chat_handler({}), "127.0.0.1", 0) as server:
            port = server.sockets[0].getsockname()[1]
            args = chat_cli.build_parser().parse_args(
                argv[:1] + ["--url", f"http://127.0.0.1:{port}", "--host", "localhost"] + argv[1:])
            result = {}
            reason, dummy = await asyncio.gather(check(args, result), meanwhile(port) if meanwhile else asyncio.sleep(0))
            return reason, result

    return asyncio.run(main())


def test_listen_reports_what_the_room_was_sent():
    async def scheduler(port):
        await asyncio.sleep(0.3)  # the listener has joined the room
        async with connect(f"ws://127.0.0.1:{port}/ws/chat/lobby/") as sender:
            for n in range(2):
                await sender.send(json.dumps({"message": f"heartbeat {n}"}))
            await sender.recv()  # its own two come back: both were broadcast
            await sender.recv()

    reason, result = on_chat_server(chat_checks.check_listen, ["listen", "--room", "lobby", "--seconds", "1"], scheduler)
    assert reason is None
    assert result["messages"] == ["heartbeat 0", "heartbeat 1"]


def test_load_takes_the_hard_limit_of_open_files(monkeypatch):
    limits = {"now": (1024, 65536)}
    monkeypatch.setattr(resource, "getrlimit", lambda which: limits["now"])
    monkeypatch.setattr(resource, "setrlimit", lambda which, value: limits.update(now=value))
    assert chat_cli.raise_open_files() == 65536
    assert limits["now"] == (65536, 65536)


def test_burst_counts_every_delivery():
    reason, result = on_chat_server(chat_load.check_burst, ["burst", "--clients", "3", "--messages", "2", "--timeout", "5"])
    assert reason is None, result
    assert result["received"] == 3 * 3 * 2 and result["lost"] == 0 and result["clients_complete"] == 3


def test_load_reconnects_the_clients_a_restart_closed():
    # The server closes every WebSocket once, 1 s in (a restart), and refuses the first two
    # attempts to open one again (503); with --reconnect each client opens its connection again
    # and the load goes on.
    rooms = {}
    broadcast = chat_handler(rooms)
    opened = []
    refusals = {"left": 0}

    async def handler(connection):
        opened.append(connection)
        await broadcast(connection)

    def page(connection, request):
        if "Upgrade" not in request.headers:
            return connection.respond(HTTPStatus.OK, "page\n")
        if refusals["left"] > 0:
            refusals["left"] -= 1
            return connection.respond(HTTPStatus.SERVICE_UNAVAILABLE, "restarting\n")
        return None

    async def restart():
        await asyncio.sleep(1.0)
        refusals["left"] = 2
        await asyncio.gather(*(c.close(1012) for c in list(opened)))

    async def main():
        async with serve(handler, "127.0.0.1", 0, process_request=page) as server:
            port = server.sockets[0].getsockname()[1]
            args = chat_cli.build_parser().parse_args(
                ["load", "--url", f"http://127.0.0.1:{port}", "--host", "localhost", "--clients", "4", "--rooms", "2",
                 "--seconds", "3", "--interval", "0.2", "--http-rate", "2", "--drain", "2", "--reconnect"])
            result = {}
            reason, dummy = await asyncio.gather(chat_load.check_load(args, result), restart())
            return reason, result, len(opened)

    reason, result, connections = asyncio.run(main())
    assert reason is None, result
    assert connections == 8 and result["ws_disconnects"] == 4
    assert result["ws_reconnects"] == 4 and result["ws_clients_reconnected"] == 4 and result["ws_not_reconnected"] == 0
    assert 0 < result["ws_reconnect_max_ms"] < 2000
    assert sum(count for dummy, count in result["ws_reconnect_failures"]) == 2
    assert all("503" in reason for reason, dummy in result["ws_reconnect_failures"])
    # Sent while a client was away (or on the way when it closed): lost across the reconnect only.
    assert result["lost"] == 0 and result["received"] > 0


def test_reconnect_losses_tells_a_reconnect_from_a_loss():
    # Messages "RUN ROOM SENDER K WHEN", all sent by client 2 to room 0.
    a, b, c = "r 0 2 0 10.0", "r 0 2 1 20.0", "r 0 2 2 30.0"
    sent_log = [{a: 10.0, b: 20.0, c: 30.0}]
    # Client 0 got a and c; b was sent while it reconnected (19.5-21); client 1 was connected and missed c.
    lost, across, where = chat_load.reconnect_losses(sent_log, [0, 0, 0], [{a, c}, {a, b}, {a, b, c}],
                                                     [[(19.5, 21.0)], [], []])
    assert (lost, across, where) == (1, 1, [None])
    # Client 0 reconnected at 25 s, too late to explain b (20 s): lost, 5 s before that connection ended.
    lost, across, where = chat_load.reconnect_losses(sent_log, [0, 0, 0], [{a, c}, {a, b, c}, {a, b, c}],
                                                     [[(25.0, 25.2)], [], []])
    assert (lost, across, where) == (1, 0, [-5.0])
    # Unless messages sent then took longer than that to arrive: b was on its way when it closed.
    lost, across, where = chat_load.reconnect_losses(sent_log, [0, 0, 0], [{a, c}, {a, b, c}, {a, b, c}],
                                                     [[(25.0, 25.2)], [], []], p99_by_10s=[[10, 900.0], [20, 5500.0]])
    assert (lost, across, where) == (0, 1, [])
    # Measured against the 10 s the message was sent in (start: when the load began).
    lost, across, where = chat_load.reconnect_losses(sent_log, [0, 0, 0], [{a, c}, {a, b, c}, {a, b, c}],
                                                     [[(25.0, 25.2)], [], []], p99_by_10s=[[10, 900.0], [20, 5500.0]],
                                                     start=5.0)
    assert (lost, across, where) == (1, 0, [-5.0])
    # Unless its sender's connection ended just after it sent b: the restart took it.
    lost, across, where = chat_load.reconnect_losses(sent_log, [0, 0, 0], [{a, c}, {a, b, c}, {a, b, c}],
                                                     [[(25.0, 25.2)], [], [(20.4, 20.6)]])
    assert (lost, across, where) == (0, 1, [])
