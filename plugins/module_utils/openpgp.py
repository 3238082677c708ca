# -*- coding: utf-8 -*-

# Copyright: unitchannels maintainers
# Apache License 2.0 (see LICENSE)

"""OpenPGP public keys read without gpg: the binary keyring apt wants, and its fingerprints.

apt verifies a repository with gpgv (which apt itself depends on) against the keyring its source
names in Signed-By; a ``.gpg`` keyring there must be binary. Telling whether a key is the one
expected needs only the fingerprints of its primary keys (RFC 4880 12.2, RFC 9580 5.5.4), so a
host needs no GnuPG to check and install a repository's key.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import base64
import hashlib
import re

PUBLIC_KEY = 6
SECRET_KEY = 5

_ARMOR_RE = re.compile(
    br'-----BEGIN PGP PUBLIC KEY BLOCK-----\r?\n(?P<body>.*?)-----END PGP PUBLIC KEY BLOCK-----', re.S)


class OpenPGPError(ValueError):
    """Data that is not an OpenPGP public key."""


def dearmor(data):
    """The binary packets of an ASCII-armored key block; binary data is returned as it is."""
    if not data.lstrip().startswith(b'-----BEGIN PGP'):
        return data
    blocks = _ARMOR_RE.findall(data)
    if not blocks:
        raise OpenPGPError('the armored data holds no PGP PUBLIC KEY BLOCK')
    binary = b''
    for body in blocks:
        lines = body.replace(b'\r', b'').split(b'\n')
        # Armor headers ("Comment: ...") end at the first empty line, when there are any.
        if b'' in lines and any(b': ' in line for line in lines[:lines.index(b'')]):
            lines = lines[lines.index(b'') + 1:]
        text = b''.join(line.strip() for line in lines if line.strip() and not line.startswith(b'='))
        try:
            binary += base64.b64decode(text, validate=True)
        except (ValueError, TypeError) as e:
            raise OpenPGPError('the armored key is not valid base64: %s' % e)
    return binary


def packets(data):
    """(tag, body) of each OpenPGP packet in binary data."""
    pos = 0
    while pos < len(data):
        header = data[pos]
        if not header & 0x80:
            raise OpenPGPError('byte %d is not the start of an OpenPGP packet' % pos)
        if header & 0x40:  # new format
            tag = header & 0x3F
            pos, length = _new_length(data, pos + 1)
        else:  # old format
            tag = (header >> 2) & 0x0F
            size = {0: 1, 1: 2, 2: 4}.get(header & 0x03)
            if size is None:
                raise OpenPGPError('packet at byte %d has an indeterminate length' % pos)
            length = int.from_bytes(data[pos + 1:pos + 1 + size], 'big')
            pos += 1 + size
        if pos + length > len(data):
            raise OpenPGPError('the data ends inside a packet (truncated key?)')
        yield tag, data[pos:pos + length]
        pos += length


def _new_length(data, pos):
    if pos >= len(data):
        raise OpenPGPError('the data ends inside a packet header')
    first = data[pos]
    if first < 192:
        return pos + 1, first
    if first < 224:
        return pos + 2, ((first - 192) << 8) + data[pos + 1] + 192
    if first == 255:
        return pos + 5, int.from_bytes(data[pos + 1:pos + 5], 'big')
    raise OpenPGPError('partial body lengths do not occur in keys (byte %d)' % pos)


def fingerprint(body):
    """Upper-case hex fingerprint of a public key packet body (version 4 or 6)."""
    version = body[0] if body else None
    if version == 4:
        return hashlib.sha1(b'\x99' + len(body).to_bytes(2, 'big') + body).hexdigest().upper()
    if version == 6:
        return hashlib.sha256(b'\x9b' + len(body).to_bytes(4, 'big') + body).hexdigest().upper()
    raise OpenPGPError('OpenPGP key version %s is not supported (4 and 6 are)' % version)


def read_key(data):
    """(binary keyring, [primary key fingerprints]) of a public key, armored or binary."""
    binary = dearmor(data)
    found = []
    for tag, body in packets(binary):
        if tag == SECRET_KEY:
            raise OpenPGPError('this is a secret key: give the public key only')
        if tag == PUBLIC_KEY:
            found.append(fingerprint(body))
    if not found:
        raise OpenPGPError('no OpenPGP public key found')
    return binary, found


def normalize_fingerprint(value):
    """A fingerprint as gpg prints it in colons mode: hex, upper case, no spaces."""
    return re.sub(r'\s', '', value or '').upper()
