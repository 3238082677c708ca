# -*- coding: utf-8 -*-

# Copyright: unitchannels maintainers
# Apache License 2.0 (see LICENSE)

"""Addresses of NGINX Unit: its control API, its listeners, the packages' socket and log.

The one place that reads them. The modules use it through ``unit_control.client_from_module``;
the roles through the ``unit_control_address`` filter and the ``local_address`` test.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import ipaddress
import os
import re
import socket

# Where the packages put the control socket, by os_family (Debian's first: the default).
PACKAGE_SOCKETS = {
    'Debian': '/var/run/control.unit.sock',
    'RedHat': '/var/run/unit/control.sock',
}
DEFAULT_SOCKET = PACKAGE_SOCKETS['Debian']
# Where the packages' unitd writes its log (unitd --log).
DEFAULT_LOG_FILE = '/var/log/unit.log'

_HOST_PORT_RE = re.compile(r'^(?P<host>\*|\[[0-9A-Fa-f:.]+\]|[^:/\s\[\]]+):(?P<port>[0-9]{1,5})$')


class ControlAddressError(ValueError):
    """A control or listener address that unitd would not take."""


def split_host_port(address):
    """(host, port) of HOST:PORT or [IPv6]:PORT, the brackets removed; ValueError otherwise."""
    m = _HOST_PORT_RE.match(address or '')
    if not m or not 0 < int(m.group('port')) < 65536:
        raise ControlAddressError('%r is not ADDR:PORT' % (address,))
    return m.group('host').strip('[]'), int(m.group('port'))


def parse_control(control, exists=os.path.exists):
    """(socket_path, url) for unitd's ``--control`` value.

    ``unix:/path`` is a socket; ``ADDR:PORT`` (``127.0.0.1:8443``, ``[::1]:8443``) a TCP
    address, reached over plain HTTP as unitd serves it; an ``http(s)://`` URL is taken as
    is.  Empty: the packages' socket that exists on this host (Debian's when none does).
    """
    control = (control or '').strip()
    if not control:
        found = [path for path in PACKAGE_SOCKETS.values() if exists(path)]
        return (found or [DEFAULT_SOCKET])[0], None
    if control.startswith('unix:'):
        path = control[len('unix:'):]
        if not path.startswith('/'):
            raise ControlAddressError('control %r: a unix socket needs an absolute path (unix:/PATH)' % control)
        return path, None
    if re.match(r'^https?://', control):
        return None, control
    if control.startswith('/'):
        return control, None
    try:
        split_host_port(control)
    except ValueError:
        raise ControlAddressError(
            'control %r is not a control address unitd accepts: unix:/PATH or ADDR:PORT '
            '(for example 127.0.0.1:8443)' % control)
    return None, 'http://' + control


def control_address(control, os_family='Debian'):
    """unitd's ``--control`` value: the one given, checked, or the packages' socket of os_family."""
    control = (control or '').strip()
    if not control:
        return 'unix:' + PACKAGE_SOCKETS.get(os_family, DEFAULT_SOCKET)
    socket_path, url = parse_control(control)
    if url and not url.startswith('http://' + control):
        raise ControlAddressError('control %r: unitd takes unix:/PATH or ADDR:PORT, not a URL' % control)
    return 'unix:' + socket_path if socket_path else control


def is_local(address):
    """Whether an address is reached only from the host: a unix socket, or a loopback host
    (127.0.0.0/8, ::1, localhost), with or without a port."""
    address = (address or '').strip()
    if address.startswith(('unix:', '/')):
        return True
    host = address
    try:
        ipaddress.ip_address(address)
    except ValueError:
        try:
            host = split_host_port(address)[0]
        except ValueError:
            host = address.strip('[]')
    if host == 'localhost':
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def listener_address(listen):
    """(host, port) to reach a Unit listener from the host itself.

    ``*:80`` and ``0.0.0.0:80`` answer on 127.0.0.1, ``[::]:80`` on ::1; any other address
    is reached as it is.  Raises ValueError for what is not ADDR:PORT (a listener takes no name).
    """
    try:
        host, port = split_host_port(listen)
        if host != '*':
            ipaddress.ip_address(host)
    except ValueError:
        raise ControlAddressError('%r is not a listener address (ADDR:PORT, for example *:80 or 127.0.0.1:8000)'
                                  % (listen,))
    if host in ('*', '0.0.0.0'):
        host = '127.0.0.1'
    elif host == '::':
        host = '::1'
    return host, port


def socket_endpoint(address):
    """(family, address) to connect to unix:/PATH or HOST:PORT, or None when it is neither.

    A wildcard host (``*``, ``0.0.0.0``, ``[::]``) is reached on loopback, as a listener is.
    """
    if address.startswith('unix:'):
        path = address[len('unix:'):]
        return (socket.AF_UNIX, path) if path.startswith('/') else None
    try:
        host, port = split_host_port(address)
    except ValueError:
        return None
    host = {'*': '127.0.0.1', '0.0.0.0': '127.0.0.1', '::': '::1'}.get(host, host)
    return (socket.AF_INET6 if ':' in host else socket.AF_INET), (host, port)
