# -*- coding: utf-8 -*-

# Copyright: unitchannels maintainers
# Apache License 2.0 (see LICENSE)

"""Unit's log file: what a request added to it, and which of those lines say why an app failed.

For a 500 Unit writes the reason only to its log, so the modules remember the log's size before
a request and read what was added afterwards.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import errno
import os
import re
import time

from ansible.module_utils.common.text.converters import to_native, to_text


# Unit log line: "2026/11/25 17:22:35 [alert] 1078#1078 message"
_LOG_LINE_RE = re.compile(
    r'^(?P<ts>\d{4}/\d{2}/\d{2} \d{2}:\d{2}:\d{2}) \[(?P<level>[a-z]+)\] '
    r'(?P<pid>\d+)#(?P<tid>\d+) (?P<msg>.*)$'
)


_ERROR_LEVELS = ('alert', 'crit', 'emerg', 'error')


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
