# -*- coding: utf-8 -*-

# Copyright: unitchannels maintainers
# Apache License 2.0 (see LICENSE)

"""Small client for NGINX Unit's control API, plus the helpers the modules share.

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
* Path segments are object member names or array indexes; Unit
  percent-decodes each segment (``%2F`` stays inside the segment), so a
  listener such as ``*:8000`` or ``127.0.0.1:80`` can be used as is and names
  with a ``/`` or a space are sent percent-encoded.
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
import time

from http.client import HTTPException
from urllib.error import HTTPError, URLError
from urllib.parse import quote, unquote

from ansible.module_utils.common.text.converters import to_bytes, to_native, to_text
from ansible.module_utils.urls import Request

try:
    import ssl
except ImportError:  # pragma: no cover - Python without ssl
    ssl = None


DEFAULT_SOCKET = '/var/run/control.unit.sock'
# Where the packages put the control socket: Debian/Ubuntu first, then the RPMs.
PACKAGE_SOCKETS = (DEFAULT_SOCKET, '/var/run/unit/control.sock')
DEFAULT_LOG_FILE = '/var/log/unit.log'
DEFAULT_TIMEOUT = 30

# Characters left as they are in a path segment: RFC 3986 "pchar" minus "%".
# "*" and ":" stay readable, so listeners look like Unit's own docs:
# /config/listeners/*:8000, /config/listeners/127.0.0.1:80.
_SEGMENT_SAFE = "!$&'()*+,;=:@-._~"

# Unit log line: "2026/11/25 17:22:35 [alert] 1078#1078 message"
_LOG_LINE_RE = re.compile(
    r'^(?P<ts>\d{4}/\d{2}/\d{2} \d{2}:\d{2}:\d{2}) \[(?P<level>[a-z]+)\] '
    r'(?P<pid>\d+)#(?P<tid>\d+) (?P<msg>.*)$'
)
_ERROR_LEVELS = ('alert', 'crit', 'emerg', 'error')

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


def parse_control(control, exists=os.path.exists):
    """(socket_path, url) for unitd's ``--control`` value.

    ``unix:/path`` is a socket; ``ADDR:PORT`` (``127.0.0.1:8443``, ``[::1]:8443``) a TCP
    address, reached over plain HTTP as unitd serves it; an ``http(s)://`` URL is taken as
    is.  Empty: the packages' socket that exists on this host (Debian's when none does).
    """
    control = (control or '').strip()
    if not control:
        found = [path for path in PACKAGE_SOCKETS if exists(path)]
        return (found or [DEFAULT_SOCKET])[0], None
    if control.startswith('unix:'):
        path = control[len('unix:'):]
        if not path.startswith('/'):
            raise UnitControlError('control %r: a unix socket needs an absolute path (unix:/PATH)' % control)
        return path, None
    if re.match(r'^https?://', control):
        return None, control
    if control.startswith('/'):
        return control, None
    if not re.match(r'^(\[[0-9A-Fa-f:.]+\]|[^:/\s\[\]]+):[0-9]{1,5}$', control):
        raise UnitControlError(
            'control %r is not a control address unitd accepts: unix:/PATH or ADDR:PORT '
            '(for example 127.0.0.1:8443)' % control)
    return None, 'http://' + control


def client_from_module(module):
    socket_path, url = module.params.get('socket'), module.params.get('url')
    if not (socket_path or url):
        socket_path, url = parse_control(module.params.get('control'))
    return UnitClient(
        socket_path=socket_path,
        url=url,
        timeout=module.params.get('timeout') or DEFAULT_TIMEOUT,
    )


def listener_address(listen):
    """(host, port) to reach a Unit listener from the host itself.

    ``*:80`` and ``0.0.0.0:80`` answer on 127.0.0.1, ``[::]:80`` on ::1; any other address
    is reached as it is.  Raises ValueError for what is not ADDR:PORT.
    """
    m = re.match(r'^(?P<host>\*|[0-9.]+|\[[0-9A-Fa-f:.]+\]):(?P<port>[0-9]{1,5})$', listen or '')
    if not m or not 0 < int(m.group('port')) < 65536:
        raise ValueError('%r is not a listener address (ADDR:PORT, for example *:80 or 127.0.0.1:8000)'
                         % (listen,))
    host = m.group('host').strip('[]')
    if host in ('*', '0.0.0.0'):
        host = '127.0.0.1'
    elif host == '::':
        host = '::1'
    return host, int(m.group('port'))


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


def pretty_json(value):
    """Stable, readable text for diffs: keys sorted, arrays kept in order."""
    return json.dumps(value, indent=4, sort_keys=True, ensure_ascii=False) + '\n'


# ---------------------------------------------------------------------------
# semantic comparison


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


# ---------------------------------------------------------------------------
# paths


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
# Unit's log


class LogTail(object):
    """Remember the size of Unit's log before a request, read what was added after.

    Handles rotation (inode changed or file shrank: read the new file from the
    start) and bounds what it returns to the last ``max_lines`` lines of at
    most ``max_bytes``.  Never raises: problems end up in ``self.error``.
    """

    def __init__(self, path, max_lines=80, max_bytes=64 * 1024):
        self.path = path
        self.max_lines = max_lines
        self.max_bytes = max_bytes
        self.error = None
        self._inode = None
        self._offset = 0
        self._marked = False

    def mark(self):
        self.error = None
        self._marked = True
        try:
            st = os.stat(self.path)
        except OSError as e:
            self._inode, self._offset = None, 0
            if e.errno != errno.ENOENT:
                self.error = to_native(e)
            return
        self._inode, self._offset = st.st_ino, st.st_size

    def _read_chunk(self):
        try:
            st = os.stat(self.path)
        except OSError as e:
            if e.errno != errno.ENOENT:
                self.error = to_native(e)
            else:
                self.error = '%s does not exist' % self.path
            return b''
        if self._inode is not None and (st.st_ino != self._inode or st.st_size < self._offset):
            self._offset = 0  # rotated or truncated
        self._inode = st.st_ino
        if st.st_size <= self._offset:
            return b''
        start = max(self._offset, st.st_size - self.max_bytes)
        try:
            with open(self.path, 'rb') as f:
                f.seek(start)
                data = f.read(st.st_size - start)
        except (IOError, OSError) as e:
            self.error = to_native(e)
            return b''
        self.error = None
        skipped = start > self._offset
        self._offset = start + len(data)
        if skipped:
            # drop the partial first line
            nl = data.find(b'\n')
            data = b'[... earlier log lines omitted ...]\n' + (data[nl + 1:] if nl >= 0 else b'')
        return data

    def read_new(self, wait=0.0, interval=0.1):
        """Lines added since mark() (or the previous read_new).

        With ``wait`` > 0, keep reading until the log stops growing for one
        ``interval`` (at most ``wait`` seconds): Unit's processes write their
        last words slightly after the control API answered.
        """
        if not self._marked:
            self.mark()
            return []
        data = self._read_chunk()
        deadline = time.time() + wait
        while wait and time.time() < deadline:
            time.sleep(interval)
            more = self._read_chunk()
            if not more:
                break
            data += more
        lines = to_text(data, errors='surrogate_or_replace').splitlines()
        if len(lines) > self.max_lines:
            omitted = len(lines) - self.max_lines
            lines = ['[... %d earlier log lines omitted ...]' % omitted] + lines[-self.max_lines:]
        return lines


def log_entries(lines):
    """Group log lines into entries: a timestamped line plus its continuation lines.

    Python tracebacks and "Python path configuration" dumps are written by
    the application process without Unit's prefix; they belong to the
    timestamped line before them.  Returns dicts with level, pid, msg, lines.
    """
    entries = []
    for line in lines:
        m = _LOG_LINE_RE.match(line)
        if m:
            entries.append(dict(level=m.group('level'), pid=m.group('pid'),
                                msg=m.group('msg'), lines=[line]))
        elif entries:
            entries[-1]['lines'].append(line)
        else:
            entries.append(dict(level=None, pid=None, msg=line, lines=[line]))
    return entries


_IMPORT_FAILURE_MARKERS = (
    'Python failed to import module',
    'Failed to initialise config',
)


def app_failure_lines(lines, app_name):
    """The log lines telling that application ``app_name`` failed to start, or [].

    The pids of the '"NAME" prototype started' / '"NAME" application started'
    lines tell this application's processes from other processes' noise.  The
    application failed when one of them logged an error (alert, crit...), a
    Python import failure, or exited with a non-zero code, or when Unit said
    'failed to start application "NAME"'.  Then every entry of those
    processes is returned, tracebacks and "Python path configuration" dumps
    included; a healthy application that merely printed something is not a
    failure.
    """
    entries = log_entries(lines)
    quoted = '"%s"' % app_name
    pids = set()
    for e in entries:
        if e['pid'] and e['msg'].startswith(quoted + ' ') and e['msg'].endswith(' started'):
            pids.add(e['pid'])
    failed = False
    story = []
    for e in entries:
        msg = e['msg'] or ''
        exit_m = re.match(r'app process (\d+) exited with code (\d+)', msg)
        mine = e['pid'] in pids or (exit_m is not None and exit_m.group(1) in pids)
        if 'failed to start application %s' % quoted in msg:
            failed = True
            story.append(e)
        elif mine:
            story.append(e)
            if exit_m is not None and exit_m.group(2) != '0':
                failed = True
            elif e['level'] in _ERROR_LEVELS or any(m in msg for m in _IMPORT_FAILURE_MARKERS):
                failed = True
    if not failed:
        return []
    out = []
    for e in story:
        out.extend(e['lines'])
    return out


def has_import_failure(lines):
    return any(marker in line for line in lines for marker in _IMPORT_FAILURE_MARKERS)


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
