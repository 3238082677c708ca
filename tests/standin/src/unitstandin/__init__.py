"""Offline TEST STAND-IN for NGINX Unit 1.34.2.

This package is NOT NGINX Unit.  It is a small Python re-implementation of the
parts of Unit that the unitchannels.deploy collection relies on (control API,
router, Python ASGI/WSGI application processes), written so that the molecule
tests can run the real install path on machines where no NGINX Unit package can
be installed.  See README.md next to build-repo.sh for what is implemented,
what is refused and the known deviations.
"""

VERSION = "1.34.2"
# NXT_VERNUM of 1.34.2; also what Unit writes into <statedir>/version.
VERNUM = 13402
STANDIN_NOTE = ("TEST STAND-IN: not NGINX Unit; a Python re-implementation "
                "for offline tests (unitchannels.deploy)")
# Real Unit sends "Unit/1.34.2"; the suffix keeps the stand-in recognisable.
SERVER = "Unit/%s (test stand-in)" % VERSION
SERVER_NO_VERSION = "Unit (test stand-in)"
