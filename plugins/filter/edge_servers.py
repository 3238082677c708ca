# -*- coding: utf-8 -*-
# Copyright: unitchannels maintainers
# Apache License 2.0 (see LICENSE)

"""Filter edge_servers: where an edge reaches the NGINX Unit listener of each app host."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleFilterError
from ansible.module_utils.common.text.converters import to_text
from ansible_collections.unitchannels.deploy.plugins.module_utils.unit_address import (
    is_local, listener_address, split_host_port)

# channels_app's own default listener.
DEFAULT_LISTEN = '*:80'


def edge_servers(hosts, hostvars, edge_host):
    """[{name, address, port}] for each app host, in the order given.

    The port and address are those of the host's channels_app_listen. A wildcard listener is
    reached at the host's ansible_host (or its inventory name); one on loopback only from the
    host itself (the front of a single host), where every listener is reached on loopback.
    """
    if isinstance(hosts, (str, bytes)) or not hasattr(hosts, '__iter__'):
        raise AnsibleFilterError('edge_servers: expects a list of app hosts, got %r' % (hosts,))
    servers = []
    for name in hosts:
        name = to_text(name)
        variables = hostvars[name] if name in hostvars else {}
        listen = to_text(variables.get('channels_app_listen') or DEFAULT_LISTEN)
        try:
            address, port = split_host_port(listen)
        except ValueError:
            raise AnsibleFilterError('edge_servers: %s has channels_app_listen %r, not ADDR:PORT' % (name, listen))
        if name == edge_host:
            address = listener_address(listen)[0]
        elif address in ('*', '0.0.0.0', '::'):
            address = to_text(variables.get('ansible_host') or name)
        elif is_local(address):
            raise AnsibleFilterError(
                'edge_servers: %s has channels_app_listen %s, on loopback, which the edge %s cannot reach: '
                'listen on the address the edge reaches it at (or *:%d)' % (name, listen, edge_host, port))
        servers.append({'name': name, 'address': address, 'port': port})
    return servers


class FilterModule(object):
    def filters(self):
        return {'edge_servers': edge_servers}
