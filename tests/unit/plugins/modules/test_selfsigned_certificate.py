# -*- coding: utf-8 -*-
# Copyright: unitchannels maintainers
# Apache License 2.0 (see LICENSE)

"""selfsigned_certificate with the host's openssl: made when missing or ending, kept otherwise."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re
import stat
import subprocess

import pytest

from ansible_collections.unitchannels.deploy.plugins.modules import selfsigned_certificate


@pytest.fixture
def run(run_module, tmp_path):
    def run(check_mode=False, **args):
        params = dict(path=str(tmp_path / 'edge.pem'), key_path=str(tmp_path / 'edge.pem.key'),
                      common_name='chat.test', subject_alt_names='DNS:chat.test,IP:127.0.0.1')
        params.update(args)
        return run_module(selfsigned_certificate, params, check_mode=check_mode)
    return run


def text(path):
    return subprocess.run(['openssl', 'x509', '-noout', '-text', '-in', str(path)],
                          check=True, capture_output=True, text=True).stdout


def test_made_when_missing_then_kept(run, tmp_path):
    made = run()
    assert made['changed'] and 'is missing' in made['reason']
    assert 'DNS:chat.test, IP Address:127.0.0.1' in text(tmp_path / 'edge.pem')
    assert stat.S_IMODE(os.stat(tmp_path / 'edge.pem.key').st_mode) == 0o600
    assert sorted(os.listdir(tmp_path)) == ['edge.pem', 'edge.pem.key']
    first = (tmp_path / 'edge.pem').read_bytes()
    kept = run()
    assert not kept['changed'] and kept['reason'] == ''
    assert (tmp_path / 'edge.pem').read_bytes() == first


def test_check_mode_says_it_would_make_one_and_writes_nothing(run, tmp_path):
    result = run(check_mode=True)
    assert result['changed'] and 'is missing' in result['reason']
    assert os.listdir(tmp_path) == []


def test_one_that_ends_soon_is_made_again(run, tmp_path):
    run(days=10, renew_before_days=5)
    first = (tmp_path / 'edge.pem').read_bytes()
    result = run()
    assert result['changed'] and result['reason'] == 'ends within 30 days'
    assert (tmp_path / 'edge.pem').read_bytes() != first


def test_a_file_that_is_no_certificate_is_made_again(run, tmp_path):
    (tmp_path / 'edge.pem').write_text('hello\n')
    (tmp_path / 'edge.pem.key').write_text('hello\n')
    result = run()
    assert result['changed'] and 'is not a certificate openssl reads' in result['reason']
    assert 'chat.test' in text(tmp_path / 'edge.pem')


@pytest.mark.parametrize('args,cause', [
    (dict(renew_before_days=900), 'renew_before_days [(]900[)] must be less than days [(]825[)]'),
    (dict(path='/no/such/dir/edge.pem'), 'the directory of /no/such/dir/edge.pem does not exist'),
    (dict(subject_alt_names='BOGUS:x'), 'openssl could not make the self-signed certificate'),
])
def test_bad_input_is_named(run, tmp_path, args, cause):
    result = run(**args)
    assert result['failed']
    assert re.search(cause, result['msg'])
    assert not [name for name in os.listdir(tmp_path) if name.endswith('.new')]


def test_with_a_ca_every_renewal_is_trusted_by_its_clients(run, tmp_path):
    ca = dict(ca_path=str(tmp_path / 'ca.pem'), ca_key_path=str(tmp_path / 'ca.key'))
    made = run(days=10, renew_before_days=5, **ca)
    assert made['changed'] and made['ca_made'] and 'the CA was made' in made['reason']
    first = (tmp_path / 'edge.pem').read_bytes()
    assert 'CA:TRUE' in text(tmp_path / 'ca.pem') and 'CA:FALSE' in text(tmp_path / 'edge.pem')
    renewed = run(**ca)
    assert renewed['changed'] and not renewed['ca_made'] and renewed['reason'] == 'ends within 30 days'
    assert (tmp_path / 'edge.pem').read_bytes() != first
    verify = subprocess.run(['openssl', 'verify', '-CAfile', str(tmp_path / 'ca.pem'), str(tmp_path / 'edge.pem')],
                            capture_output=True, text=True, check=False)
    assert verify.returncode == 0, verify.stdout + verify.stderr
    assert run(**ca)['changed'] is False


def test_a_certificate_the_ca_did_not_issue_is_made_again(run, tmp_path):
    run()  # self-signed, lasting
    ca = dict(ca_path=str(tmp_path / 'ca.pem'), ca_key_path=str(tmp_path / 'ca.key'))
    # the CA made now: the certificate must be issued again by it
    assert run(**ca)['ca_made']
    (tmp_path / 'ca.pem').rename(tmp_path / 'ca-kept.pem')
    (tmp_path / 'ca.key').rename(tmp_path / 'ca-kept.key')
    run(**ca)  # another CA
    result = run(ca_path=str(tmp_path / 'ca-kept.pem'), ca_key_path=str(tmp_path / 'ca-kept.key'))
    assert result['changed'] and 'was not issued by the CA' in result['reason']
