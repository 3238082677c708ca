"""Configuration validation, ported from NGINX Unit 1.34's
src/nxt_conf_validation.c: same member tables, same order of checks, same
error strings.  Options the stand-in does not implement are refused here with
"The test stand-in does not implement ..." so that nothing is silently
ignored.
"""

import ipaddress
import re

from .confjson import Number

T_NULL, T_BOOL, T_INT, T_NUM, T_STR, T_ARR, T_OBJ = (1, 2, 4, 12, 16, 32, 64)
_TYPE_NAMES = ("a null", "a boolean", "an integer number", "a fractional number",
               "a string", "an array", "an object")
INT32_MAX = 2147483647

# Variables Unit 1.34 knows; the stand-in evaluates the first group.
VARS_IMPLEMENTED = {"dollar", "method", "request_uri", "uri", "host",
                    "remote_addr", "time_local", "request_line", "status",
                    "body_bytes_sent", "header_referer", "header_user_agent"}
VARS_PREFIX_IMPLEMENTED = ("arg_", "header_", "cookie_")
VARS_KNOWN_NOT_IMPLEMENTED = {"request_time", "request_id"}
VARS_PREFIX_NOT_IMPLEMENTED = ("response_header_",)


class Invalid(Exception):
    """Validation failed; str(exc) is the "detail" of the 400 reply."""


def standin_refuse(what):
    raise Invalid('The test stand-in does not implement "%s".' % what)


def value_type(v):
    if v is None:
        return 0
    if isinstance(v, bool):
        return 1
    if isinstance(v, int):
        return 2
    if isinstance(v, float):
        return 3
    if isinstance(v, str):
        return 4
    if isinstance(v, list):
        return 5
    return 6


def _expected(types):
    bits = [t for t in range(7) if types & (1 << t)]
    out = "either " if len(bits) > 1 else ""
    comma = len(bits) > 2
    for i, t in enumerate(bits):
        out += _TYPE_NAMES[t]
        rest = len(bits) - i - 1
        if rest == 0:
            break
        if comma:
            out += ","
        if rest == 1:
            out += " or"
        out += " "
    return out


def check_type(name, value, types):
    t = value_type(value)
    if (1 << t) & types:
        return
    if name is None:
        raise Invalid("The configuration must be %s, but not %s."
                      % (_expected(types), _TYPE_NAMES[t]))
    raise Invalid('The "%s" value must be %s, but not %s.'
                  % (name, _expected(types), _TYPE_NAMES[t]))


def int_parse(s):
    """nxt_int_parse(): decimal digits only, -1 on anything else."""
    if not s or not s.isascii() or not s.isdigit():
        return -1
    v = int(s)
    return v if v <= (1 << 63) - 1 else -1


def inet_addr(s):
    """nxt_inet_addr(): dotted quad with exactly three dots, else None."""
    parts = s.split(".")
    if len(parts) != 4:
        return None
    for p in parts:
        if p == "":
            # "1..2.3" passes Unit's loop as octet 0; keep that leniency.
            continue
        if not p.isascii() or not p.isdigit() or int(p) > 255:
            return None
    return ".".join(str(int(p or "0")) for p in parts)


def parse_sockaddr(s):
    """nxt_sockaddr_parse(): returns (family, host, port) or None.
    family is "unix", "inet" or "inet6"."""
    if len(s) > 6 and s.startswith("unix:"):
        return ("unix", s[5:], None)
    if s and s[0] == "[":
        end = s.find("]")
        if end < 0:
            return None
        try:
            addr = ipaddress.IPv6Address(s[1:end])
        except ValueError:
            return None
        rest = s[end + 1:]
        if len(rest) > 2 and rest[0] == ":":
            port = int_parse(rest[1:])
            if 0 < port < 65536:
                return ("inet6", str(addr), port)
        return None
    colon = s.find(":")
    if colon < 0:
        return None
    host = s[:colon]
    if host == "*":
        host = "0.0.0.0"
    else:
        host = inet_addr(host)
        if host is None:
            return None
    port = int_parse(s[colon + 1:])
    if 0 < port < 65536:
        return ("inet", host, port)
    return None


def is_tstr(s):
    return "$" in s or "`" in s


_VAR_RE = re.compile(r"\$(?:\{([^}]*)\}|([A-Za-z0-9_]*))")


def template_vars(s):
    """Variable names of a Unit template string; raise Invalid-worthy
    messages as (message) strings through ValueError."""
    names = []
    i = 0
    while True:
        j = s.find("$", i)
        if j < 0:
            return names
        if s.startswith("${", j):
            k = s.find("}", j)
            if k < 0:
                raise ValueError('Missing "}" after "%s"' % s[j:])
            name = s[j + 2:k]
            i = k + 1
        else:
            m = re.compile(r"[A-Za-z0-9_]*").match(s, j + 1)
            name = m.group(0)
            i = m.end()
        if not name:
            raise ValueError('Invalid variable at position %d' % (j + 1))
        names.append(name)


def check_var(name, value):
    """nxt_conf_vldt_var() plus the stand-in's own limits."""
    if "`" in value:
        raise Invalid('The test stand-in does not implement njs template '
                      'literals (in the "%s" value).' % name)
    try:
        names = template_vars(value)
    except ValueError as e:
        raise Invalid('%s in the "%s" value.' % (e, name))
    for var in names:
        if var in VARS_IMPLEMENTED or var.startswith(VARS_PREFIX_IMPLEMENTED):
            continue
        if (var in VARS_KNOWN_NOT_IMPLEMENTED
                or var.startswith(VARS_PREFIX_NOT_IMPLEMENTED)):
            raise Invalid('The test stand-in does not implement the "$%s" '
                          'variable (in the "%s" value).' % (var, name))
        raise Invalid('Unknown variable "%s" in the "%s" value.' % (var, name))


class M:
    """One row of a Unit member table."""

    def __init__(self, name, types, validator=None, data=None, required=False,
                 tstr=False):
        self.name = name
        self.types = types
        self.validator = validator
        self.data = data
        self.required = required
        self.tstr = tstr


class Validator:
    def __init__(self, conf, modules, certs=()):
        self.conf = conf
        self.modules = modules      # apps.Module list
        self.certs = set(certs)
        self.ctx = None

    # -- generic helpers (nxt_conf_vldt_object & co) --

    def object(self, value, members):
        for m in members:
            if m.required and m.name not in value:
                raise Invalid('Required parameter "%s" is missing.' % m.name)
        for name, member in value.items():
            for m in members:
                if m.name == name:
                    break
            else:
                raise Invalid('Unknown parameter "%s".' % name)
            if m.tstr and isinstance(member, str) and is_tstr(member):
                if m.name == "pass":
                    raise Invalid('The test stand-in does not implement '
                                  'variables in "pass".')
                check_var(name, member)
                continue
            check_type(name, member, m.types)
            if m.validator is not None:
                m.validator(self, member, m.data)

    def object_iterator(self, value, fn):
        for name, member in value.items():
            fn(self, name, member)

    def array_iterator(self, value, fn):
        for element in value:
            fn(self, element)

    def run(self):
        check_type(None, self.conf, T_OBJ)
        self.object(self.conf, ROOT)


# ---- validators -------------------------------------------------------------

def v_object(v, value, members):
    v.object(value, members)


def v_object_iterator(v, value, fn):
    v.object_iterator(value, fn)


def v_array_iterator(v, value, fn):
    v.array_iterator(value, fn)


def v_refuse(v, value, what):
    standin_refuse(what)


def v_mtypes(v, value, data):
    seen = {}

    def mtype(v, name, val):
        check_type(name, val, T_STR | T_ARR)
        for ext in (val if isinstance(val, list) else [val]):
            if not isinstance(ext, str):
                raise Invalid('The "%s" MIME type array must contain only '
                              'strings.' % name)
            if ext == "":
                raise Invalid('An empty file extension for the "%s" MIME '
                              'type.' % name)
            key = ext.lower()
            if key in seen:
                raise Invalid('The "%s" file extension has been declared for '
                              '"%s" and "%s" MIME types at the same time.'
                              % (ext, seen[key], name))
            seen[key] = name

    v.object_iterator(value, mtype)


def v_listener(v, name, value):
    sa = parse_sockaddr(name)
    if sa is None:
        raise Invalid('The listener address "%s" is invalid.' % name)
    check_type(name, value, T_OBJ)
    if sa[0] == "unix":
        raise Invalid('The test stand-in does not implement UNIX domain socket '
                      'listeners ("%s").' % name)
    v.object(value, LISTENER)


def v_listen_backlog(v, value, data):
    if value < -1:
        raise Invalid('The "backlog" number must be equal to or greater '
                      'than -1.')
    if value > INT32_MAX:
        raise Invalid('The "backlog" number must not exceed %d.' % INT32_MAX)


def v_certificate(v, value, data):
    if isinstance(value, list):
        if not value:
            raise Invalid('The "certificate" array must contain at least one '
                          'element.')
        v.array_iterator(value, v_certificate_element)
    else:
        v_certificate_element(v, value)


def v_certificate_element(v, value):
    if not isinstance(value, str):
        raise Invalid('The "certificate" array must contain only string '
                      'values.')
    if value not in v.certs:
        raise Invalid('Certificate "%s" is not found.' % value)


def v_action(v, value, data):
    members = None
    for name, table in (("pass", PASS_ACTION), ("return", RETURN_ACTION),
                        ("share", SHARE_ACTION), ("proxy", PROXY_ACTION)):
        if name not in value:
            continue
        if members is not None:
            raise Invalid('The "action" object must have just one of "pass", '
                          '"return", "share", or "proxy" options set.')
        members = table
    if members is None:
        raise Invalid('The "action" object must have either "pass", "return", '
                      '"share", or "proxy" option set.')
    v.object(value, members)


def pass_segments(pass_):
    """nxt_http_pass_segments(): up to 3 non-empty, URI-decoded segments."""
    parts = pass_.split("/")
    if len(parts) > 3:
        return None
    out = []
    for p in parts:
        if p == "":
            return None
        d = decode_uri(p)
        if d is None:
            return None
        out.append(d)
    while len(out) < 3:
        out.append("")
    return out


def decode_uri(s):
    """nxt_decode_uri(): %XX decoding, None on a malformed escape."""
    if "%" not in s:
        return s
    raw = s.encode("utf-8", "surrogateescape")
    out = bytearray()
    i = 0
    while i < len(raw):
        c = raw[i]
        if c == 0x25:
            h = raw[i + 1:i + 3]
            try:
                if len(h) != 2:
                    raise ValueError
                out.append(int(h.decode("ascii"), 16))
            except ValueError:
                return None
            i += 3
            continue
        out.append(c)
        i += 1
    return bytes(out).decode("utf-8", "surrogateescape")


def v_pass(v, value, data):
    seg = pass_segments(value)
    if seg is None:
        raise Invalid('Request "pass" value "%s" is invalid.' % value)
    err = Invalid('Request "pass" points to invalid location "%s".' % value)
    conf = v.conf
    if seg[0] == "applications":
        if not seg[1]:
            raise err
        apps = conf.get("applications")
        if not isinstance(apps, dict) or seg[1] not in apps:
            raise err
        if seg[2]:
            app = apps[seg[1]]
            targets = app.get("targets") if isinstance(app, dict) else None
            if not isinstance(targets, dict) or seg[2] not in targets:
                raise err
        return
    if seg[0] == "upstreams":
        if not seg[1] or seg[2]:
            raise err
        ups = conf.get("upstreams")
        if not isinstance(ups, dict) or seg[1] not in ups:
            raise err
        return
    if seg[0] == "routes":
        if seg[2]:
            raise err
        routes = conf.get("routes")
        if routes is None:
            raise err
        if not seg[1]:
            if not isinstance(routes, list):
                raise err
            return
        if not isinstance(routes, dict) or seg[1] not in routes:
            raise err
        return
    raise err


def v_app_name(v, value, data):
    apps = v.conf.get("applications")
    if not isinstance(apps, dict) or value not in apps:
        raise Invalid('Listening socket is assigned for a non existing '
                      'application "%s".' % value)


def v_return(v, value, data):
    if value < 0 or value > 999:
        raise Invalid('The "return" value is out of allowed HTTP status code '
                      'range 0-999.')


def v_share(v, value, data):
    if isinstance(value, list):
        if not value:
            raise Invalid('The "share" array must contain at least one '
                          'element.')
        v.array_iterator(value, v_share_element)
    else:
        v_share_element(v, value)


def v_share_element(v, value):
    if not isinstance(value, str):
        raise Invalid('The "share" array must contain only string values.')
    if is_tstr(value):
        check_var("share", value)


def v_proxy(v, value, data):
    standin_refuse("proxy")


def v_python(v, value, data):
    if "targets" in value:
        v.object(value, PYTHON)
    else:
        v.object(value, PYTHON_NOTARGETS)


def v_python_path(v, value, data):
    if isinstance(value, list):
        for el in value:
            if not isinstance(el, str):
                raise Invalid('The "path" array must contain only string '
                              'values.')


def v_python_protocol(v, value, data):
    if value not in ("wsgi", "asgi"):
        raise Invalid('The "protocol" can either be "wsgi" or "asgi".')


def v_python_prefix(v, value, data):
    if not isinstance(value, str) or not value.startswith("/"):
        raise Invalid('The "prefix" must be a string beginning with "/".')


def v_threads(v, value, data):
    if value < 1:
        raise Invalid('The "threads" number must be equal to or greater '
                      'than 1.')
    if value > INT32_MAX:
        raise Invalid('The "threads" number must not exceed %d.' % INT32_MAX)


def v_listen_threads(v, value, data):
    if value < 1:
        raise Invalid('The "listen_threads" number must be equal to or '
                      'greater than 1.')
    if value > INT32_MAX:
        raise Invalid('The "listen_threads" number must not exceed %d.'
                      % INT32_MAX)


def v_thread_stack_size(v, value, data):
    min_size = 16384
    if value < min_size:
        raise Invalid('The "thread_stack_size" number must be equal to or '
                      'greater than %d.' % min_size)
    if value % 4096:
        raise Invalid('The "thread_stack_size" number must be a multiple of '
                      'the system page size (4096).')


def v_targets_exclusive(v, value, what):
    raise Invalid('The "%s" option is mutually exclusive with the "targets" '
                  'object.' % what)


def v_targets(v, value, data):
    standin_refuse("targets")


def v_routes(v, value, data):
    if isinstance(value, list):
        v.array_iterator(value, v_route)
    else:
        def member(v, name, val):
            check_type(name, val, T_ARR)
            v.array_iterator(val, v_route)
        v.object_iterator(value, member)


def v_route(v, value):
    if not isinstance(value, dict):
        raise Invalid('The "routes" array must contain only object values.')
    v.object(value, ROUTE)


def v_match_patterns(v, value, what):
    items = value if isinstance(value, list) else [value]
    for el in items:
        v_match_pattern(el, what)


def v_match_pattern(value, what):
    if not isinstance(value, str):
        raise Invalid('The "match" pattern for "%s" must be strings.' % what)
    if not value:
        return
    first = 1 if value[0] == "!" else 0
    if first < len(value) and value[first] == "~":
        raise Invalid('The test stand-in does not implement regular expression '
                      'patterns ("%s").' % value)
    if "**" in value[first:]:
        raise Invalid('The "match" pattern must not contain double "*" '
                      'markers.')


def v_match_encoded_patterns(v, value, what):
    items = value if isinstance(value, list) else [value]
    for el in items:
        if not isinstance(el, str):
            raise Invalid('The "match" pattern for "%s" must be a string.'
                          % what)
        v_match_pattern(el, what)
        if decode_uri(el) is None:
            raise Invalid('The "match" pattern for "%s" is encoded but is '
                          'invalid.' % what)


def v_match_encoded_patterns_sets(v, value, data):
    sets = value if isinstance(value, list) else [value]
    for s in sets:
        if not isinstance(s, dict):
            raise Invalid('The "match" pattern for "arguments" must be an '
                          'object.')
        for name, pat in s.items():
            if name == "":
                raise Invalid('The "match" pattern objects must not contain '
                              'empty member names.')
            if decode_uri(name) is None:
                raise Invalid('The "match" pattern for "arguments" is encoded '
                              'but is invalid.')
            v_match_encoded_patterns(v, pat, "arguments")


def v_match_patterns_sets(v, value, what):
    sets = value if isinstance(value, list) else [value]
    for s in sets:
        if not isinstance(s, dict):
            raise Invalid('The "match" patterns for "%s" must be objects.'
                          % what)
        for name, pat in s.items():
            if name == "":
                raise Invalid('The "match" pattern objects must not contain '
                              'empty member names.')
            v_match_patterns(v, pat, what)


def v_match_scheme(v, value, data):
    if value.lower() not in ("http", "https"):
        raise Invalid('The "scheme" can either be "http" or "https".')


def v_forwarded(v, value, data):
    # nxt_conf_vldt_forwarded: one of the two headers, then the members.
    if "client_ip" not in value and "protocol" not in value:
        raise Invalid('The "forwarded" object must have either "client_ip" or '
                      '"protocol" option set.')
    v.object(value, FORWARDED)


def v_match_addrs(v, value, data):
    items = value if isinstance(value, list) else [value]
    for el in items:
        if not isinstance(el, str):
            raise Invalid('The "match" pattern for "address" must be a '
                          'string.')
        try:
            parse_addr_pattern(el)
        except ValueError as e:
            raise Invalid(str(e))


def parse_addr_pattern(s):
    """Address pattern of "source"/"destination": [!]addr[:port[-port]] where
    addr is *, an IP, a CIDR or a range.  Returns (neg, lo, hi, plo, phi)."""
    neg = s.startswith("!")
    if neg:
        s = s[1:]
    if len(s) < 1:
        raise ValueError('The "address" is too short.')
    if s.startswith("unix"):
        return (neg, "unix", None, 0, 65535)
    port_lo, port_hi = 0, 65535
    if s.startswith("["):
        end = s.find("]")
        if end < 0:
            raise ValueError('The "address" format is invalid.')
        host, rest = s[1:end], s[end + 1:]
        if rest:
            if not rest.startswith(":"):
                raise ValueError('The "address" format is invalid.')
            port_lo, port_hi = _ports(rest[1:])
    elif s.count(":") >= 2:
        # nxt_inet6_probe(): two colons make an IPv6 address, which takes a port
        # only in brackets ("::1", "fd00::/8").
        host = s
    else:
        host, sep, port = s.partition(":")
        if sep:
            port_lo, port_hi = _ports(port)
    if host == "*":
        return (neg, None, None, port_lo, port_hi)
    try:
        if "/" in host:
            net = ipaddress.ip_network(host, strict=False)
            return (neg, net[0], net[-1], port_lo, port_hi)
        if "-" in host:
            a, b = host.split("-", 1)
            lo, hi = ipaddress.ip_address(a), ipaddress.ip_address(b)
            if lo.version != hi.version or lo > hi:
                raise ValueError
            return (neg, lo, hi, port_lo, port_hi)
        ip = ipaddress.ip_address(host)
        return (neg, ip, ip, port_lo, port_hi)
    except ValueError:
        raise ValueError('The "address" format is invalid.')


def _ports(p):
    a, sep, b = p.partition("-")
    lo = int_parse(a)
    hi = int_parse(b) if sep else lo
    if lo < 0 or hi < 0 or lo > 65535 or hi > 65535 or lo > hi:
        raise ValueError('The "address" port an invalid port.')
    return lo, hi


def v_response_header(v, name, value):
    if name == "":
        raise Invalid('The response header name must not be empty.')
    if name == "Content-Length":
        raise Invalid('The "Content-Length" response header value is not '
                      'supported')
    if value is None:
        return
    if isinstance(value, str):
        if is_tstr(value):
            check_var(name, value)
        return
    raise Invalid('The "%s" response header value must either be a string '
                  'or a null' % name)


def v_app(v, name, value):
    check_type(name, value, T_OBJ)
    if "type" not in value:
        raise Invalid('Application must have the "type" property set.')
    check_type("type", value["type"], T_STR)
    if find_module(v.modules, value["type"]) is None:
        raise Invalid('The module to run "%s" is not found among the '
                      'available application modules.' % value["type"])
    v_python(v, value, None)


def find_module(modules, type_name):
    """nxt_app_lang_module(): "python", "python 3", "python3.11" ... resolve
    to the highest installed version whose version string matches."""
    version = ""
    p = 0
    for p, ch in enumerate(type_name):
        if ch == " ":
            version = type_name[p + 1:]
            break
        if "0" <= ch <= "9":
            version = type_name[p:]
            break
    else:
        p = len(type_name)
    lang = type_name[:p]
    for mod in modules:   # sorted by version, highest first
        if mod.type == lang and vers_match(mod.version, version):
            return mod
    return None


def vers_match(version, prefix):
    """nxt_strvers_match()"""
    if not prefix:
        return True
    if not version.startswith(prefix):
        return False
    if len(version) == len(prefix):
        return True
    nxt, last = version[len(prefix)], prefix[-1]
    return nxt.isdigit() != last.isdigit()


def v_processes(v, value, data):
    if isinstance(value, int) and not isinstance(value, bool):
        if value < 1:
            raise Invalid('The "processes" number must be equal to or greater '
                          'than 1.')
        if value > INT32_MAX:
            raise Invalid('The "processes" number must not exceed %d.'
                          % INT32_MAX)
        return
    v.object(value, APP_PROCESSES)
    spare = value.get("spare", 0)
    mx = value.get("max", 1)
    idle = value.get("idle_timeout", 15)
    spare = spare if isinstance(spare, int) else 0
    if spare < 0:
        raise Invalid('The "spare" number must not be negative.')
    if spare > INT32_MAX:
        raise Invalid('The "spare" number must not exceed %d.' % INT32_MAX)
    if mx < 1:
        raise Invalid('The "max" number must be equal to or greater than 1.')
    if mx > INT32_MAX:
        raise Invalid('The "max" number must not exceed %d.' % INT32_MAX)
    if mx < spare:
        raise Invalid('The "spare" number must be less than or equal to '
                      '"max".')
    if idle < 0:
        raise Invalid('The "idle_timeout" number must not be negative.')
    if idle > INT32_MAX // 1000:
        raise Invalid('The "idle_timeout" number must not exceed %d.'
                      % (INT32_MAX // 1000))


def v_environment(v, name, value):
    if name == "":
        raise Invalid('The environment name must not be empty.')
    if "\0" in name:
        raise Invalid('The environment name must not contain null character.')
    if "=" in name:
        raise Invalid("The environment name must not contain '=' character.")
    if not isinstance(value, str):
        raise Invalid('The "%s" environment value must be a string.' % name)
    if "\0" in value:
        raise Invalid('The "%s" environment value must not contain null '
                      'character.' % name)


def v_access_log(v, value, data):
    if isinstance(value, str):
        return
    v.object(value, ACCESS_LOG)
    path = value.get("path", "")
    if not isinstance(path, str) or path == "":
        raise Invalid('The "path" string must not be empty.')
    fmt = value.get("format")
    if isinstance(fmt, str) and is_tstr(fmt):
        check_var("format", fmt)


def v_if(v, value, data):
    standin_refuse("if")


# ---- member tables ----------------------------------------------------------

WEBSOCKET = [M("read_timeout", T_INT), M("keepalive_interval", T_INT),
             M("max_frame_size", T_INT)]
STATIC = [M("mime_types", T_OBJ, v_mtypes)]
HTTP = [
    M("header_read_timeout", T_INT), M("body_read_timeout", T_INT),
    M("send_timeout", T_INT), M("idle_timeout", T_INT),
    M("large_header_buffer_size", T_INT), M("large_header_buffers", T_INT),
    M("body_buffer_size", T_INT), M("max_body_size", T_INT),
    M("body_temp_path", T_STR), M("discard_unsafe_fields", T_BOOL),
    M("websocket", T_OBJ, v_object, WEBSOCKET),
    M("static", T_OBJ, v_object, STATIC),
    M("log_route", T_BOOL), M("server_version", T_BOOL),
    M("chunked_transform", T_BOOL),
]
SETTINGS = [
    M("listen_threads", T_INT, v_listen_threads),
    M("http", T_OBJ, v_object, HTTP),
    # Unit's packages are built with njs; JS modules are not emulated.
    M("js_module", T_STR | T_ARR, v_refuse, "js_module"),
]
TLS = [
    M("certificate", T_STR | T_ARR, v_certificate, required=True),
    M("conf_commands", T_OBJ, v_refuse, "conf_commands"),
    M("session", T_OBJ, v_refuse, "session"),
]
FORWARDED = [
    M("client_ip", T_STR),
    M("protocol", T_STR),
    M("source", T_STR | T_ARR, v_match_addrs, required=True),
    M("recursive", T_BOOL),
]
LISTENER = [
    M("pass", T_STR, v_pass, tstr=True),
    M("application", T_STR, v_app_name),
    M("forwarded", T_OBJ, v_forwarded),
    M("client_ip", T_OBJ, v_refuse, "client_ip"),
    M("backlog", T_NUM, v_listen_backlog),
    M("tls", T_OBJ, v_object, TLS),
]
MATCH = [
    M("method", T_STR | T_ARR, v_match_patterns, "method"),
    M("scheme", T_STR, v_match_scheme),
    M("host", T_STR | T_ARR, v_match_patterns, "host"),
    M("source", T_STR | T_ARR, v_match_addrs),
    M("destination", T_STR | T_ARR, v_match_addrs),
    M("uri", T_STR | T_ARR, v_match_encoded_patterns, "uri"),
    M("query", T_STR | T_ARR, v_match_encoded_patterns, "query"),
    M("arguments", T_OBJ | T_ARR, v_match_encoded_patterns_sets),
    M("headers", T_OBJ | T_ARR, v_match_patterns_sets, "headers"),
    M("cookies", T_OBJ | T_ARR, v_match_patterns_sets, "cookies"),
    M("if", T_STR, v_if),
]
ACTION_COMMON = [
    M("rewrite", T_STR, tstr=True),
    M("response_headers", T_OBJ, v_object_iterator, v_response_header),
]
PASS_ACTION = [M("pass", T_STR, v_pass, tstr=True)] + ACTION_COMMON
RETURN_ACTION = [M("return", T_INT, v_return),
                 M("location", T_STR, tstr=True)] + ACTION_COMMON
SHARE_ACTION = [
    M("share", T_STR | T_ARR, v_share),
    M("index", T_STR),
    M("types", T_STR | T_ARR, v_match_patterns, "types"),
    M("fallback", T_OBJ, v_action),
    M("chroot", T_STR, tstr=True),
    M("follow_symlinks", T_BOOL),
    M("traverse_mounts", T_BOOL),
] + ACTION_COMMON
PROXY_ACTION = [M("proxy", T_STR, v_proxy)] + ACTION_COMMON
ROUTE = [M("match", T_OBJ, v_object, MATCH), M("action", T_OBJ, v_action)]

APP_LIMITS = [M("timeout", T_INT), M("requests", T_INT), M("shm", T_INT)]
APP_PROCESSES = [M("spare", T_INT), M("max", T_INT), M("idle_timeout", T_INT)]
COMMON = [
    M("type", T_STR),
    M("limits", T_OBJ, v_object, APP_LIMITS),
    M("processes", T_INT | T_OBJ, v_processes),
    M("user", T_STR), M("group", T_STR), M("working_directory", T_STR),
    M("environment", T_OBJ, v_object_iterator, v_environment),
    M("isolation", T_OBJ, v_refuse, "isolation"),
    M("stdout", T_STR), M("stderr", T_STR),
]
PYTHON_COMMON = [
    M("home", T_STR),
    M("path", T_STR | T_ARR, v_python_path),
    M("protocol", T_STR, v_python_protocol),
    M("threads", T_INT, v_threads),
    M("thread_stack_size", T_INT, v_thread_stack_size),
] + COMMON
PYTHON = [
    M("module", T_STR, v_targets_exclusive, "module"),
    M("callable", T_STR, v_targets_exclusive, "callable"),
    M("factory", T_BOOL, v_targets_exclusive, "factory"),
    M("prefix", T_STR, v_targets_exclusive, "prefix"),
    M("targets", T_OBJ, v_targets),
] + PYTHON_COMMON
PYTHON_NOTARGETS = [
    M("module", T_STR, required=True),
    M("callable", T_STR),
    M("factory", T_BOOL),
    M("prefix", T_STR, v_python_prefix),
] + PYTHON_COMMON
ACCESS_LOG = [M("path", T_STR), M("format", T_STR), M("if", T_STR, v_if)]
ROOT = [
    M("settings", T_OBJ, v_object, SETTINGS),
    M("listeners", T_OBJ, v_object_iterator, v_listener),
    M("routes", T_ARR | T_OBJ, v_routes),
    M("applications", T_OBJ, v_object_iterator, v_app),
    M("upstreams", T_OBJ, v_refuse, "upstreams"),
    M("access_log", T_STR | T_OBJ, v_access_log),
]


def validate(conf, modules, certs=()):
    """Raise Invalid(detail) when Unit would answer 400 Invalid configuration."""
    Validator(conf, modules, certs).run()


__all__ = ["Invalid", "validate", "find_module", "parse_sockaddr", "Number"]
