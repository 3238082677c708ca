"""The channels_app role's pre-flight (roles/channels_app/files/unitchannels_preflight.py) against
small real Django Channels projects, run as the deploy runs it: the loader and the script in a lib
directory, the release as the working directory, the app's environment."""

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

FILES = Path(__file__).resolve().parent.parent / "roles" / "channels_app" / "files"

SETTINGS = """
SECRET_KEY = "preflight-test"
DEBUG = False
ALLOWED_HOSTS = ["localhost"]
INSTALLED_APPS = ["django.contrib.contenttypes", "django.contrib.auth", "notes"]
ROOT_URLCONF = "site_app.urls"
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}}
CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
STATIC_URL = "/static/"
"""
URLS = """
from django.http import HttpResponse
from django.urls import path
urlpatterns = [path("ok/", lambda request: HttpResponse("ok"))]
"""
CONSUMER = """
from channels.generic.websocket import AsyncWebsocketConsumer
class Health(AsyncWebsocketConsumer):
    async def connect(self):
        await self.channel_layer.group_add("health", self.channel_name)
        await self.accept()
"""
ASGI_TUTORIAL = """
import os
from channels.routing import ProtocolTypeRouter, URLRouter
from channels.security.websocket import AllowedHostsOriginValidator
from django.core.asgi import get_asgi_application
from django.urls import path
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "site_app.settings")
django_asgi_app = get_asgi_application()
from notes.consumers import Health  # noqa: E402
application = ProtocolTypeRouter({
    "http": django_asgi_app,
    "websocket": AllowedHostsOriginValidator(URLRouter([path("ws/health/", Health.as_asgi())])),
})
"""
# Written for runserver: the routing (and so the models) imported before get_asgi_application().
ASGI_MODELS_FIRST = """
import os
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "site_app.settings")
from notes.models import Note  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter
from django.core.asgi import get_asgi_application
from django.urls import path
from notes.consumers import Health
application = ProtocolTypeRouter({
    "http": get_asgi_application(),
    "websocket": URLRouter([path("ws/health/", Health.as_asgi())]),
})
"""
MODELS = """
from django.db import models
class Note(models.Model):
    text = models.TextField()
"""


def project(tmp_path, asgi=ASGI_TUTORIAL, settings=SETTINGS):
    """A release directory and a lib directory holding the loader and the pre-flight."""
    release, lib = tmp_path / "release", tmp_path / "lib"
    for folder, files in {
        "site_app": {"__init__.py": "", "settings.py": settings, "urls.py": URLS, "asgi.py": asgi,
                     "wsgi.py": "from django.core.wsgi import get_wsgi_application\napplication = get_wsgi_application()\n"},
        "notes": {"__init__.py": "", "models.py": MODELS, "consumers.py": CONSUMER},
    }.items():
        (release / folder).mkdir(parents=True)
        for name, text in files.items():
            (release / folder / name).write_text(textwrap.dedent(text))
    lib.mkdir()
    for name in ("unitchannels_loader.py", "unitchannels_preflight.py"):
        shutil.copy(FILES / name, lib / name)
    return release, lib


def preflight(release, lib, *args, app="site_app.asgi:application"):
    env = {"PATH": os.environ["PATH"], "DJANGO_SETTINGS_MODULE": "site_app.settings", "UNITCHANNELS_APP": app,
           "UNITCHANNELS_UNIT_134_FIX": "false", "UNITCHANNELS_UVLOOP": "false"}
    return subprocess.run([sys.executable, str(lib / "unitchannels_preflight.py"), "--host", "localhost",
                           "--static-url", "/static/", *args],
                          cwd=release, env=env, capture_output=True, text=True, timeout=60, check=False)


def test_a_release_that_serves_passes_every_check(tmp_path):
    run = preflight(*project(tmp_path), "--health-path", "/ok/", "--health-ws-path", "/ws/health/")
    assert run.returncode == 0, run.stderr
    assert '"channel_layer": "channels.layers.InMemoryChannelLayer"' in run.stdout
    assert '"health_path": "resolved"' in run.stdout and '"websocket": "accepted"' in run.stdout


def test_an_asgi_module_that_imports_its_models_first_passes(tmp_path):
    run = preflight(*project(tmp_path, asgi=ASGI_MODELS_FIRST), "--health-path", "/ok/",
                    "--health-ws-path", "/ws/health/")
    assert run.returncode == 0, run.stderr


def test_a_websocket_health_path_the_app_does_not_route_names_the_variable(tmp_path):
    run = preflight(*project(tmp_path), "--health-path", "/ok/", "--health-ws-path", "/ws/chat/health/")
    assert run.returncode == 1
    first = run.stderr.splitlines()[0]
    assert first.startswith("Pre-flight (websocket): channels_app_health_ws_path /ws/chat/health/ is not a "
                            "WebSocket route of the app (Channels: No route found for path 'ws/chat/health/'")
    assert 'or to "" to turn the WebSocket probe off' in first


def test_an_http_health_path_outside_the_urlconf_names_the_variable(tmp_path):
    run = preflight(*project(tmp_path), "--health-path", "/ok")
    assert run.returncode == 1
    assert run.stderr.startswith("Pre-flight (health path): channels_app_health_path /ok is not a URL of the app")
    assert "(/ok/ is: Django answers /ok with a redirect)" in run.stderr


@pytest.mark.parametrize("path,statuses", [("/static/app.css", []), ("/nothing/", ["--health-status", "404"])])
def test_a_path_unit_serves_or_an_expected_404_is_not_resolved(tmp_path, path, statuses):
    run = preflight(*project(tmp_path), "--health-path", path, *statuses)
    assert run.returncode == 0 and '"health_path": "not checked"' in run.stdout, run.stderr


def test_a_layer_backend_that_is_not_installed_says_what_to_add(tmp_path):
    settings = SETTINGS.replace("channels.layers.InMemoryChannelLayer", "channels_redis_missing.core.RedisChannelLayer")
    run = preflight(*project(tmp_path, settings=settings), "--health-path", "/ok/")
    assert run.returncode == 1
    assert run.stderr.startswith("Pre-flight (channel layer): the channel layer channels_redis_missing.core."
                                 "RedisChannelLayer cannot be used:")
    assert "Add channels-redis to the app's requirements" in run.stderr


def test_an_app_that_does_not_import_shows_the_cause_first_then_the_traceback(tmp_path):
    release, lib = project(tmp_path, asgi=ASGI_TUTORIAL + "\nraise RuntimeError('broken on purpose')\n")
    run = preflight(release, lib)
    assert run.returncode == 1
    assert run.stderr.startswith("Pre-flight (import): the ASGI application site_app.asgi:application does not "
                                 "import: RuntimeError: broken on purpose.")
    assert "Traceback (most recent call last)" in run.stderr


def test_a_wsgi_application_is_refused(tmp_path):
    run = preflight(*project(tmp_path), app="site_app.wsgi:application")
    assert run.returncode == 1
    assert "is a WSGI application (environ, start_response), not an ASGI one" in run.stderr.splitlines()[0]
