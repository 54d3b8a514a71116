# Copyright: Contributors to the huaweicloud.kps collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Throw-away test keys, generated per test session (no key is ever committed). A helper, not a test."""
from __future__ import annotations

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed25519, rsa

from ansible_collections.huaweicloud.kps.plugins.module_utils._keys import public_key_blob

_KEYS = {}


def make_key(kind):
    """A cached private key object: 'rsa', 'rsa2', 'ec256', 'ec384', 'ec521', 'ed25519', 'dsa', 'ec_k1'."""
    if kind not in _KEYS:
        if kind.startswith('rsa'):
            _KEYS[kind] = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        elif kind == 'ec256':
            _KEYS[kind] = ec.generate_private_key(ec.SECP256R1())
        elif kind == 'ec384':
            _KEYS[kind] = ec.generate_private_key(ec.SECP384R1())
        elif kind == 'ec521':
            _KEYS[kind] = ec.generate_private_key(ec.SECP521R1())
        elif kind == 'ec_k1':
            _KEYS[kind] = ec.generate_private_key(ec.SECP256K1())
        elif kind.startswith('ed25519'):
            _KEYS[kind] = ed25519.Ed25519PrivateKey.generate()
        elif kind == 'dsa':
            _KEYS[kind] = dsa.generate_private_key(key_size=1024)
    return _KEYS[kind]


def pem(kind, fmt='pkcs8', passphrase=None):
    """Serialise test key ``kind`` as 'pkcs8', 'traditional' (PKCS#1 / SEC1) or 'openssh' text."""
    key = make_key(kind)
    formats = {
        'pkcs8': (serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8),
        'traditional': (serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL),
        'openssh': (serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH),
    }
    encoding, private_format = formats[fmt]
    encryption = (serialization.BestAvailableEncryption(passphrase.encode()) if passphrase
                  else serialization.NoEncryption())
    return key.private_bytes(encoding, private_format, encryption).decode('ascii')


def public_line(kind):
    return make_key(kind).public_key().public_bytes(
        serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH).decode('ascii')


def same_key(a, b):
    """True when a and b (PrivateKey objects or OpenSSH public key lines) have equal public key blobs."""
    return public_key_blob(a) == public_key_blob(b)
