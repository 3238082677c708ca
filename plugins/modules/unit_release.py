#!/usr/bin/python
# -*- coding: utf-8 -*-

# Copyright: unitchannels maintainers
# Apache License 2.0 (see LICENSE)

from __future__ import absolute_import, division, print_function
__metaclass__ = type


DOCUMENTATION = r'''
---
module: unit_release
short_description: Make a release of an app live in NGINX Unit, checked, or put back what served
description:
  - Composes the app's listener, route set and application with the configuration Unit holds
    (other apps, listeners and settings stay as they are) and uploads the result in one
    C(PUT /config), which Unit applies atomically.
  - When the application's configuration did not change but O(restart=true) (its code, secrets or
    loader changed around it), restarts the app's processes instead.
  - Then probes the app through its listener, over HTTP and a WebSocket handshake, the way a
    browser reaches it (see M(unitchannels.deploy.asgi_probe)).
  - When the probe fails after a new configuration, uploads the configuration Unit held before,
    so what served before serves again; RV(restored) says so. A deploy and a rollback that both
    use this module therefore never leave Unit serving a release the caller did not keep.
  - The app's route set is named after the app (C(routes/NAME)), so the routes must be an object
    of named route sets; an array of routes in Unit is refused with a message, not overwritten.
  - With O(tls), the app is served on a TLS listener with a certificate bundle already stored in
    Unit (see M(unitchannels.deploy.unit_certificate)), and the plain listener O(listen) redirects
    to it (or serves the app too). With O(acme_webroot), the plain listener serves ACME HTTP-01
    challenges from that directory before anything else. The plain listener then passes to the
    route set C(routes/NAME-http).
  - What this module made and no longer declares is removed. With O(tls) gone, the TLS listeners
    passing to C(routes/NAME) with only C(NAME-<12 hex>) bundles (this app's certificates) go.
    C(routes/NAME-http) goes when neither O(tls) nor O(acme_webroot) needs it, and listeners still
    passing to it are pointed at C(routes/NAME). Listeners added by other means stay, such as a
    dual-stack C([::]:443) next to O(tls.listen); so does a TLS listener's old address when
    O(tls.listen) changes.
version_added: 0.2.0
author: unitchannels maintainers (@unitchannels)
options:
  name:
    description: Name of the application, its route set and what its listener passes to.
    type: str
    required: true
  listen:
    description:
      - The plain HTTP listener's address, V(ADDR:PORT) (V(*:80), V(127.0.0.1:8000), V([::]:80)).
    type: str
    required: true
  tls:
    description:
      - Serve the app over HTTPS (and its WebSockets over WSS) on a TLS listener.
    type: dict
    suboptions:
      listen:
        description: The TLS listener's address, V(ADDR:PORT) (V(*:443)).
        type: str
        required: true
      certificate:
        description: Name(s) of certificate bundles stored in Unit, as the listener's C(tls.certificate).
        type: list
        elements: str
        required: true
      redirect:
        description:
          - The plain listener answers everything (but ACME challenges) with a 301 to the same
            URL over HTTPS. V(false) serves the app on both listeners.
        type: bool
        default: true
      hsts_max_age:
        description:
          - When above 0, every answer of the app's route set carries the header
            C(Strict-Transport-Security) with C(max-age=N) (Unit's C(response_headers)).
        type: int
        default: 0
  acme_webroot:
    description:
      - Directory whose C(.well-known/acme-challenge/) files the plain listener serves
        (certbot's C(--webroot-path)), before redirecting or passing to the app.
    type: path
  proxies:
    description:
      - Addresses (or networks) of the reverse proxies in front of Unit, such as an HAProxy edge.
        When given, the app's listeners take the client's address from C(X-Forwarded-For) and the
        scheme from C(X-Forwarded-Proto) when a request comes from one of them, and only then
        (Unit's listener option C(forwarded)); from any other address those headers are not
        believed.
      - Unit's routes match C(source) against the address C(forwarded) gave, so they cannot tell
        the proxies from their clients. Who may reach the listener at all is a matter of its
        address (O(listen) on loopback or on a network only the proxies reach) or a firewall.
      - Empty, the listeners take clients directly.
    type: list
    elements: str
    default: []
  routes:
    description: The app's route steps (static files, then the app), as Unit's C(routes) array.
    type: list
    elements: dict
    required: true
  application:
    description: The app's entry in C(/config/applications).
    type: dict
    required: true
  restart:
    description:
      - Restart the app's processes when its configuration did not change (code, secrets or
        loader changed around it). Unit restarts them by itself when the configuration changes.
    type: bool
    default: false
  probe:
    description:
      - How to check the live release; the probe reaches the listener from the host
        (a wildcard listener on 127.0.0.1).
      - With O(tls), the probe goes to the TLS listener (https and wss; the certificate is not
        verified, M(unitchannels.deploy.unit_certificate) checks it), else to O(listen).
    type: dict
    default: {}
    suboptions:
      enabled:
        description: Set to V(false) to skip the probe (nothing is put back then).
        type: bool
        default: true
      path:
        description: Path of the HTTP check.
        type: str
        default: /
      status:
        description: HTTP status codes that count as healthy.
        type: list
        elements: int
        default: [200]
      websocket_path:
        description: Path of a WebSocket endpoint to open after the HTTP check.
        type: str
      host:
        description: Host header (and WebSocket origin) of the probe, one of the app's allowed hosts.
        type: str
      timeout:
        description: Seconds to keep trying while the app answers nothing or 5xx.
        type: int
        default: 30
extends_documentation_fragment:
  - unitchannels.deploy.unit_control
  - unitchannels.deploy.unit_control.log_file
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: Reports the change and its diff; nothing is uploaded, restarted or probed.
  diff_mode:
    support: full
  platform:
    platforms: posix
notes:
  - The probe runs on every call, also when nothing changed, so a run reports whether the app
    serves.
'''

EXAMPLES = r'''
- name: Serve release 3f2a9c1 of the chat app
  become: true
  unitchannels.deploy.unit_release:
    name: chat
    listen: "*:80"
    routes:
      - match: {uri: /static/*}
        action: {share: /srv/chat/releases/3f2a9c1/public$uri}
      - action: {pass: applications/chat}
    application:
      type: python 3.11
      path: /srv/chat/releases/3f2a9c1
      home: /srv/chat/venvs/py3.11-0c1d2e3f4a5b
      module: mysite.asgi
      working_directory: /srv/chat/releases/3f2a9c1
    probe:
      path: /chat/
      websocket_path: /ws/chat/health/
      host: chat.example.com

- name: Serve it over HTTPS, plain HTTP redirected, ACME challenges answered
  become: true
  unitchannels.deploy.unit_release:
    name: chat
    listen: "*:80"
    tls:
      listen: "*:443"
      certificate: [chat-3f2a9c0b1d4e]
      hsts_max_age: 31536000
    acme_webroot: /var/lib/unitchannels/acme
    routes:
      - action: {pass: applications/chat}
    application: "{{ chat_application }}"
    probe:
      path: /chat/
      host: chat.example.com
'''

RETURN = r'''
before:
  description: The configuration Unit held before (C(/config)).
  returned: always
  type: dict
after:
  description: The configuration Unit holds after the task (would hold, in check mode).
  returned: always
  type: dict
restarted:
  description: Whether the app's processes were restarted (its configuration was unchanged).
  returned: always
  type: bool
restored:
  description: Whether the previous configuration was put back because the probe failed.
  returned: always
  type: bool
failed_check:
  description: Which probe failed, V(http) or V(websocket); empty otherwise.
  returned: always
  type: str
http_status:
  description: Status of the probe's last HTTP answer (0 when none came or no probe ran).
  returned: always
  type: int
websocket_status:
  description: Status of the probe's WebSocket handshake answer (0 when not tried).
  returned: always
  type: int
unit_log:
  description: Lines Unit logged while the release failed (tracebacks of the app).
  returned: failure
  type: list
  elements: str
'''

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.unitchannels.deploy.plugins.module_utils.asgi_probe import probe
from ansible_collections.unitchannels.deploy.plugins.module_utils.tls_bundle import is_own_bundle
from ansible_collections.unitchannels.deploy.plugins.module_utils.unit_address import (
    DEFAULT_LOG_FILE,
    listener_address,
)
from ansible_collections.unitchannels.deploy.plugins.module_utils.unit_config_tree import (
    build_path,
    json_equal,
    pretty_json,
)
from ansible_collections.unitchannels.deploy.plugins.module_utils.unit_control import (
    UNIT_MUTUALLY_EXCLUSIVE,
    UnitControlError,
    client_from_module,
    compose,
    request_failure,
    unit_argument_spec,
)
from ansible_collections.unitchannels.deploy.plugins.module_utils.unit_log import LogTail


COMPOSE_ADVICE = 'Convert it to named route sets (write /config/routes whole once).'
ACME_CHALLENGES = '/.well-known/acme-challenge/*'


def redirect_location(tls_listen):
    """Where the plain listener sends a request: the same host and URI over HTTPS ($host has no port)."""
    port = listener_address(tls_listen)[1]
    return 'https://$host%s$request_uri' % ('' if port == 443 else ':%d' % port)


def with_hsts(step, max_age):
    step = dict(step)
    action = dict(step.get('action') or {})
    headers = dict(action.get('response_headers') or {})
    headers['Strict-Transport-Security'] = 'max-age=%d' % max_age
    action['response_headers'] = headers
    step['action'] = action
    return step


def declared(params):
    """The app's own entries: its listeners, route sets and application."""
    name, tls, webroot = params['name'], params['tls'], params['acme_webroot']
    routes = params['routes']
    listeners = {}
    if tls:
        if tls['hsts_max_age'] > 0:
            routes = [with_hsts(step, tls['hsts_max_age']) for step in routes]
        certificate = tls['certificate'][0] if len(tls['certificate']) == 1 else tls['certificate']
        listeners[tls['listen']] = {'pass': 'routes/' + name, 'tls': {'certificate': certificate}}
    route_sets = {name: routes}
    plain = []
    if webroot:
        plain.append({'match': {'uri': ACME_CHALLENGES},
                      'action': {'share': webroot.rstrip('/') + '$uri'}})
    if tls and tls['redirect']:
        plain.append({'action': {'return': 301, 'location': redirect_location(tls['listen'])}})
    elif plain:
        plain.append({'action': {'pass': 'routes/' + name}})
    if plain:
        route_sets[name + '-http'] = plain
        listeners[params['listen']] = {'pass': 'routes/%s-http' % name}
    else:
        listeners[params['listen']] = {'pass': 'routes/' + name}
    for listener in listeners.values() if params['proxies'] else []:
        listener['forwarded'] = {'client_ip': 'X-Forwarded-For', 'protocol': 'X-Forwarded-Proto',
                                 'source': list(params['proxies'])}
    return {'listeners': listeners, 'routes': route_sets, 'applications': {name: params['application']}}


def stale(before, own):
    """What this module made that the call no longer declares, as (removals, repointed listeners).

    - NAME-http when neither TLS nor ACME challenges need it; the listeners that still pass to it
      (a user's dual-stack [::]:80, say) are pointed at routes/NAME instead of being removed.
    - With TLS turned off, the TLS listeners passing to routes/NAME whose certificates are all
      NAME's bundles (NAME-<12 hex>, the names unit_certificate and the renewal hook give).
    While TLS is on, other TLS listeners stay (a dual-stack [::]:443); a moved TLS listener's old
    address stays too: remove it by other means.
    """
    name = list(own['applications'])[0]
    removals, repoint = [], {}
    http_set_gone = name + '-http' not in own['routes']
    tls_off = not any(isinstance(v, dict) and v.get('tls') for v in own['listeners'].values())
    listeners = before.get('listeners')
    for key, listener in (listeners.items() if isinstance(listeners, dict) else []):
        if key in own['listeners'] or not isinstance(listener, dict):
            continue
        target, tls = listener.get('pass'), listener.get('tls')
        if target == 'routes/%s-http' % name and http_set_gone:
            repoint[key] = dict(listener, **{'pass': 'routes/' + name})
        elif target == 'routes/' + name and tls_off and isinstance(tls, dict):
            certs = tls.get('certificate')
            certs = [certs] if isinstance(certs, str) else certs
            if certs and all(is_own_bundle(name, c) for c in certs):
                removals.append(('listeners', key))
    routes = before.get('routes')
    if isinstance(routes, dict) and name + '-http' in routes and http_set_gone:
        removals.append(('routes', name + '-http'))
    return removals, repoint


class Release(object):
    """One call: compose, upload or restart, probe, put back on failure."""

    def __init__(self, module):
        self.module = module
        self.params = module.params
        self.result = dict(changed=False, before={}, after={}, restarted=False, restored=False,
                           failed_check='', http_status=0, websocket_status=0)

    def fail(self, msg, **fields):
        self.result.update(fields)
        self.module.fail_json(msg=msg, **self.result)

    def run(self):
        params = self.params
        tls = params['tls']
        try:
            address = listener_address(params['listen'])
        except ValueError as e:
            self.fail('listen: %s' % e)
        if tls:
            try:
                address = listener_address(tls['listen'])
            except ValueError as e:
                self.fail('tls.listen: %s' % e)
            if tls['listen'] == params['listen']:
                self.fail('tls.listen and listen are both %s: the plain and the TLS listener need '
                          'different addresses' % tls['listen'])
            if not tls['certificate']:
                self.fail('tls.certificate names no certificate bundle')
        try:
            self.client = client_from_module(self.module)
            resp = self.client.get('/config')
        except UnitControlError as e:
            self.fail(e.msg)
        if not resp.ok:
            msg, fields = request_failure(resp)
            self.fail('cannot read /config: %s' % msg, **fields)
        before = resp.body
        own = declared(params)
        gone, repoint = stale(before, own)
        value = dict(own, listeners=dict(own['listeners'], **repoint))
        self.own_entries = [(section, key) for section in sorted(value) for key in value[section]] + gone
        try:
            after = compose(before, value, ['%s/%s' % entry for entry in gone], advice=COMPOSE_ADVICE)
        except UnitControlError as e:
            self.fail(e.msg, before=before)
        new_config = not json_equal(before, after)
        # Unit restarts an app's processes only when the app's own entry changes, not for a new
        # listener or route: the code around it (secrets, loader) needs a restart then too.
        app_changed = not json_equal((before.get('applications') or {}).get(params['name']),
                                     after['applications'][params['name']])
        restart = params['restart'] and not app_changed
        self.result.update(before=before, after=after, changed=new_config or restart)
        if self.module._diff:
            self.result['diff'] = dict(before_header='unit:/config', after_header='unit:/config',
                                       before=pretty_json(before), after=pretty_json(after))
        if self.module.check_mode:
            self.module.exit_json(**self.result)

        if new_config:
            self.upload(after, before)
        if restart:
            self.restart()
        if params['probe']['enabled']:
            self.check(address, before if new_config else None, bool(tls))
        self.module.exit_json(**self.result)

    def held_config(self):
        """What Unit holds now, or None when it cannot be read."""
        try:
            resp = self.client.get('/config')
        except UnitControlError:
            return None
        return resp.body if resp.ok else None

    def upload(self, config, before):
        log = LogTail(self.params['log_file'])
        log.mark()
        try:
            resp = self.client.put('/config', config)
        except UnitControlError as e:
            # No answer (a timeout while many processes start, say) is not "nothing changed":
            # ask Unit what it holds now.
            held = self.held_config()
            if held is not None and json_equal(held, config):
                return
            if held is not None and json_equal(held, before):
                self.fail(e.msg + ' Unit still holds the previous configuration.', changed=False)
            self.fail(e.msg + ' What Unit holds now is unknown: read it (GET /config) before running again.')
        if resp.ok:
            return
        lines = log.read_new(wait=1.0) if resp.status == 500 else None
        msg, fields = request_failure(resp, log_lines=lines, log_file=self.params['log_file'],
                                      log_error=log.error)
        self.fail(msg, changed=False, after=before, **fields)

    def restart(self):
        name = self.params['name']
        try:
            resp = self.client.get(build_path('control', 'applications', name, 'restart'))
        except UnitControlError as e:
            self.fail(e.msg, changed=False)
        if not resp.ok:
            self.fail('Unit refused to restart application %s (HTTP %s: %s)' % (name, resp.status, resp.error_text()),
                      changed=False)
        self.result['restarted'] = True

    def restored_config(self, before):
        """What Unit holds now, with this app's listener, route set and application as they were
        before: changes made meanwhile to anything else are kept."""
        now = self.held_config()
        if now is None:
            return before
        value, remove = {}, []
        for section, key in self.own_entries:
            held = before.get(section)
            if isinstance(held, dict) and key in held:
                value.setdefault(section, {})[key] = held[key]
            else:
                remove.append('%s/%s' % (section, key))
        try:
            restore = compose(now, value, remove, advice=COMPOSE_ADVICE)
        except UnitControlError:
            return before
        if before.get('routes') == [] and restore.get('routes') == {}:
            restore['routes'] = []  # a fresh Unit's empty routes array, as it was
        return restore

    def check(self, address, previous, tls):
        opts = self.params['probe']
        outcome = probe(address[0], address[1], path=opts['path'], status=opts['status'],
                        websocket_path=opts['websocket_path'], host=opts['host'], timeout=opts['timeout'],
                        log_file=self.params['log_file'], tls=tls)
        self.result.update(failed_check=outcome['failed_check'], http_status=outcome['http_status'],
                           websocket_status=outcome['websocket_status'])
        if outcome['ok']:
            return
        msg = outcome['msg']
        if previous is None:
            self.fail(msg + '. Unit serves the same configuration as before the task.',
                      unit_log=outcome['log'])
        restore = self.restored_config(previous)
        try:
            resp = self.client.put('/config', restore)
            put_back = resp.ok
            why = '' if resp.ok else 'HTTP %s: %s' % (resp.status, resp.error_text())
        except UnitControlError as e:
            held = self.held_config()
            put_back, why = held is not None and json_equal(held, restore), e.msg
        if put_back:
            self.fail(msg + '. The previous configuration is back in force.', changed=False,
                      restored=True, after=restore, unit_log=outcome['log'])
        self.fail(msg + '. Putting the previous configuration back failed too (%s): Unit still holds the new one.'
                  % why, unit_log=outcome['log'])


def main():
    argument_spec = unit_argument_spec()
    argument_spec.update(
        name=dict(type='str', required=True),
        listen=dict(type='str', required=True),
        routes=dict(type='list', elements='dict', required=True),
        application=dict(type='dict', required=True),
        tls=dict(type='dict', options=dict(
            listen=dict(type='str', required=True),
            certificate=dict(type='list', elements='str', required=True),
            redirect=dict(type='bool', default=True),
            hsts_max_age=dict(type='int', default=0),
        )),
        acme_webroot=dict(type='path'),
        proxies=dict(type='list', elements='str', default=[]),
        restart=dict(type='bool', default=False),
        probe=dict(type='dict', default={}, options=dict(
            enabled=dict(type='bool', default=True),
            path=dict(type='str', default='/'),
            status=dict(type='list', elements='int', default=[200]),
            websocket_path=dict(type='str'),
            host=dict(type='str'),
            timeout=dict(type='int', default=30),
        )),
        log_file=dict(type='path', default=DEFAULT_LOG_FILE),
    )
    module = AnsibleModule(
        argument_spec=argument_spec,
        mutually_exclusive=UNIT_MUTUALLY_EXCLUSIVE,
        supports_check_mode=True,
    )
    if not module.params['name'] or '/' in module.params['name']:
        module.fail_json(msg='name must be an application name, without "/" (got %r)' % module.params['name'])
    Release(module).run()


if __name__ == '__main__':
    main()
