# -*- coding: utf-8 -*-

# Copyright: unitchannels maintainers
# Apache License 2.0 (see LICENSE)

"""Paths into Unit's configuration and the comparison of its JSON values.

Path segments are object member names or array indexes; Unit percent-decodes each segment
(``%2F`` stays inside the segment), so a listener such as ``*:8000`` can be used as is and
names with a ``/`` or a space are sent percent-encoded.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json

from urllib.parse import quote, unquote

from ansible.module_utils.common.text.converters import to_text


# Characters left as they are in a path segment: RFC 3986 "pchar" minus "%".
# "*" and ":" stay readable, so listeners look like Unit's own docs:
# /config/listeners/*:8000, /config/listeners/127.0.0.1:80.
_SEGMENT_SAFE = "!$&'()*+,;=:@-._~"


def pretty_json(value):
    """Stable, readable text for diffs: keys sorted, arrays kept in order."""
    return json.dumps(value, indent=4, sort_keys=True, ensure_ascii=False) + '\n'


def json_equal(a, b):
    """Compare two JSON values the way Unit's configuration means them.

    * objects: key order is irrelevant;
    * arrays: order matters (route steps are evaluated in order);
    * numbers: 1 == 1.0 (Unit prints a float with no fraction as an integer),
      but booleans are never numbers (Python's True == 1 is not JSON's);
    * strings never equal numbers ("1" != 1).
    """
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a is b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return a == b
    if isinstance(a, dict) and isinstance(b, dict):
        if set(a) != set(b):
            return False
        return all(json_equal(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        if len(a) != len(b):
            return False
        return all(json_equal(x, y) for x, y in zip(a, b))
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, str) and isinstance(b, str):
        return a == b
    return False


def quote_segment(segment):
    """Percent-encode one path segment (an object member name or an index)."""
    return quote(to_text(segment), safe=_SEGMENT_SAFE)


def build_path(*segments):
    """Join raw (unencoded) segments into a control API path.

    >>> build_path('config', 'listeners', '*:8000')
    '/config/listeners/*:8000'
    >>> build_path('config', 'applications', 'my app/v2')
    '/config/applications/my%20app%2Fv2'
    """
    return '/' + '/'.join(quote_segment(s) for s in segments)


def split_path(path):
    """Split a control API path into decoded segments.

    Segments may be given percent-encoded (``%2F`` for a ``/`` inside a name,
    ``%20`` or a plain space for a space).  A trailing slash is ignored, as
    Unit does.  Raises ValueError for empty, ``.`` or ``..`` segments.
    """
    path = to_text(path).strip()
    if not path.startswith('/'):
        raise ValueError('path must start with "/" (got %r)' % path)
    stripped = path.rstrip('/')
    if not stripped:
        return []
    segments = []
    for raw in stripped[1:].split('/'):
        seg = unquote(raw)
        if raw == '' or seg in ('.', '..'):
            raise ValueError('path %r has an empty, "." or ".." segment' % path)
        segments.append(seg)
    return segments


def normalize_path(path):
    """Canonical, percent-encoded form of a control API path."""
    return build_path(*split_path(path))


def describe_path(path):
    """A readable form of a path for messages (decoded segments)."""
    try:
        return '/' + '/'.join(split_path(path))
    except ValueError:
        return path
