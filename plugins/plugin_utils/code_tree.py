# -*- coding: utf-8 -*-
# Copyright: unitchannels maintainers
# Apache License 2.0 (see LICENSE)

"""What a release ships from a directory of the controller, walked once for both its name (the
code_release_id lookup) and its upload (the code_upload action), so that the two cannot disagree.

A release ships directories (empty ones too), regular files with their content and whether they
are executable (the upload's mode u=rwX,g=rX,o=rX keeps nothing else of a mode), and symbolic
links with their targets. An entry whose name, or whose path from the top, matches one of the
excludes (shell patterns: "db.sqlite3", "*.log", "docs/build") is left out, a directory with all
it holds. With tracked (git_tracked()), only what git tracks is shipped. Other kinds of files
(sockets, fifos, devices) are not shipped.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import fnmatch
import hashlib
import json
import os
import stat
import subprocess

NAME_LENGTH = 12


def excluded(relpath, excludes):
    """Whether relpath (from the top of the tree) or its name matches one of the excludes."""
    name = os.path.basename(relpath)
    return any(fnmatch.fnmatch(name, pattern) or fnmatch.fnmatch(relpath, pattern) for pattern in excludes)


def git_tracked(root):
    """The paths under root (relative to it) that git tracks, with the directories that lead to
    them. Raises ValueError when root is not in a git work tree or git cannot be run."""
    try:
        listing = subprocess.run(['git', '-C', root, 'ls-files', '-z', '--cached'],
                                 capture_output=True, check=False)
    except OSError as e:
        raise ValueError('git cannot be run on the controller to list the files it tracks in %s: %s' % (root, e))
    if listing.returncode != 0:
        raise ValueError('%s is not in a git work tree, so there are no tracked files to ship: %s'
                         % (root, listing.stderr.decode('utf-8', 'replace').strip()))
    tracked = set()
    for path in listing.stdout.decode('utf-8', 'surrogateescape').split('\0'):
        while path and path not in tracked:
            tracked.add(path)
            path = os.path.dirname(path)
    return tracked


def entries(root, excludes, tracked=None):
    """(relative path, kind, path) of what a release ships from root, in a fixed order; kind is
    'dir', 'file' or 'link'. Links are not followed (a link to a directory is a link). tracked, a
    set of relative paths, keeps only those."""
    def shipped(relpath):
        return not excluded(relpath, excludes) and (tracked is None or relpath in tracked)

    for top, dirs, names in os.walk(root, followlinks=False):
        base = os.path.relpath(top, root)

        def rel(name, base=base):
            return name if base == '.' else os.path.join(base, name)

        dirs[:] = sorted(d for d in dirs if shipped(rel(d)))
        for name in sorted(dirs + [n for n in names if shipped(rel(n))]):
            path = os.path.join(top, name)
            mode = os.lstat(path).st_mode
            kind = ('link' if stat.S_ISLNK(mode) else 'dir' if stat.S_ISDIR(mode)
                    else 'file' if stat.S_ISREG(mode) else None)
            if kind:
                yield rel(name), kind, path


def sha1_of(path):
    digest = hashlib.sha1()
    with open(path, 'rb') as handle:
        for block in iter(lambda: handle.read(65536), b''):
            digest.update(block)
    return digest.hexdigest()


def release_name(root, excludes, tracked=None):
    """12 hex digits naming what a release ships from root: the SHA-1 of one JSON line per entry
    (a directory's path; a file's path, executable bit and SHA-1; a link's path and target), so
    that no name, however odd, can make two trees read alike.
    Raises ValueError when root ships no regular file."""
    lines = []
    files = 0
    for relpath, kind, path in entries(root, excludes, tracked):
        if kind == 'file':
            files += 1
            executable = bool(os.lstat(path).st_mode & 0o111)
            entry = ['f', relpath, executable, sha1_of(path)]
        elif kind == 'link':
            entry = ['l', relpath, os.readlink(path)]
        else:
            entry = ['d', relpath]
        lines.append(json.dumps(entry))
    if not files:
        raise ValueError('%s holds no files, so there is no code to deploy' % root)
    text = '\n'.join(lines).encode('utf-8', 'surrogateescape')
    return hashlib.sha1(text).hexdigest()[:NAME_LENGTH]
