# -*- coding: utf-8 -*-
# Copyright: unitchannels maintainers
# Apache License 2.0 (see LICENSE)

"""fleet_status: the table of playbooks/status.yml."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible.errors import AnsibleFilterError
from ansible_collections.unitchannels.deploy.plugins.filter.fleet_status import fleet_status


def unit(version, release, running=2):
    # unit_info's result: /config and /status as Unit 1.34.2 answers them.
    return {'version': version,
            'config': {'applications': {'chat': {'working_directory': '/srv/chat/releases/' + release}}},
            'status': {'applications': {'chat': {'processes': {'running': running, 'starting': 0, 'idle': 0},
                                                 'requests': {'active': 0}}}}}


def edge(name, status):
    return {'item': name, 'found': True, 'status': status, 'changed': False}


def test_one_line_per_host_aligned():
    hostvars = {
        'app1': {'status_read': {'app': 'chat', 'unit': unit('1.35.0', 'a1b2c3d4e5f6'), 'edge': [edge('edge1', 'UP')]}},
        'app2': {'status_read': {'app': 'chat', 'unit': unit('1.34.2', 'a1b2c3d4e5f6', 1),
                                 'edge': [edge('edge1', 'DRAIN'), edge('edge2', 'DOWN')]}},
    }
    lines = fleet_status(['app1', 'app2'], hostvars)
    assert lines[0].split() == ['host', 'unit', 'app', 'release', 'processes', 'edge']
    assert lines[1].split('  ')[0] == 'app1'
    assert [cell for cell in lines[1].split('  ') if cell.strip()] == [
        'app1', '1.35.0', 'chat', 'a1b2c3d4e5f6', '2 running, 0 starting, 0 idle', 'edge1 UP']
    assert lines[2].endswith('1 running, 0 starting, 0 idle  edge1 DRAIN, edge2 DOWN')
    # Aligned: every column starts where its header does.
    assert lines[1].index('1.35.0') == lines[0].index('unit') == lines[2].index('1.34.2')


def test_what_could_not_be_read_says_so():
    hostvars = {
        'app1': {'status_read': {'app': 'chat', 'unit': {'failed': False, 'msg': 'refused'}, 'edge': []}},
        'app2': {'status_read': {'app': 'other', 'unit': unit('1.34.2', 'r1'),
                                 'edge': [{'item': 'edge1', 'found': False, 'changed': False}]}},
    }
    lines = fleet_status(['app1', 'app2'], hostvars)
    assert 'no answer' in lines[1] and lines[1].endswith('-')
    assert 'not served' in lines[2] and lines[2].endswith('edge1 unknown')


def test_bad_input_is_named():
    with pytest.raises(AnsibleFilterError, match='expects a list of hosts'):
        fleet_status('app1', {})
