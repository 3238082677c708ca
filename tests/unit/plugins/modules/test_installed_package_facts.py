# -*- coding: utf-8 -*-
# Copyright: unitchannels maintainers
# Apache License 2.0 (see LICENSE)

"""installed_package_facts: the installed packages in package_facts' form, from dpkg-query or rpm;
with distribution, the platform facts as setup gives them, in the same run."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

import json

from ansible.module_utils import basic
from ansible.module_utils.facts import ansible_collector, default_collectors
from ansible_collections.unitchannels.deploy.plugins.modules import installed_package_facts

DPKG = ('unit\t1.34.2-1~bookworm\tinstalled\n'
        'libc6\t2.36-9+deb12u9\tinstalled\n'
        'libc6\t2.36-9+deb12u9\tinstalled\n'  # multi-arch: amd64 and i386
        'redis-server\t5:7.0.15-1~deb12u1\tconfig-files\n'  # removed, its configuration kept
        'git\t\tnot-installed\n')


@pytest.fixture
def host(monkeypatch):
    """A host with the given tools; records the commands run."""
    calls = []

    def make(tools, rc=0, out='', err=''):
        monkeypatch.setattr(basic.AnsibleModule, 'get_bin_path',
                            lambda self, name, *a, **k: '/usr/bin/' + name if name in tools else None)

        def run_command(self, argv, **kwargs):
            calls.append((argv, kwargs))
            return rc, out, err
        monkeypatch.setattr(basic.AnsibleModule, 'run_command', run_command)
        return calls
    return make


def test_dpkg_query_gives_the_installed_packages_only(run_module, host):
    calls = host(['dpkg-query', 'rpm'], out=DPKG)
    result = run_module(installed_package_facts, {}, check_mode=True)
    packages = result['ansible_facts']['packages']
    assert not result['failed'] and result['changed'] is False
    assert sorted(packages) == ['libc6', 'unit']
    assert packages['unit'] == [{'name': 'unit', 'version': '1.34.2-1~bookworm', 'source': 'apt'}]
    assert len(packages['libc6']) == 2
    assert calls[0][0][0] == '/usr/bin/dpkg-query' and len(calls) == 1  # rpm is not asked
    assert calls[0][1]['environ_update'] == {'LC_ALL': 'C'}


def test_rpm_when_there_is_no_dpkg(run_module, host):
    host(['rpm'], out='unit\t1.34.2\t1.el9.ngx\t0\n')
    packages = run_module(installed_package_facts, {})['ansible_facts']['packages']
    assert packages == {'unit': [{'name': 'unit', 'version': '1.34.2', 'release': '1.el9.ngx', 'epoch': 0, 'source': 'rpm'}]}


def test_without_either_tool_nothing_is_set_and_it_says_why(run_module, host):
    host([])
    result = run_module(installed_package_facts, {})
    assert not result['failed'] and 'ansible_facts' not in result
    assert 'neither dpkg-query nor rpm' in result['msg']


def test_a_failing_tool_fails_with_its_message(run_module, host):
    host(['dpkg-query'], rc=2, err='dpkg-query: error: parsing file /var/lib/dpkg/status\n')
    result = run_module(installed_package_facts, {})
    assert result['failed'] and 'dpkg-query failed (rc 2): dpkg-query: error: parsing file' in result['msg']


def test_without_distribution_only_the_packages_are_set(run_module, host):
    host(['dpkg-query'], out=DPKG)
    assert list(run_module(installed_package_facts, {})['ansible_facts']) == ['packages']


def setup_gives(monkeypatch, subsets):
    """What the setup module gives for these subsets (its collectors, as setup runs them)."""
    monkeypatch.setattr(basic, '_ANSIBLE_ARGS', json.dumps({'ANSIBLE_MODULE_ARGS': {}}).encode('utf-8'))
    monkeypatch.setattr(basic, '_ANSIBLE_PROFILE', 'legacy', raising=False)
    collector = ansible_collector.get_ansible_collector(
        all_collector_classes=default_collectors.collectors, gather_subset=['!all', '!min'] + subsets,
        gather_timeout=10, filter_spec='*')
    return collector.collect(module=basic.AnsibleModule(argument_spec={}))


def test_distribution_sets_what_setup_gives_for_the_distribution_and_python(run_module, host, monkeypatch):
    wanted = setup_gives(monkeypatch, ['distribution', 'python'])
    wanted = dict((key, value) for key, value in wanted.items()
                  if key.startswith('distribution') or key in ('os_family', 'python'))
    assert wanted['os_family'] and wanted['distribution_major_version'] and wanted['python']['version']['major'] == 3
    host(['dpkg-query'], out=DPKG)
    facts = run_module(installed_package_facts, dict(distribution=True), check_mode=True)['ansible_facts']
    assert sorted(facts['packages']) == ['libc6', 'unit']
    assert dict((key, facts[key]) for key in wanted) == wanted


def test_distribution_is_set_even_where_no_package_tool_answers(run_module, host):
    host([])
    result = run_module(installed_package_facts, dict(distribution=True))
    assert 'packages' not in result['ansible_facts'] and result['ansible_facts']['os_family']
    assert 'neither dpkg-query nor rpm' in result['msg']
