# -*- coding: utf-8 -*-
# Copyright: unitchannels maintainers
# Apache License 2.0 (see LICENSE)

"""The filters and tests that replace long Jinja expressions in the roles."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib

import pytest

from ansible.errors import AnsibleFilterError
from ansible_collections.unitchannels.deploy.plugins.filter.packages_missing import packages_missing
from ansible_collections.unitchannels.deploy.plugins.filter.own_bundles import own_bundles
from ansible_collections.unitchannels.deploy.plugins.filter.release_ids import release_id, venv_id
from ansible_collections.unitchannels.deploy.plugins.filter.unit_packages import unit_packages
from ansible_collections.unitchannels.deploy.plugins.test.unit_listener import unit_listener


def found(*pairs):
    return [{'path': '/src/app/' + path, 'checksum': checksum} for path, checksum in pairs]


def test_release_id_is_the_hash_of_sorted_relative_paths_and_checksums():
    files = found(('manage.py', 'aa'), ('mysite/settings.py', 'bb'))
    expected = hashlib.sha1(b'manage.py:aa\nmysite/settings.py:bb').hexdigest()[:12]
    assert release_id(files, '/src/app') == expected
    assert release_id(list(reversed(files)), '/src/app') == expected  # find's order does not matter


def test_release_id_changes_with_a_file_content_or_name():
    base = release_id(found(('a.py', '1')), '/src/app')
    assert release_id(found(('a.py', '2')), '/src/app') != base
    assert release_id(found(('b.py', '1')), '/src/app') != base


def test_release_id_of_nothing_says_there_is_no_code():
    with pytest.raises(AnsibleFilterError, match='no files'):
        release_id([], '/src/app')
    with pytest.raises(AnsibleFilterError, match='get_checksum'):
        release_id([{'path': '/src/app/a.py'}], '/src/app')


def test_venv_id_names_python_and_the_hash_of_what_it_is_built_from():
    assert venv_id(['Y2hhbm5lbHM='], '3.11', '', '') == 'py3.11-' + hashlib.sha1(b'Y2hhbm5lbHM=3.11').hexdigest()[:12]
    assert venv_id(['a', 'b'], '3.11') == 'py3.11-' + hashlib.sha1(b'a|b3.11').hexdigest()[:12]
    assert venv_id(['a'], '3.11', 'https://pypi.example/simple') != venv_id(['a'], '3.11')
    assert venv_id(['a'], '3.11', '', 'strict') != venv_id(['a'], '3.11')
    with pytest.raises(AnsibleFilterError):
        venv_id('channels', '3.11')


def test_venv_id_takes_a_missing_file_as_empty():
    # app_release_info gives None for a constraints file a release lacks; slurp gave ''.
    assert venv_id(['a', None], '3.11') == venv_id(['a', ''], '3.11') == 'py3.11-' + hashlib.sha1(b'a|3.11').hexdigest()[:12]


def test_unit_packages():
    assert unit_packages(['3.11']) == ['unit', 'unit-python3.11']
    assert unit_packages(['3.9', '3.11'], 'rpm') == ['unit', 'unit-python39', 'unit-python311']
    assert unit_packages(['3.11'], 'deb', '1.34.2-1~bookworm') == ['unit=1.34.2-1~bookworm', 'unit-python3.11=1.34.2-1~bookworm']
    assert unit_packages(['3.11'], 'rpm', '1.34.2') == ['unit-1.34.2', 'unit-python311-1.34.2']
    with pytest.raises(AnsibleFilterError, match='3'):
        unit_packages(['3'])
    with pytest.raises(AnsibleFilterError, match='apk'):
        unit_packages(['3.11'], 'apk')


@pytest.mark.parametrize('value,expected', [
    ('*:80', True), ('127.0.0.1:8000', True), ('[::1]:8000', True),
    ('80', False), ('localhost:80', False), ('*:99999', False), (None, False), (8000, False),
])
def test_unit_listener(value, expected):
    assert unit_listener(value) is expected


# --- tls_names: subject_alt_names, https_origins ---------------------------------------------------

from ansible_collections.unitchannels.deploy.plugins.filter.tls_names import https_origins, subject_alt_names  # noqa: E402


def test_subject_alt_names_tells_names_from_addresses():
    assert subject_alt_names(['Chat.Example.com.', '127.0.0.1', '::1', 'chat.example.com']) == \
        'DNS:chat.example.com,IP:127.0.0.1,IP:::1'


@pytest.mark.parametrize('names', [[], ['https://chat.example.com'], ['chat.example.com:8443'], 'chat.example.com'])
def test_subject_alt_names_refuses_what_is_not_a_name(names):
    with pytest.raises(AnsibleFilterError):
        subject_alt_names(names)


def test_django_host_patterns_become_certificate_names():
    assert subject_alt_names(['.example.com', '*', 'chat.example.com']) == 'DNS:*.example.com,DNS:chat.example.com'
    assert https_origins(['.example.com', '*']) == ['https://*.example.com']
    with pytest.raises(AnsibleFilterError):
        https_origins(['*'])


def test_https_origins_name_the_port_unless_443():
    assert https_origins(['chat.example.com', '::1']) == ['https://chat.example.com', 'https://[::1]']
    assert https_origins(['chat.example.com'], '127.0.0.1:8443') == ['https://chat.example.com:8443']
    with pytest.raises(AnsibleFilterError):
        https_origins(['chat.example.com'], 'localhost')


# --- acme_challenge_routes -------------------------------------------------------------------------

from ansible_collections.unitchannels.deploy.plugins.filter.acme_challenge_routes import acme_challenge_routes  # noqa: E402

CHALLENGE = {'match': {'uri': '/.well-known/acme-challenge/*'}, 'action': {'share': '/acme/chat$uri'}}


def test_acme_challenge_routes_keep_what_the_plain_listener_did():
    redirect = {'action': {'return': 301, 'location': 'https://$host$request_uri'}}
    config = {'routes': {'chat': [], 'chat-http': [CHALLENGE, redirect]}}
    assert acme_challenge_routes(config, 'chat', '/acme/chat/') == [CHALLENGE, redirect]
    assert acme_challenge_routes({'routes': {'chat': []}}, 'chat', '/acme/chat') == \
        [CHALLENGE, {'action': {'pass': 'routes/chat'}}]
    assert acme_challenge_routes({'routes': []}, 'chat', '/acme/chat') == [CHALLENGE, {'action': {'return': 404}}]
    with pytest.raises(AnsibleFilterError):
        acme_challenge_routes(None, 'chat', '/acme/chat')


INSTALLED = {'unit': [{'name': 'unit', 'version': '1.34.2-1~bookworm'}],
             'unit-python3.11': [{'name': 'unit-python3.11', 'version': '1.34.2-1~bookworm'}],
             'redis-server': [{'name': 'redis-server', 'version': '5:7.0.15-1~deb12u1'}]}


def test_packages_missing_names_what_is_not_installed():
    assert packages_missing(['unit', 'redis-server', 'git', 'unit-python3.13'], INSTALLED) == ['git', 'unit-python3.13']
    assert packages_missing([], INSTALLED) == [] and packages_missing(['git'], {}) == ['git']


def test_packages_missing_matches_a_pinned_version_as_apt_does():
    assert packages_missing(['unit=1.34.2*', 'unit-python3.11=1.34.2-1~bookworm'], INSTALLED) == []
    # Another version installed: the pin is not met (an upgrade or a downgrade is due).
    assert packages_missing(['unit=1.35.0*', 'unit-python3.11=1.34.1-1~bookworm'], INSTALLED) == [
        'unit=1.35.0*', 'unit-python3.11=1.34.1-1~bookworm']
    assert packages_missing(['redis-server=5:7.0.*'], INSTALLED) == []


def test_packages_missing_refuses_what_is_not_a_list_or_package_facts():
    with pytest.raises(AnsibleFilterError, match='list of package names'):
        packages_missing('unit', INSTALLED)
    with pytest.raises(AnsibleFilterError, match='package_facts'):
        packages_missing(['unit'], ['unit'])


def test_packages_not_read_are_all_missing():
    assert packages_missing(['unit', 'redis-server=5:7.0.*'], None) == ['unit', 'redis-server=5:7.0.*']


def test_own_bundles_are_the_apps_content_addressed_bundles_only():
    certificates = {'chat-0123456789ab': {}, 'chat-0123456789AB': {}, 'chat-0123456789a': {},
                    'chat-admin-0123456789ab': {}, 'chatter-0123456789ab': {}, 'chat-by-hand': {},
                    'chat-fedcba987654': {}}
    assert own_bundles(certificates, 'chat') == ['chat-0123456789ab', 'chat-fedcba987654']
    assert own_bundles(certificates, 'chat-admin') == ['chat-admin-0123456789ab']
    assert own_bundles(None, 'chat') == [] and own_bundles([], 'chat') == []
