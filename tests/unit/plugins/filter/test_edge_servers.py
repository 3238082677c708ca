# -*- coding: utf-8 -*-
# Copyright: unitchannels maintainers
# Apache License 2.0 (see LICENSE)

"""edge_servers: where the edge reaches each app host's Unit listener."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible.errors import AnsibleFilterError
from ansible_collections.unitchannels.deploy.plugins.filter.edge_servers import edge_servers


def test_a_fleet_behind_an_edge():
    hostvars = {'app1': {'channels_app_listen': '*:8080', 'ansible_host': '10.0.0.11'},
                'app2': {'channels_app_listen': '10.0.1.12:8080'},
                'app3': {}}
    assert edge_servers(['app1', 'app2', 'app3'], hostvars, 'edge1') == [
        {'name': 'app1', 'address': '10.0.0.11', 'port': 8080},
        {'name': 'app2', 'address': '10.0.1.12', 'port': 8080},
        {'name': 'app3', 'address': 'app3', 'port': 80}]


@pytest.mark.parametrize('listen, address', [('127.0.0.1:8080', '127.0.0.1'), ('*:8080', '127.0.0.1'),
                                             ('[::]:8080', '::1'), ('10.0.0.11:8080', '10.0.0.11')])
def test_the_front_of_a_single_host_reaches_its_own_listener(listen, address):
    hostvars = {'chat1': {'channels_app_listen': listen, 'ansible_host': '192.0.2.1'}}
    assert edge_servers(['chat1'], hostvars, 'chat1') == [{'name': 'chat1', 'address': address, 'port': 8080}]


def test_a_loopback_listener_of_another_host_is_named():
    with pytest.raises(AnsibleFilterError, match='app1 has channels_app_listen 127.0.0.1:8080, on loopback, '
                                                 'which the edge edge1 cannot reach'):
        edge_servers(['app1'], {'app1': {'channels_app_listen': '127.0.0.1:8080'}}, 'edge1')


def test_bad_input_is_named():
    with pytest.raises(AnsibleFilterError, match="app1 has channels_app_listen 'app1', not ADDR:PORT"):
        edge_servers(['app1'], {'app1': {'channels_app_listen': 'app1'}}, 'edge1')
    with pytest.raises(AnsibleFilterError, match='expects a list of app hosts'):
        edge_servers('app1', {}, 'edge1')
