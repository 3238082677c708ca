# -*- coding: utf-8 -*-

# Copyright: unitchannels maintainers
# Apache License 2.0 (see LICENSE)

"""Checks of a PEM bundle (certificate chain + private key) before it reaches NGINX Unit.

Unit answers a bad bundle with "Invalid certificate." at best, and a key that does not match
its certificate only when a listener uses it ("Failed to apply new configuration."). These checks
say which part is wrong, with the standard library only (the managed host needs no extra package).
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import hashlib
import os
import re
import shutil
import ssl
import tempfile
import time

CERT_RE = re.compile(r'-----BEGIN CERTIFICATE-----\s.*?-----END CERTIFICATE-----', re.S)
KEY_RE = re.compile(r'-----BEGIN ([A-Z ]*)PRIVATE KEY-----\s.*?-----END \1PRIVATE KEY-----', re.S)
HASH_LEN = 12


def normalize_pem(text):
    """LF line ends and one final newline: a lookup('file') and the file give the same bundle."""
    if isinstance(text, bytes):
        text = text.decode('utf-8', 'replace')
    text = text.replace('\r\n', '\n').replace('\r', '\n')
    return text.strip() + '\n'


def canonical_bundle(text):
    """The certificates and the key only, in their order, one newline after each block: what Unit
    is sent and what names the bundle. Other PEM blocks (the "EC PARAMETERS" that
    `openssl ecparam -genkey` writes before a key) are dropped: Unit refuses them."""
    text = normalize_pem(text)
    blocks = CERT_RE.findall(text) + [m.group(0) for m in KEY_RE.finditer(text)]
    if not blocks:
        return text
    return ''.join(block + '\n' for block in blocks)


def bundle_name(name, text):
    """NAME-<first 12 hex digits of the SHA-256 of the canonical bundle>."""
    return '%s-%s' % (name, hashlib.sha256(canonical_bundle(text).encode('utf-8')).hexdigest()[:HASH_LEN])


def is_own_bundle(name, bundle):
    """Whether bundle is one of NAME's content-addressed bundles (NAME-<12 hex digits>)."""
    rest = bundle[len(name) + 1:] if isinstance(bundle, str) and bundle.startswith(name + '-') else ''
    return len(rest) == HASH_LEN and all(c in '0123456789abcdef' for c in rest)


def _name(rdns):
    """'CN=example.com, O=Example' from the subject/issuer tuple of ssl's decoded certificate."""
    short = {'commonName': 'CN', 'organizationName': 'O', 'organizationalUnitName': 'OU',
             'countryName': 'C', 'localityName': 'L', 'stateOrProvinceName': 'ST'}
    return ', '.join('%s=%s' % (short.get(k, k), v) for rdn in rdns for (k, v) in rdn)


def _decode(pem, workdir, index):
    path = os.path.join(workdir, 'cert%d.pem' % index)
    with open(path, 'w') as f:
        f.write(pem + '\n')
    # The only stdlib parser of a certificate file; used by CPython's own tests for years.
    return ssl._ssl._test_decode_cert(path)  # pylint: disable=protected-access


def _key_matches(chain, key, workdir):
    """None when the key belongs to the chain's first certificate, else why not."""
    chain_path = os.path.join(workdir, 'chain.pem')
    key_path = os.path.join(workdir, 'key.pem')
    with open(chain_path, 'w') as f:
        f.write('\n'.join(chain) + '\n')
    with open(key_path, 'w') as f:
        f.write(key + '\n')
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    try:
        # A password callback that gives none: an encrypted key fails instead of prompting.
        ctx.load_cert_chain(chain_path, key_path, password=lambda: b'')
    except ssl.SSLError as e:
        reason = getattr(e, 'reason', '') or ''
        if 'MISMATCH' in reason.upper():
            return 'mismatch'
        return 'unreadable (%s)' % (reason or e)
    return None


def bundle_problems(text, now=None):
    """What is wrong with a PEM bundle, as sentences; [] when Unit can serve it."""
    text = normalize_pem(text)
    certs = CERT_RE.findall(text)
    keys = [m.group(0) for m in KEY_RE.finditer(text)]
    problems = []
    if not certs:
        problems.append('no certificate ("-----BEGIN CERTIFICATE-----" block)')
    if not keys:
        problems.append('no private key ("-----BEGIN ... PRIVATE KEY-----" block)')
    if len(keys) > 1:
        problems.append('%d private keys (a bundle holds the key of its first certificate only)' % len(keys))
    if problems:
        return problems
    now = time.time() if now is None else now
    workdir = tempfile.mkdtemp(prefix='unitchannels-tls-')
    try:
        decoded = []
        for i, pem in enumerate(certs):
            try:
                decoded.append(_decode(pem, workdir, i))
            except (ssl.SSLError, ValueError, OSError) as e:
                return ['certificate %d of the chain cannot be read (%s)' % (i + 1, e)]
        for i in range(len(decoded) - 1):
            issuer, next_subject = decoded[i]['issuer'], decoded[i + 1]['subject']
            if issuer != next_subject:
                problems.append(
                    'the chain is out of order: certificate %d (%s) was issued by %s, but certificate %d is %s; '
                    'put the server certificate first, then the certificate of its issuer, and so on'
                    % (i + 1, _name(decoded[i]['subject']), _name(issuer), i + 2, _name(next_subject)))
                break
        leaf = decoded[0]
        if problems:
            return problems  # the key check would only repeat it (the key is read against the first certificate)
        if ssl.cert_time_to_seconds(leaf['notAfter']) <= now:
            problems.append('the certificate (%s) expired on %s' % (_name(leaf['subject']), leaf['notAfter']))
        elif ssl.cert_time_to_seconds(leaf['notBefore']) > now:
            problems.append('the certificate (%s) is not valid before %s' % (_name(leaf['subject']), leaf['notBefore']))
        why = _key_matches(certs, keys[0], workdir)
        if why == 'mismatch':
            problems.append('the private key does not belong to the certificate (%s)' % _name(leaf['subject']))
        elif why:
            problems.append('the private key or the chain is %s; Unit needs an unencrypted PEM key' % why)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return problems
