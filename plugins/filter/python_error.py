# -*- coding: utf-8 -*-
# Copyright: unitchannels maintainers
# Apache License 2.0 (see LICENSE)

"""Filter python_error: the exception a Python program died of, out of its stderr."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible.errors import AnsibleFilterError
from ansible.module_utils.common.text.converters import to_text

# "ValueError: ...", "django.db.utils.OperationalError: ...": a name at the start of a line.
EXCEPTION_LINE = re.compile(r'^[A-Za-z_][A-Za-z0-9_.]*(: |:$)')
# PostgreSQL's message parts, which continue the exception above them.
NOT_EXCEPTIONS = re.compile(r'^(DETAIL|HINT|CONTEXT|WARNING|NOTICE|LINE [0-9]+):')


def python_error(stderr):
    """The last exception line of a traceback and the lines after it (a message may span
    several, as libpq's does for each address it tried), joined by spaces. Without a traceback,
    the last non-empty line; '' for no output."""
    if isinstance(stderr, (list, tuple)):
        stderr = '\n'.join(to_text(line) for line in stderr)
    elif stderr is None:
        stderr = ''
    elif not isinstance(stderr, (str, bytes)):
        raise AnsibleFilterError('python_error: expects text or a list of lines')
    lines = [line.strip() for line in to_text(stderr).splitlines()]
    starts = [i for i, line in enumerate(lines) if EXCEPTION_LINE.match(line) and not NOT_EXCEPTIONS.match(line)]
    if starts:
        return ' '.join(line for line in lines[starts[-1]:] if line)
    rest = [line for line in lines if line]
    return rest[-1] if rest else ''


class FilterModule(object):
    """unitchannels.deploy filters."""

    def filters(self):
        return {'python_error': python_error}
