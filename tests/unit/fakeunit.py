# -*- coding: utf-8 -*-

# Copyright: unitchannels maintainers
# Apache License 2.0 (see LICENSE)

"""A fake NGINX Unit control API on a real unix socket (or TCP), for unit tests.

It keeps a configuration tree, certificate bundles and per-application process
counts, and answers with the replies recorded from a real Unit 1.34.2
(tests/fixtures/unit-1.34.2-control-api.json): same status codes, same JSON
bodies, same error strings.  What it cannot know (Unit's validator, the
router applying a configuration) is covered in two ways:

* every failing PUT recorded in the fixture is a rule: the same request body
  gets the recorded status and body, and for a 500 the fake appends the lines
  recorded in tests/fixtures/unit-1.34.2-log-on-failures.txt to its log file;
* a small validator checks "pass" targets and application types, producing
  messages in the recorded format (tests check it against the fixture).

Certificate replies come from Unit's source (src/nxt_controller.c); they are
not part of the recording.
"""

from __future__ import absolute_import, division, print_function

import copy
import json
import os
import re
import socket
import socketserver
import threading
import time

from http.server import BaseHTTPRequestHandler
from urllib.parse import unquote

HERE = os.path.dirname(os.path.abspath(__file__))
REPO_ROOT = os.path.dirname(os.path.dirname(HERE))
FIXTURES = os.path.join(REPO_ROOT, 'tests', 'fixtures')
UNIT_FIXTURES = os.path.join(HERE, 'fixtures')
CONTROL_API_FIXTURE = os.path.join(FIXTURES, 'unit-1.34.2-control-api.json')
LOG_FIXTURE = os.path.join(FIXTURES, 'unit-1.34.2-log-on-failures.txt')
BROKEN_RESTART_LOG = os.path.join(UNIT_FIXTURES, 'unit-1.34.2-log-on-broken-restart.txt')

# From src/nxt_controller.c (Unit 1.34): not in the recording.
CERT_UPLOADED = {'success': 'Certificate chain uploaded.'}
CERT_DELETED = {'success': 'Certificate deleted.'}
CERT_EXISTS = {'error': 'Certificate already exists.'}
CERT_INVALID = {'error': 'Invalid certificate.'}
CERT_IN_USE = {'error': 'Certificate is used in the configuration.'}
CERT_NOT_FOUND = {'error': "Certificate doesn't exist."}
METHOD_NOT_ALLOWED = {'error': "Method isn't allowed."}


class Recorded(object):
    """The recorded control API cases and log sections."""

    _cache = None

    def __init__(self):
        with open(CONTROL_API_FIXTURE) as f:
            self.data = json.load(f)
        self.cases = self.data['cases']
        self.log_sections = self._parse_log(LOG_FIXTURE)
        with open(BROKEN_RESTART_LOG) as f:
            self.broken_restart_log = f.read().splitlines()

    @classmethod
    def load(cls):
        if cls._cache is None:
            cls._cache = cls()
        return cls._cache

    @staticmethod
    def _parse_log(path):
        sections = {}
        current = None
        with open(path) as f:
            for line in f.read().splitlines():
                m = re.match(r'^### .* during PUT /config with (\S+\.json)', line)
                if m:
                    current = sections.setdefault(m.group(1), [])
                elif current is not None:
                    current.append(line)
        for lines in sections.values():
            while lines and not lines[-1].strip():
                lines.pop()
        return sections

    def case(self, title_start):
        for c in self.cases:
            if c['title'].startswith(title_start):
                return c
        raise KeyError(title_start)

    def first(self, method, path, status):
        for c in self.cases:
            if c['method'] == method and c['path'] == path and c['status'] == status:
                return c
        raise KeyError((method, path, status))

    def failing_puts(self, status=None):
        return [c for c in self.cases
                if c['method'] == 'PUT' and c['status'] >= 400 and (status is None or c['status'] == status)]

    @staticmethod
    def body_file(case):
        """'bad-home-missing.json' from 'PUT /config with bad-home-missing.json (...)'."""
        m = re.search(r' with (\S+\.json)', case['title'])
        return m.group(1) if m else None

    def log_for(self, case):
        return self.log_sections.get(self.body_file(case), [])

    # the replies every fake answer is built from
    @property
    def fresh_config(self):
        return copy.deepcopy(self.case('GET /config on a fresh install')['response'])

    @property
    def reconfigured(self):
        return self.first('PUT', '/config', 200)['response']

    @property
    def not_found(self):
        return self.first('GET', '/config/applications/nosuchapp', 404)['response']

    @property
    def invalid_method(self):
        return self.first('POST', '/status', 405)['response']

    @property
    def restart_ok(self):
        return self.first('GET', '/control/applications/djangochannels/restart', 200)['response']

    @property
    def status_template(self):
        return copy.deepcopy(self.first('GET', '/status', 200)['response'])

    @property
    def djangochannels_config(self):
        """The configuration GET /config returned after the first successful PUT."""
        return copy.deepcopy(self.case('GET /config after successful PUT')['response'])


class _Handler(BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'
    server_version = 'Unit/1.34.2'
    sys_version = ''

    def log_message(self, *args):
        pass

    def _serve(self):
        length = int(self.headers.get('Content-Length') or 0)
        body = self.rfile.read(length) if length else b''
        status, obj = self.server.fake.handle(self.command, self.path, body)
        # Unit prints JSON with tabs and ends the body with CRLF
        payload = (json.dumps(obj, indent='\t', ensure_ascii=False) + '\r\n').encode('utf-8')
        self.send_response(status)
        self.send_header('Content-Type', 'application/json')
        self.send_header('Content-Length', str(len(payload)))
        self.send_header('Connection', 'close')
        self.end_headers()
        self.wfile.write(payload)
        self.close_connection = True

    do_GET = do_PUT = do_DELETE = do_POST = do_PATCH = _serve


class _UnixServer(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True


class _TCPServer(socketserver.ThreadingMixIn, socketserver.TCPServer):
    daemon_threads = True
    allow_reuse_address = True


class Request(object):
    def __init__(self, method, raw_path, body):
        self.method = method
        self.raw_path = raw_path
        self.body = body

    @property
    def json(self):
        return json.loads(self.body.decode('utf-8')) if self.body else None

    def __repr__(self):
        return 'Request(%s %s)' % (self.method, self.raw_path)


class FakeUnit(object):
    """State and behaviour of the fake Unit. Start it with serve_unix()/serve_tcp()."""

    PYTHON_TYPES = ('python', 'python 3', 'python 3.11', 'python 3.11.2')

    def __init__(self, workdir, recorded=None):
        self.rec = recorded or Recorded.load()
        self.workdir = workdir
        self.socket_path = os.path.join(workdir, 'control.unit.sock')
        self.log_path = os.path.join(workdir, 'unit.log')
        with open(self.log_path, 'w') as f:
            f.write('2026/11/25 17:20:19 [info] 385#385 unit 1.34.2 started\n')
        self.config = self.rec.fresh_config
        self.certificates = {}
        self.cert_pems = {}          # what was uploaded (Unit never shows it back)
        self.requests = []
        self.running = {}            # app name -> running processes
        self.restart_mode = {}       # app name -> ok | broken | slow | never
        self.slow_polls = {}         # app name -> status polls still showing 0 processes
        self.slow_start_polls = 2    # for restart_mode "slow"
        self.delay = 0.0             # seconds to sleep before answering (timeouts)
        self.use_recorded_rules = True
        self.lock = threading.Lock()
        self._servers = []
        self._pid = 2000

    # -- serving -----------------------------------------------------------

    def serve_unix(self, path=None):
        path = path or self.socket_path
        server = _UnixServer(path, _Handler)
        self._start(server)
        return path

    def serve_tcp(self):
        server = _TCPServer(('127.0.0.1', 0), _Handler)
        self._start(server)
        return 'http://127.0.0.1:%d' % server.server_address[1]

    def _start(self, server):
        server.fake = self
        t = threading.Thread(target=server.serve_forever, kwargs=dict(poll_interval=0.01))
        t.daemon = True
        t.start()
        self._servers.append(server)

    def stop(self):
        for s in self._servers:
            s.shutdown()
            s.server_close()
        self._servers = []

    # -- inspection helpers for tests --------------------------------------

    @property
    def writes(self):
        return [r for r in self.requests if r.method in ('PUT', 'POST', 'DELETE')
                or r.raw_path.startswith('/control/')]

    def log(self, lines):
        with open(self.log_path, 'a') as f:
            for line in lines:
                f.write(line + '\n')

    def log_text(self):
        with open(self.log_path) as f:
            return f.read()

    # -- dispatch ----------------------------------------------------------

    def handle(self, method, raw_path, body):
        if self.delay:
            time.sleep(self.delay)
        with self.lock:
            self.requests.append(Request(method, raw_path, body))
            path = raw_path.split('?', 1)[0]
            trimmed = path.rstrip('/') if len(path) > 1 else path
            segments = [unquote(s) for s in trimmed.split('/')[1:]] if trimmed != '/' else []
            if not segments:
                if method != 'GET':
                    return 405, self.rec.invalid_method
                return 200, {'certificates': copy.deepcopy(self.certificates), 'js_modules': {},
                             'config': copy.deepcopy(self.config), 'status': self._status()}
            top, rest = segments[0], segments[1:]
            if top == 'config':
                return self._config(method, rest, body)
            if top == 'certificates':
                return self._certificates(method, rest, body)
            if top == 'status':
                if method != 'GET':
                    return 405, self.rec.invalid_method
                value = self._walk(self._status(), rest)
                return (200, value) if value is not None else (404, self.rec.not_found)
            if top == 'control':
                return self._control(method, rest)
            return 404, self.rec.not_found

    # -- /config -------------------------------------------------------------

    @staticmethod
    def _walk(tree, segments):
        node = tree
        for seg in segments:
            if isinstance(node, dict) and seg in node:
                node = node[seg]
            elif isinstance(node, list) and seg.isdigit() and int(seg) < len(node):
                node = node[int(seg)]
            else:
                return None
        return node

    def _config(self, method, segs, body):
        if method == 'GET':
            value = self._walk(self.config, segs)
            return (200, copy.deepcopy(value)) if value is not None else (404, self.rec.not_found)

        if method in ('PUT', 'POST'):
            text = body.decode('utf-8', 'replace')
            if self.use_recorded_rules:
                answer = self._recorded_rule(method, segs, text)
                if answer is not None:
                    return answer
            try:
                value = json.loads(text)
            except ValueError as e:
                return 400, {'error': 'Invalid JSON.', 'detail': 'Python json: %s' % e.msg,
                             'location': {'offset': e.pos, 'line': e.lineno, 'column': e.colno}}
            new = copy.deepcopy(self.config)
            if not segs:
                if method == 'POST':
                    return 405, METHOD_NOT_ALLOWED
                new = value
            else:
                parent = self._walk(new, segs[:-1])
                last = segs[-1]
                if method == 'POST':
                    target = self._walk(new, segs)
                    if target is None:
                        return 404, self.rec.not_found
                    if not isinstance(target, list):
                        return 405, METHOD_NOT_ALLOWED
                    target.append(value)
                elif isinstance(parent, dict):
                    parent[last] = value
                elif isinstance(parent, list) and last.isdigit() and int(last) <= len(parent):
                    if int(last) == len(parent):
                        parent.append(value)
                    else:
                        parent[int(last)] = value
                else:
                    return 404, self.rec.not_found
            return self._apply(new)

        if method == 'DELETE':
            if not segs:
                return self._apply({})
            new = copy.deepcopy(self.config)
            parent = self._walk(new, segs[:-1])
            last = segs[-1]
            if isinstance(parent, dict) and last in parent:
                del parent[last]
            elif isinstance(parent, list) and last.isdigit() and int(last) < len(parent):
                del parent[int(last)]
            else:
                return 404, self.rec.not_found
            return self._apply(new)

        return 405, METHOD_NOT_ALLOWED

    def _recorded_rule(self, method, segs, text):
        """A failing request recorded from the real Unit gets the recorded answer."""
        path = '/' + '/'.join(['config'] + segs)
        for case in self.rec.failing_puts():
            if case['method'] != method or case['path'] != path:
                continue
            recorded = case['request_body']
            same = recorded == text
            if not same:
                try:
                    same = json.loads(recorded) == json.loads(text)
                except ValueError:
                    same = False
            if same:
                if case['status'] == 500:
                    self.log(self.rec.log_for(case))
                return case['status'], copy.deepcopy(case['response'])
        return None

    def _validate(self, conf):
        """A few of Unit's checks, with Unit's wording (see tests comparing with the fixture)."""
        if not isinstance(conf, dict):
            return 'Expected a JSON object.'
        apps = conf.get('applications') or {}
        routes = conf.get('routes')
        for name, app in apps.items():
            app_type = app.get('type') if isinstance(app, dict) else None
            if app_type not in self.PYTHON_TYPES:
                return 'The module to run "%s" is not found among the available application modules.' % app_type

        def valid_pass(target):
            if target == 'routes':
                return routes is not None
            if target.startswith('routes/'):
                return isinstance(routes, dict) and target[7:] in routes
            if target.startswith('applications/'):
                return target[13:] in apps
            return False

        passes = []
        for listener in (conf.get('listeners') or {}).values():
            if isinstance(listener, dict) and 'pass' in listener:
                passes.append(listener['pass'])
            tls = listener.get('tls') if isinstance(listener, dict) else None
            if isinstance(tls, dict):
                certs = tls.get('certificate')
                for cert in ([certs] if isinstance(certs, str) else certs or []):
                    if cert not in self.certificates:
                        # src/nxt_conf_validation.c
                        return 'Certificate "%s" is not found.' % cert
        steps = []
        if isinstance(routes, list):
            steps = routes
        elif isinstance(routes, dict):
            for r in routes.values():
                steps.extend(r if isinstance(r, list) else [])
        for step in steps:
            action = step.get('action') if isinstance(step, dict) else None
            if isinstance(action, dict) and 'pass' in action:
                passes.append(action['pass'])
        for target in passes:
            if not valid_pass(target):
                return 'Request "pass" points to invalid location "%s".' % target
        return None

    def _apply(self, new):
        error = self._validate(new)
        if error:
            return 400, {'error': 'Invalid configuration.', 'detail': error}
        self.config = new
        for name in (new.get('applications') or {}):
            self.running.setdefault(name, 1)
        return 200, copy.deepcopy(self.rec.reconfigured)

    # -- /status and /control ---------------------------------------------------

    def _status(self):
        status = self.rec.status_template
        apps = {}
        for name in (self.config.get('applications') or {}):
            running = self.running.get(name, 1)
            if self.slow_polls.get(name):
                self.slow_polls[name] -= 1
                running = 0
            apps[name] = {'processes': {'running': running, 'starting': 0, 'idle': running},
                          'requests': {'active': 0}}
        status['applications'] = apps
        return status

    def _control(self, method, segs):
        if len(segs) != 3 or segs[0] != 'applications' or segs[2] != 'restart':
            return 404, self.rec.not_found
        if method != 'GET':
            return 405, self.rec.invalid_method
        name = segs[1]
        if name not in (self.config.get('applications') or {}):
            return 404, self.rec.not_found
        mode = self.restart_mode.get(name, 'ok')
        self._pid += 10
        stamp = time.strftime('%Y/%m/%d %H:%M:%S')
        if mode == 'broken':
            self.running[name] = 0
            self.log(self.rec.broken_restart_log)
        elif mode == 'never':
            self.running[name] = 0
        else:
            self.running[name] = 1
            if mode == 'slow':
                self.slow_polls[name] = self.slow_start_polls
            # healthy restart: the old prototype goes away noisily, the new one starts
            self.log([
                '%s [alert] %d#%d sendmsg(12, -1, -1, 1) failed (32: Broken pipe)'
                % (stamp, self._pid - 5, self._pid - 5),
                '%s [info] %d#%d "%s" prototype started' % (stamp, self._pid, self._pid, name),
                '%s [info] %d#%d "%s" application started' % (stamp, self._pid + 1, self._pid + 1, name),
            ])
        return 200, copy.deepcopy(self.rec.restart_ok)

    # -- /certificates ---------------------------------------------------------------

    def cert_in_use(self, name):
        for listener in (self.config.get('listeners') or {}).values():
            tls = listener.get('tls') if isinstance(listener, dict) else None
            certs = tls.get('certificate') if isinstance(tls, dict) else None
            if name == certs or (isinstance(certs, list) and name in certs):
                return True
        return False

    def _certificates(self, method, segs, body):
        if method == 'GET':
            if not segs:
                return 200, copy.deepcopy(self.certificates)
            if segs[0] not in self.certificates:
                return 404, CERT_NOT_FOUND
            value = self._walk(self.certificates[segs[0]], segs[1:])
            return (200, copy.deepcopy(value)) if value is not None else (404, {'error': 'Invalid path.'})
        if len(segs) != 1:
            return 400, {'error': 'Invalid certificate name.'}
        name = segs[0]
        if method == 'PUT':
            if name in self.certificates:
                return 400, CERT_EXISTS
            text = body.decode('utf-8', 'replace')
            if '-----BEGIN CERTIFICATE-----' not in text or 'PRIVATE KEY-----' not in text:
                return 400, CERT_INVALID
            cn = re.search(r'CN=([^\n]+)', text)
            self.certificates[name] = {
                'key': 'RSA (2048 bits)',
                'chain': [{
                    'subject': {'common_name': cn.group(1) if cn else 'example.com'},
                    'issuer': {'common_name': cn.group(1) if cn else 'example.com'},
                    'validity': {'since': 'Nov 25 17:00:00 2026 GMT', 'until': 'Nov 25 17:00:00 2027 GMT'},
                }],
            }
            self.cert_pems[name] = text
            return 200, CERT_UPLOADED
        if method == 'DELETE':
            if self.cert_in_use(name):
                return 400, CERT_IN_USE
            if name not in self.certificates:
                return 404, CERT_NOT_FOUND
            del self.certificates[name]
            self.cert_pems.pop(name, None)
            return 200, CERT_DELETED
        return 405, self.rec.invalid_method


def stale_socket(path):
    """A unix socket file nobody listens on (what a crashed unitd leaves behind)."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(path)
    s.close()
    return path
