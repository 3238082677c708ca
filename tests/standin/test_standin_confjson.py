"""Unit's JSON printer and parser, byte for byte (expected texts copied from
the recorded 1.34.2 replies; Unit ends lines with CRLF and the body with one
more CRLF)."""

import sys

import pytest

from standin_helpers import SRC

sys.path.insert(0, str(SRC))
from unitstandin import confjson  # noqa: E402


def crlf(text):
    return text.replace("\n", "\r\n")


FRESH_STATUS = crlf("""{
\t"modules": {
\t\t"python": {
\t\t\t"version": "3.11.2",
\t\t\t"lib": "/usr/lib/unit/modules/python3.11.unit.so"
\t\t}
\t},

\t"connections": {
\t\t"accepted": 0,
\t\t"active": 0,
\t\t"idle": 0,
\t\t"closed": 0
\t},

\t"requests": {
\t\t"total": 0
\t},

\t"applications": {}
}
""")

INVALID_JSON = crlf("""{
\t"error": "Invalid JSON.",
\t"detail": "A double quote (\\") is expected here.  There must be a valid JSON object member starts with a name, which is a string enclosed in double quotes.",
\t"location": {
\t\t"offset": 43,
\t\t"line": 1,
\t\t"column": 44
\t}
}
""")

APP = crlf("""{
\t"type": "python 3.11",
\t"path": "/srv/djapp/",
\t"home": "/srv/djapp/venv/",
\t"module": "mysite.asgi",
\t"environment": {
\t\t"DJANGO_SETTINGS_MODULE": "mysite.settings",
\t\t"CHANNEL_LAYER": "redis"
\t}
}
""")

STORED = ('{"listeners":{"*:80":{"pass":"routes"}},"routes":[{"match":{"uri":"/static/*"},'
          '"action":{"share":"/srv/djapp$uri"}},{"action":{"pass":"applications/'
          'djangochannels"}}],"applications":{"djangochannels":{"type":"python 3.11",'
          '"path":"/srv/djapp/","home":"/srv/djapp/venv/","module":"mysite.asgi",'
          '"environment":{"DJANGO_SETTINGS_MODULE":"mysite.settings"}}}}')


@pytest.mark.parametrize("text, length", [
    (FRESH_STATUS, 274), (INVALID_JSON, 261), (APP, 212)])
def test_pretty_printer_matches_recorded_bytes(text, length):
    value = confjson.parse(text)
    assert confjson.pretty(value) == text
    assert len(text.encode()) == length         # Content-Length in the transcripts


def test_recorded_lengths():
    assert len(confjson.pretty({"listeners": {}, "routes": [], "applications": {}})) == 62
    assert len(confjson.pretty({"success": "Reconfiguration done."})) == 43
    assert len(confjson.pretty({"error": "Value doesn't exist."})) == 40
    assert len(confjson.pretty({"success": "Ok"})) == 24
    assert len(confjson.pretty({"error": "Invalid method."})) == 35
    conf = confjson.parse(STORED)
    assert len(confjson.pretty(conf)) == 520
    assert confjson.dumps(conf) == STORED          # conf.json is compact
    assert len(STORED) == 353


def test_printer_details():
    assert confjson.pretty([1, [2], {"a": []}]) == "[\r\n\t1,\r\n\t[\r\n\t\t2\r\n\t],\r\n" \
        "\t{\r\n\t\t\"a\": []\r\n\t}\r\n]\r\n"
    assert confjson.dumps({"s": "\x01\t\"\\/é"}) == '{"s":"\\u0001\\t\\"\\\\/é"}'
    assert confjson.dumps(confjson.parse(b'[1.50, -0, 2e3, true, null]')) == \
        "[1.50,0,2e3,true,null]"


@pytest.mark.parametrize("data, pos, detail", [
    (b"{\"a\" 1}", 5, confjson.E_OBJ_COLON),
    (b"[1 2]", 3, confjson.E_ARR_COMMA),
    (b"{\"a\": 1} x", 9, confjson.E_TRAILING),
    (b"\"a\x01\"", 2, confjson.E_STR_CTRL),
    (b"[01]", 1, confjson.E_NUM_ZERO),
    (b"[1.]", 1, confjson.E_NUM_FRAC),
    (b"[nul]", 1, confjson.E_VALUE),
    (b"{\"a\": [", 7, confjson.E_ARR_END),
    (b"   ", 0, confjson.E_EMPTY),
    (b"[\"\\ud800x\"]", 2, confjson.E_STR_UTF),
])
def test_parser_errors(data, pos, detail):
    with pytest.raises(confjson.JSONError) as e:
        confjson.parse(data)
    assert (e.value.pos, e.value.detail) == (pos, detail)
