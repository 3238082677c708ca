# -*- coding: utf-8 -*-
# Copyright: unitchannels maintainers
# Apache License 2.0 (see LICENSE)

"""app_prune: the oldest releases go, current and previous stay, and so do the virtualenvs a kept
release names; nothing is removed in check mode."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os

import pytest

from ansible_collections.unitchannels.deploy.plugins.modules import app_prune


@pytest.fixture
def root(tmp_path):
    return tmp_path / 'chat'


def release(root, name, age, venv=None, complete=True, record=True):
    """A release directory `age` hours old, using virtualenv `venv` (made too)."""
    path = root / 'releases' / name
    path.mkdir(parents=True)
    if complete:
        (path / '.release-complete').write_text(name + '\n')
    if record:
        (path / '.unit-application.json').write_text(json.dumps({'home': str(root / 'venvs' / venv)}) if venv else 'not json')
    if venv:
        (root / 'venvs' / venv / 'bin').mkdir(parents=True, exist_ok=True)
    stamp = 1700000000 - age * 3600
    os.utime(str(path), (stamp, stamp))
    return path


def link(root, name, target):
    os.symlink(str(target), str(root / name))


@pytest.fixture
def prune(run_module, root):
    def prune(check_mode=False, diff=True, **args):
        args.setdefault('root', str(root))
        return run_module(app_prune, args, check_mode=check_mode, diff=diff)
    return prune


def names(root, kind):
    return sorted(os.listdir(str(root / kind)))


def test_keeps_the_newest_and_current_and_previous_whatever_their_age(prune, root):
    oldest = release(root, 'r0', 50, 'py3.11-a')
    for age, name in enumerate(['r5', 'r4', 'r3', 'r2', 'r1']):
        release(root, name, age + 1, 'py3.11-a')
    link(root, 'current', root / 'releases' / 'r5')
    link(root, 'previous', oldest)  # a rollback made the oldest one previous
    result = prune(keep=1)  # the 3 newest, and previous
    assert result['changed'] is True and not result.get('failed')
    assert names(root, 'releases') == ['r0', 'r3', 'r4', 'r5']
    assert sorted(result['removed']) == [str(root / 'releases' / n) for n in ('r1', 'r2')]
    assert result['releases_kept'] == [str(root / 'releases' / n) for n in ('r5', 'r4', 'r3', 'r0')]
    assert names(root, 'venvs') == ['py3.11-a']


def test_the_virtualenvs_no_kept_release_names_go(prune, root):
    old = release(root, 'r1', 3, 'py3.11-old')
    release(root, 'r2', 2, 'py3.11-mid')
    new = release(root, 'r3', 1, 'py3.12-new')
    (root / 'venvs' / 'py3.11-orphan').mkdir()
    link(root, 'current', new)
    link(root, 'previous', root / 'releases' / 'r2')
    result = prune(keep=0)
    assert names(root, 'releases') == ['r2', 'r3'] and not old.exists()
    assert names(root, 'venvs') == ['py3.11-mid', 'py3.12-new']
    assert result['venvs_left_because'] == ''
    assert result['diff']['before'] == ('releases/r1\nreleases/r2\nreleases/r3\n'
                                        'venvs/py3.11-mid\nvenvs/py3.11-old\nvenvs/py3.11-orphan\nvenvs/py3.12-new\n')
    assert result['diff']['after'] == 'releases/r2\nreleases/r3\nvenvs/py3.11-mid\nvenvs/py3.12-new\n'


def test_a_virtualenv_in_use_stays_though_no_record_names_it(prune, root):
    new = release(root, 'r1', 1, 'py3.11-a')
    (root / 'venvs' / 'py3.11-building').mkdir()
    link(root, 'current', new)
    result = prune(keep=0, venvs_in_use=[str(root / 'venvs' / 'py3.11-building')])
    assert result['changed'] is False and names(root, 'venvs') == ['py3.11-a', 'py3.11-building']


def test_a_complete_release_without_a_record_leaves_every_virtualenv(prune, root):
    release(root, 'r1', 2, 'py3.11-a')
    unknown = release(root, 'r2', 1, 'py3.11-b', record=False)
    (root / 'venvs' / 'py3.11-orphan').mkdir()
    link(root, 'current', unknown)
    result = prune(keep=0)
    assert result['changed'] is False
    assert names(root, 'venvs') == ['py3.11-a', 'py3.11-b', 'py3.11-orphan']
    assert 'r2 is complete but names no virtualenv' in result['venvs_left_because']


def test_an_incomplete_release_without_a_record_names_none(prune, root):
    current = release(root, 'r1', 2, 'py3.11-a')
    release(root, 'r2', 1, complete=False, record=False)  # an interrupted deploy
    (root / 'venvs' / 'py3.11-orphan').mkdir()
    link(root, 'current', current)
    result = prune(keep=0)
    assert names(root, 'venvs') == ['py3.11-a'] and result['removed'] == [str(root / 'venvs' / 'py3.11-orphan')]


def test_check_mode_reports_and_removes_nothing(prune, root):
    for age in range(4):
        release(root, 'r%d' % age, age, 'py3.11-%d' % age)
    link(root, 'current', root / 'releases' / 'r0')
    result = prune(check_mode=True, keep=0)
    assert result['changed'] is True and len(result['removed']) == 4  # r2, r3 and their venvs
    assert names(root, 'releases') == ['r0', 'r1', 'r2', 'r3'] and len(names(root, 'venvs')) == 4


def test_nothing_to_remove_is_no_change_and_no_diff(prune, root):
    current = release(root, 'r1', 1, 'py3.11-a')
    link(root, 'current', current)
    result = prune(keep=3)
    assert result['changed'] is False and 'diff' not in result and result['removed'] == []


def test_a_root_that_does_not_exist_holds_nothing(prune, root):
    assert prune(keep=3)['changed'] is False


def test_bad_input_is_named(prune):
    assert prune(root='srv/chat')['msg'] == 'root srv/chat is not an absolute path'
    assert 'cannot be negative' in prune(keep=-1)['msg']


def test_a_failed_removal_names_the_path_and_what_went_before(prune, root, monkeypatch):
    for age in range(3):
        release(root, 'r%d' % age, age, 'py3.11-a')
    link(root, 'current', root / 'releases' / 'r0')

    def refuse(path):
        raise OSError(13, 'Permission denied')
    monkeypatch.setattr(app_prune.shutil, 'rmtree', refuse)
    result = prune(keep=0)
    assert result['failed'] is True and result['removed'] == []
    assert result['msg'] == 'cannot remove %s: [Errno 13] Permission denied' % (root / 'releases' / 'r2')
