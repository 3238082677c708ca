# -*- coding: utf-8 -*-

# Copyright: unitchannels maintainers
# Apache License 2.0 (see LICENSE)

"""Small client for NGINX Unit's control API, and what a failed request says.

Its neighbours: ``unit_address`` (where Unit is), ``unit_config_tree`` (paths and JSON
comparison), ``unit_log`` (what Unit wrote to its log).

Everything here talks to Unit through ``ansible.module_utils.urls`` (unix socket
or TCP), never through curl or third-party HTTP libraries.

Facts this code relies on (recorded from a real Unit 1.34.2, see the
collection's tests/fixtures):

* Unit answers every control request with JSON.  Errors are
  ``{"error": ..., "detail": ..., "location": {...}}`` (``detail`` and
  ``location`` optional): 400 for invalid JSON / invalid configuration,
  404 ``"Value doesn't exist."``, 405 for a wrong method and 500
  ``"Failed to apply new configuration."`` when the router could not apply a
  validated configuration (address in use, bad ``home``, import error...).
* A failed PUT/DELETE never changes the running configuration.
* For a 500 the reason is only written to Unit's log file, so the modules
  remember the log size before writing and read what was added afterwards.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import copy
import errno
import json
import os
import re
import socket
import stat

from http.client import HTTPException
from urllib.error import HTTPError, URLError

from ansible.module_utils.common.text.converters import to_bytes, to_native, to_text
from ansible.module_utils.urls import Request
from ansible_collections.unitchannels.deploy.plugins.module_utils.unit_address import (
    DEFAULT_SOCKET,
    ControlAddressError,
    parse_control,
)
from ansible_collections.unitchannels.deploy.plugins.module_utils.unit_config_tree import (
    describe_path,
    normalize_path,
)

try:
    import ssl
except ImportError:  # pragma: no cover - Python without ssl
    ssl = None


DEFAULT_TIMEOUT = 30


NOT_SET = object()


def unit_argument_spec():
    """Options shared by every module of the collection (see the doc fragment)."""
    return dict(
        control=dict(type='str'),
        socket=dict(type='path'),
        url=dict(type='str'),
        timeout=dict(type='int', default=DEFAULT_TIMEOUT),
    )


# control is not exclusive with them: module_defaults may set control for a whole role, and a
# task that names a socket or url explicitly wins over it.
UNIT_MUTUALLY_EXCLUSIVE = [('socket', 'url')]


def client_from_module(module):
    socket_path, url = module.params.get('socket'), module.params.get('url')
    if not (socket_path or url):
        try:
            socket_path, url = parse_control(module.params.get('control'))
        except ControlAddressError as e:
            raise UnitControlError(str(e))
    return UnitClient(
        socket_path=socket_path,
        url=url,
        timeout=module.params.get('timeout') or DEFAULT_TIMEOUT,
    )


class UnitControlError(Exception):
    """Unit could not be reached, or answered something that is not HTTP."""

    def __init__(self, msg):
        super(UnitControlError, self).__init__(msg)
        self.msg = msg


class UnitResponse(object):
    """What Unit answered: status code and the decoded JSON body."""

    def __init__(self, method, path, status, raw, headers=None):
        self.method = method
        self.path = path
        self.status = status
        self.raw = raw or b''
        self.body = decode_body(self.raw)
        self.headers = dict((k.lower(), v) for k, v in (headers or {}).items())

    @property
    def server_version(self):
        """The version in Unit's Server header ("Unit/1.34.2"), '' when it names none."""
        match = re.match(r'^Unit/([0-9][0-9A-Za-z.+~-]*)', self.headers.get('server', ''))
        return match.group(1) if match else ''

    @property
    def ok(self):
        return 200 <= self.status < 300

    def _member(self, key):
        if isinstance(self.body, dict):
            return self.body.get(key)
        return None

    @property
    def error(self):
        return self._member('error')

    @property
    def detail(self):
        return self._member('detail')

    @property
    def location(self):
        return self._member('location')

    def error_text(self):
        """Unit's error, detail and (for invalid JSON) the location, as one sentence."""
        if isinstance(self.body, dict):
            parts = []
            if self.error:
                parts.append(to_text(self.error))
            if self.detail:
                parts.append(to_text(self.detail))
            location = self.location
            if isinstance(location, dict) and location:
                where = []
                if 'line' in location:
                    where.append('line %s' % location['line'])
                if 'column' in location:
                    where.append('column %s' % location['column'])
                if 'offset' in location:
                    where.append('byte offset %s' % location['offset'])
                parts.append('(at %s of the request body)' % ', '.join(where))
            if parts:
                return ' '.join(parts)
        text = to_text(self.raw, errors='surrogate_or_replace').strip()
        return text or '(empty response)'

    def __repr__(self):
        return 'UnitResponse(%s %s -> %s %r)' % (self.method, self.path, self.status, self.body)


def decode_body(raw):
    """Parse Unit's answer as JSON; fall back to text, or None for an empty body."""
    if not raw:
        return None
    text = to_text(raw, errors='surrogate_or_replace')
    try:
        return json.loads(text)
    except ValueError:
        return text


def encode_json(value):
    """JSON for Unit: UTF-8, no NaN/Infinity (Unit would reject them as invalid JSON)."""
    try:
        return to_bytes(json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(',', ':')))
    except (TypeError, ValueError) as e:
        raise UnitControlError('value cannot be sent to Unit as JSON: %s' % to_native(e))


def normalize_json(value):
    """The value as Unit will store it: a JSON round trip (tuples -> lists, keys -> str)."""
    return json.loads(to_text(encode_json(value)))


# ---------------------------------------------------------------------------
# client


class UnitClient(object):
    """Minimal NGINX Unit control API client.

    ``socket_path``: unix socket (default /var/run/control.unit.sock);
    ``url``: alternatively a TCP base URL such as http://127.0.0.1:8443.
    Every method returns a UnitResponse (any HTTP status); connection
    problems raise UnitControlError with a message naming the socket/URL.
    """

    def __init__(self, socket_path=None, url=None, timeout=DEFAULT_TIMEOUT):
        if socket_path and url:
            raise UnitControlError('socket and url are mutually exclusive')
        self.timeout = timeout
        if url:
            url = to_text(url).strip()
            if not re.match(r'^https?://', url):
                raise UnitControlError('url must start with http:// or https:// (got %r)' % url)
            self.socket_path = None
            self.base_url = url.rstrip('/')
        else:
            self.socket_path = socket_path or DEFAULT_SOCKET
            self.base_url = 'http://localhost'
        # One Request (and one TLS context) per client: building a verifying
        # context loads the system CA store, which costs more than a request.
        context = None
        if ssl is not None and not self.base_url.startswith('https://'):
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)  # plain HTTP: never used
        self._http = Request(
            use_proxy=False,
            timeout=timeout,
            follow_redirects='none',
            unix_socket=self.socket_path,
            http_agent='unitchannels.deploy',
            context=context,
        )

    @property
    def endpoint(self):
        if self.socket_path:
            return "Unit's control socket %s" % self.socket_path
        return "Unit's control API at %s" % self.base_url

    # -- public API -------------------------------------------------------

    def get(self, path):
        return self.request('GET', path)

    def put(self, path, value):
        return self.request('PUT', path, value=value)

    def post(self, path, value):
        return self.request('POST', path, value=value)

    def delete(self, path):
        return self.request('DELETE', path)

    def put_raw(self, path, data, content_type='application/octet-stream'):
        return self.request('PUT', path, data=data, content_type=content_type)

    def request(self, method, path, value=NOT_SET, data=None, content_type=None):
        """Send one request; ``value`` is JSON-encoded, ``data`` is sent as is."""
        headers = {}
        body = None
        if value is not NOT_SET:
            body = encode_json(value)
            headers['Content-Type'] = 'application/json'
        elif data is not None:
            body = to_bytes(data)
            headers['Content-Type'] = content_type or 'application/octet-stream'

        if self.socket_path:
            self._check_socket()

        url = self.base_url + normalize_path(path)
        raw = b''
        answered = {}
        try:
            resp = self._http.open(method, url, data=body, headers=headers)
            status = resp.getcode()
            answered = resp.headers
            raw = resp.read()
        except HTTPError as e:
            status = e.code
            answered = e.headers or {}
            try:
                raw = e.read()
            except Exception:  # body already consumed / connection closed
                raw = b''
        except URLError as e:
            raise UnitControlError(self._connection_error(e.reason))
        except (socket.timeout, TimeoutError):
            raise UnitControlError(self._timeout_error())
        except (HTTPException, OSError) as e:
            raise UnitControlError(self._connection_error(e))
        return UnitResponse(method, path, status, raw, answered)

    # -- error messages ---------------------------------------------------

    def _timeout_error(self):
        return ('%s did not answer within %s seconds (set timeout to wait longer; '
                'Unit may be busy starting application processes)' % (self.endpoint, self.timeout))

    def _check_socket(self):
        path = self.socket_path
        try:
            st = os.stat(path)
        except OSError as e:
            if e.errno == errno.ENOENT:
                raise UnitControlError(
                    "Unit's control socket %s does not exist: is NGINX Unit installed and running "
                    "(systemctl status unit)? If unitd was started with another --control address, "
                    "set the socket (or url) option." % path)
            if e.errno == errno.EACCES:
                raise UnitControlError(
                    "permission denied while looking up Unit's control socket %s: run the task "
                    "with become: true" % path)
            raise UnitControlError("cannot access Unit's control socket %s: %s" % (path, to_native(e)))
        if not stat.S_ISSOCK(st.st_mode):
            raise UnitControlError(
                "%s exists but is not a unix socket, so it is not Unit's control socket; "
                "check the socket option" % path)
        if not os.access(path, os.R_OK | os.W_OK):
            raise UnitControlError(
                "permission denied on Unit's control socket %s (owner uid %d, mode %s): "
                "the control API is root-only by default, run the task with become: true"
                % (path, st.st_uid, oct(stat.S_IMODE(st.st_mode))))

    def _connection_error(self, reason):
        if isinstance(reason, (socket.timeout, TimeoutError)):
            return self._timeout_error()
        code = getattr(reason, 'errno', None)
        text = to_native(reason)
        if not code:
            m = re.search(r'\[Errno (\d+)\]', text)
            if m:
                code = int(m.group(1))
        if self.socket_path:
            path = self.socket_path
            if code == errno.ECONNREFUSED:
                return ("connection refused on Unit's control socket %s: the socket file exists but no "
                        "unitd is listening on it (Unit is stopped or crashed and left a stale socket). "
                        "Start or restart Unit (systemctl restart unit)." % path)
            if code == errno.EACCES:
                return ("permission denied on Unit's control socket %s: the control API is root-only "
                        "by default, run the task with become: true" % path)
            if code == errno.ENOENT:
                return ("Unit's control socket %s does not exist: is NGINX Unit running "
                        "(systemctl status unit)?" % path)
            return "cannot talk to Unit's control socket %s: %s" % (path, text)
        if code == errno.ECONNREFUSED:
            return ("connection refused by %s: is unitd running with --control on that address?"
                    % self.base_url)
        return 'cannot talk to %s: %s' % (self.endpoint, text)


# ---------------------------------------------------------------------------
# composing configuration

def compose(current, value, remove, advice='Convert it to named route sets (write it whole once), or do not use merge.'):
    """value merged one level deep into a copy of current, then the remove paths deleted.

    advice: what the message says to do when an array cannot be merged with named entries.
    """
    if not isinstance(value, dict):
        raise UnitControlError('with merge, value must be an object, got %s' % type(value).__name__)
    result = copy.deepcopy(current) if isinstance(current, dict) else {}
    for key, member in value.items():
        held = result.get(key)
        if isinstance(member, dict) and isinstance(held, dict):
            merged = dict(held)
            merged.update(member)
            result[key] = merged
        elif isinstance(member, dict) and isinstance(held, list) and held:
            raise UnitControlError(
                '%s holds an array of %d entries, which cannot be merged with the named entries %s. %s %s'
                % (key, len(held), ', '.join(sorted(member)), advice, NOTHING_CHANGED))
        else:
            result[key] = member
    for entry in remove:
        segments = [part for part in entry.strip('/').split('/') if part]
        parent = result
        for part in segments[:-1]:
            parent = parent.get(part) if isinstance(parent, dict) else None
        if segments and isinstance(parent, dict):
            parent.pop(segments[-1], None)
    return result


# ---------------------------------------------------------------------------
# messages shared by the modules

NOTHING_CHANGED = 'The previous configuration is still in force; nothing was changed.'


def request_failure(resp, log_lines=None, log_file=None, log_error=None):
    """msg and result fields for a failed write, per Unit's status code."""
    what = '%s %s' % (resp.method, describe_path(resp.path))
    fields = dict(status=resp.status, response=resp.body)
    if resp.error:
        fields['error'] = resp.error
    if resp.detail:
        fields['detail'] = resp.detail
    if resp.location:
        fields['location'] = resp.location

    if resp.status == 500:
        msg = ('Unit validated %s but failed to apply it (HTTP 500: %s). %s'
               % (what, resp.error_text(), NOTHING_CHANGED))
        if log_lines:
            msg += " Unit's log (%s) says:\n%s" % (log_file, '\n'.join(log_lines))
        else:
            reason = log_error or 'no new lines were written'
            msg += (" The reason is only written to Unit's log, but nothing could be read from %s (%s)."
                    % (log_file, reason))
        fields['unit_log'] = log_lines or []
    elif resp.status == 400:
        msg = 'Unit rejected %s (HTTP 400): %s %s' % (what, resp.error_text(), NOTHING_CHANGED)
    elif resp.status == 405:
        msg = 'Unit does not allow %s (HTTP 405: %s).' % (what, resp.error_text())
    else:
        msg = 'Unit answered HTTP %s to %s: %s' % (resp.status, what, resp.error_text())
    return msg, fields
