"""The channels_app role's runworker (roles/channels_app/files/unitchannels_runworker.py): told to
stop, Channels' worker with its class finishes every message it took from the layer and takes no
more; those sent after stay in the layer for the next worker."""

import asyncio
import importlib.util
import os
import signal
import time
from pathlib import Path

import pytest
from channels.layers import InMemoryChannelLayer

SCRIPT = Path(__file__).resolve().parent.parent / "roles" / "channels_app" / "files" / "unitchannels_runworker.py"


def load_script():
    spec = importlib.util.spec_from_file_location("unitchannels_runworker", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


GracefulWorker = load_script().graceful_worker_class()


def slow_app(handled, seconds):
    """A channel consumer that takes `seconds` for each message."""

    async def app(scope, receive, send):
        while True:
            message = await receive()
            await asyncio.sleep(seconds)
            handled.append(message["n"])

    return app


async def send_tasks(layer, numbers):
    for n in numbers:
        await layer.send("tasks", {"type": "task.run", "n": n})


def test_stop_finishes_the_messages_taken_and_leaves_the_rest():
    handled = []

    async def scenario():
        layer = InMemoryChannelLayer()
        worker = GracefulWorker(application=slow_app(handled, 0.2), channels=["tasks"], channel_layer=layer)
        await send_tasks(layer, range(5))
        run = asyncio.ensure_future(worker.arun())
        await asyncio.sleep(0.1)  # all five taken, the first in hand
        os.kill(os.getpid(), signal.SIGTERM)  # as systemd stops it
        await asyncio.sleep(0.05)
        await send_tasks(layer, [5, 6])  # sent while it stops
        started = time.monotonic()
        await asyncio.wait_for(run, 10)
        left = [(await layer.receive("tasks"))["n"] for dummy in range(2)]
        return time.monotonic() - started, left

    seconds, left = asyncio.run(scenario())
    assert handled == [0, 1, 2, 3, 4]
    assert seconds >= 0.6  # it waited for the four behind the one in hand
    assert left == [5, 6]


def test_stop_when_idle_is_immediate():
    async def scenario():
        worker = GracefulWorker(application=slow_app([], 0), channels=["tasks"], channel_layer=InMemoryChannelLayer())
        run = asyncio.ensure_future(worker.arun())
        await asyncio.sleep(0.05)
        started = time.monotonic()
        worker.stop()
        await asyncio.wait_for(run, 5)
        return time.monotonic() - started

    assert asyncio.run(scenario()) < 0.5


def test_a_failing_layer_ends_the_worker_with_its_error():
    class BrokenLayer(InMemoryChannelLayer):
        async def receive(self, channel):
            raise ConnectionError("Redis went away")

    worker = GracefulWorker(application=slow_app([], 0), channels=["tasks"], channel_layer=BrokenLayer())
    with pytest.raises(ConnectionError, match="Redis went away"):
        asyncio.run(asyncio.wait_for(worker.arun(), 5))
