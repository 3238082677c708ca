# -*- coding: utf-8 -*-

# Copyright: unitchannels maintainers
# Apache License 2.0 (see LICENSE)

"""Real certificates for the tests of certificate bundles (made with `cryptography`, which
ansible-core itself depends on). EC P-256 keys: quick to make."""

from __future__ import absolute_import, division, print_function

import datetime

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

DAY = datetime.timedelta(days=1)


def new_key():
    return ec.generate_private_key(ec.SECP256R1())


def key_pem(key):
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()


def cert_pem(cert):
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def issue(common_name, key, issuer=None, issuer_key=None, ca=False, not_before=None, not_after=None, serial=None):
    """A certificate for key, signed by issuer_key (self-signed without one)."""
    now = datetime.datetime.now(datetime.timezone.utc)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    builder = (x509.CertificateBuilder()
               .subject_name(subject)
               .issuer_name(issuer.subject if issuer is not None else subject)
               .public_key(key.public_key())
               .serial_number(serial or x509.random_serial_number())
               .not_valid_before(not_before or now - DAY)
               .not_valid_after(not_after or now + 30 * DAY)
               .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
    if not ca:
        builder = builder.add_extension(x509.SubjectAlternativeName([x509.DNSName(common_name)]), critical=False)
    return builder.sign(issuer_key or key, hashes.SHA256())


class Chain(object):
    """A test CA, an intermediate and leaves they issue."""

    def __init__(self):
        self.root_key = new_key()
        self.root = issue('Test Root CA', self.root_key, ca=True)
        self.mid_key = new_key()
        self.mid = issue('Test Intermediate CA', self.mid_key, issuer=self.root, issuer_key=self.root_key, ca=True)

    def leaf(self, common_name='example.com', **kwargs):
        key = new_key()
        cert = issue(common_name, key, issuer=self.mid, issuer_key=self.mid_key, **kwargs)
        return cert, key

    def bundle(self, common_name='example.com', order=None, key=None, **kwargs):
        """PEM: leaf, intermediate (as a server sends them), then the leaf's key."""
        cert, own_key = self.leaf(common_name, **kwargs)
        certs = [cert_pem(cert), cert_pem(self.mid)]
        if order == 'reversed':
            certs.reverse()
        return ''.join(certs) + key_pem(key or own_key)


_CHAIN = []


def chain():
    """One CA per test session (making keys is the slow part)."""
    if not _CHAIN:
        _CHAIN.append(Chain())
    return _CHAIN[0]
