# -*- coding: utf-8 -*-
# Copyright: unitchannels maintainers
# Apache License 2.0 (see LICENSE)

"""Filters subject_alt_names and https_origins: what a certificate and Django's CSRF check need
from the names an app is served under."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress
import re

from ansible.errors import AnsibleFilterError
from ansible.module_utils.common.text.converters import to_text

DNS_NAME = re.compile(r'^(?=.{1,253}$)(\*\.)?([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$')


def _ip(name):
    try:
        return ipaddress.ip_address(name.strip('[]'))
    except ValueError:
        return None


def _names(names, what):
    """Names as a certificate lists them: Django's ".example.com" (any subdomain) is
    "*.example.com"; "*" (any host) names nothing and is left out."""
    if isinstance(names, (str, bytes)) or not hasattr(names, '__iter__'):
        raise AnsibleFilterError('%s: expects a list of names' % what)
    out = []
    for name in names:
        name = to_text(name).strip().lower().rstrip('.')
        if name == '*':
            continue
        if name.startswith('.'):
            name = '*' + name
        if _ip(name) is None and not DNS_NAME.match(name):
            raise AnsibleFilterError('%s: %r is neither a DNS name nor an IP address' % (what, name))
        if name not in out:
            out.append(name)
    if not out:
        raise AnsibleFilterError('%s: no names given (a lone "*" names no host)' % what)
    return out


def subject_alt_names(names):
    """'DNS:example.com,IP:127.0.0.1', openssl's subjectAltName for these names."""
    return ','.join(('IP:%s' % _ip(n)) if _ip(n) is not None else ('DNS:%s' % n)
                    for n in _names(names, 'subject_alt_names'))


def https_origins(names, listen='*:443'):
    """['https://example.com', 'https://[::1]:8443'], the origins a browser sends over that listener."""
    port = to_text(listen).rsplit(':', 1)[-1]
    if not port.isdigit():
        raise AnsibleFilterError('https_origins: %r is not a listener address ADDR:PORT' % (listen,))
    suffix = '' if port == '443' else ':' + port
    origins = []
    for name in _names(names, 'https_origins'):
        ip = _ip(name)
        host = ('[%s]' % ip) if ip is not None and ip.version == 6 else name
        origins.append('https://%s%s' % (host, suffix))
    return origins


class FilterModule(object):
    def filters(self):
        return {'subject_alt_names': subject_alt_names, 'https_origins': https_origins}
