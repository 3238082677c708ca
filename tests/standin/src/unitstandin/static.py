"""The "share" action (src/nxt_http_static.c): file lookup with chroot,
follow_symlinks and traverse_mounts emulated by resolving the path one
component at a time (Unit uses openat2(2)), MIME types, ETag, Last-Modified.

Unit's router runs as the unprivileged user (--user, default "unit"), so a
file it cannot read is a 403 even though unitd's main process is root; the
stand-in serves files from its root main process and therefore checks the
permission bits against that user itself.
"""

import errno
import os
import stat

DEFAULT_MIME = [
    ("text/html", ".html"), ("text/html", ".htm"), ("text/css", ".css"),
    ("image/svg+xml", ".svg"), ("image/webp", ".webp"), ("image/png", ".png"),
    ("image/apng", ".apng"), ("image/jpeg", ".jpeg"), ("image/jpeg", ".jpg"),
    ("image/gif", ".gif"), ("image/x-icon", ".ico"), ("image/avif", ".avif"),
    ("image/avif-sequence", ".avifs"), ("font/woff", ".woff"),
    ("font/woff2", ".woff2"), ("font/otf", ".otf"), ("font/ttf", ".ttf"),
    ("text/plain", ".txt"), ("text/markdown", ".md"), ("text/x-rst", ".rst"),
    ("application/javascript", ".js"), ("application/json", ".json"),
    ("application/xml", ".xml"), ("application/rss+xml", ".rss"),
    ("application/atom+xml", ".atom"), ("application/pdf", ".pdf"),
    ("application/zip", ".zip"), ("audio/mpeg", ".mp3"), ("audio/ogg", ".ogg"),
    ("audio/midi", ".midi"), ("audio/midi", ".mid"), ("audio/flac", ".flac"),
    ("audio/aac", ".aac"), ("audio/wav", ".wav"), ("video/mpeg", ".mpeg"),
    ("video/mpeg", ".mpg"), ("video/mp4", ".mp4"), ("video/webm", ".webm"),
    ("video/x-msvideo", ".avi"), ("application/octet-stream", ".exe"),
    ("application/octet-stream", ".bin"), ("application/octet-stream", ".dll"),
    ("application/octet-stream", ".iso"), ("application/octet-stream", ".img"),
    ("application/octet-stream", ".msi"), ("application/octet-stream", ".deb"),
    ("application/octet-stream", ".rpm"),
    ("application/x-httpd-php", ".php"),
]


def mime_table(settings_mime):
    table = {ext.lower(): t for t, ext in DEFAULT_MIME}
    for t, exts in (settings_mime or {}).items():
        for ext in (exts if isinstance(exts, list) else [exts]):
            table[ext.lower()] = t
    return table


def extension(path):
    """nxt_http_static_extract_extension(): from the last '.' or, failing
    that, the whole last path segment."""
    i = len(path) - 1
    while i >= 0:
        if path[i] == "/":
            return path[i + 1:]
        if path[i] == ".":
            return path[i:]
        i -= 1
    return path


class Identity:
    """uid/gids of the user Unit's router would run as."""

    def __init__(self, uid, gid, groups):
        self.uid = uid
        self.gids = set(groups) | {gid}

    def allowed(self, st, want):
        """want: 4 (read) or 1 (search)."""
        if self.uid == 0:
            return True
        mode = st.st_mode
        if st.st_uid == self.uid:
            return bool(mode & (want << 6))
        if st.st_gid in self.gids:
            return bool(mode & (want << 3))
        return bool(mode & want)


def chroot_match(chroot, share):
    """nxt_http_static_chroot_match(): the part of share below chroot, or
    None when share is not inside chroot."""
    c = [p for p in chroot.split("/") if p]
    s = [p for p in share.split("/") if p]
    if not share.startswith("/") or not chroot.startswith("/"):
        return None
    if s[:len(c)] != c or len(s) == len(c):
        return None
    return "/".join(s[len(c):])


def resolve(path, chroot=None, follow=True, traverse=True, ident=None):
    """Resolve path like openat2(RESOLVE_IN_ROOT/NO_SYMLINKS/NO_XDEV) would
    and return the final real path; OSError with Unit's errno otherwise."""
    if chroot:
        rel = chroot_match(chroot, path)
        if rel is None:
            raise OSError(errno.EACCES, "not in chroot")
        base = os.path.realpath(chroot)
        comps = rel.split("/")
        in_root = True
    else:
        base = "/"
        comps = path.split("/")
        in_root = False
    try:
        st = os.stat(base)
    except OSError:
        raise
    dev0 = st.st_dev
    cur = base
    hops = 0
    while comps:
        comp = comps.pop(0)
        if comp in ("", "."):
            continue
        if ident is not None and not ident.allowed(os.stat(cur), 1):
            raise OSError(errno.EACCES, "search permission")
        if comp == "..":
            if in_root and cur == base:
                continue
            cur = os.path.dirname(cur) or "/"
            continue
        nxt = os.path.join(cur, comp)
        st = os.lstat(nxt)
        if stat.S_ISLNK(st.st_mode):
            if not follow:
                raise OSError(errno.ELOOP, "symlink")
            hops += 1
            if hops > 40:
                raise OSError(errno.ELOOP, "too many links")
            target = os.readlink(nxt)
            if target.startswith("/"):
                cur = base if in_root else "/"
            comps = target.split("/") + comps
            continue
        if not traverse and st.st_dev != dev0:
            raise OSError(errno.EXDEV, "mount point")
        if comps and not stat.S_ISDIR(st.st_mode):
            raise OSError(errno.ENOTDIR, "not a directory")
        cur = nxt
    return cur


def open_file(path, chroot=None, follow=True, traverse=True, ident=None):
    """Open for reading; returns (fd, stat)."""
    if chroot or not follow or not traverse or ident is not None:
        real = resolve(path, chroot, follow, traverse, ident)
    else:
        real = path
    fd = os.open(real, os.O_RDONLY | os.O_CLOEXEC | os.O_NONBLOCK)
    try:
        st = os.fstat(fd)
        if ident is not None and stat.S_ISREG(st.st_mode) and not ident.allowed(st, 4):
            raise OSError(errno.EACCES, "read permission")
    except OSError:
        os.close(fd)
        raise
    return fd, st


NOT_FOUND_ERRNOS = (errno.ENOENT, errno.ENOTDIR, errno.ENAMETOOLONG, errno.ENXIO)
FORBIDDEN_ERRNOS = (errno.EACCES, errno.ELOOP, errno.EXDEV)
