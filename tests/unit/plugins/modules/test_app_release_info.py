# -*- coding: utf-8 -*-
# Copyright: unitchannels maintainers
# Apache License 2.0 (see LICENSE)

"""app_release_info: what an app's root holds, read in one call."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import grp
import os
import pwd
import sys

import pytest

from ansible_collections.unitchannels.deploy.plugins.modules import app_release_info

ME = pwd.getpwuid(os.getuid())
PY = '%d.%d' % sys.version_info[:2]


def b64(text):
    return base64.b64encode(text.encode()).decode()


@pytest.fixture
def root(tmp_path):
    return tmp_path / 'chat'


@pytest.fixture
def read(run_module, root):
    def read(check_mode=False, **args):
        args.setdefault('root', str(root))
        return run_module(app_release_info, args, check_mode=check_mode)
    return read


def release(root, name, complete=True, files=None):
    path = root / 'releases' / name
    path.mkdir(parents=True)
    for file_name, text in (files or {}).items():
        (path / file_name).write_text(text)
    if complete:
        (path / '.release-complete').write_text('')
    return path


def venv(root, name, complete=True, python=PY):
    path = root / 'venvs' / name
    (path / 'bin').mkdir(parents=True)
    if python:
        os.symlink(sys.executable, str(path / 'bin' / ('python' + python)))
    if complete:
        (path / '.venv-complete').write_text('')
    return path


def test_a_root_that_does_not_exist_holds_nothing(read):
    result = read()
    assert not result['failed'] and result['changed'] is False
    assert result['releases'] == {} and result['venvs'] == {}
    assert result['current'] == '' and result['previous'] == ''
    assert result['user'] is None and result['secrets_backups'] == [] and result['paths_exist'] == {}


def test_releases_complete_or_not_with_the_requirements_of_the_complete_ones(read, root):
    done = release(root, 'aaaaaaaaaaaa', files={'requirements.txt': 'channels\n'})
    release(root, 'bbbbbbbbbbbb', complete=False, files={'requirements.txt': 'django\n'})
    (root / 'releases' / 'stray-file').write_text('')  # not a release
    result = read(requirement_files=['requirements.txt', 'constraints.txt'])
    assert sorted(result['releases']) == ['aaaaaaaaaaaa', 'bbbbbbbbbbbb']
    first = result['releases']['aaaaaaaaaaaa']
    assert first['complete'] is True and first['path'] == str(done)
    # The base64 slurp gives, and None for the constraints file the release lacks.
    assert first['requirements'] == [b64('channels\n'), None]
    assert first['mtime'] == os.stat(str(done)).st_mtime
    assert result['releases']['bbbbbbbbbbbb'] == dict(
        path=str(root / 'releases' / 'bbbbbbbbbbbb'), complete=False, requirements=[],
        mtime=os.stat(str(root / 'releases' / 'bbbbbbbbbbbb')).st_mtime)


def test_a_virtualenv_is_complete_with_its_marker_and_a_python_that_runs(read, root):
    venv(root, 'py%s-000000000001' % PY)
    venv(root, 'py%s-000000000002' % PY, complete=False)  # a build that was interrupted
    gone = venv(root, 'py%s-000000000003' % PY)
    os.unlink(str(gone / 'bin' / ('python' + PY)))
    os.symlink(str(gone / 'no-such-python'), str(gone / 'bin' / ('python' + PY)))  # the system's Python went away
    venv(root, 'py3.99-000000000004', python='3.11')  # its name's Python is not in it
    result = read()
    assert {name: v['complete'] for name, v in result['venvs'].items()} == {
        'py%s-000000000001' % PY: True, 'py%s-000000000002' % PY: False,
        'py%s-000000000003' % PY: False, 'py3.99-000000000004': False}


def test_current_and_previous_as_the_links_hold_them(read, root):
    new, old = release(root, 'aaaaaaaaaaaa'), release(root, 'bbbbbbbbbbbb')
    os.symlink(str(new), str(root / 'current'))
    os.symlink(str(old), str(root / 'previous'))
    result = read(check_mode=True)
    assert result['current'] == str(new) and result['previous'] == str(old)


def test_the_user_with_the_name_of_its_primary_group(read):
    result = read(user=ME.pw_name)
    assert result['user'] == dict(name=ME.pw_name, uid=ME.pw_uid, gid=ME.pw_gid, home=ME.pw_dir,
                                  group=grp.getgrgid(ME.pw_gid).gr_name)
    assert read(user='no-such-user-unitchannels')['user'] is None


def test_the_backups_copy_made_of_the_secrets_file_and_nothing_else(read, root):
    shared = root / 'shared'
    shared.mkdir(parents=True)
    for name in ('secrets.json', 'secrets.json.2291.2026-12-02@07:30:11~', 'secrets.json.17.2026-12-01@01:02:03~',
                 'secrets.json.next', 'other.json.1.2026-12-01@01:02:03~'):
        (shared / name).write_text('{}')
    result = read(secrets_file=str(shared / 'secrets.json'))
    assert result['secrets_backups'] == [str(shared / 'secrets.json.17.2026-12-01@01:02:03~'),
                                         str(shared / 'secrets.json.2291.2026-12-02@07:30:11~')]


def test_a_relative_root_is_refused(read):
    result = read(root='srv/chat')
    assert result['failed'] and 'srv/chat is not an absolute path' in result['msg']


def test_whether_further_paths_exist(read, tmp_path):
    hook = tmp_path / 'hook'
    hook.write_text('#!/bin/sh\n')
    broken = tmp_path / 'broken'
    os.symlink(str(tmp_path / 'nowhere'), str(broken))
    result = read(paths=[str(hook), str(broken), str(tmp_path / 'absent')])
    assert result['paths_exist'] == {str(hook): True, str(broken): True, str(tmp_path / 'absent'): False}


def test_the_cpus_online_as_the_processor_vcpus_fact_counts_them(read, tmp_path):
    with open('/proc/cpuinfo') as cpuinfo:
        processors = sum(1 for line in cpuinfo if line.split(':')[0].strip() == 'processor')
    assert read(root=str(tmp_path))['cpus'] == processors


def test_what_unit_runs_in_the_same_call(read, fake, unit_args, recorded):
    fake.config = recorded.djangochannels_config
    result = read(unit=True, **unit_args)
    assert not result['failed']
    assert result['unit']['config'] == recorded.djangochannels_config
    assert result['unit']['version'] == '1.34.2' and result['unit']['python_versions'] == ['3.11']
    assert [r.method + ' ' + r.raw_path for r in fake.requests] == ['GET /']


def test_without_unit_nothing_asks_unit(read, fake, unit_args):
    result = read(**unit_args)
    assert not result['failed'] and result['unit'] == {} and fake.requests == []


def test_a_unit_that_does_not_answer_fails_naming_the_socket(read, workdir):
    missing = os.path.join(workdir, 'missing.sock')
    result = read(unit=True, control='unix:' + missing)
    assert result['failed'] and missing in result['msg']
