"""Fixtures of the NGINX Unit stand-in's tests (helpers: standin_helpers.py)."""

import os
import shutil
import tempfile
from pathlib import Path

import pytest

from standin_helpers import Broadcast, Unit, module_python


@pytest.fixture
def workdir():
    d = tempfile.mkdtemp(prefix="unit-standin-test.")
    os.chmod(d, 0o755)
    yield Path(d)
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture
def unit(workdir):
    short, dummy = module_python()
    u = Unit(workdir, short).start()
    yield u
    u.stop()
    assert not u.children(), "application processes left behind"


@pytest.fixture
def broadcast():
    b = Broadcast()
    yield b
    b.shutdown()
    b.server_close()
