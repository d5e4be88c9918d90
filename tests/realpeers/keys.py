"""Key material made by the real tools: a private CA with openssl, a DKIM key with opendkim-genkey.

Made by the same commands a postmaster types, so the tests exercise what real deployments use
(openssl's certificate extensions, opendkim-genkey's record layout), not what Python libraries
would produce.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from .processes import run


@dataclass(frozen=True)
class Pki:
    """A private certificate authority and one server certificate it issued."""

    ca_cert: Path
    server_key: Path
    server_cert: Path
    #: The names the server certificate is issued for (subjectAltName DNS entries).
    names: tuple[str, ...]


def make_pki(directory: Path, names: tuple[str, ...]) -> Pki:
    """A CA (CN "mxwizard realpeers test CA") and a certificate for ``names`` signed by it.

    EC P-256 keys: quick to make, and Postfix serves them like RSA ones.
    """
    directory.mkdir(parents=True, exist_ok=True)
    ca_key, ca_cert = directory / "ca.key", directory / "ca.pem"
    key, csr, cert = directory / "server.key", directory / "server.csr", directory / "server.pem"
    ext = directory / "server.ext"
    run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
         "-nodes", "-keyout", str(ca_key), "-out", str(ca_cert), "-days", "30",
         "-subj", "/CN=mxwizard realpeers test CA",
         "-addext", "basicConstraints=critical,CA:TRUE",
         "-addext", "keyUsage=critical,keyCertSign,cRLSign"])
    run(["openssl", "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
         "-keyout", str(key), "-out", str(csr), "-subj", f"/CN={names[0]}"])
    ext.write_text(
        "basicConstraints=critical,CA:FALSE\n"
        "keyUsage=critical,digitalSignature\n"
        "extendedKeyUsage=serverAuth\n"
        "subjectAltName=" + ",".join(f"DNS:{n}" for n in names) + "\n")
    run(["openssl", "x509", "-req", "-in", str(csr), "-CA", str(ca_cert), "-CAkey", str(ca_key),
         "-CAcreateserial", "-out", str(cert), "-days", "30", "-extfile", str(ext)])
    key.chmod(0o600)
    return Pki(ca_cert, key, cert, names)


@dataclass(frozen=True)
class DkimKey:
    """A DKIM key pair as opendkim-genkey writes it."""

    selector: str
    domain: str
    private_key: Path
    #: The base64 public key (the p= value of the TXT record).
    public_key: str


def make_dkim_key(directory: Path, domain: str, selector: str) -> DkimKey:
    """A 2048-bit key made by opendkim-genkey; the p= value is read from the record it writes."""
    directory.mkdir(parents=True, exist_ok=True)
    run(["opendkim-genkey", "-b", "2048", "-d", domain, "-s", selector, "-D", str(directory)])
    record = (directory / f"{selector}.txt").read_text()
    joined = "".join(re.findall(r'"([^"]*)"', record))
    found = re.search(r"p=([A-Za-z0-9+/=]+)", joined)
    if found is None:
        raise RuntimeError(f"opendkim-genkey wrote no p= value:\n{record}")
    return DkimKey(selector, domain, directory / f"{selector}.private", found.group(1))
