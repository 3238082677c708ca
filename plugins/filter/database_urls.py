# -*- coding: utf-8 -*-
# Copyright: unitchannels maintainers
# Apache License 2.0 (see LICENSE)

"""Filters database_label and host_cidrs: naming an app's database without its password, and the
addresses PostgreSQL's pg_hba.conf lets in."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress

from ansible.errors import AnsibleFilterError
from ansible.module_utils.common.text.converters import to_text
from ansible.module_utils.six.moves.urllib.parse import unquote, urlsplit

DEFAULT_PORTS = {'postgres': 5432, 'postgresql': 5432, 'pgsql': 5432, 'mysql': 3306}


def database_label(url):
    """'NAME on HOST:PORT as USER' for a server URL, the file's path for SQLite; never the password."""
    url = to_text(url)
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        # Not the parser's words: they may quote a piece of the password.
        raise AnsibleFilterError('database_label: the database URL does not parse (percent-encode the'
                                 ' characters of its password other than letters, digits, "-", "_", "." and "~")')
    scheme = parts.scheme.lower()
    if not scheme:
        raise AnsibleFilterError('database_label: not a database URL (no scheme such as postgres://)')
    if scheme == 'sqlite':
        return 'SQLite file %s' % unquote(parts.path[1:] or parts.netloc)
    name = unquote(parts.path.lstrip('/')) or '(no database name)'
    host = unquote(parts.hostname or '') or 'the local socket'
    if ':' in host:
        host = '[%s]' % host  # an IPv6 address, as a URL writes it
    port = port or DEFAULT_PORTS.get(scheme, 'the default port')
    user = unquote(parts.username or '') or 'the system user'
    return '%s on %s:%s as %s' % (name, host, port, user)


def host_cidrs(entries):
    """Addresses and ranges for pg_hba.conf: each entry an address, a CIDR range, or a line of
    `getent ahosts` output ('ADDRESS STREAM name'); single addresses get /32 or /128. Unique, in
    order."""
    if isinstance(entries, (str, bytes)) or not hasattr(entries, '__iter__'):
        raise AnsibleFilterError('host_cidrs: expects a list of addresses')
    out = []
    for entry in entries:
        words = to_text(entry).split()
        if not words:
            continue
        try:
            network = ipaddress.ip_network(words[0], strict=False)
        except ValueError:
            raise AnsibleFilterError('host_cidrs: %r is neither an address nor a CIDR range' % words[0])
        cidr = network.with_prefixlen
        if cidr not in out:
            out.append(cidr)
    return out


class FilterModule(object):
    """unitchannels.deploy filters."""

    def filters(self):
        return {'database_label': database_label, 'host_cidrs': host_cidrs}
