# -*- coding: utf-8 -*-

# Copyright: unitchannels maintainers
# Apache License 2.0 (see LICENSE)

"""pytest set-up for the collection's unit tests.

Run from the repository root with ``python -m pytest tests/unit``; nothing has
to be installed.  The checkout is made importable as
``ansible_collections.unitchannels.deploy`` through a temporary directory
holding ``ansible_collections/unitchannels/deploy`` -> repository root.  (When
the checkout already lives in such a tree, as under ansible-test, that is used.)
"""

from __future__ import absolute_import, division, print_function

import atexit
import json
import os
import shutil
import sys
import tempfile

import pytest

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _make_collection_importable():
    parts = REPO_ROOT.split(os.sep)
    if len(parts) >= 3 and parts[-3:-1] == ['ansible_collections', 'unitchannels'] and parts[-1] == 'deploy':
        root = os.sep.join(parts[:-3])
    else:
        root = tempfile.mkdtemp(prefix='unitchannels-collections-')
        ns = os.path.join(root, 'ansible_collections', 'unitchannels')
        os.makedirs(ns)
        os.symlink(REPO_ROOT, os.path.join(ns, 'deploy'))
        atexit.register(shutil.rmtree, root, True)
    if root not in sys.path:
        sys.path.insert(0, root)


_make_collection_importable()

from ansible.module_utils import basic  # noqa: E402

from ansible_collections.unitchannels.deploy.tests.unit.fakeunit import FakeUnit, Recorded  # noqa: E402


class AnsibleExitJson(Exception):
    """exit_json was called."""


class AnsibleFailJson(Exception):
    """fail_json was called."""


def _exit_json(self, **kwargs):
    kwargs.setdefault('changed', False)
    kwargs.setdefault('failed', False)
    raise AnsibleExitJson(kwargs)


def _fail_json(self, msg, **kwargs):
    kwargs['failed'] = True
    kwargs['msg'] = msg
    raise AnsibleFailJson(kwargs)


@pytest.fixture
def run_module(monkeypatch):
    """run_module(module, args, check_mode=False, diff=False) -> result dict.

    Injects the arguments the way ansible-core 2.19 modules read them
    (basic._ANSIBLE_ARGS plus the serialization profile) and turns
    exit_json/fail_json into a returned result (``failed`` tells which).
    """
    monkeypatch.setattr(basic.AnsibleModule, 'exit_json', _exit_json)
    monkeypatch.setattr(basic.AnsibleModule, 'fail_json', _fail_json)

    def run(module, args, check_mode=False, diff=False):
        args = dict(args)
        args.update(_ansible_check_mode=check_mode, _ansible_diff=diff,
                    _ansible_remote_tmp=tempfile.gettempdir(), _ansible_keep_remote_files=False)
        monkeypatch.setattr(basic, '_ANSIBLE_ARGS', json.dumps({'ANSIBLE_MODULE_ARGS': args}).encode('utf-8'))
        monkeypatch.setattr(basic, '_ANSIBLE_PROFILE', 'legacy', raising=False)
        try:
            module.main()
        except AnsibleExitJson as e:
            return e.args[0]
        except AnsibleFailJson as e:
            return e.args[0]
        raise AssertionError('module returned without calling exit_json or fail_json')

    return run


@pytest.fixture
def recorded():
    return Recorded.load()


@pytest.fixture
def workdir():
    # short path: unix socket paths are limited to ~108 bytes
    d = tempfile.mkdtemp(prefix='unit-')
    yield d
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture
def fake(workdir, recorded):
    """A fake Unit control socket (fresh-install configuration), already serving."""
    f = FakeUnit(workdir, recorded)
    f.serve_unix()
    yield f
    f.stop()


@pytest.fixture
def unit_args(fake):
    """Connection arguments for the modules: the fake socket and its log file."""
    return dict(socket=fake.socket_path, timeout=5)


@pytest.fixture
def app_code(tmp_path):
    """An app's code on the controller, with what a release leaves out (caches, .git) and keeps
    (hidden files, an executable, a link, an empty directory)."""
    root = tmp_path / 'mysite'
    (root / 'chat' / '__pycache__').mkdir(parents=True)
    (root / 'chat' / 'views.py').write_text('def index(request): pass\n')
    (root / 'chat' / '__pycache__' / 'views.cpython-311.pyc').write_bytes(b'\0compiled')
    (root / 'chat' / 'old.pyc').write_bytes(b'\0stale')
    (root / '.env.example').write_text('DEBUG=0\n')
    (root / '.git').mkdir()
    (root / '.git' / 'HEAD').write_text('ref: refs/heads/main\n')
    (root / 'manage.py').write_text('#!/usr/bin/env python\n')
    os.chmod(str(root / 'manage.py'), 0o755)
    os.symlink('manage.py', str(root / 'link.py'))
    (root / 'static').mkdir()
    return root


@pytest.fixture
def commands(monkeypatch):
    """commands(fake): every program is found in /usr/bin and run by fake.run_command(argv)."""
    def install(fake):
        monkeypatch.setattr(basic.AnsibleModule, 'get_bin_path', lambda self, name, *a, **k: '/usr/bin/' + name)
        monkeypatch.setattr(basic.AnsibleModule, 'run_command', lambda module, argv, **kwargs: fake.run_command(argv, **kwargs))
        return fake
    return install
