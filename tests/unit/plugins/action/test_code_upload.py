# -*- coding: utf-8 -*-
# Copyright: unitchannels maintainers
# Apache License 2.0 (see LICENSE)

"""code_upload: what the controller packs (the transfer and the unpacking are ansible-core's)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import io
import tarfile

import pytest

from ansible.errors import AnsibleActionFail
from ansible_collections.unitchannels.deploy.plugins.action import code_upload

EXCLUDES = ['__pycache__', '*.pyc', '.git']


@pytest.fixture
def code(app_code):
    return app_code


def packed(root, excludes):
    buffer = io.BytesIO()
    count = code_upload.pack(str(root), excludes, buffer)
    buffer.seek(0)
    with tarfile.open(fileobj=buffer, mode='r:gz') as archive:
        return count, dict((member.name, member) for member in archive.getmembers())


def test_the_content_relative_to_the_directory_without_what_is_excluded(code):
    count, members = packed(code, EXCLUDES)
    assert sorted(members) == ['.env.example', 'chat', 'chat/views.py', 'link.py', 'manage.py', 'static']
    assert count == 3  # regular files: .env.example, views.py and manage.py


def test_modes_and_links_are_kept(code):
    dummy, members = packed(code, EXCLUDES)
    assert members['manage.py'].mode & 0o777 == 0o755
    assert members['link.py'].issym() and members['link.py'].linkname == 'manage.py'
    assert members['static'].isdir()


def test_without_excludes_everything_goes(code):
    dummy, members = packed(code, [])
    assert '.git/HEAD' in members and 'chat/__pycache__/views.cpython-311.pyc' in members


class FakeTask(object):
    def __init__(self, args, check_mode=False):
        self.args = args
        self.check_mode = check_mode
        self.async_val = False
        self.environment = None
        self.become = False
        self.delegate_to = None


def action(args, check_mode=False):
    plugin = code_upload.ActionModule.__new__(code_upload.ActionModule)
    plugin._task = FakeTask(args, check_mode)
    plugin._supports_check_mode = True
    plugin._supports_async = False
    return plugin


@pytest.mark.parametrize('args, message', [
    (dict(dest='/srv/x'), 'src'),
    (dict(src='/nonexistent-code-dir', dest='/srv/x'), '/nonexistent-code-dir is not a directory on the controller'),
])
def test_bad_input_is_named_before_anything_is_sent(monkeypatch, args, message):
    plugin = action(args)
    monkeypatch.setattr(code_upload.ActionBase, 'run', lambda self, tmp=None, task_vars=None: {})
    with pytest.raises(AnsibleActionFail, match=message):
        plugin.run(task_vars={})


def test_check_mode_reports_a_change_and_sends_nothing(monkeypatch, code):
    plugin = action(dict(src=str(code), dest='/srv/x'), check_mode=True)
    monkeypatch.setattr(code_upload.ActionBase, 'run', lambda self, tmp=None, task_vars=None: {})
    monkeypatch.setattr(code_upload.ActionModule, '_transfer_file', lambda *a: pytest.fail('sent in check mode'))
    result = plugin.run(task_vars={})
    assert result['changed'] and 'would send' in result['msg']
