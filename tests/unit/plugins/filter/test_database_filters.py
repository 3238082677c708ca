# -*- coding: utf-8 -*-
# Copyright: unitchannels maintainers
# Apache License 2.0 (see LICENSE)

"""database_label names a database without its password; host_cidrs makes pg_hba.conf addresses."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible.errors import AnsibleFilterError
from ansible_collections.unitchannels.deploy.plugins.filter.database_urls import database_label, host_cidrs


@pytest.mark.parametrize('url, label', [
    ('postgres://chat:s3cret@redis1:5432/chat', 'chat on redis1:5432 as chat'),
    ('postgresql://chat:s3cret@db.example.com/chat', 'chat on db.example.com:5432 as chat'),
    ('postgres://chat:pa%40ss@[fd00::5]:6432/chat?sslmode=require', 'chat on [fd00::5]:6432 as chat'),
    ('postgres:///chat', 'chat on the local socket:5432 as the system user'),
    ('mysql://app:x@db1/app', 'app on db1:3306 as app'),
    ('sqlite:////srv/chat/shared/db.sqlite3', 'SQLite file /srv/chat/shared/db.sqlite3'),
])
def test_database_label_names_the_database_and_never_the_password(url, label):
    assert database_label(url) == label
    assert 's3cret' not in database_label(url) and 'pa@ss' not in database_label(url)


def test_database_label_refuses_what_is_not_a_url():
    with pytest.raises(AnsibleFilterError, match='not a database URL'):
        database_label('chat')


def test_database_label_does_not_quote_a_password_that_breaks_the_url():
    # An unencoded "/" in the password makes the parser read part of it as the port.
    with pytest.raises(AnsibleFilterError, match='does not parse') as error:
        database_label('postgres://chat:S3cr/etPart@db1:5432/chat')
    assert 'S3cr' not in str(error.value) and 'etPart' not in str(error.value)


def test_host_cidrs_takes_addresses_ranges_and_getent_lines():
    entries = ['10.0.0.0/24', '10.0.0.7', '172.18.0.3      STREAM app1', '172.18.0.3      DGRAM  ',
               '172.18.0.3      RAW    ', 'fd00::3         STREAM app2', '', '192.168.1.5/24']
    assert host_cidrs(entries) == ['10.0.0.0/24', '10.0.0.7/32', '172.18.0.3/32', 'fd00::3/128', '192.168.1.0/24']


@pytest.mark.parametrize('entries, match', [
    (['app1'], "'app1' is neither an address nor a CIDR range"),
    ('10.0.0.1', 'expects a list'),
])
def test_host_cidrs_refuses_names_and_non_lists(entries, match):
    with pytest.raises(AnsibleFilterError, match=match):
        host_cidrs(entries)
