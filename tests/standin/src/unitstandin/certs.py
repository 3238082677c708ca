"""/certificates: PEM bundles stored in <statedir>/certs/NAME (0600), the
JSON details Unit reports for them (src/nxt_cert.c) and TLS contexts for
listeners.  Parsing uses the ssl module; the key type and size come from a
small DER reader, since ssl does not expose them."""

import os
import re
import ssl
import tempfile

from .log import log

_PEM_RE = re.compile(rb"-----BEGIN ([A-Z0-9 ]+)-----\r?\n(.*?)-----END \1-----",
                     re.S)
_CERT_TYPES = (b"CERTIFICATE", b"X509 CERTIFICATE", b"TRUSTED CERTIFICATE")
_NAME_FIELDS = (("commonName", "common_name"), ("countryName", "country"),
                ("stateOrProvinceName", "state_or_province"),
                ("localityName", "locality"), ("organizationName", "organization"),
                ("organizationalUnitName", "department"))


class CertError(Exception):
    pass


def _der(data, pos=0):
    """(tag, value, next_pos) of one DER element."""
    tag = data[pos]
    n = data[pos + 1]
    pos += 2
    if n & 0x80:
        k = n & 0x7F
        n = int.from_bytes(data[pos:pos + k], "big")
        pos += k
    return tag, data[pos:pos + n], pos + n


def _seq(data):
    out, pos = [], 0
    while pos < len(data):
        tag, val, pos = _der(data, pos)
        out.append((tag, val))
    return out


def _oid(raw):
    first = raw[0]
    parts = [first // 40, first % 40]
    v = 0
    for b in raw[1:]:
        v = (v << 7) | (b & 0x7F)
        if not b & 0x80:
            parts.append(v)
            v = 0
    return ".".join(map(str, parts))


def _rsa_bits(pkcs1):
    items = _seq(_der(pkcs1)[1])
    return int.from_bytes(items[1][1], "big").bit_length()


def key_description(pem_type, der):
    """What nxt_cert_details() puts under "key"."""
    try:
        if pem_type == b"RSA PRIVATE KEY":
            return "RSA (%d bits)" % _rsa_bits(der)
        if pem_type == b"EC PRIVATE KEY":
            return "ECDH"
        if pem_type == b"PRIVATE KEY":
            items = _seq(_der(der)[1])
            alg = _seq(items[1][1])
            oid = _oid(alg[0][1])
            if oid == "1.2.840.113549.1.1.1":
                return "RSA (%d bits)" % _rsa_bits(items[2][1])
            if oid == "1.2.840.10045.2.1":
                return "ECDH"
            if oid == "1.2.840.113549.1.3.1":
                prime = _seq(alg[1][1])[0][1]
                return "DH (%d bits)" % int.from_bytes(prime, "big").bit_length()
            return "unknown"
    except (IndexError, ValueError):
        raise CertError("d2i_PrivateKey() failed")
    return "unknown"


def _name(rdns, alt_names):
    fields = {}
    for rdn in rdns:
        for k, v in rdn:
            fields.setdefault(k, v)
    out = {}
    for i, (key, label) in enumerate(_NAME_FIELDS):
        if i == 1 and alt_names:
            out["alt_names"] = alt_names
        if key in fields:
            out[label] = fields[key]
    return out


def parse_bundle(data, tmpdir):
    """Returns the details dict; CertError (logged like Unit) when the bundle
    is not a key plus at least one certificate."""
    import base64
    key = None
    chain = []
    for m in _PEM_RE.finditer(data):
        ptype, body = m.group(1), m.group(2)
        if ptype == b"ENCRYPTED PRIVATE KEY":
            raise CertError("PEM PKCS8 isn't supported")
        try:
            der = base64.b64decode(b"".join(body.split()), validate=True)
        except ValueError:
            raise CertError("PEM_read_bio() failed")
        if ptype.endswith(b"PRIVATE KEY"):
            if key is not None:
                raise CertError("multiple private keys in PEM")
            key = key_description(ptype, der)
        elif ptype in _CERT_TYPES:
            chain.append(m.group(0))
        else:
            raise CertError('unsupported PEM type: "%s"' % ptype.decode())
    if key is None:
        raise CertError("no key found")
    if not chain:
        raise CertError("no certificates found")
    details = []
    for pem in chain:
        fd, path = tempfile.mkstemp(dir=tmpdir, prefix="unit-standin-cert-")
        try:
            os.write(fd, pem.replace(b"TRUSTED CERTIFICATE", b"CERTIFICATE") + b"\n")
            os.close(fd)
            info = ssl._ssl._test_decode_cert(path)
        except (ssl.SSLError, OSError, ValueError):
            raise CertError("d2i_X509() failed")
        finally:
            os.unlink(path)
        alt = [v for t, v in info.get("subjectAltName", ()) if t == "DNS"]
        details.append({
            "subject": _name(info.get("subject", ()), alt),
            "issuer": _name(info.get("issuer", ()), []),
            "validity": {"since": info.get("notBefore"), "until": info.get("notAfter")},
        })
    return {"key": key, "chain": details}


class CertStore:
    def __init__(self, statedir, tmpdir):
        self.dir = os.path.join(statedir, "certs")
        self.tmpdir = tmpdir if os.path.isdir(tmpdir) else None
        self.info = {}

    def load(self):
        try:
            names = sorted(os.listdir(self.dir))
        except OSError:
            return
        for name in names:
            try:
                with open(os.path.join(self.dir, name), "rb") as f:
                    self.info[name] = parse_bundle(f.read(), self.tmpdir)
            except (OSError, CertError) as e:
                log.alert('failed to load certificate "%s": %s' % (name, e))

    def names(self):
        return list(self.info)

    def save(self, name, data):
        details = parse_bundle(data, self.tmpdir)     # may raise CertError
        path = os.path.join(self.dir, name)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        self.info[name] = details

    def delete(self, name):
        if name not in self.info:
            return False
        try:
            os.unlink(os.path.join(self.dir, name))
        except OSError:
            pass
        del self.info[name]
        return True

    def context(self, names):
        """SSL context for a listener; with several certificates the one
        whose names match SNI is used (first one by default)."""
        contexts = []
        for name in names:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(os.path.join(self.dir, name))
            subject = self.info[name]["chain"][0]["subject"]
            hosts = set(subject.get("alt_names", []))
            if "common_name" in subject:
                hosts.add(subject["common_name"])
            contexts.append((ctx, hosts))
        main = contexts[0][0]
        if len(contexts) > 1:
            def pick(sslobj, server_name, _ctx):
                for ctx, hosts in contexts:
                    if server_name and any(_host_match(h, server_name) for h in hosts):
                        sslobj.context = ctx
                        return None
                return None
            for ctx, dummy in contexts:
                ctx.sni_callback = pick
        return main


def _host_match(pattern, host):
    pattern, host = pattern.lower(), host.lower()
    if pattern.startswith("*."):
        return host.endswith(pattern[1:]) and host.count(".") == pattern.count(".")
    return pattern == host
