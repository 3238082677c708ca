"""The loader's item 8 with real Django and Channels: Channels' consumers call
close_old_connections() in Django's sync thread before every message; under the loader that
hop happens only while a database connection is open, and still closes what it must."""

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

LOADER_DIR = Path(__file__).resolve().parent.parent / "roles" / "channels_app" / "files"

# Runs in a process of its own (Django is set up once per process): dispatches consumer messages
# through Channels' own AsyncConsumer.dispatch and prints how often close_old_connections ran.
SCENARIO = textwrap.dedent("""
    import asyncio, json, sys
    import unitchannels_loader
    import channels.db
    from channels.consumer import AsyncConsumer
    from asgiref.sync import sync_to_async
    from channels.db import database_sync_to_async
    from django.db import connection

    hops = []
    real_close = channels.db.close_old_connections

    def counting_close():
        hops.append(1)
        real_close()

    channels.db.close_old_connections = counting_close

    class Chat(AsyncConsumer):
        async def chat_message(self, message):
            pass

    async def dispatch(count):
        del hops[:]
        consumer = Chat()
        for dummy in range(count):
            await consumer.dispatch({"type": "chat.message"})
        return len(hops)

    async def scenario():
        figures = {"patched": unitchannels_loader.skipping_idle_db_close}
        figures["no connection"] = await dispatch(50)
        # A consumer's ORM call opens the sync thread's connection (kept: CONN_MAX_AGE None).
        await database_sync_to_async(lambda: connection.ensure_connection())()
        figures["connection open"] = await dispatch(5)
        # Plain sync_to_async: Django's sync thread, without database_sync_to_async's own cleanup.
        figures["open after"] = await sync_to_async(lambda: connection.connection is not None)()
        # An unusable connection is what close_old_connections is for: the next message closes it.

        def break_connection():
            connection.errors_occurred = True
            connection.is_usable = lambda: False

        await sync_to_async(break_connection)()
        figures["broken"] = await dispatch(1)
        figures["closed by the hop"] = await sync_to_async(lambda: connection.connection is None)()
        figures["after close"] = await dispatch(50)
        print(json.dumps(figures))

    asyncio.run(scenario())
""")

SETTINGS = textwrap.dedent("""
    SECRET_KEY = "test"
    INSTALLED_APPS = ["channels"]
    import os
    # A file: Django never closes an in-memory SQLite database.
    DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": os.environ["HOP_DB"], "CONN_MAX_AGE": None}}
    USE_TZ = True
""")


def run_scenario(tmp_path, skip):
    (tmp_path / "hopsettings.py").write_text(SETTINGS)
    (tmp_path / "hopasgi.py").write_text("async def application(scope, receive, send):\n    pass\n")
    (tmp_path / "scenario.py").write_text(SCENARIO)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(LOADER_DIR), str(tmp_path)]),
               DJANGO_SETTINGS_MODULE="hopsettings", UNITCHANNELS_APP="hopasgi:application",
               UNITCHANNELS_SKIP_IDLE_DB_CLOSE=skip, HOP_DB=str(tmp_path / "db.sqlite3"))
    env.pop("UNITCHANNELS_ENV_FILE", None)
    env.pop("UNITCHANNELS_GC_THRESHOLD", None)
    done = subprocess.run([sys.executable, str(tmp_path / "scenario.py")], env=env, capture_output=True,
                          text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_no_hop_without_an_open_connection_and_the_cleanup_when_one_is(tmp_path):
    figures = run_scenario(tmp_path, "true")
    assert figures == {"patched": True, "no connection": 0, "connection open": 5, "open after": True,
                       "broken": 1, "closed by the hop": True, "after close": 0}


def test_channels_own_behaviour_when_turned_off(tmp_path):
    figures = run_scenario(tmp_path, "false")
    assert figures["patched"] is False
    assert figures["no connection"] == 50  # one hop per message: what the loader saves
    assert figures["closed by the hop"] is True
