# -*- coding: utf-8 -*-
# Copyright: unitchannels maintainers
# Apache License 2.0 (see LICENSE)

"""The loader NGINX Unit runs (roles/channels_app/files/unitchannels_loader.py), with fake apps."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import asyncio
import gc
import logging
import importlib.util
import os
import sys
import types

import pytest

LOADER = os.path.join(os.path.dirname(__file__), "..", "..", "..", "roles", "channels_app", "files",
                      "unitchannels_loader.py")


class Router:
    """Shaped like Channels' ProtocolTypeRouter: a mapping of scope types, ValueError otherwise."""

    def __init__(self, mapping):
        self.application_mapping = mapping

    async def __call__(self, scope, receive, send):
        if scope["type"] not in self.application_mapping:
            raise ValueError("No application configured for scope type %r" % scope["type"])
        return await self.application_mapping[scope["type"]](scope, receive, send)


def load(monkeypatch, app, fix="false", uvloop="false", **environment):
    """Import a fresh copy of the loader wrapping `app` (as module fakeproject.asgi), with the
    loader's other variables unset but those given in `environment`."""
    module = types.ModuleType("fakeproject_asgi")
    module.application = app
    monkeypatch.setitem(sys.modules, "fakeproject_asgi", module)
    monkeypatch.setenv("UNITCHANNELS_APP", "fakeproject_asgi:application")
    monkeypatch.setenv("UNITCHANNELS_UNIT_134_FIX", fix)
    monkeypatch.setenv("UNITCHANNELS_UVLOOP", uvloop)
    monkeypatch.delenv("UNITCHANNELS_ENV_FILE", raising=False)
    monkeypatch.delenv("DJANGO_SETTINGS_MODULE", raising=False)
    for name in ("UNITCHANNELS_SKIP_IDLE_DB_CLOSE", "UNITCHANNELS_GC_THRESHOLD"):
        monkeypatch.delenv(name, raising=False)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    spec = importlib.util.spec_from_file_location("unitchannels_loader_under_test", LOADER)
    loader = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(loader)
    return loader


def run(loader, scope, incoming):
    """Run the loader's application on scope; return what it sent. receive() pops `incoming`
    and, like Unit, raises once the app has closed the WebSocket itself."""
    sent, state = [], {"closed": False}

    async def receive():
        if state["closed"]:
            raise RuntimeError("WebSocket already closed")
        if not incoming:
            raise AssertionError("the app asked for a message the test did not plan")
        return incoming.pop(0)

    async def send(message):
        sent.append(message)
        if message["type"] == "websocket.close":
            state["closed"] = True

    asyncio.run(loader.application(scope, receive, send))
    return sent


async def closing_consumer(scope, receive, send):
    """Like a Channels consumer that refuses the socket: close, then receive until disconnect."""
    assert (await receive())["type"] == "websocket.connect"
    await send({"type": "websocket.close", "code": 4003})
    message = await receive()
    assert message == {"type": "websocket.disconnect", "code": 4003}


def test_lifespan_answered_for_a_router_without_lifespan(monkeypatch):
    loader = load(monkeypatch, Router({"http": None}))
    sent = run(loader, {"type": "lifespan"}, [{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}])
    assert sent == [{"type": "lifespan.startup.complete"}, {"type": "lifespan.shutdown.complete"}]


def test_lifespan_passed_to_a_router_that_handles_it(monkeypatch):
    seen = []

    async def lifespan(scope, receive, send):
        seen.append((await receive())["type"])
        await send({"type": "lifespan.startup.failed", "message": "app says no"})

    loader = load(monkeypatch, Router({"lifespan": lifespan}))
    sent = run(loader, {"type": "lifespan"}, [{"type": "lifespan.startup"}])
    assert seen == ["lifespan.startup"]
    assert sent == [{"type": "lifespan.startup.failed", "message": "app says no"}]


def test_lifespan_passed_to_a_plain_asgi_callable(monkeypatch):
    async def app(scope, receive, send):
        raise ValueError("plain app refuses lifespan")

    loader = load(monkeypatch, app)
    with pytest.raises(ValueError, match="plain app refuses lifespan"):
        run(loader, {"type": "lifespan"}, [{"type": "lifespan.startup"}])


def test_receive_after_the_app_closed_a_websocket_is_a_disconnect(monkeypatch):
    loader = load(monkeypatch, Router({"websocket": closing_consumer}))
    sent = run(loader, {"type": "websocket"}, [{"type": "websocket.connect"}])
    assert sent == [{"type": "websocket.close", "code": 4003}]


def test_without_the_loader_unit_raises_on_that_receive():
    """The fake receive() behaves as Unit does, so the test above can fail."""
    loader = types.SimpleNamespace(application=closing_consumer)
    with pytest.raises(RuntimeError, match="WebSocket already closed"):
        run(loader, {"type": "websocket"}, [{"type": "websocket.connect"}])


def test_websocket_messages_pass_through_until_the_close(monkeypatch):
    async def echo(scope, receive, send):
        assert (await receive())["type"] == "websocket.connect"
        await send({"type": "websocket.accept"})
        message = await receive()
        await send({"type": "websocket.send", "text": message["text"]})
        assert (await receive())["type"] == "websocket.disconnect"

    loader = load(monkeypatch, echo)
    sent = run(loader, {"type": "websocket"}, [{"type": "websocket.connect"},
                                               {"type": "websocket.receive", "text": "hi"},
                                               {"type": "websocket.disconnect", "code": 1001}])
    assert sent == [{"type": "websocket.accept"}, {"type": "websocket.send", "text": "hi"}]


def test_unit_134_fix_drops_the_stray_request_only_when_on(monkeypatch):
    async def app(scope, receive, send):
        first, second = await receive(), await receive()
        await send({"type": "seen", "types": [first["type"], second["type"]]})

    incoming = [{"type": "http.request", "body": b"a=1", "more_body": False},
                {"type": "http.request", "body": b"", "more_body": False},
                {"type": "http.disconnect"}]
    assert run(load(monkeypatch, app, fix="true"), {"type": "http"}, list(incoming))[0]["types"] == [
        "http.request", "http.disconnect"]
    assert run(load(monkeypatch, app, fix="false"), {"type": "http"}, list(incoming))[0]["types"] == [
        "http.request", "http.request"]


class FakeUvloop(types.ModuleType):
    """Stands for uvloop: its policy makes loops of its own class."""

    class Loop(asyncio.SelectorEventLoop):
        pass

    class EventLoopPolicy(asyncio.DefaultEventLoopPolicy):
        def new_event_loop(self):
            return FakeUvloop.Loop()


async def echo(scope, receive, send):
    await send({"type": "http.response.start", "status": 200, "headers": []})


@pytest.fixture
def restore_policy():
    yield
    asyncio.set_event_loop_policy(None)


def test_uvloop_policy_makes_the_loops_the_app_runs_on(monkeypatch, restore_policy):
    monkeypatch.setitem(sys.modules, "uvloop", FakeUvloop("uvloop"))
    loader = load(monkeypatch, echo, uvloop="true")
    assert loader.event_loop == "uvloop"
    loop = asyncio.new_event_loop()  # what Unit's module does for each process
    try:
        assert isinstance(loop, FakeUvloop.Loop)
    finally:
        loop.close()


def test_without_uvloop_installed_it_runs_on_asyncio_and_says_so(monkeypatch, restore_policy, caplog):
    monkeypatch.setitem(sys.modules, "uvloop", None)  # import uvloop raises ImportError
    loader = load(monkeypatch, echo, uvloop="true")
    assert loader.event_loop == "asyncio"
    assert "uvloop is not installed" in caplog.text
    assert not isinstance(asyncio.get_event_loop_policy(), FakeUvloop.EventLoopPolicy)


def test_uvloop_off_leaves_the_policy_alone(monkeypatch, restore_policy):
    monkeypatch.setitem(sys.modules, "uvloop", FakeUvloop("uvloop"))
    loader = load(monkeypatch, echo, uvloop="false")
    assert loader.event_loop == "asyncio"
    assert not isinstance(asyncio.get_event_loop_policy(), FakeUvloop.EventLoopPolicy)


def test_django_is_set_up_before_the_app_is_imported(monkeypatch, tmp_path):
    """An asgi.py that imports its models before get_asgi_application() (fine under runserver,
    which sets Django up first) finds the app registry ready under Unit too."""
    events = []
    django = types.ModuleType("django")
    django.setup = lambda set_prefix=True: events.append(("setup", set_prefix))
    monkeypatch.setitem(sys.modules, "django", django)
    monkeypatch.setitem(sys.modules, "loader_test_events", types.SimpleNamespace(log=events))
    (tmp_path / "models_first_asgi.py").write_text(
        "import loader_test_events\n"
        "loader_test_events.log.append('app imported')\n"
        "async def application(scope, receive, send):\n    pass\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("UNITCHANNELS_APP", "models_first_asgi")
    monkeypatch.setenv("DJANGO_SETTINGS_MODULE", "chatsite.settings")
    monkeypatch.delenv("UNITCHANNELS_ENV_FILE", raising=False)
    spec = importlib.util.spec_from_file_location("unitchannels_loader_django", LOADER)
    loader = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(loader)
    assert events == [("setup", False), "app imported"]
    assert loader.django_set_up is True


def test_no_django_setup_without_settings_module(monkeypatch):
    calls = []
    django = types.ModuleType("django")
    django.setup = lambda set_prefix=True: calls.append(set_prefix)
    monkeypatch.setitem(sys.modules, "django", django)

    async def app(scope, receive, send):
        pass
    loader = load(monkeypatch, app)
    assert calls == [] and loader.django_set_up is False


@pytest.fixture
def layer_logger():
    """channels-redis's logger, restored after the test."""
    drops = logging.getLogger("channels_redis.core")
    saved = (list(drops.handlers), drops.level)
    drops.handlers.clear()
    yield drops
    drops.handlers[:] = saved[0]
    drops.setLevel(saved[1])


def test_dropped_group_messages_show_in_units_log(monkeypatch, layer_logger, capsys):
    # As in an app process that does not configure logging: no handler on the way up (pytest's
    # own capture handler on the root logger set aside).
    monkeypatch.setattr(logging.getLogger(), "handlers", [])
    loader = load(monkeypatch, Router({}))
    assert loader.reporting_layer_drops is True
    # What channels-redis logs when a group message finds receivers' queues full.
    layer_logger.info("%s of %s channels over capacity in group %s", 3, 10, "chat_lobby")
    layer_logger.info("another INFO line of the library")
    assert capsys.readouterr().err == "channels_redis.core: 3 of 10 channels over capacity in group chat_lobby\n"


def test_an_app_that_routes_the_layers_logger_keeps_its_own_choice(monkeypatch, layer_logger, capsys):
    layer_logger.addHandler(logging.NullHandler())
    loader = load(monkeypatch, Router({}))
    assert loader.reporting_layer_drops is False
    layer_logger.info("%s of %s channels over capacity in group %s", 3, 10, "chat_lobby")
    assert capsys.readouterr().err == ""


@pytest.fixture
def restore_gc():
    saved = gc.get_threshold()
    yield
    gc.set_threshold(*saved)


def test_gc_threshold_from_the_environment(monkeypatch, restore_gc):
    loader = load(monkeypatch, Router({}), UNITCHANNELS_GC_THRESHOLD="20000,20,20")
    assert loader.gc_threshold == (20000, 20, 20)
    assert gc.get_threshold() == (20000, 20, 20)


def test_gc_threshold_unset_leaves_pythons(monkeypatch, restore_gc):
    before = gc.get_threshold()
    loader = load(monkeypatch, Router({}))
    assert loader.gc_threshold == before
    assert gc.get_threshold() == before


@pytest.mark.parametrize("value", ["lots", "0,10,10", "1,2,3,4", "700,,10"])
def test_a_bad_gc_threshold_stops_the_app_start_and_names_the_variable(monkeypatch, restore_gc, value):
    before = gc.get_threshold()
    with pytest.raises(RuntimeError, match="UNITCHANNELS_GC_THRESHOLD=.*one to three positive integers"):
        load(monkeypatch, Router({}), UNITCHANNELS_GC_THRESHOLD=value)
    assert gc.get_threshold() == before


def test_db_close_left_to_channels_without_django(monkeypatch):
    # On without DJANGO_SETTINGS_MODULE: nothing to patch (tests/test_loader_db_close.py runs
    # it with Django and Channels).
    loader = load(monkeypatch, Router({}), UNITCHANNELS_SKIP_IDLE_DB_CLOSE="true")
    assert loader.skipping_idle_db_close is False
