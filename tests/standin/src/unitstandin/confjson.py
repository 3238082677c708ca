"""JSON the way NGINX Unit parses and prints it (src/nxt_conf.c).

Why not the json module: Unit's error messages (detail + byte offset, line,
column), its duplicate-member check and its pretty printer (TABs, CRLF, a blank
line after a non-empty object or array member) are part of the observable
control API, and the tests compare them byte for byte.

Values are plain Python objects: dict (member order kept), list, str, int,
Number (a float that remembers its source text), bool, None.  Strings are
decoded with surrogateescape so that arbitrary bytes survive a round trip.
"""

import math


class Number(float):
    """A JSON number with a fraction or exponent; printed as it was written."""

    def __new__(cls, text):
        obj = float.__new__(cls, text)
        obj.text = text
        return obj

    def __repr__(self):
        return self.text


class JSONError(Exception):
    def __init__(self, pos, detail):
        Exception.__init__(self, detail)
        self.pos = pos
        self.detail = detail


_WS = b" \t\r\n"
_INT64_MAX = (1 << 63) - 1

E_EMPTY = ("An empty JSON payload isn't allowed.  It must be either a literal "
           "(null, true, or false), a number, a string (in double quotes \"\"), "
           "an array (with brackets []), or an object (with braces {}).")
E_TRAILING = "Unexpected character after the end of a valid JSON value."
E_VALUE = ("A valid JSON value is expected here.  It must be either a literal "
           "(null, true, or false), a number, a string (in double quotes \"\"), "
           "an array (with brackets []), or an object (with braces {}).")
E_OBJ_END = ("Unexpected end of JSON payload.  There's an object without "
             "a closing brace (}).")
E_OBJ_QUOTE = ("A double quote (\") is expected here.  There must be a valid "
               "JSON object member starts with a name, which is a string "
               "enclosed in double quotes.")
E_OBJ_DUP = ("Duplicate object member.  All JSON object members must "
             "have unique names.")
E_OBJ_NOVAL = ("Unexpected end of JSON payload.  There's an object member "
               "without a value.")
E_OBJ_COLON = ("A colon (:) is expected here.  There must be a colon after "
               "a JSON member name.")
E_OBJ_COMMA = ("Either a closing brace (}) or a comma (,) is expected here.  "
               "Each JSON object must be enclosed in braces and its members "
               "must be separated by commas.")
E_ARR_END = ("Unexpected end of JSON payload.  There's an array without "
             "a closing bracket (]).")
E_ARR_COMMA = ("Either a closing bracket (]) or a comma (,) is expected "
               "here.  Each array must be enclosed in brackets and its "
               "members must be separated by commas.")
E_STR_CTRL = ("Unexpected character.  All control characters in a JSON "
              "string must be escaped.")
E_STR_BSLASH = ("Unexpected backslash.  A literal backslash in a JSON string "
                "must be escaped with a second backslash (\\\\).")
E_STR_ESC = ("Invalid escape sequence.  An escape sequence in a JSON "
             "string must start with a backslash, followed by the lowercase "
             "letter u, followed by four hexadecimal digits (\\uXXXX).")
E_STR_END = ("Unexpected end of JSON payload.  There's a string without "
             "a final double quote (\").")
E_STR_PAIR = ("Invalid JSON encoding sequence.  This 12-byte "
              "sequence composes an illegal UTF-16 surrogate pair.")
E_STR_UTF = ("Invalid JSON encoding sequence.  This 6-byte sequence "
             "does not represent a valid UTF character.")
E_NUM_ZERO = ("The number is invalid.  Leading zeros are not allowed in JSON "
              "numbers.")
E_NUM_FRAC = ("The number is invalid.  A fraction part in JSON numbers "
              "must contain at least one digit.")
E_NUM_EXP = ("The number is invalid.  An exponent part in JSON numbers "
             "must contain at least one digit.")
E_NUM_BIG = ("The integer is too large.  Such a large JSON integer value "
             "is not supported.")
E_NUM_RANGE = ("The number is out of representable range.  Such JSON number "
               "value is not supported.")


def _skip(buf, p):
    n = len(buf)
    while p < n and buf[p] in _WS:
        p += 1
    return p


class _Parser:
    def __init__(self, buf):
        self.buf = buf
        self.end = len(buf)

    def value(self, p):
        buf = self.buf
        ch = buf[p]
        if ch == 0x7B:  # {
            return self.obj(p)
        if ch == 0x5B:  # [
            return self.arr(p)
        if ch == 0x22:  # "
            return self.string(p)
        for lit, val in ((b"true", True), (b"false", False), (b"null", None)):
            if ch == lit[0]:
                if buf.startswith(lit, p):
                    return val, p + len(lit)
                raise JSONError(p, E_VALUE)
        digit = ch
        if ch == 0x2D:  # -
            if p + 1 >= self.end:
                raise JSONError(p, E_VALUE)
            digit = buf[p + 1]
        if 0x30 <= digit <= 0x39:
            val, q = self.number(p)
            if q == self.end or buf[q] in b" \t\r\n,}]{[\"":
                return val, q
        raise JSONError(p, E_VALUE)

    def obj(self, start):
        buf = self.buf
        result = {}
        p = start
        while True:
            p = _skip(buf, p + 1)
            if p == self.end:
                raise JSONError(p, E_OBJ_END)
            if buf[p] != 0x22:
                if buf[p] == 0x7D:
                    break
                raise JSONError(p, E_OBJ_QUOTE)
            name_pos = p
            name, p = self.string(p)
            if name in result:
                raise JSONError(name_pos, E_OBJ_DUP)
            p = _skip(buf, p)
            if p == self.end:
                raise JSONError(p, E_OBJ_NOVAL)
            if buf[p] != 0x3A:
                raise JSONError(p, E_OBJ_COLON)
            p = _skip(buf, p + 1)
            if p == self.end:
                raise JSONError(p, E_OBJ_NOVAL)
            val, p = self.value(p)
            result[name] = val
            p = _skip(buf, p)
            if p == self.end:
                raise JSONError(p, E_OBJ_END)
            if buf[p] != 0x2C:
                if buf[p] == 0x7D:
                    break
                raise JSONError(p, E_OBJ_COMMA)
        return result, p + 1

    def arr(self, start):
        buf = self.buf
        result = []
        p = start
        while True:
            p = _skip(buf, p + 1)
            if p == self.end:
                raise JSONError(p, E_ARR_END)
            if buf[p] == 0x5D:
                break
            val, p = self.value(p)
            result.append(val)
            p = _skip(buf, p)
            if p == self.end:
                raise JSONError(p, E_ARR_END)
            if buf[p] != 0x2C:
                if buf[p] == 0x5D:
                    break
                raise JSONError(p, E_ARR_COMMA)
        return result, p + 1

    def string(self, start):
        buf = self.buf
        p = start + 1
        out = bytearray()
        while True:
            if p >= self.end:
                raise JSONError(p, E_STR_END)
            ch = buf[p]
            if ch == 0x22:
                break
            if ch < 0x20:
                raise JSONError(p, E_STR_CTRL)
            if ch != 0x5C:
                out.append(ch)
                p += 1
                continue
            # escape
            if p + 1 >= self.end:
                raise JSONError(p + 1, E_STR_END)
            esc = buf[p + 1]
            simple = {0x22: 0x22, 0x5C: 0x5C, 0x2F: 0x2F, 0x6E: 0x0A,
                      0x72: 0x0D, 0x74: 0x09, 0x62: 0x08, 0x66: 0x0C}
            if esc in simple:
                out.append(simple[esc])
                p += 2
                continue
            if esc != 0x75:  # u
                raise JSONError(p, E_STR_BSLASH)
            code, q = self._hex4(p + 2)
            if 0xD800 <= code <= 0xDFFF:
                if code > 0xDBFF or buf[q:q + 2] != b"\\u":
                    raise JSONError(q - 6, E_STR_UTF)
                low, r = self._hex4(q + 2)
                if not 0xDC00 <= low <= 0xDFFF:
                    raise JSONError(r - 12, E_STR_PAIR)
                code = ((code - 0xD800) << 10) + (low - 0xDC00) + 0x10000
                q = r
            out += chr(code).encode("utf-8", "surrogatepass")
            p = q
        return bytes(out).decode("utf-8", "surrogateescape"), p + 1

    def _hex4(self, p):
        buf = self.buf
        code = 0
        for i in range(4):
            if p + i >= self.end:
                raise JSONError(p + i, E_STR_END)
            c = buf[p + i]
            if 0x30 <= c <= 0x39:
                d = c - 0x30
            elif 0x41 <= c <= 0x46:
                d = c - 0x37
            elif 0x61 <= c <= 0x66:
                d = c - 0x57
            else:
                raise JSONError(p + i, E_STR_ESC)
            code = code * 16 + d
        return code, p + 4

    def number(self, start):
        buf = self.buf
        p = start
        if buf[p] == 0x2D:
            p += 1
        digits = p
        while p < self.end and 0x30 <= buf[p] <= 0x39:
            p += 1
        if p - digits > 1 and buf[digits] == 0x30:
            raise JSONError(digits, E_NUM_ZERO)
        is_int = True
        if p < self.end and buf[p] == 0x2E:
            is_int = False
            p += 1
            frac = p
            while p < self.end and 0x30 <= buf[p] <= 0x39:
                p += 1
            if p == frac:
                raise JSONError(digits, E_NUM_FRAC)
        if p < self.end and buf[p] in b"eE":
            is_int = False
            p += 1
            if p < self.end and buf[p] in b"+-":
                p += 1
            exp = p
            while p < self.end and 0x30 <= buf[p] <= 0x39:
                p += 1
            if p == exp:
                raise JSONError(start, E_NUM_EXP)
        text = buf[start:p].decode("ascii")
        if is_int:
            val = int(text)
            if abs(val) > _INT64_MAX:
                raise JSONError(digits, E_NUM_BIG)
            return val, p
        num = Number(text)
        if math.isnan(num) or abs(num) > float(_INT64_MAX):
            raise JSONError(start, E_NUM_RANGE)
        return num, p


def parse(data):
    """Parse bytes; raise JSONError(pos, detail) like nxt_conf_json_parse()."""
    if isinstance(data, str):
        data = data.encode("utf-8", "surrogateescape")
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    p = _skip(data, 0)
    if p == len(data):
        raise JSONError(0, E_EMPTY)
    parser = _Parser(data)
    val, p = parser.value(p)
    p = _skip(data, p)
    if p != len(data):
        raise JSONError(p, E_TRAILING)
    return val


def position(data, pos):
    """(line, column) of a byte offset as nxt_conf_json_position() counts
    them, or None when the line is not valid UTF-8 (Unit then omits both)."""
    if isinstance(data, str):
        data = data.encode("utf-8", "surrogateescape")
    line_start = data.rfind(b"\n", 0, pos) + 1
    line = data.count(b"\n", 0, pos) + 1
    try:
        col = len(data[line_start:pos].decode("utf-8")) + 1
    except UnicodeDecodeError:
        return None
    return line, col


def _escape(s):
    out = []
    for ch in s:
        o = ord(ch)
        if ch == "\\" or ch == '"':
            out.append("\\" + ch)
        elif o < 0x20:
            out.append({"\n": "\\n", "\r": "\\r", "\t": "\\t", "\b": "\\b",
                        "\f": "\\f"}.get(ch, "\\u00%X%X" % (o >> 4, o & 15)))
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def _scalar(v):
    if v is None:
        return "null"
    if v is True:
        return "true"
    if v is False:
        return "false"
    if isinstance(v, Number):
        return v.text
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return repr(v)
    if isinstance(v, str):
        return _escape(v)
    raise TypeError("cannot print %r" % (v,))


def dumps(value):
    """Compact form, as stored in conf.json."""
    if isinstance(value, dict):
        return "{" + ",".join(_escape(k) + ":" + dumps(v)
                              for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ",".join(dumps(v) for v in value) + "]"
    return _scalar(value)


class _Pretty:
    def __init__(self):
        self.level = 0
        self.more_space = False
        self.out = []

    def nl(self):
        self.out.append("\r\n")

    def indent(self):
        self.out.append("\t" * self.level)

    def value(self, v):
        if isinstance(v, dict):
            self.obj(v)
        elif isinstance(v, list):
            self.arr(v)
        else:
            self.out.append(_scalar(v))

    def obj(self, d):
        self.out.append("{")
        if d:
            self.nl()
            self.level += 1
            items = list(d.items())
            for i, (k, v) in enumerate(items):
                self.indent()
                self.out.append(_escape(k) + ": ")
                self.value(v)
                if i == len(items) - 1:
                    break
                self.out.append(",")
                self.nl()
                # Unit separates a member that follows a non-empty object or
                # array member with an empty line.
                if self.more_space:
                    self.more_space = False
                    self.nl()
            self.nl()
            self.level -= 1
            self.indent()
            self.more_space = True
        self.out.append("}")

    def arr(self, a):
        self.out.append("[")
        if a:
            self.nl()
            self.level += 1
            self.indent()
            self.value(a[0])
            for v in a[1:]:
                self.out.append(",")
                self.nl()
                self.indent()
                self.more_space = False
                self.value(v)
            self.nl()
            self.level -= 1
            self.indent()
            self.more_space = True
        self.out.append("]")


def pretty(value):
    """Pretty form of a control API response body, including Unit's final
    CRLF."""
    p = _Pretty()
    p.value(value)
    return "".join(p.out) + "\r\n"


def to_bytes(s):
    return s.encode("utf-8", "surrogateescape")
