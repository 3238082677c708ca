# -*- coding: utf-8 -*-
# Copyright: unitchannels maintainers
# Apache License 2.0 (see LICENSE)

"""apt_keyring: a repository key checked by fingerprint and written as a binary keyring, in one call."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import grp
import os
import pwd
import stat
from pathlib import Path

import pytest

from ansible_collections.unitchannels.deploy.plugins.module_utils import openpgp
from ansible_collections.unitchannels.deploy.plugins.modules import apt_keyring

FIXTURES = Path(__file__).resolve().parents[2] / 'fixtures'
TEST_KEY = (FIXTURES / 'openpgp-test-key.asc').read_bytes()
OTHER_KEY = (FIXTURES / 'openpgp-other-key.asc').read_bytes()
# As gpg --with-colons printed them (tests/unit/fixtures/README.md).
TEST_FPR = '1DB6337D3D862B43B00067E3315765165B2AF976'
TEST_SUBKEY_FPR = '7A267329247E5A0866A0215234F29BED93B56CC7'
OTHER_FPR = '40433D4A8444E31E2A8B6DA1F2D7BECED868F68F'
ME = pwd.getpwuid(os.getuid()).pw_name
MY_GROUP = grp.getgrgid(os.getgid()).gr_name


def test_fingerprints_are_gpgs_for_the_primary_keys_only():
    assert openpgp.read_key(TEST_KEY)[1] == [TEST_FPR]
    assert openpgp.read_key(OTHER_KEY)[1] == [OTHER_FPR]
    assert openpgp.read_key(TEST_KEY + b'\n' + OTHER_KEY)[1] == [TEST_FPR, OTHER_FPR]
    assert TEST_SUBKEY_FPR not in openpgp.read_key(TEST_KEY)[1]


def test_an_armored_key_becomes_the_binary_keyring_and_binary_stays_as_it_is():
    binary = openpgp.read_key(TEST_KEY)[0]
    assert not binary.startswith(b'-----')
    assert openpgp.read_key(binary) == (binary, [TEST_FPR])


@pytest.mark.parametrize('data,cause', [
    (b'', 'no OpenPGP public key'),
    (b'hello', 'not the start of an OpenPGP packet'),
    (b'-----BEGIN PGP MESSAGE-----\n\nAAAA\n-----END PGP MESSAGE-----\n', 'no PGP PUBLIC KEY BLOCK'),
])
def test_what_is_no_key_is_named(data, cause):
    with pytest.raises(openpgp.OpenPGPError, match=cause):
        openpgp.read_key(data)


def test_a_truncated_key_is_refused():
    binary = openpgp.read_key(TEST_KEY)[0]
    with pytest.raises(openpgp.OpenPGPError, match='truncated'):
        openpgp.read_key(binary[:40])


@pytest.fixture
def run(run_module, tmp_path):
    def run(check_mode=False, **args):
        args.setdefault('dest', str(tmp_path / 'keyrings' / 'repo.gpg'))
        args.setdefault('fingerprints', [TEST_FPR])
        args.setdefault('owner', ME)
        args.setdefault('group', MY_GROUP)
        if not any(k in args for k in ('url', 'src', 'content')):
            args['content'] = TEST_KEY.decode()
        return run_module(apt_keyring, args, check_mode=check_mode, diff=True)
    return run


def test_the_key_is_written_once_as_a_binary_keyring(run, tmp_path):
    dest = tmp_path / 'keyrings' / 'repo.gpg'
    result = run()
    assert result['changed'] is True and result['fingerprints'] == [TEST_FPR]
    assert dest.read_bytes() == openpgp.read_key(TEST_KEY)[0]
    assert stat.S_IMODE(dest.stat().st_mode) == 0o644
    assert result['diff']['before'] == '' and result['diff']['after'] == TEST_FPR + '\n'
    again = run()
    assert again['changed'] is False


def test_fingerprints_match_whatever_their_spacing_and_case(run):
    spaced = ' '.join(TEST_FPR[i:i + 4] for i in range(0, 40, 4)).lower()
    assert run(fingerprints=[spaced])['changed'] is True


def test_a_key_with_another_fingerprint_is_refused_and_nothing_written(run, tmp_path):
    result = run(content=OTHER_KEY.decode())
    assert result['failed'] and OTHER_FPR in result['msg'] and TEST_FPR in result['msg']
    assert 'not among the accepted' in result['msg']
    assert not (tmp_path / 'keyrings' / 'repo.gpg').exists()


def test_a_file_with_one_stranger_among_the_keys_is_refused(run):
    result = run(content=(TEST_KEY + OTHER_KEY).decode())
    assert result['failed'] and OTHER_FPR in result['msg']


def test_a_changed_key_replaces_the_keyring_and_the_diff_names_both(run, tmp_path):
    run()
    result = run(content=OTHER_KEY.decode(), fingerprints=[OTHER_FPR])
    assert result['changed'] is True
    assert result['diff']['before'] == TEST_FPR + '\n' and result['diff']['after'] == OTHER_FPR + '\n'
    assert openpgp.read_key((tmp_path / 'keyrings' / 'repo.gpg').read_bytes())[1] == [OTHER_FPR]


def test_check_mode_says_what_would_change_and_writes_nothing(run, tmp_path):
    result = run(check_mode=True)
    assert result['changed'] is True
    assert not (tmp_path / 'keyrings').exists()


def test_a_wrong_mode_alone_is_corrected(run, tmp_path):
    run()
    dest = tmp_path / 'keyrings' / 'repo.gpg'
    dest.chmod(0o600)
    assert run()['changed'] is True
    assert stat.S_IMODE(dest.stat().st_mode) == 0o644


def test_the_key_is_taken_from_a_file_or_fetched_from_a_url(run, tmp_path):
    key = tmp_path / 'key.asc'
    key.write_bytes(TEST_KEY)
    assert run(src=str(key))['fingerprints'] == [TEST_FPR]
    assert run(url=key.as_uri(), dest=str(tmp_path / 'b.gpg'))['fingerprints'] == [TEST_FPR]


def test_a_key_that_cannot_be_had_is_named(run, tmp_path):
    result = run(url=(tmp_path / 'missing.asc').as_uri())
    assert result['failed'] and 'cannot fetch the key from' in result['msg']
    result = run(src=str(tmp_path / 'missing.asc'))
    assert result['failed'] and 'missing.asc' in result['msg']


def test_an_empty_fingerprint_list_is_refused(run):
    result = run(fingerprints=[' '])
    assert result['failed'] and 'fingerprints is empty' in result['msg']
