# chat/tests.py
"""Tests of the chat project that need no browser, server or Redis.

    DJANGO_SECRET_KEY=test python manage.py test

They drive the ASGI application in-process with asgiref's ApplicationCommunicator
(channels.testing would import daphne, which is not a requirement here).
"""

import asyncio
import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

from asgiref.testing import ApplicationCommunicator
from django.core.exceptions import ImproperlyConfigured
from django.test import SimpleTestCase, TestCase, override_settings

from mysite.env import database_from_url, secret_key

PROJECT_DIR = Path(__file__).resolve().parent.parent


def _load_unit_asgi_compat():
    """The loader NGINX Unit runs: next to the project in the repo, or in ROOT/lib on a server."""
    candidates = [PROJECT_DIR.parent / "unitchannels_loader.py",
                  PROJECT_DIR.parent.parent / "lib" / "unitchannels_loader.py"]
    candidate = next((path for path in candidates if path.is_file()), None)
    if candidate is None:
        return None
    spec = importlib.util.spec_from_file_location("unitchannels_loader", candidate)
    saved = {name: os.environ.get(name) for name in ("UNITCHANNELS_APP", "UNITCHANNELS_UNIT_134_FIX")}
    os.environ.update(UNITCHANNELS_APP="mysite.asgi:application", UNITCHANNELS_UNIT_134_FIX="true")
    try:
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
    return module


def _ws_scope(path, origin="http://localhost"):
    headers = [(b"host", b"localhost")]
    if origin is not None:
        headers.append((b"origin", origin.encode("latin1")))
    return {
        "type": "websocket",
        "asgi": {"version": "3.0"},
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "headers": headers,
        "scheme": "ws",
        "server": ("127.0.0.1", 80),
        "client": ("127.0.0.1", 50000),
        "subprotocols": [],
    }


class WebSocketClient:
    """Minimal WebSocket client for an in-process ASGI application."""

    def __init__(self, application, path, origin="http://localhost"):
        self.communicator = ApplicationCommunicator(application, _ws_scope(path, origin))

    async def connect(self):
        await self.communicator.send_input({"type": "websocket.connect"})
        return (await self.communicator.receive_output(5))["type"] == "websocket.accept"

    async def send_message(self, text):
        await self.communicator.send_input(
            {"type": "websocket.receive", "text": json.dumps({"message": text})}
        )

    async def receive_message(self, timeout=5):
        output = await self.communicator.receive_output(timeout)
        assert output["type"] == "websocket.send", output
        return json.loads(output["text"])

    async def nothing_received(self, timeout=0.3):
        return await self.communicator.receive_nothing(timeout)

    async def close(self):
        await self.communicator.send_input({"type": "websocket.disconnect", "code": 1000})
        await self.communicator.wait(5)


class EnvironmentTests(SimpleTestCase):
    def test_secret_key_required(self):
        env = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_SECRET_KEY")}
        env["DJANGO_SETTINGS_MODULE"] = "mysite.settings"
        result = subprocess.run(
            [sys.executable, "manage.py", "check"],
            cwd=PROJECT_DIR,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,  # the test reads the return code itself
        )
        self.assertNotEqual(result.returncode, 0)
        self.assertIn("ImproperlyConfigured: DJANGO_SECRET_KEY is not set", result.stderr)

    def test_secret_key_file(self):
        import tempfile

        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "secret"
            path.write_text("s3cret-from-file\n", encoding="utf-8")
            with _environ(DJANGO_SECRET_KEY=None, DJANGO_SECRET_KEY_FILE=str(path)):
                self.assertEqual(secret_key(), "s3cret-from-file")
            with _environ(DJANGO_SECRET_KEY=None, DJANGO_SECRET_KEY_FILE=str(path) + ".missing"):
                with self.assertRaisesMessage(ImproperlyConfigured, "cannot be read"):
                    secret_key()
            with _environ(DJANGO_SECRET_KEY="x", DJANGO_SECRET_KEY_FILE=str(path)):
                with self.assertRaisesMessage(ImproperlyConfigured, "set only one"):
                    secret_key()

    def test_database_urls(self):
        db = database_from_url("sqlite:////var/lib/chat/db.sqlite3", Path("/data"))
        self.assertEqual(db["ENGINE"], "django.db.backends.sqlite3")
        self.assertEqual(db["NAME"], "/var/lib/chat/db.sqlite3")
        self.assertEqual(
            database_from_url("sqlite:///x.sqlite3", Path("/data"))["NAME"], "/data/x.sqlite3"
        )
        self.assertEqual(database_from_url("sqlite://:memory:", Path("/data"))["NAME"], ":memory:")
        pg = database_from_url(
            "postgres://u%40x:p%3Aw@db.example:5433/chat?sslmode=require", Path("/")
        )
        self.assertEqual(
            (pg["ENGINE"], pg["USER"], pg["PASSWORD"], pg["HOST"], pg["PORT"], pg["NAME"]),
            ("django.db.backends.postgresql", "u@x", "p:w", "db.example", "5433", "chat"),
        )
        self.assertEqual(pg["OPTIONS"], {"sslmode": "require"})
        with self.assertRaises(ImproperlyConfigured):
            database_from_url("oracle://db/x", Path("/"))


class _environ:
    """Set (value) or remove (None) environment variables for a block."""

    def __init__(self, **values):
        self.values = values
        self.saved = {}

    def __enter__(self):
        for name, value in self.values.items():
            self.saved[name] = os.environ.get(name)
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value

    def __exit__(self, *exc):
        for name, value in self.saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@override_settings(ALLOWED_HOSTS=["localhost", "testserver"])
class PageTests(TestCase):
    def test_index_and_room(self):
        for url in ("/", "/chat/", "/chat/lobby/"):
            response = self.client.get(url)
            self.assertEqual(response.status_code, 200, url)
            self.assertContains(response, 'href="/static/chat/site.css"')
        self.assertContains(self.client.get("/"), 'id="room-name-input"')
        room = self.client.get("/chat/lobby/")
        for dom_id in ("chat-log", "chat-message-input", "chat-message-submit"):
            self.assertContains(room, f'id="{dom_id}"')
        self.assertContains(room, "window.location.protocol === 'https:'")

    def test_healthz(self):
        response = self.client.get("/healthz/")
        self.assertEqual(response.status_code, 200)
        self.assertEqual(response.json()["status"], "ok")


@override_settings(
    ALLOWED_HOSTS=["localhost"],
    CHANNEL_LAYERS={"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}},
)
class ChatConsumerTests(SimpleTestCase):
    def setUp(self):
        from channels.layers import channel_layers

        channel_layers.backends.clear()  # a fresh in-memory layer per test
        from mysite.asgi import application

        self.application = application

    def test_broadcast_within_room_only(self):
        async def scenario():
            alice = WebSocketClient(self.application, "/ws/chat/lobby/")
            bob = WebSocketClient(self.application, "/ws/chat/lobby/")
            carol = WebSocketClient(self.application, "/ws/chat/kitchen/")
            for client in (alice, bob, carol):
                self.assertTrue(await client.connect())
            await alice.send_message("hello")
            self.assertEqual(await alice.receive_message(), {"message": "hello"})
            self.assertEqual(await bob.receive_message(), {"message": "hello"})
            self.assertTrue(await carol.nothing_received())
            for client in (alice, bob, carol):
                await client.close()

        asyncio.run(scenario())

    def test_foreign_origin_rejected(self):
        async def scenario():
            for origin in ("http://evil.example", None):
                client = WebSocketClient(self.application, "/ws/chat/lobby/", origin=origin)
                self.assertFalse(await client.connect(), origin)

        asyncio.run(scenario())


@override_settings(ALLOWED_HOSTS=["localhost"])
class UnitAsgiCompatTests(SimpleTestCase):
    """The NGINX Unit 1.34 wrapper: a POST followed by Unit's extra empty http.request."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.compat = _load_unit_asgi_compat()

    def setUp(self):
        if self.compat is None:
            self.skipTest("unitchannels_loader.py is not next to the project")

    def _post_like_unit_1_34(self, application):
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "POST",
            "scheme": "http",
            "path": "/chat/",
            "raw_path": b"/chat/",
            "query_string": b"",
            "root_path": "",
            "headers": [
                (b"host", b"localhost"),
                (b"content-type", b"application/x-www-form-urlencoded"),
                (b"content-length", b"7"),
            ],
            "server": ("127.0.0.1", 80),
            "client": ("127.0.0.1", 50000),
        }

        async def scenario():
            communicator = ApplicationCommunicator(application, scope)
            await communicator.send_input(
                {"type": "http.request", "body": b"a=1", "more_body": True}
            )
            await communicator.send_input(
                {"type": "http.request", "body": b"&b=2", "more_body": False}
            )
            # What NGINX Unit 1.34.x sends on top:
            await communicator.send_input({"type": "http.request", "body": b"", "more_body": False})
            start = await communicator.receive_output(5)
            await communicator.wait(5)
            return start

        return asyncio.run(scenario())

    def test_post_works_through_wrapper(self):
        start = self._post_like_unit_1_34(self.compat.application)
        self.assertEqual(start["type"], "http.response.start")
        # No CSRF token, so Django answers 403: the request reached the view layer.
        self.assertEqual(start["status"], 403)

    def test_post_fails_without_wrapper(self):
        # Documents the bug the wrapper exists for (Django 5.x on Unit 1.34.x).
        from mysite.asgi import application

        with self.assertRaisesMessage(AssertionError, "Invalid ASGI message after request body"):
            self._post_like_unit_1_34(application)

    def test_websocket_and_lifespan_untouched(self):
        async def scenario():
            client = WebSocketClient(self.compat.application, "/ws/chat/lobby/")
            self.assertTrue(await client.connect())
            await client.close()
            lifespan = ApplicationCommunicator(
                self.compat.application, {"type": "lifespan", "asgi": {"version": "3.0"}}
            )
            await lifespan.send_input({"type": "lifespan.startup"})
            self.assertEqual(
                (await lifespan.receive_output(5))["type"], "lifespan.startup.complete"
            )
            await lifespan.send_input({"type": "lifespan.shutdown"})
            self.assertEqual(
                (await lifespan.receive_output(5))["type"], "lifespan.shutdown.complete"
            )

        asyncio.run(scenario())

    def test_receive_filter(self):
        messages = [
            {"type": "http.request", "body": b"x", "more_body": False},
            {"type": "http.request", "body": b"", "more_body": False},
            {"type": "http.disconnect"},
        ]

        async def receive():
            return messages.pop(0)

        async def scenario():
            wrapped = self.compat.wrap_receive(receive)
            return [await wrapped(), await wrapped()]

        first, second = asyncio.run(scenario())
        self.assertEqual(first["body"], b"x")
        self.assertEqual(second, {"type": "http.disconnect"})
