# -*- coding: utf-8 -*-
# Copyright: unitchannels maintainers
# Apache License 2.0 (see LICENSE)

"""python_error finds the exception at the end of a traceback, whole."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible.errors import AnsibleFilterError
from ansible_collections.unitchannels.deploy.plugins.filter.python_error import python_error

LIBPQ = '''Traceback (most recent call last):
  File "/srv/chat/releases/5cd9/manage.py", line 23, in <module>
    main()
psycopg.OperationalError: first
The above exception was the direct cause of the following exception:
Traceback (most recent call last):
  File "/srv/chat/venvs/py3.11/lib/python3.11/site-packages/django/db/backends/base/base.py", line 275, in ensure_connection
    self.connect()
django.db.utils.OperationalError: connection failed: connection to server at "10.0.0.10", port 5432 failed: SSL off
connection to server at "10.0.0.10", port 5432 failed: FATAL:  password authentication failed for user "chat"
'''


def test_python_error_keeps_every_line_of_the_last_exception():
    assert python_error(LIBPQ) == (
        'django.db.utils.OperationalError: connection failed: connection to server at "10.0.0.10", port 5432'
        ' failed: SSL off connection to server at "10.0.0.10", port 5432 failed: FATAL:  password'
        ' authentication failed for user "chat"')


def test_python_error_keeps_postgresql_detail_lines_with_their_exception():
    stderr = ('Traceback (most recent call last):\n  File "m.py", line 1\n'
              'django.db.utils.IntegrityError: duplicate key value violates unique constraint "x_pkey"\n'
              'DETAIL:  Key (id)=(1) already exists.\n')
    assert python_error(stderr) == ('django.db.utils.IntegrityError: duplicate key value violates unique'
                                    ' constraint "x_pkey" DETAIL:  Key (id)=(1) already exists.')


def test_python_error_takes_a_list_of_lines():
    lines = ['Traceback (most recent call last):', '  File "x.py", line 1', 'RuntimeError: this migration fails on purpose']
    assert python_error(lines) == 'RuntimeError: this migration fails on purpose'


@pytest.mark.parametrize('stderr, expected', [
    ('CommandError: Conflicting migrations detected\n', 'CommandError: Conflicting migrations detected'),
    ('something went wrong\n\n', 'something went wrong'),
    ('', ''),
    (None, ''),
])
def test_python_error_without_a_traceback(stderr, expected):
    assert python_error(stderr) == expected


def test_python_error_refuses_other_types():
    with pytest.raises(AnsibleFilterError, match='expects text'):
        python_error(42)
