# Copyright: Contributors to the huaweicloud.kps collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Key handling for the emulator: parsing, fingerprints, generation and encryption at rest."""
from __future__ import annotations

import base64
import binascii
import hashlib
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

# What the real service takes: unencrypted PEM, PKCS#1 ("RSA/EC/DSA PRIVATE KEY") or PKCS#8 ("PRIVATE KEY").
_PEM_PRIVATE_MARKERS = ('-----BEGIN RSA PRIVATE KEY-----', '-----BEGIN EC PRIVATE KEY-----',
                        '-----BEGIN DSA PRIVATE KEY-----', '-----BEGIN PRIVATE KEY-----')


class KeyFormatError(ValueError):
    """The key text is not something KPS accepts (KPS.0002)."""


def parse_public_key(text):
    """Return (key type, blob bytes) of an OpenSSH public key line; the comment is ignored."""
    fields = (text or '').split()
    if len(fields) < 2:
        raise KeyFormatError('public key is not an OpenSSH public key line')
    try:
        serialization.load_ssh_public_key(('%s %s' % (fields[0], fields[1])).encode('ascii'))
        blob = base64.b64decode(fields[1], validate=True)
    except (ValueError, UnicodeError, binascii.Error) as exc:
        raise KeyFormatError('public key is not valid: %s' % exc) from None
    return fields[0], blob


def fingerprint(public_key):
    """KPS fingerprint: MD5 of the key blob, lower-case hex pairs joined by ':' (no 'MD5:' prefix)."""
    digest = hashlib.md5(parse_public_key(public_key)[1]).hexdigest()  # nosec: the format KPS reports
    return ':'.join(digest[i:i + 2] for i in range(0, len(digest), 2))


def public_key_of(private_pem):
    """Return '<type> <base64>' of an unencrypted PEM private key, or raise KeyFormatError.

    Encrypted PEM and OpenSSH-format keys are refused like the real service refuses them.
    """
    text = (private_pem or '').strip()
    if not text.startswith(_PEM_PRIVATE_MARKERS):
        raise KeyFormatError('private key must be an unencrypted PEM key (PKCS#1 or PKCS#8)')
    if 'ENCRYPTED' in text.split('\n', 3)[0] or 'Proc-Type: 4,ENCRYPTED' in text:
        raise KeyFormatError('private key must not be encrypted')
    try:
        # Skipping the RSA consistency check saves ~40 ms per key; a mismatch is still caught by comparing
        # the derived public key with the key pair's public key.
        key = serialization.load_pem_private_key(text.encode('ascii'), password=None, unsafe_skip_rsa_key_validation=True)
        line = key.public_key().public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
    except (ValueError, TypeError, UnicodeError) as exc:
        raise KeyFormatError('private key cannot be read: %s' % exc) from None
    return line.decode('ascii')


def same_public_key(left, right):
    """Compare keys as '<type> <base64>' (comments and trailing newlines do not count)."""
    return left.split()[:2] == right.split()[:2]


def generate(kind='rsa'):
    """Generate a key pair: (PEM private key, OpenSSH public key line). RSA 2048 PKCS#1 is what KPS returns."""
    if kind == 'ed25519':
        key = ed25519.Ed25519PrivateKey.generate()
        fmt = serialization.PrivateFormat.PKCS8
    else:
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        fmt = serialization.PrivateFormat.TraditionalOpenSSL
    pem = key.private_bytes(serialization.Encoding.PEM, fmt, serialization.NoEncryption()).decode('ascii')
    public = key.public_key().public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
    return pem, public.decode('ascii')


class Vault:
    """Encrypts hosted private keys at rest with AES-256-GCM under one random key per state file.

    The associated data binds each ciphertext to its key pair name and encryption settings, so a record
    that is moved or relabelled in the state file fails to decrypt instead of returning the wrong key.
    """

    def __init__(self, key_b64=None):
        self.key = base64.b64decode(key_b64) if key_b64 else AESGCM.generate_key(bit_length=256)
        self._aead = AESGCM(self.key)

    @property
    def key_b64(self):
        return base64.b64encode(self.key).decode('ascii')

    @staticmethod
    def _aad(name, encryption):
        return ('%s|%s|%s|%s' % (name, encryption.get('type'), encryption.get('kms_key_name') or '',
                                 encryption.get('kms_key_id') or '')).encode('utf-8')

    def seal(self, name, encryption, private_key):
        nonce = os.urandom(12)
        sealed = self._aead.encrypt(nonce, private_key.encode('utf-8'), self._aad(name, encryption))
        return base64.b64encode(nonce + sealed).decode('ascii')

    def open(self, name, encryption, sealed_b64):
        raw = base64.b64decode(sealed_b64)
        try:
            return self._aead.decrypt(raw[:12], raw[12:], self._aad(name, encryption)).decode('utf-8')
        except InvalidTag:
            raise ValueError('hosted private key of %s does not decrypt' % name) from None
