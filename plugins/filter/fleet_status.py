# -*- coding: utf-8 -*-
# Copyright: unitchannels maintainers
# Apache License 2.0 (see LICENSE)

"""Filter fleet_status: the table playbooks/status.yml prints, one line per app host."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import posixpath

from ansible.errors import AnsibleFilterError

COLUMNS = ('host', 'unit', 'app', 'release', 'processes', 'edge')


def _row(host, facts):
    """The cells of one app host, from what status.yml read on it."""
    app = facts.get('app') or 'chat'
    unit = facts.get('unit') or {}
    if unit.get('failed') or 'config' not in unit:  # Unit did not answer (the read may not fail the play)
        return [host, 'no answer', app, '-', '-', _edge(facts.get('edge'))]
    application = ((unit.get('config') or {}).get('applications') or {}).get(app)
    release = posixpath.basename(application.get('working_directory', '').rstrip('/')) if application else 'not served'
    processes = ((unit.get('status') or {}).get('applications') or {}).get(app, {}).get('processes')
    counts = ('%(running)s running, %(starting)s starting, %(idle)s idle' % processes) if processes else '-'
    return [host, unit.get('version') or '?', app, release or '?', counts, _edge(facts.get('edge'))]


def _edge(results):
    """'edge1 UP, edge2 DRAIN' from haproxy_server's results on each edge ('-' without an edge)."""
    if not results:
        return '-'
    cells = []
    for result in results:
        name = result.get('item') or '?'
        status = result.get('status') if result.get('found') else ('unknown' if not result.get('failed') else 'no answer')
        cells.append('%s %s' % (name, status))
    return ', '.join(cells)


def fleet_status(hosts, hostvars, key='status_read'):
    """Lines of an aligned table: a header, then one line per host of hosts.

    Each host's hostvars[host][key] holds what status.yml read there: app (the app's name),
    unit (unit_info's result) and edge (haproxy_server's results, one per edge, each with its
    edge's name as item: a loop's results).
    """
    if isinstance(hosts, (str, bytes)) or not hasattr(hosts, '__iter__'):
        raise AnsibleFilterError('fleet_status: expects a list of hosts, got %r' % (hosts,))
    rows = [list(COLUMNS)]
    for host in hosts:
        facts = (hostvars[host] if host in hostvars else {}).get(key) or {}
        rows.append(_row(host, facts))
    widths = [max(len(str(row[i])) for row in rows) for i in range(len(COLUMNS))]
    return ['  '.join(str(cell).ljust(width) for cell, width in zip(row, widths)).rstrip() for row in rows]


class FilterModule(object):
    def filters(self):
        return {'fleet_status': fleet_status}
