# -*- coding: utf-8 -*-

# Copyright: unitchannels maintainers
# Apache License 2.0 (see LICENSE)

from __future__ import absolute_import, division, print_function

import hashlib
import json
import os

import pytest

from ansible_collections.unitchannels.deploy.plugins.modules import unit_certificate
from ansible_collections.unitchannels.deploy.tests.unit import testcerts


_PEMS = {}


def pem(serial):
    """A real bundle (leaf + intermediate + key); the same serial gives the same bundle."""
    if serial not in _PEMS:
        _PEMS[serial] = testcerts.chain().bundle(serial=serial)
    return _PEMS[serial]


def bundle_of(content, name='example.com'):
    text = content.replace('\r\n', '\n').strip() + '\n'
    return '%s-%s' % (name, hashlib.sha256(text.encode()).hexdigest()[:12])


def run(run_module, fake, **args):
    check_mode = args.pop('check_mode', False)
    diff = args.pop('diff', False)
    args.setdefault('name', 'example.com')
    args.setdefault('socket', fake.socket_path)
    return run_module(unit_certificate, args, check_mode=check_mode, diff=diff)


def use_in_listener(fake, bundle, listener='*:443'):
    fake.config = {'listeners': {listener: {'pass': 'routes', 'tls': {'certificate': bundle}}},
                   'routes': [{'action': {'return': 204}}], 'applications': {}}


def test_upload(run_module, fake):
    result = run(run_module, fake, content=pem(1))
    bundle = bundle_of(pem(1))
    assert result['changed'] is True and not result['failed']
    assert result['bundle'] == bundle and result['uploaded'] is True
    assert result['bundles'] == [bundle] and result['pruned'] == []
    assert result['response'] == {'success': 'Certificate chain uploaded.'}
    assert result['info']['key'] == 'RSA (2048 bits)'
    assert [(r.method, r.raw_path) for r in fake.writes] == [('PUT', '/certificates/%s' % bundle)]
    assert fake.cert_pems[bundle] == pem(1)


def test_upload_unchanged(run_module, fake):
    run(run_module, fake, content=pem(1))
    result = run(run_module, fake, content=pem(1))
    assert result['changed'] is False and result['uploaded'] is False
    assert result['bundle'] == bundle_of(pem(1)) and 'info' in result
    assert len(fake.writes) == 1


def test_content_normalized(run_module, fake):
    run(run_module, fake, content=pem(1))
    # what lookup('file') gives (no final newline), or a file with CRLF line ends
    for variant in (pem(1).rstrip('\n'), pem(1).replace('\n', '\r\n'), '\n' + pem(1) + '\n\n'):
        result = run(run_module, fake, content=variant)
        assert result['changed'] is False and result['bundle'] == bundle_of(pem(1))
    assert len(fake.writes) == 1


def test_src_on_managed_host(run_module, fake, workdir):
    path = os.path.join(workdir, 'bundle.pem')
    with open(path, 'w') as f:
        f.write(pem(1))
    result = run(run_module, fake, src=path)
    assert result['changed'] is True and result['bundle'] == bundle_of(pem(1))
    assert run(run_module, fake, content=pem(1))['changed'] is False


def test_src_missing(run_module, fake, workdir):
    result = run(run_module, fake, src=os.path.join(workdir, 'nope.pem'))
    assert result['failed'] is True and 'cannot read src' in result['msg'] and fake.requests == []


def test_new_content_without_prune_keeps_old(run_module, fake):
    run(run_module, fake, content=pem(1))
    result = run(run_module, fake, content=pem(2))
    assert result['changed'] is True and result['bundle'] == bundle_of(pem(2))
    assert result['bundles'] == sorted([bundle_of(pem(1)), bundle_of(pem(2))])
    assert set(fake.certificates) == set(result['bundles'])


def test_prune_unused(run_module, fake):
    run(run_module, fake, content=pem(1))
    run(run_module, fake, content=pem(2))
    result = run(run_module, fake, content=pem(3), prune=True)
    assert result['changed'] is True and result['bundle'] == bundle_of(pem(3))
    assert result['pruned'] == sorted([bundle_of(pem(1)), bundle_of(pem(2))])
    assert result['kept'] == [] and result['bundles'] == [bundle_of(pem(3))]
    assert list(fake.certificates) == [bundle_of(pem(3))]


def test_prune_keeps_bundle_in_use(run_module, fake):
    run(run_module, fake, content=pem(1))
    old = bundle_of(pem(1))
    use_in_listener(fake, old)
    result = run(run_module, fake, content=pem(2), prune=True)
    assert result['changed'] is True and result['uploaded'] is True
    assert result['pruned'] == [] and result['kept'] == [old]
    assert result['in_use'] == {old: ['*:443']}
    assert set(fake.certificates) == {old, bundle_of(pem(2))}
    # the listener is switched to the new bundle, next run prunes the old one
    use_in_listener(fake, [bundle_of(pem(2))])
    result = run(run_module, fake, content=pem(2), prune=True)
    assert result['changed'] is True and result['uploaded'] is False and result['pruned'] == [old]
    assert list(fake.certificates) == [bundle_of(pem(2))]
    assert run(run_module, fake, content=pem(2), prune=True)['changed'] is False


def test_prune_never_touches_other_names(run_module, fake):
    for name in ('example.com', 'example.com-admin', 'example.com-admin-0123456789ab',
                 'other-0123456789ab', 'example.com-0123456789AB', 'example.com-0123456789abc'):
        fake.certificates[name] = {'key': 'x', 'chain': []}
    before = set(fake.certificates)
    result = run(run_module, fake, content=pem(1), prune=True)
    assert result['pruned'] == []
    assert set(fake.certificates) == before | {bundle_of(pem(1))}


def test_check_mode_and_diff(run_module, fake):
    run(run_module, fake, content=pem(1))
    result = run(run_module, fake, content=pem(2), prune=True, check_mode=True, diff=True)
    assert result['changed'] is True and result['uploaded'] is True
    assert result['pruned'] == [bundle_of(pem(1))]
    assert result['diff']['before'] == bundle_of(pem(1)) + '\n'
    assert result['diff']['after'] == bundle_of(pem(2)) + '\n'
    assert len(fake.writes) == 1 and list(fake.certificates) == [bundle_of(pem(1))]


def test_absent(run_module, fake):
    run(run_module, fake, content=pem(1))
    run(run_module, fake, content=pem(2))
    fake.certificates['unrelated'] = {'key': 'x', 'chain': []}
    result = run(run_module, fake, state='absent', diff=True)
    assert result['changed'] is True
    assert result['pruned'] == sorted([bundle_of(pem(1)), bundle_of(pem(2))])
    assert result['diff']['after'] == ''
    assert list(fake.certificates) == ['unrelated']
    assert run(run_module, fake, state='absent')['changed'] is False


def test_absent_in_use_fails_and_deletes_nothing(run_module, fake):
    run(run_module, fake, content=pem(1))
    run(run_module, fake, content=pem(2))
    use_in_listener(fake, bundle_of(pem(2)), listener='127.0.0.1:443')
    result = run(run_module, fake, state='absent')
    assert result['failed'] is True and result['changed'] is False
    assert '%s is used by listener 127.0.0.1:443' % bundle_of(pem(2)) in result['msg']
    assert 'Nothing was deleted' in result['msg']
    assert len(fake.certificates) == 2
    assert not [r for r in fake.writes if r.method == 'DELETE']


def test_unit_refuses_delete_in_use(run_module, fake):
    """A listener started using the bundle between the module's check and its DELETE."""
    run(run_module, fake, content=pem(1))
    old = bundle_of(pem(1))
    real_in_use = fake.cert_in_use
    fake.cert_in_use = lambda name: True if name == old else real_in_use(name)
    result = run(run_module, fake, content=pem(2), prune=True)
    assert not result['failed'] and result['kept'] == [old] and result['pruned'] == []


@pytest.mark.parametrize('content, missing', [
    ('-----BEGIN CERTIFICATE-----\nabc\n-----END CERTIFICATE-----\n', 'no private key'),
    ('-----BEGIN RSA PRIVATE KEY-----\nabc\n-----END RSA PRIVATE KEY-----\n', 'BEGIN CERTIFICATE'),
    ('not a pem', 'BEGIN CERTIFICATE'),
])
def test_content_checked_before_upload(run_module, fake, content, missing):
    result = run(run_module, fake, content=content, check_mode=True)
    assert result['failed'] is True and missing in result['msg']
    assert fake.requests == []


def test_unit_rejects_bundle(run_module, fake):
    # the module's own checks pass, Unit's do not (a key type it was built without, say)
    fake_put = fake._certificates

    def refusing(method, segs, body):
        if method == 'PUT':
            return 400, {'error': 'Invalid certificate.'}
        return fake_put(method, segs, body)
    fake._certificates = refusing
    result = run(run_module, fake, content=pem(1))
    assert result['failed'] is True and result['changed'] is False
    assert 'Invalid certificate.' in result['msg']


def test_key_src_is_appended_to_src(run_module, fake, workdir):
    """certbot keeps the chain and the key in two files."""
    chain_part, key_part = pem(1).split('-----BEGIN PRIVATE KEY-----')
    paths = {}
    for option, text in (('src', chain_part), ('key_src', '-----BEGIN PRIVATE KEY-----' + key_part)):
        paths[option] = os.path.join(workdir, option + '.pem')
        with open(paths[option], 'w') as f:
            f.write(text)
    result = run(run_module, fake, **paths)
    assert result['changed'] is True and result['bundle'] == bundle_of(pem(1))
    assert fake.cert_pems[result['bundle']] == pem(1)


def _bad_bundles():
    ca = testcerts.chain()
    now = testcerts.datetime.datetime.now(testcerts.datetime.timezone.utc)
    other_key = testcerts.new_key()
    return [
        ('mismatched key', ca.bundle(key=other_key), 'the private key does not belong to the certificate (CN=example.com)'),
        ('expired', ca.bundle(not_before=now - 60 * testcerts.DAY, not_after=now - testcerts.DAY),
         'the certificate (CN=example.com) expired on'),
        ('not yet valid', ca.bundle(not_before=now + testcerts.DAY), 'is not valid before'),
        ('chain reversed', ca.bundle(order='reversed'),
         'the chain is out of order: certificate 1 (CN=Test Intermediate CA) was issued by CN=Test Root CA, '
         'but certificate 2 is CN=example.com'),
        ('two keys', pem(1) + testcerts.key_pem(other_key), '2 private keys'),
    ]


@pytest.mark.parametrize('case', range(5))
def test_bad_bundle_refused_before_unit_sees_it(run_module, fake, case):
    run(run_module, fake, content=pem(1))
    use_in_listener(fake, bundle_of(pem(1)))
    writes = len(fake.writes)
    label, content, expected = _bad_bundles()[case]
    for check_mode in (True, False):
        result = run(run_module, fake, content=content, prune=True, check_mode=check_mode)
        assert result['failed'] is True, label
        assert expected in result['msg'] and 'Nothing was changed in Unit' in result['msg'], result['msg']
    assert len(fake.writes) == writes and list(fake.certificates) == [bundle_of(pem(1))]


def test_content_is_no_log(run_module, fake, monkeypatch):
    seen = {}
    real_exit = unit_certificate.AnsibleModule.exit_json

    def exit_json(self, **kwargs):
        seen['no_log_values'] = set(self.no_log_values)
        real_exit(self, **kwargs)
    monkeypatch.setattr(unit_certificate.AnsibleModule, 'exit_json', exit_json)
    result = run(run_module, fake, content=pem(7), diff=True)
    assert pem(7) in seen['no_log_values']
    key_body = pem(7).split('-----BEGIN PRIVATE KEY-----')[1].split('-----END')[0].strip()
    assert key_body.splitlines()[0] not in json.dumps(result)


@pytest.mark.parametrize('name', ['a/b', 'has space', ''])
def test_bad_name(run_module, fake, name):
    result = run(run_module, fake, name=name, content=pem(1))
    assert result['failed'] is True and fake.requests == []


def test_content_required(run_module, fake):
    result = run(run_module, fake)
    assert result['failed'] is True and 'content' in result['msg']


def test_socket_missing(run_module, workdir):
    path = os.path.join(workdir, 'control.unit.sock')
    result = run_module(unit_certificate, dict(name='example.com', content=pem(1), socket=path))
    assert result['failed'] is True and path in result['msg']


def test_other_pem_blocks_are_left_out(run_module, fake):
    """`openssl ecparam -genkey` writes EC PARAMETERS before the key; Unit refuses that block."""
    chain, key = pem(1).split('-----BEGIN PRIVATE KEY-----')
    params = '-----BEGIN EC PARAMETERS-----\nBggqhkjOPQMBBw==\n-----END EC PARAMETERS-----\n'
    result = run(run_module, fake, content=chain + params + '-----BEGIN PRIVATE KEY-----' + key)
    assert not result['failed'], result['msg']
    assert result['bundle'] == bundle_of(pem(1)) and fake.cert_pems[result['bundle']] == pem(1)
