#!/usr/bin/python
# -*- coding: utf-8 -*-

# Copyright: unitchannels maintainers
# Apache License 2.0 (see LICENSE)

from __future__ import absolute_import, division, print_function
__metaclass__ = type


DOCUMENTATION = r'''
---
module: unit_config
short_description: Manage a part of NGINX Unit's configuration through its control API
description:
  - Ensures that the JSON value at O(path) of NGINX Unit's configuration is O(value)
    (O(state=present)) or does not exist (O(state=absent)), talking to Unit's control API
    over its unix socket (or TCP).
  - The current value is read first and compared semantically with the wanted one.
    The order of object keys does not matter. The order of arrays does (route steps are
    evaluated in order, so reordering routes is a change). V(1) equals V(1.0), but V(true)
    never equals V(1) and V("1") never equals V(1).
  - Unit is written to only when the value differs (C(PUT)), or exists for O(state=absent)
    (C(DELETE)). Re-uploading an identical configuration would be a no-op for Unit anyway,
    but this keeps the task C(ok) and never touches Unit on a converged host.
  - A rejected change (HTTP 400) fails with Unit's C(error) and C(detail) (and the
    position for invalid JSON). A change Unit validated but could not apply (HTTP 500, for
    example address already in use, missing virtualenv, application failing to import) fails
    with the lines Unit wrote to its log file meanwhile, because that is the only place
    Unit tells the reason. In both cases Unit keeps running the previous configuration.
  - To restart application processes when only code or the virtualenv changed, use
    M(unitchannels.deploy.unit_app_restart).
version_added: 0.1.0
author: unitchannels maintainers (@unitchannels)
options:
  path:
    description:
      - Path in Unit's control API of the value to manage. Must be V(/config) or start with V(/config/).
      - Segments are object member names or array indexes, for example
        V(/config/listeners/*:8000), V(/config/applications/djangochannels/environment),
        V(/config/routes/0).
      - Listener names such as V(127.0.0.1:80) or V(*:8000) are written as they are.
        A name containing a C(/) must be written with C(%2F) (C(%) itself as C(%25));
        other characters (spaces...) are percent-encoded by the module.
      - A trailing C(/) is ignored, as Unit does.
    type: str
    default: /config
  value:
    description:
      - The wanted JSON value (object, array, string, number, boolean). Required with O(state=present).
      - To use a JSON file, pass V("{{ lookup('file', 'unit.json') | from_json }}") so that it is
        sent as an object, not as one string.
    type: raw
  state:
    description:
      - V(present) writes O(value) at O(path) when it differs.
      - V(absent) deletes O(path) when it exists. For V(/config) itself Unit replaces the whole
        configuration by an empty one; a configuration with only empty sections counts as absent.
      - Deleting an array element by index (V(/config/routes/0)) is not idempotent, each run
        deletes whatever element is at that index. Prefer writing the whole array.
    type: str
    choices: [absent, present]
    default: present
  merge:
    description:
      - Compose O(value) with what Unit holds at O(path) instead of replacing it. O(value) must
        be an object; each of its members that is an object (V(listeners), V(routes),
        V(applications), V(settings)...) is merged one level deep. The named entries it declares
        replace the entries of the same name, and entries declared elsewhere (by other apps or
        roles) stay. Other members replace the current ones.
      - The composed configuration is then written in one request, so Unit validates and applies
        it atomically.
      - An empty V(routes) array (a fresh Unit) becomes an object of named route sets; a
        non-empty routes array cannot be merged with named route sets and fails.
    type: bool
    default: false
  remove:
    description:
      - With O(merge), paths relative to O(path) to remove from the composed value, for example
        V(applications/old) or V(listeners/*:8081). Paths that do not exist are ignored.
    type: list
    elements: str
    default: []
extends_documentation_fragment:
  - unitchannels.deploy.unit_control
  - unitchannels.deploy.unit_control.log_file
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: Unit is read, never written; the task's C(changed) tells whether a write would happen.
  diff_mode:
    support: full
    details: Before and after are shown as JSON with sorted keys; arrays keep their order.
  platform:
    platforms: posix
notes:
  - RV(before), RV(after) and the diff contain the configuration as is, including
    C(environment) values. Use C(no_log) or disable diff on tasks whose values are secrets.
  - Unit validates a whole configuration at once, so dependent parts (a listener passing to an
    application and the application) are best written in one task at a common parent path,
    or in an order where each step is valid on its own (application before the route using it;
    route removed before the application it passes to).
seealso:
  - module: unitchannels.deploy.unit_app_restart
  - module: unitchannels.deploy.unit_certificate
  - name: NGINX Unit control API
    description: How paths, methods and answers of the control API work.
    link: https://unit.nginx.org/controlapi/
'''

EXAMPLES = r'''
- name: Whole configuration of a Django Channels app
  become: true
  unitchannels.deploy.unit_config:
    path: /config
    value:
      listeners:
        "*:80":
          pass: routes
      routes:
        - match:
            uri: /static/*
          action:
            share: /srv/djapp$uri
        - action:
            pass: applications/djangochannels
      applications:
        djangochannels:
          type: python 3.11
          path: /srv/djapp/
          home: /srv/djapp/venv/
          module: mysite.asgi
          environment:
            DJANGO_SETTINGS_MODULE: mysite.settings

- name: Only the environment of the application
  become: true
  unitchannels.deploy.unit_config:
    path: /config/applications/djangochannels/environment
    value:
      DJANGO_SETTINGS_MODULE: mysite.settings
      CHANNEL_LAYER: redis

- name: Configuration kept as a JSON file in the role
  become: true
  unitchannels.deploy.unit_config:
    value: "{{ lookup('template', 'unit-config.json.j2') | from_json }}"

- name: Remove a listener
  become: true
  unitchannels.deploy.unit_config:
    path: /config/listeners/127.0.0.1:8080
    state: absent

- name: Unit listening on TCP instead of the unix socket
  unitchannels.deploy.unit_config:
    url: http://127.0.0.1:8443
    path: /config/applications/djangochannels/processes
    value: 4
'''

RETURN = r'''
path:
  description: The managed path, percent-encoded as sent to Unit.
  returned: always
  type: str
  sample: /config/listeners/*:80
before:
  description: The value found at RV(path) before the task, V(null) when it did not exist.
  returned: always
  type: raw
  sample: {"DJANGO_SETTINGS_MODULE": "mysite.settings"}
after:
  description:
    - The value at RV(path) after the task (what it would be, in check mode),
      V(null) when absent. On failure, the intended value.
  returned: always
  type: raw
  sample: {"DJANGO_SETTINGS_MODULE": "mysite.settings", "CHANNEL_LAYER": "redis"}
response:
  description:
    - Unit's JSON answer to the write request (also on failure), V(null) when nothing was sent
      (no change needed, or check mode).
  returned: always
  type: raw
  sample: {"success": "Reconfiguration done."}
status:
  description: HTTP status of Unit's answer to the failed request.
  returned: failure
  type: int
  sample: 400
error:
  description: Unit's C(error) member on failure.
  returned: failure
  type: str
  sample: Invalid configuration.
detail:
  description: Unit's C(detail) member on failure, when Unit gave one.
  returned: failure
  type: str
  sample: Request "pass" points to invalid location "applications/doesnotexist".
location:
  description: Where Unit found invalid JSON in the request body (C(offset), C(line), C(column)).
  returned: failure, for invalid JSON
  type: dict
  sample: {"offset": 43, "line": 1, "column": 44}
unit_log:
  description: Lines Unit wrote to O(log_file) while failing to apply the configuration (HTTP 500).
  returned: failure, for HTTP 500
  type: list
  elements: str
  sample:
    - 2026/11/25 17:22:35 [alert] 1078#1078 Python failed to import module "mysite.asgi"
    - "ModuleNotFoundError: No module named 'mysite'"
'''


import json

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.unitchannels.deploy.plugins.module_utils.unit_address import DEFAULT_LOG_FILE
from ansible_collections.unitchannels.deploy.plugins.module_utils.unit_config_tree import (
    build_path,
    describe_path,
    json_equal,
    pretty_json,
    split_path,
)
from ansible_collections.unitchannels.deploy.plugins.module_utils.unit_control import (
    UNIT_MUTUALLY_EXCLUSIVE,
    UnitControlError,
    client_from_module,
    compose,
    normalize_json,
    request_failure,
    unit_argument_spec,
    NOTHING_CHANGED,
)
from ansible_collections.unitchannels.deploy.plugins.module_utils.unit_log import LogTail


def is_empty_config(value):
    """/config after DELETE /config is {}; a fresh install has only empty sections."""
    if not isinstance(value, dict):
        return False
    return all(isinstance(v, (dict, list)) and not v for v in value.values())


def explain_put_404(client, segments):
    """Why Unit answered 404 to a PUT: the parent is missing, or is an array/scalar."""
    parent_segments = segments[:-1]
    parent_path = build_path(*parent_segments)
    name = segments[-1]
    try:
        resp = client.get(parent_path)
    except UnitControlError:
        resp = None
    if resp is not None and resp.status == 200:
        parent = resp.body
        if isinstance(parent, list):
            return ('%s is an array in the current configuration, so its elements are addressed by '
                    'index (0..%d, or %d to append), and %r is not a valid index. To address '
                    'route steps by name, %s must first become an object of named route arrays '
                    '(write it, or a parent, as a whole).'
                    % (describe_path(parent_path), max(len(parent) - 1, 0), len(parent), name,
                       describe_path(parent_path)))
        if not isinstance(parent, dict):
            return ('%s is a %s, not an object, so it has no member %r.'
                    % (describe_path(parent_path), type(parent).__name__, name))
        return 'Unit reports that %s does not exist.' % describe_path(build_path(*segments))
    # find the deepest ancestor that exists
    missing = parent_segments
    while len(missing) > 1:
        up = missing[:-1]
        try:
            r = client.get(build_path(*up))
        except UnitControlError:
            break
        if r.status == 200:
            break
        missing = up
    return ('the parent %s does not exist (nothing exists from %s down): create it first, for '
            'example by writing its parent as a whole.'
            % (describe_path(parent_path), describe_path(build_path(*missing))))


def main():
    argument_spec = unit_argument_spec()
    argument_spec.update(
        path=dict(type='str', default='/config'),
        value=dict(type='raw'),
        state=dict(type='str', default='present', choices=['absent', 'present']),
        merge=dict(type='bool', default=False),
        remove=dict(type='list', elements='str', default=[]),
        log_file=dict(type='path', default=DEFAULT_LOG_FILE),
    )
    module = AnsibleModule(
        argument_spec=argument_spec,
        mutually_exclusive=UNIT_MUTUALLY_EXCLUSIVE,
        required_if=[('state', 'present', ['value'])],
        supports_check_mode=True,
    )

    state = module.params['state']
    raw_path = module.params['path']
    try:
        segments = split_path(raw_path)
    except ValueError as e:
        module.fail_json(msg='invalid path: %s' % e)
    if not segments or segments[0] != 'config':
        module.fail_json(msg='path must be /config or start with /config/ (got %r)' % raw_path)
    path = build_path(*segments)

    desired = None
    if state == 'present':
        try:
            desired = normalize_json(module.params['value'])
        except UnitControlError as e:
            module.fail_json(msg=e.msg)
        if isinstance(desired, str) and desired.strip()[:1] in ('{', '['):
            try:
                json.loads(desired)
            except ValueError:
                pass
            else:
                module.warn('value is a string holding JSON text, so it is sent as one JSON string; '
                            'use "{{ ... | from_json }}" to send it as an object or array')

    result = dict(changed=False, path=path, before=None, after=None, response=None)

    try:
        client = client_from_module(module)
        current_resp = client.get(path)
    except UnitControlError as e:
        module.fail_json(msg=e.msg, **result)

    if current_resp.status == 200:
        exists = True
        current = current_resp.body
    elif current_resp.status == 404:
        exists = False
        current = None
    else:
        msg, fields = request_failure(current_resp)
        result.update(fields)
        module.fail_json(msg='cannot read %s: %s' % (describe_path(path), msg), **result)

    result['before'] = current
    if state == 'present' and module.params['merge']:
        try:
            desired = compose(current, desired, module.params['remove'])
        except UnitControlError as e:
            module.fail_json(msg=e.msg, **result)
    elif module.params['remove']:
        module.fail_json(msg='remove is only meaningful with merge: true', **result)
    if len(segments) == 1 and exists and state == 'absent' and is_empty_config(current):
        exists = False

    if state == 'present':
        result['after'] = desired
        changed = not (exists and json_equal(current, desired))
    else:
        changed = exists
        if not changed:
            result['after'] = current
        elif len(segments) == 1:
            result['after'] = {}  # DELETE /config leaves an empty configuration
        if changed and segments[-1].isdigit():
            module.warn('deleting %s removes whatever array element is at that index on every run; '
                        'write the whole array instead to keep the task idempotent' % describe_path(path))

    result['changed'] = changed
    if module._diff:
        result['diff'] = dict(
            before_header='unit:%s' % describe_path(path),
            after_header='unit:%s' % describe_path(path),
            before=pretty_json(current) if current_resp.status == 200 else '',
            after=pretty_json(result['after']) if result['after'] is not None else '',
        )

    if not changed or module.check_mode:
        module.exit_json(**result)

    log = LogTail(module.params['log_file'])
    log.mark()
    try:
        if state == 'present':
            resp = client.put(path, desired)
        else:
            resp = client.delete(path)
    except UnitControlError as e:
        result['changed'] = False
        module.fail_json(msg=e.msg, **result)

    result['response'] = resp.body
    if resp.ok:
        module.exit_json(**result)

    result['changed'] = False
    if resp.status == 500:
        lines = log.read_new(wait=1.0)
        msg, fields = request_failure(resp, log_lines=lines, log_file=module.params['log_file'],
                                      log_error=log.error)
    else:
        msg, fields = request_failure(resp)
        if resp.status == 404 and state == 'present':
            msg = ('Unit cannot write %s (HTTP 404: %s): %s %s'
                   % (describe_path(path), resp.error_text(), explain_put_404(client, segments),
                      NOTHING_CHANGED))
        elif resp.status == 404:
            msg = ('%s disappeared before it could be deleted (HTTP 404: %s).'
                   % (describe_path(path), resp.error_text()))
    result.update(fields)
    module.fail_json(msg=msg, **result)


if __name__ == '__main__':
    main()
