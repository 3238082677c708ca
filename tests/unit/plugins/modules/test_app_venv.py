# -*- coding: utf-8 -*-
# Copyright: unitchannels maintainers
# Apache License 2.0 (see LICENSE)

"""app_venv: the virtualenv built, handed over and marked in one call.

A fake interpreter stands in for Python: `-m venv PATH` makes PATH/bin/python (the fake again),
and `-m pip install ...` records its arguments (and the CA bundle it was given) in a log, then
exits with FAKE_PIP_RC. So the tests need no index and no network.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import grp
import json
import os
import pwd
import sys

import pytest

from ansible_collections.unitchannels.deploy.plugins.modules import app_venv

ME = pwd.getpwuid(os.getuid()).pw_name
MY_GROUP = grp.getgrgid(os.getgid()).gr_name

FAKE_PYTHON = r'''#!%s
import json, os, shutil, sys
args = sys.argv[1:]
log = os.environ['FAKE_LOG']
if args[:2] == ['-m', 'venv']:
    if os.environ.get('FAKE_VENV_RC'):
        sys.stderr.write('Error: ensurepip is not available\n')
        sys.exit(int(os.environ['FAKE_VENV_RC']))
    os.makedirs(os.path.join(args[2], 'bin'))
    os.makedirs(os.path.join(args[2], 'lib', 'site-packages'))
    shutil.copy(__file__, os.path.join(args[2], 'bin', 'python'))
    sys.exit(0)
cert = args[args.index('--cert') + 1] if '--cert' in args else None
with open(log, 'a') as out:
    out.write(json.dumps({'python': __file__, 'args': args, 'cert': open(cert).read() if cert else None}) + '\n')
open(os.path.join(os.path.dirname(os.path.dirname(__file__)), 'lib', 'site-packages', 'channels.py'), 'w').close()
if os.environ.get('FAKE_PIP_RC'):
    sys.stdout.write('Collecting channels\n')
    sys.stderr.write(os.environ.get('FAKE_PIP_ERR', 'ERROR: No matching distribution found for channels==99\n'))
    sys.exit(int(os.environ['FAKE_PIP_RC']))
print('Successfully installed channels')
''' % sys.executable


@pytest.fixture
def python(tmp_path, monkeypatch):
    fake = tmp_path / 'python3'
    fake.write_text(FAKE_PYTHON)
    fake.chmod(0o755)
    monkeypatch.setenv('FAKE_LOG', str(tmp_path / 'pip.log'))
    return str(fake)


@pytest.fixture
def run(run_module, tmp_path, python):
    def run(check_mode=False, diff=True, **args):
        args.setdefault('path', str(tmp_path / 'venvs' / 'py3.11-abc'))
        args.setdefault('python', python)
        (tmp_path / 'venvs').mkdir(exist_ok=True)
        return run_module(app_venv, args, check_mode=check_mode, diff=diff)
    return run


def pip_calls(tmp_path):
    log = tmp_path / 'pip.log'
    return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []


def test_builds_installs_hands_over_and_marks(run, tmp_path):
    result = run(requirements=['/rel/requirements.txt'], constraints=['/rel/constraints.txt'],
                 packages=['uvloop'], extra_args=['--only-binary', 'uvloop'], owner=ME, group=MY_GROUP,
                 marker_content='0123abcd\n')
    venv = tmp_path / 'venvs' / 'py3.11-abc'
    assert not result['failed'] and result['changed'] is True and result['built'] is True
    assert (venv / '.venv-complete').read_text() == '0123abcd\n'
    assert (venv / 'lib' / 'site-packages' / 'channels.py').exists()
    [call] = pip_calls(tmp_path)
    assert call['python'] == str(venv / 'bin' / 'python')  # the virtualenv's own pip
    assert call['args'] == ['-m', 'pip', 'install', '--disable-pip-version-check', '--no-cache-dir',
                            '-r', '/rel/requirements.txt', '-c', '/rel/constraints.txt', '--only-binary', 'uvloop', 'uvloop']
    assert result['diff']['before'] == '' and '-r /rel/requirements.txt uvloop' in result['diff']['after']


def test_a_complete_virtualenv_is_left_alone(run, tmp_path):
    run(requirements=['/rel/requirements.txt'])
    result = run(requirements=['/rel/requirements.txt'])
    assert result['changed'] is False and result['built'] is False and 'diff' not in result
    assert len(pip_calls(tmp_path)) == 1


def test_a_virtualenv_whose_python_is_gone_is_rebuilt(run, tmp_path):
    run(requirements=['/rel/requirements.txt'])
    venv_python = tmp_path / 'venvs' / 'py3.11-abc' / 'bin' / 'python'
    venv_python.unlink()
    venv_python.symlink_to(tmp_path / 'removed-python3.11')
    result = run(requirements=['/rel/requirements.txt'])
    assert result['changed'] is True and result['built'] is True
    assert result['diff']['before'] == 'incomplete virtualenv\n'
    assert len(pip_calls(tmp_path)) == 2 and os.access(str(venv_python), os.X_OK)


def test_what_an_interrupted_build_left_is_replaced(run, tmp_path):
    leftover = tmp_path / 'venvs' / 'py3.11-abc'
    (leftover / 'bin').mkdir(parents=True)
    (leftover / 'half-installed').write_text('')
    result = run(requirements=['/rel/requirements.txt'])
    assert result['changed'] is True and result['diff']['before'] == 'incomplete virtualenv\n'
    assert not (leftover / 'half-installed').exists() and (leftover / '.venv-complete').exists()


def test_check_mode_reports_the_build_and_does_nothing(run, tmp_path):
    leftover = tmp_path / 'venvs' / 'py3.11-abc'
    leftover.mkdir(parents=True)
    (leftover / 'half-installed').write_text('')
    result = run(check_mode=True, requirements=['/rel/requirements.txt'])
    assert result['changed'] is True and result['built'] is True and 'cmd' not in result
    assert (leftover / 'half-installed').exists() and pip_calls(tmp_path) == []


def test_the_ca_bundle_reaches_pip_and_is_removed(run, tmp_path):
    run(ca_bundle='-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n')
    [call] = pip_calls(tmp_path)
    cert = call['args'][call['args'].index('--cert') + 1]
    assert call['cert'].startswith('-----BEGIN CERTIFICATE-----') and not os.path.exists(cert)


def test_an_index_with_a_token_is_used_but_never_shown(run, tmp_path):
    url = 'https://ci:s3cr3t-token@pypi.example.com/simple'
    result = run(index_url=url, find_links=None)
    [call] = pip_calls(tmp_path)
    assert call['args'][call['args'].index('--index-url') + 1] == url
    assert url not in json.dumps(result)


def test_a_wheelhouse_means_no_index(run, tmp_path):
    run(find_links='/srv/wheels')
    [call] = pip_calls(tmp_path)
    assert call['args'][5:8] == ['--no-index', '--find-links', '/srv/wheels']


def test_a_failed_install_is_removed_and_says_what_pip_said(run, tmp_path, monkeypatch):
    monkeypatch.setenv('FAKE_PIP_RC', '1')
    result = run(requirements=['/rel/requirements.txt'])
    assert result['failed'] and result['rc'] == 1
    assert result['msg'].startswith('pip install failed (rc 1)')
    assert 'No matching distribution found for channels==99' in result['msg']
    assert not (tmp_path / 'venvs' / 'py3.11-abc').exists()


def test_a_python_without_venv_says_so(run, tmp_path, monkeypatch, python):
    monkeypatch.setenv('FAKE_VENV_RC', '1')
    result = run()
    assert result['failed'] and 'Creating the virtualenv with %s -m venv failed' % python in result['msg']
    assert 'ensurepip is not available' in result['msg'] and pip_calls(tmp_path) == []


def test_a_fresh_hosts_missing_parent_is_made(run, tmp_path):
    result = run(path=str(tmp_path / 'app' / 'venvs' / 'py3.11-abc'))
    assert result['changed'] is True and (tmp_path / 'app' / 'venvs' / 'py3.11-abc' / '.venv-complete').exists()


def test_a_missing_python_or_user_is_named(run, tmp_path):
    assert 'is not on this host' in run(python='/usr/bin/python3.99')['msg']
    result = run(owner='no-such-user-here')
    assert result['failed'] and result['msg'] == 'The owner no-such-user-here does not exist on this host'
    assert not (tmp_path / 'venvs' / 'py3.11-abc').exists()


def test_the_whole_tree_goes_to_the_owner_links_themselves(run, tmp_path, monkeypatch):
    given = {}
    monkeypatch.setattr(app_venv.os, 'lchown', lambda path, uid, gid: given.__setitem__(path, (uid, gid)))
    run(owner=ME, group=MY_GROUP)
    venv = tmp_path / 'venvs' / 'py3.11-abc'
    ids = (os.getuid(), os.getgid())
    assert given[str(venv)] == ids and given[str(venv / 'bin' / 'python')] == ids
    assert given[str(venv / 'lib' / 'site-packages' / 'channels.py')] == ids


def test_without_an_owner_nothing_is_handed_over(run, monkeypatch):
    given = []
    monkeypatch.setattr(app_venv.os, 'lchown', lambda *args: given.append(args))
    assert run()['changed'] is True and given == []


# What pip 24 prints for a requirement whose releases all need a newer Python.
PIP_NEEDS_NEWER_PYTHON = (
    'ERROR: Ignored the following versions that require a different python version: 6.0 Requires-Python >=3.12; '
    '6.0.1 Requires-Python >=3.12\n'
    'ERROR: Could not find a version that satisfies the requirement Django==6.0.1 (from versions: 5.2.8)\n'
    'ERROR: No matching distribution found for Django==6.0.1\n')


def test_a_requirement_for_a_newer_python_says_both_versions_and_the_way_out(run, tmp_path, monkeypatch, python):
    python311 = tmp_path / 'python3.11'
    python311.write_text(open(python).read())
    python311.chmod(0o755)
    monkeypatch.setenv('FAKE_PIP_RC', '1')
    monkeypatch.setenv('FAKE_PIP_ERR', PIP_NEEDS_NEWER_PYTHON)
    result = run(python=str(python311))
    assert result['failed']
    assert result['msg'].startswith('Django==6.0.1 needs a newer Python (Requires-Python >=3.12) than 3.11, the Python '
                                    'of this virtualenv')
    assert 'unit_python_versions' in result['msg'] and 'channels_app_python_version' in result['msg']
    assert 'pip install failed (rc 1)' in result['msg']


def test_another_pip_failure_gets_no_python_advice(run, monkeypatch):
    monkeypatch.setenv('FAKE_PIP_RC', '1')
    assert 'needs a newer Python' not in run()['msg']
