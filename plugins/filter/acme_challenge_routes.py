# -*- coding: utf-8 -*-
# Copyright: unitchannels maintainers
# Apache License 2.0 (see LICENSE)

"""Filter acme_challenge_routes: the plain listener's route set while a first certificate is issued."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleFilterError

CHALLENGES = '/.well-known/acme-challenge/*'


def acme_challenge_routes(config, name, webroot):
    """ACME challenges served from webroot first, then what the plain listener did before.

    ``config``: Unit's /config. What the plain listener did: the steps of NAME-http (a redirect, say)
    without their challenge step, else the app's route set when Unit has one, else 404 (nothing to
    serve yet). So asking for a certificate never changes what the app serves.
    """
    if not isinstance(config, dict):
        raise AnsibleFilterError('acme_challenge_routes: expects Unit\'s /config as an object')
    routes = config.get('routes') if isinstance(config.get('routes'), dict) else {}
    challenge = {'match': {'uri': CHALLENGES}, 'action': {'share': webroot.rstrip('/') + '$uri'}}
    before = [step for step in routes.get(name + '-http') or []
              if not (isinstance(step, dict) and (step.get('match') or {}).get('uri') == CHALLENGES)]
    if not before:
        before = [{'action': {'pass': 'routes/' + name}}] if name in routes else [{'action': {'return': 404}}]
    return [challenge] + before


class FilterModule(object):
    def filters(self):
        return {'acme_challenge_routes': acme_challenge_routes}
