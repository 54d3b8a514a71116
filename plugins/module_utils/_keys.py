# -*- coding: utf-8 -*-
# Copyright: Contributors to the huaweicloud.kps collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note: this module util is PRIVATE to the huaweicloud.kps collection.
# It can have breaking changes at any time. FOR INTERNAL COLLECTION USE ONLY.

"""SSH key material: parse private keys, derive OpenSSH public keys, compute the KPS fingerprint.

Two keys are "the same" when their public key blobs (``<type> <base64>``) are equal; the KPS
fingerprint (MD5 of the blob, lowercase hex, colon separated, no ``MD5:`` prefix) is for messages
and as a cross-check.

What is sent to KPS (``PrivateKey.pem``): unencrypted PEM, PKCS#1 (``BEGIN RSA PRIVATE KEY``) for RSA,
the form the KPS API reference uses in its examples and Terraform's acceptance tests send, and PKCS#8
(``BEGIN PRIVATE KEY``) for ECDSA and ED25519: the KPS console guide names PKCS#8, and no source shows SEC1
accepted (ED25519 has no other PEM form). OpenSSH-format and encrypted keys are always converted, since KPS
only takes unencrypted PEM.

What is written to files or returned by the export (``PrivateKey.private_text``): the key serialised by us in
one of ``PRIVATE_FORMATS``, never the bytes we were given.

Error messages never contain key material.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import importlib
import os
import struct
import traceback
from typing import Any

from ansible_collections.huaweicloud.kps.plugins.module_utils._errors import KpsError, plural
from ansible_collections.huaweicloud.kps.plugins.module_utils._openssh import (
    BEGIN,
    MAGIC,
    PARSE_ERRORS,
    decode_armour,
    kdf_salt_rounds,
    openssh_armour,
    openssh_parts,
    padded,
    read_string,
    ssh_string,
    unencrypted_openssh_parts,
)

# Only cryptography's top level is imported here; its key modules are imported on first use (_Deferred): they
# cost about 30 ms, and a run that only compares OpenSSH-format RSA key files with their key pairs (an unchanged
# export, see _export_runner.inspect_file) never needs them.
try:
    from cryptography import __version__ as _CRYPTOGRAPHY_VERSION
except ImportError:
    HAS_CRYPTOGRAPHY = False
    CRYPTOGRAPHY_IMPORT_ERROR = traceback.format_exc()
    _SKIP_RSA_CHECK = False
else:
    HAS_CRYPTOGRAPHY = True
    CRYPTOGRAPHY_IMPORT_ERROR = None
    # cryptography 39+ can load an RSA key without its consistency check, which costs about 60 ms per 2048-bit
    # key: most of an unchanged run, and a minute for an export of 1000 keys. See PrivateKey.check().
    try:
        _SKIP_RSA_CHECK = int(_CRYPTOGRAPHY_VERSION.split('.')[0]) >= 39
    except ValueError:
        _SKIP_RSA_CHECK = False


class CryptographyImportError(KpsError):
    """cryptography is installed but one of its modules does not import (a broken installation)."""


class _Deferred:
    """A module of cryptography, imported when one of its names is first used."""

    def __init__(self, name: str) -> None:
        self._name = name
        self._module: Any = None

    def __getattr__(self, attribute: str) -> Any:
        if self._module is None:
            try:
                self._module = importlib.import_module(self._name)
            except ImportError as exc:
                raise CryptographyImportError('The Python library cryptography is installed but %s does not import '
                                              '(%s). Reinstall cryptography on the host running the module.'
                                              % (self._name, exc))
        return getattr(self._module, attribute)


_exceptions = _Deferred('cryptography.exceptions')
serialization = _Deferred('cryptography.hazmat.primitives.serialization')
dsa = _Deferred('cryptography.hazmat.primitives.asymmetric.dsa')
ec = _Deferred('cryptography.hazmat.primitives.asymmetric.ec')
ed25519 = _Deferred('cryptography.hazmat.primitives.asymmetric.ed25519')
rsa = _Deferred('cryptography.hazmat.primitives.asymmetric.rsa')
ciphers = _Deferred('cryptography.hazmat.primitives.ciphers')
algorithms = _Deferred('cryptography.hazmat.primitives.ciphers.algorithms')
modes = _Deferred('cryptography.hazmat.primitives.ciphers.modes')


class KeyMaterialError(KpsError):
    """Base class of every key problem; the message says what to do and holds no key material."""


class InvalidPrivateKeyError(KeyMaterialError):
    """The data is not a private key this collection can read."""


class InvalidPublicKeyError(KeyMaterialError):
    """A public key line or blob is malformed."""


class PassphraseRequiredError(KeyMaterialError):
    """The private key is encrypted and no passphrase was given."""


class WrongPassphraseError(KeyMaterialError):
    """The passphrase does not decrypt the private key."""


class UnsupportedKeyTypeError(KeyMaterialError):
    """DSA, unsupported curves, a public key or a certificate given instead of a private key, ..."""


# Curves OpenSSH (and KPS) know, by cryptography curve name.
_EC_KEY_TYPES = {
    'secp256r1': 'ecdsa-sha2-nistp256',
    'secp384r1': 'ecdsa-sha2-nistp384',
    'secp521r1': 'ecdsa-sha2-nistp521',
}


# The encodings we write private keys in: the OpenSSH private key format (every OpenSSH since 6.5 loads it,
# for every key type), PKCS#8 PEM, and traditional PEM (PKCS#1 for RSA, SEC1 for ECDSA; none for ED25519).
OPENSSH = 'openssh'
PKCS8 = 'pkcs8'
TRADITIONAL = 'pem'
PRIVATE_FORMATS = (OPENSSH, PKCS8, TRADITIONAL)
# Asked of the export, kps_keypair and the private key lookup: the key in the encoding KPS returned it in
# (PKCS#1, SEC1 or PKCS#8 PEM), serialised by us; ``PrivateKey.private_text`` takes it too.
KPS_FORMAT = 'kps'
# Key types that have no traditional PEM form.
NO_TRADITIONAL_PEM = ('ssh-ed25519',)
_PEM_FORMATS = {
    b'-----BEGIN PRIVATE KEY-----': PKCS8,
    b'-----BEGIN ENCRYPTED PRIVATE KEY-----': PKCS8,
    b'-----BEGIN RSA PRIVATE KEY-----': TRADITIONAL,
    b'-----BEGIN EC PRIVATE KEY-----': TRADITIONAL,
}

# Markers of things that are not a private key, mapped to what to tell the user.
_NOT_A_PRIVATE_KEY = (
    (b'-----BEGIN PUBLIC KEY-----', 'a PEM public key'),
    (b'-----BEGIN RSA PUBLIC KEY-----', 'a PEM public key'),
    (b'---- BEGIN SSH2 PUBLIC KEY ----', 'an SSH2 public key'),
    (b'-----BEGIN CERTIFICATE-----', 'an X.509 certificate'),
    (b'-----BEGIN CERTIFICATE REQUEST-----', 'a certificate request'),
)


def _to_bytes(data: str | bytes | bytearray) -> bytes:
    if isinstance(data, bytes):
        return data
    if isinstance(data, bytearray):
        return bytes(data)
    return data.encode('utf-8')


def _looks_like_openssh_public_key(data: bytes) -> bool:
    first = data.strip().split(None, 1)[0] if data.strip() else b''
    return first.startswith((b'ssh-', b'ecdsa-sha2-', b'sk-ssh-', b'sk-ecdsa-')) or first.endswith(b'-cert-v01@openssh.com')


def _openssh_cipher(data: bytes) -> str | None:
    """Return the cipher name of an OpenSSH-format private key (``none`` when unencrypted), or None."""
    try:
        raw = decode_armour(data.decode('ascii', 'replace'))  # text around the armour may be anything
        cipher = read_string(raw, len(MAGIC))[0] if raw.startswith(MAGIC) else None
    except PARSE_ERRORS:
        return None
    return cipher.decode('ascii', 'replace') if cipher is not None else None


def _is_encrypted_pem(data: bytes) -> bool:
    return b'-----BEGIN ENCRYPTED PRIVATE KEY-----' in data or b'Proc-Type: 4,ENCRYPTED' in data


def _load(data: bytes, password: bytes | None, openssh: bool) -> tuple[Any, bool]:
    """(key, checked): PEM RSA keys are loaded without the consistency check when cryptography can skip it."""
    if openssh:
        return serialization.load_ssh_private_key(data, password=password), True
    if _SKIP_RSA_CHECK:
        return serialization.load_pem_private_key(data, password=password, unsafe_skip_rsa_key_validation=True), False
    return serialization.load_pem_private_key(data, password=password), True


def load_private_key(data: str | bytes | None, passphrase: str | bytes | None = None) -> PrivateKey:
    """Parse a private key given as PEM (PKCS#1, SEC1, PKCS#8) or OpenSSH format text or bytes.

    A passphrase is only used when the key is encrypted; it is ignored for an unencrypted key
    (``PrivateKey.was_encrypted`` tells the caller, who may want to warn).
    """
    if not HAS_CRYPTOGRAPHY:
        raise KeyMaterialError('The Python library cryptography is required to read private keys.')
    if data is None or not _to_bytes(data).strip():
        raise InvalidPrivateKeyError('The private key is empty.')
    data = _to_bytes(data).strip() + b'\n'
    password = None if passphrase in (None, '', b'') else _to_bytes(passphrase)

    for marker, what in _NOT_A_PRIVATE_KEY:
        if marker in data and b'PRIVATE KEY-----' not in data:
            raise UnsupportedKeyTypeError(
                'The data given as the private key is %s, not a private key. Give the private key '
                '(the file without .pub).' % what)
    if _looks_like_openssh_public_key(data):
        raise UnsupportedKeyTypeError(
            'The data given as the private key is an OpenSSH public key. Give the private key '
            '(the file without .pub).')

    openssh = BEGIN.encode('ascii') in data
    if openssh:
        cipher = _openssh_cipher(data)
        if cipher is None:
            raise InvalidPrivateKeyError(
                'The OpenSSH-format private key is malformed or truncated. Check that the whole file was given.')
        encrypted = cipher != 'none'
        source_format = OPENSSH
    elif b'-----BEGIN' in data and b'PRIVATE KEY-----' in data:
        encrypted = _is_encrypted_pem(data)
        source_format = next((fmt for marker, fmt in _PEM_FORMATS.items() if marker in data), None)
    else:
        raise InvalidPrivateKeyError(
            'The private key is not in PEM or OpenSSH format (expected a "-----BEGIN ... PRIVATE KEY-----" '
            'block). Give the key file as text, for example with lookup(\'file\', ...).')

    if encrypted and password is None:
        raise PassphraseRequiredError(
            'The private key is encrypted. Give its passphrase (private_key_passphrase).')

    try:
        key, checked = _load(data, password if encrypted else None, openssh)
    except _exceptions.UnsupportedAlgorithm as exc:
        if openssh and encrypted and 'bcrypt' in str(exc):
            raise UnsupportedKeyTypeError(
                'Decrypting an encrypted OpenSSH-format private key needs the Python library bcrypt on the host '
                'running the module (pip install bcrypt; it is in the collection\'s requirements.txt). Or give '
                'the module an unencrypted copy of the key: cp <file> <copy> && ssh-keygen -p -N "" -f <copy> '
                '(works for every key type), and remove the copy afterwards.')
        raise UnsupportedKeyTypeError(
            'The private key uses an algorithm or encryption this host cannot read (%s). '
            'Use an RSA, ECDSA (P-256/384/521) or ED25519 key.' % exc.__class__.__name__)
    except TypeError:
        # cryptography's way of saying the encryption detection above disagrees with the data.
        raise PassphraseRequiredError(
            'The private key is encrypted. Give its passphrase (private_key_passphrase).')
    except ValueError:
        if encrypted:
            raise WrongPassphraseError(
                'Could not decrypt the private key: the passphrase is wrong (or the key file is damaged).')
        raise InvalidPrivateKeyError(
            'The private key could not be parsed: it is malformed, truncated or of an unsupported kind. '
            'Check that the whole file was given.')

    return PrivateKey(key, was_encrypted=encrypted, checked=checked, source_format=source_format)


def rsa_numbers_fit(numbers: Any) -> bool:
    """Whether RSA private numbers are consistent (PrivateKey.check): modulus, private exponent and CRT values."""
    p, q, d, e = numbers.p, numbers.q, numbers.d, numbers.public_numbers.e
    return (p > 2 and q > 2 and p * q == numbers.public_numbers.n and (e * d) % (p - 1) == 1
            and (e * d) % (q - 1) == 1 and numbers.dmp1 == d % (p - 1) and numbers.dmq1 == d % (q - 1)
            and (numbers.iqmp * q) % p == 1)


class PrivateKey:
    """A parsed private key with the values KPS and the modules need.

    ``key_type``: OpenSSH type name ('ssh-rsa', 'ecdsa-sha2-nistp256', 'ssh-ed25519', ...).
    ``public_key``: '<type> <base64>' (no comment). ``fingerprint``: KPS MD5 colon form.
    ``pem``: unencrypted PEM text to send to KPS (see the module docstring).
    ``key_size``: bits (RSA / EC) or 256 for ED25519. ``source_format``: the ``PRIVATE_FORMATS`` entry the key
    was given in (None if unknown); ``private_text(fmt)`` serialises it in one.

    Whether a key belongs to a key pair depends only on its public half, so an RSA key may be loaded without
    the (slow) check that its private numbers are consistent (``checked=False``); ``check()`` runs it, and
    ``pem``, what gets sent to KPS, runs it first.
    """

    def __init__(self, key: Any, was_encrypted: bool = False, checked: bool = True,
                 source_format: str | None = None) -> None:
        if isinstance(key, dsa.DSAPrivateKey):
            raise UnsupportedKeyTypeError(
                'DSA (ssh-dss) keys are not supported: OpenSSH has removed them. Use an RSA, ECDSA or ED25519 key.')
        if isinstance(key, rsa.RSAPrivateKey):
            self.key_type = 'ssh-rsa'
            self.key_size = key.key_size
            pem_format = serialization.PrivateFormat.TraditionalOpenSSL
        elif isinstance(key, ec.EllipticCurvePrivateKey):
            if key.curve.name not in _EC_KEY_TYPES:
                raise UnsupportedKeyTypeError(
                    'ECDSA keys on curve %s are not supported; use P-256, P-384 or P-521.' % key.curve.name)
            self.key_type = _EC_KEY_TYPES[key.curve.name]
            self.key_size = key.curve.key_size
            pem_format = serialization.PrivateFormat.PKCS8
        elif isinstance(key, ed25519.Ed25519PrivateKey):
            self.key_type = 'ssh-ed25519'
            self.key_size = 256
            pem_format = serialization.PrivateFormat.PKCS8
        else:
            raise UnsupportedKeyTypeError(
                'This kind of private key (%s) is not supported. Use an RSA, ECDSA or ED25519 key.'
                % key.__class__.__name__.lstrip('_'))
        self._key = key
        self._pem_format = pem_format
        self._checked = checked or self.key_type != 'ssh-rsa'
        self.was_encrypted = was_encrypted
        self.source_format = source_format
        self.public_key = key.public_key().public_bytes(
            serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH).decode('ascii')
        self.fingerprint = fingerprint(self.public_key)

    def check(self) -> None:
        """Check (once) that the RSA private numbers that loading did not check fit together; raise
        InvalidPrivateKeyError if they do not.

        The numbers are checked, not the primality of p and q that OpenSSL's check adds (30 to 200 ms per 2048-bit
        key, minutes for a migration of 1000 keys): n = p * q, d inverts e modulo p - 1 and q - 1, and the CRT
        values are d mod (p - 1), d mod (q - 1) and the inverse of q modulo p. Microseconds per key.
        """
        if self._checked:
            return
        if not rsa_numbers_fit(self._key.private_numbers()):
            raise InvalidPrivateKeyError(
                'The private key could not be parsed: it is malformed, truncated or of an unsupported kind. '
                'Check that the whole file was given.')
        self._checked = True

    @property
    def pem(self) -> str:
        return self._private_pem(self._pem_format)

    def _private_pem(self, fmt: Any) -> str:
        self.check()
        return self._key.private_bytes(
            serialization.Encoding.PEM, fmt, serialization.NoEncryption()).decode('ascii')

    def private_text(self, fmt: str, passphrase: str | None = None) -> str:
        """The private key in ``fmt`` (one of PRIVATE_FORMATS, or KPS_FORMAT: the one the key was loaded from)
        as text ending in a newline; unencrypted, or with ``passphrase`` (OPENSSH only, see
        ``passphrase_problem``) encrypted as ``ssh-keygen -N`` does: aes256-ctr, bcrypt KDF, 16 rounds.

        Unencrypted, the same key gives the same text on every call, so that a file or a value compared byte by
        byte stays unchanged; encrypted, the salt is random (the export compares the decrypted key instead). The
        RSA consistency check is not run here: the export writes keys that KPS returned and that match the key
        pair's public key.
        """
        if fmt == KPS_FORMAT and self.source_format:
            fmt = self.source_format
        if fmt == TRADITIONAL and self.key_type in NO_TRADITIONAL_PEM:
            raise UnsupportedKeyTypeError(traditional_pem_error())
        if passphrase:
            if fmt != OPENSSH:
                raise ValueError('only the openssh format is written encrypted')
            return _openssh_encrypted_text(self._key, passphrase)
        if fmt == OPENSSH:
            return _openssh_private_text(self._key)
        if fmt not in PRIVATE_FORMATS:
            raise ValueError('unknown private key format %r' % (fmt,))
        private_format = (serialization.PrivateFormat.PKCS8 if fmt == PKCS8
                          else serialization.PrivateFormat.TraditionalOpenSSL)
        return self._key.private_bytes(
            serialization.Encoding.PEM, private_format, serialization.NoEncryption()).decode('ascii')

    def __repr__(self) -> str:
        # Never show key material, not even in a debugger or a traceback's locals.
        return '<PrivateKey %s %s>' % (self.key_type, self.fingerprint)


# The key types kps_keypair's key_type names, with the OpenSSH type names of their public keys. KPS generates RSA
# 2048 only (KPS_GENERATES); the module generates the others itself (generate_private_key): ECDSA on P-256 and
# Ed25519, as ssh-keygen does by default.
KEY_TYPES = {
    'rsa': ('ssh-rsa',),
    'ecdsa': tuple(_EC_KEY_TYPES.values()),
    'ed25519': ('ssh-ed25519',),
}
KPS_GENERATES = 'rsa'
KEY_TYPE_NAMES = {'rsa': 'RSA', 'ecdsa': 'ECDSA', 'ed25519': 'Ed25519'}


def key_type_of(public_key: PrivateKey | str | bytes | None) -> str | None:
    """The KEY_TYPES entry ('rsa', 'ecdsa', 'ed25519') of an OpenSSH public key line or a PrivateKey, or None
    when it is none of them (or no key is given)."""
    if public_key is None:
        return None
    fields = _split_public_key(public_key)
    return next((kind for kind, names in KEY_TYPES.items() if fields and fields[0] in names), None)


def generate_private_key(key_type: str) -> PrivateKey:
    """A new private key of ``key_type``, a KEY_TYPES entry that KPS does not generate, in memory only: ECDSA
    P-256 or Ed25519.

    Its ``source_format`` is PKCS#8, the PEM form ``pem`` sends to KPS and the encoding KPS returns it in once it
    hosts it, so that ``private_text(KPS_FORMAT)`` is what an export gives.
    """
    if not HAS_CRYPTOGRAPHY:
        raise KeyMaterialError('The Python library cryptography is required to generate private keys.')
    if key_type == 'ecdsa':
        return PrivateKey(ec.generate_private_key(ec.SECP256R1()), source_format=PKCS8)
    if key_type == 'ed25519':
        return PrivateKey(ed25519.Ed25519PrivateKey.generate(), source_format=PKCS8)
    raise ValueError('unknown key type %r' % (key_type,))


def traditional_pem_error(names: list[str] | None = None) -> str:
    """The message for asking traditional PEM of ED25519 keys (of the key pairs ``names``, if given)."""
    return ('format=pem (traditional PEM) does not exist for ED25519 keys%s. Use format=openssh, which every '
            'OpenSSH since 6.5 loads, or format=pkcs8.'
            % (' (%s %s)' % (plural(len(names), 'key pair'), ', '.join(names)) if names else ''))


def passphrase_problem(passphrase: str | None, fmt: str) -> str | None:
    """Why a ``passphrase`` option cannot be used with ``fmt`` (None: it can, or none was given).

    Files are encrypted only in the OpenSSH format, as ``ssh-keygen -N`` writes them: every OpenSSH loads
    that for every key type, while PEM encryption (PKCS#8 or the traditional MD5-based one) is not what
    ``ssh-keygen`` writes and ED25519 keys would not load in OpenSSH 9.2 and older. Writing it needs bcrypt.
    """
    if passphrase is None:
        return None
    if passphrase == '':
        return ('passphrase is empty. Give a non-empty passphrase, or leave passphrase out to write the key '
                'unencrypted.')
    if fmt != OPENSSH:
        return ('passphrase needs format=openssh: files are encrypted only in the OpenSSH private key format, '
                'as ssh-keygen -N writes them (format=%s cannot be). Use format=openssh, or leave passphrase out.'
                % fmt)
    try:
        importlib.import_module('bcrypt')
    except ImportError:
        return ('passphrase needs the Python library bcrypt on the host running the module (pip install bcrypt; '
                'it is in the collection\'s requirements.txt).')
    return None


def missing_for_passphrases() -> list[str]:
    """The Python libraries this host lacks to encrypt OpenSSH-format keys and to decrypt them (``encrypt_openssh``,
    ``load_private_key`` with a passphrase): [] or some of 'cryptography (3.1 or later)' and 'bcrypt'."""
    missing = []
    try:
        recent = HAS_CRYPTOGRAPHY and tuple(int(part) for part in _CRYPTOGRAPHY_VERSION.split('.')[:2]) >= (3, 1)
    except ValueError:
        recent = True  # a version string we do not know: assume it is recent
    if not recent:
        missing.append('cryptography (3.1 or later)')
    try:
        importlib.import_module('bcrypt')
    except ImportError:
        missing.append('bcrypt')
    return missing


# How encrypt_openssh encrypts, as ssh-keygen -N does by default: aes256-ctr (32-byte key, 16-byte counter block),
# its key and counter from the bcrypt KDF with a 16-byte random salt and 16 rounds.
_OPENSSH_CIPHER = b'aes256-ctr'
_OPENSSH_KDF = b'bcrypt'
KDF_ROUNDS = 16
_SALT_BYTES = 16


def encrypt_openssh(text: str | bytes, passphrase: str) -> str:
    """``text``, an unencrypted single-key OpenSSH-format private key, encrypted with ``passphrase`` as ``ssh-keygen
    -N`` does (aes256-ctr, bcrypt KDF, 16 rounds); its comment is kept, inside the encrypted part.

    The one place keys are encrypted: ``private_text`` (the export, kps_keypair) and kps_host_keys (the role) use it.
    The check integers are random, as ssh-keygen writes them (equal ones only tell a reader that the passphrase was
    right), and the private part is padded to the cipher's 16-byte blocks. Needs cryptography and bcrypt (see
    ``missing_for_passphrases``); raises ValueError when ``text`` is not such a key.
    """
    public, body, rest = unencrypted_openssh_parts(text)
    if rest:
        raise ValueError('trailing bytes after the private key')
    bcrypt = importlib.import_module('bcrypt')
    salt = os.urandom(_SALT_BYTES)
    derived = bcrypt.kdf(_to_bytes(passphrase), salt, 48, KDF_ROUNDS, True)  # True: 16 rounds are few on purpose
    check = os.urandom(4)
    encryptor = ciphers.Cipher(algorithms.AES(derived[:32]), modes.CTR(derived[32:])).encryptor()
    private = encryptor.update(padded(check + check + body, 16)) + encryptor.finalize()
    options = ssh_string(salt) + struct.pack('>I', KDF_ROUNDS)
    return openssh_armour(MAGIC + ssh_string(_OPENSSH_CIPHER) + ssh_string(_OPENSSH_KDF)
                          + ssh_string(options) + struct.pack('>I', 1) + ssh_string(public) + ssh_string(private))


# The ciphers cryptography decrypts OpenSSH-format keys in: (mode, IV length); the key is 32 bytes. GCM encrypts as
# CTR from counter 2 of its 12-byte IV (counter 1 is for the tag).
_OPENSSH_DECRYPTING = {b'aes256-ctr': ('ctr', 16), b'aes256-cbc': ('cbc', 16), b'aes256-gcm@openssh.com': ('gcm', 12)}


def openssh_passphrase_decrypts(text: str | bytes, passphrase: str) -> bool | None:
    """Whether ``passphrase`` decrypts the passphrase-protected OpenSSH-format key ``text``, by ssh-keygen's own test:
    the two check integers that start the private section decrypt equal. None when this cannot tell (another KDF
    or cipher, a damaged file). Tells a wrong passphrase from a file that decrypts but that cryptography refuses
    (its header's public key is not the key inside). Needs cryptography and bcrypt."""
    try:
        cipher, kdf, options, _public, _offset, private, _rest, _raw = openssh_parts(text)
        salt, rounds = kdf_salt_rounds(options) if kdf == b'bcrypt' else (None, 0)
        mode, iv_length = _OPENSSH_DECRYPTING[cipher]
        derived = importlib.import_module('bcrypt').kdf(_to_bytes(passphrase), salt, 32 + iv_length, rounds, True)
    except PARSE_ERRORS + (KeyError, TypeError):
        return None
    iv = derived[32:]
    cipher_mode = modes.CBC(iv) if mode == 'cbc' else modes.CTR(iv + b'\x00\x00\x00\x02' if mode == 'gcm' else iv)
    block = ciphers.Cipher(algorithms.AES(derived[:32]), cipher_mode).decryptor().update(private[:16])
    return len(block) == 16 and block[:4] == block[4:8]


def _openssh_encrypted_text(key: Any, passphrase: str) -> str:
    """The OpenSSH private key format encrypted with ``passphrase`` (aes256-ctr, bcrypt KDF, 16 rounds)."""
    return encrypt_openssh(_openssh_private_text(key), passphrase)


def _openssh_private_text(key: Any) -> str:
    """The unencrypted OpenSSH private key format, the same text for the same key.

    cryptography fills the "checkint" pair with random bytes. It only lets a reader see that a passphrase
    was right, so for an unencrypted key any equal pair will do: we take it from the public key, so that the
    output depends on the key alone.
    """
    text = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH,
                             serialization.NoEncryption())
    _cipher, _kdf, _options, public, private_offset, _private, _rest, raw = openssh_parts(text)
    check = hashlib.sha256(ssh_string(public)).digest()[:4]
    check_offset = private_offset + 4  # after the private section's length
    raw = bytearray(raw)
    raw[check_offset:check_offset + 8] = check + check
    return openssh_armour(bytes(raw))


def _split_public_key(value: PrivateKey | str | bytes) -> list[str]:
    if isinstance(value, PrivateKey):
        return value.public_key.split()
    if isinstance(value, bytes):
        value = value.decode('ascii', 'replace')
    if not isinstance(value, str):
        raise InvalidPublicKeyError('A public key must be text like "ssh-rsa AAAA...".')
    return value.split()


def _decode_blob(b64: str) -> bytes:
    try:
        return base64.b64decode(b64.encode('ascii'), validate=True)
    except (ValueError, binascii.Error, UnicodeEncodeError):
        raise InvalidPublicKeyError('The public key is not valid: its second field is not base64.')


def public_key_blob(openssh_line: PrivateKey | str | bytes) -> str:
    """Normalise an OpenSSH public key line to '<type> <base64>' (drops the comment and extra whitespace).

    The type named in the line must match the type encoded in the blob.
    """
    fields = _split_public_key(openssh_line)
    if fields and fields[0].startswith('-----BEGIN'):
        # A PEM block: most often the private key given where its public key belongs (never quoted).
        if 'PRIVATE' in fields[:4]:
            raise InvalidPublicKeyError(
                'The data given as the public key is a private key. Give its public key in the OpenSSH format '
                '("ssh-ed25519 AAAA..."): the .pub file next to the key, or what ssh-keygen -y -f KEY prints.')
        raise InvalidPublicKeyError(
            'The data given as the public key is a PEM block, not an OpenSSH public key ("ssh-ed25519 AAAA..."); '
            'ssh-keygen -i -m PKCS8 -f KEY.pem converts a PEM public key.')
    if len(fields) < 2:
        raise InvalidPublicKeyError('The public key is not valid: expected "<type> <base64> [comment]".')
    key_type, b64 = fields[0], fields[1]
    raw = _decode_blob(b64)
    if len(raw) < 4:
        raise InvalidPublicKeyError('The public key is not valid: its blob is truncated.')
    (length,) = struct.unpack('>I', raw[:4])
    if raw[4:4 + length] != key_type.encode('ascii', 'replace'):
        raise InvalidPublicKeyError(
            'The public key is not valid: it says "%s" but its blob holds another key type.' % key_type[:40])
    return '%s %s' % (key_type, b64)


def _md5_hex(data: bytes) -> str:
    # MD5 is only an identifier here; on FIPS hosts (Python 3.9+) say so, or hashlib refuses it.
    try:
        return hashlib.md5(data, usedforsecurity=False).hexdigest()
    except TypeError:  # Python 3.8
        return hashlib.md5(data).hexdigest()  # nosec


def sha256_fingerprint(openssh_line: PrivateKey | str | bytes) -> str:
    """The fingerprint ``ssh-keygen -l`` prints: 'SHA256:' and the unpadded base64 of the SHA-256 of the key blob.

    KPS does not report it; it is computed from the public key (a PrivateKey or an OpenSSH public key line).
    """
    raw = _decode_blob(public_key_blob(openssh_line).split()[1])
    return 'SHA256:' + base64.b64encode(hashlib.sha256(raw).digest()).decode('ascii').rstrip('=')


def fingerprint(openssh_line_or_blob: PrivateKey | str | bytes) -> str:
    """KPS fingerprint: MD5 of the decoded blob as lowercase colon-separated hex (no 'MD5:' prefix).

    Accepts a PrivateKey, an OpenSSH public key line (comment optional) or the bare base64 blob.
    """
    fields = _split_public_key(openssh_line_or_blob)
    if len(fields) == 1:
        raw = _decode_blob(fields[0])
    else:
        raw = _decode_blob(public_key_blob(openssh_line_or_blob).split()[1])
    digest = _md5_hex(raw)
    return ':'.join(digest[i:i + 2] for i in range(0, len(digest), 2))
