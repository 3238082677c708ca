# -*- coding: utf-8 -*-

# Copyright: unitchannels maintainers
# Apache License 2.0 (see LICENSE)

from __future__ import absolute_import, division, print_function

import socket

import pytest

from ansible_collections.unitchannels.deploy.plugins.module_utils import unit_address as ua


@pytest.mark.parametrize('control,expected', [
    ('unix:/run/unit/control.sock', ('/run/unit/control.sock', None)),
    ('127.0.0.1:8443', (None, 'http://127.0.0.1:8443')),
    ('[::1]:8443', (None, 'http://[::1]:8443')),
    ('http://127.0.0.1:8443', (None, 'http://127.0.0.1:8443')),
    ('/var/run/control.unit.sock', ('/var/run/control.unit.sock', None)),
])
def test_parse_control(control, expected):
    assert ua.parse_control(control) == expected


@pytest.mark.parametrize('control', ['unix:relative.sock', 'localhost', '127.0.0.1', '127.0.0.1:port'])
def test_parse_control_refuses_what_unitd_would_not_take(control):
    with pytest.raises(ua.ControlAddressError) as e:
        ua.parse_control(control)
    assert repr(control) in str(e.value)


def test_parse_control_default_is_the_packages_socket_that_exists():
    rpm = '/var/run/unit/control.sock'
    assert ua.parse_control('', exists=lambda p: p == rpm) == (rpm, None)
    assert ua.parse_control(None, exists=lambda p: False) == (ua.DEFAULT_SOCKET, None)


@pytest.mark.parametrize('listen,expected', [
    ('*:80', ('127.0.0.1', 80)),
    ('0.0.0.0:8000', ('127.0.0.1', 8000)),
    ('127.0.0.2:8000', ('127.0.0.2', 8000)),
    ('10.0.0.5:80', ('10.0.0.5', 80)),
    ('[::]:80', ('::1', 80)),
    ('[::1]:8080', ('::1', 8080)),
])
def test_listener_address(listen, expected):
    assert ua.listener_address(listen) == expected


@pytest.mark.parametrize('listen', ['80', '*:0', '*:70000', 'localhost:80', 'unix:/tmp/s', '', None, '::1:80'])
def test_listener_address_refuses(listen):
    with pytest.raises(ValueError):
        ua.listener_address(listen)


@pytest.mark.parametrize('control,os_family,expected', [
    ('', 'Debian', 'unix:/var/run/control.unit.sock'),
    (None, 'RedHat', 'unix:/var/run/unit/control.sock'),
    ('', 'Suse', 'unix:/var/run/control.unit.sock'),
    ('unix:/run/u.sock', 'RedHat', 'unix:/run/u.sock'),
    ('/run/u.sock', 'Debian', 'unix:/run/u.sock'),
    ('127.0.0.1:8443', 'Debian', '127.0.0.1:8443'),
    ('[::1]:8443', 'Debian', '[::1]:8443'),
])
def test_control_address_is_what_unitd_takes(control, os_family, expected):
    assert ua.control_address(control, os_family) == expected


@pytest.mark.parametrize('control', ['http://127.0.0.1:8443', 'unix:rel.sock', '127.0.0.1'])
def test_control_address_refuses_what_unitd_would_not_take(control):
    with pytest.raises(ua.ControlAddressError, match='control'):
        ua.control_address(control)


@pytest.mark.parametrize('address,local', [
    ('unix:/var/run/control.unit.sock', True),
    ('/var/run/control.unit.sock', True),
    ('127.0.0.1:8443', True),
    ('127.0.0.2:8443', True),
    ('[::1]:8443', True),
    ('localhost:8443', True),
    ('127.0.0.1', True),
    ('::1', True),
    ('localhost', True),
    ('10.0.0.5:8443', False),
    ('0.0.0.0:8443', False),
    ('*:8443', False),
    ('[::]:8443', False),
    ('0.0.0.0', False),
    ('::', False),
    ('unit.example.com:8443', False),
    ('', False),
])
def test_is_local(address, local):
    assert ua.is_local(address) is local


@pytest.mark.parametrize('address,expected', [
    ('unix:/run/redis/redis.sock', (socket.AF_UNIX, '/run/redis/redis.sock')),
    ('127.0.0.1:6379', (socket.AF_INET, ('127.0.0.1', 6379))),
    ('*:8443', (socket.AF_INET, ('127.0.0.1', 8443))),
    ('0.0.0.0:80', (socket.AF_INET, ('127.0.0.1', 80))),
    ('[::]:80', (socket.AF_INET6, ('::1', 80))),
    ('[::1]:80', (socket.AF_INET6, ('::1', 80))),
    ('localhost:80', (socket.AF_INET, ('localhost', 80))),
])
def test_socket_endpoint(address, expected):
    assert ua.socket_endpoint(address) == expected


@pytest.mark.parametrize('address', ['unix:rel', '6379', 'host:port', ''])
def test_socket_endpoint_of_what_is_no_address(address):
    assert ua.socket_endpoint(address) is None
