# Copyright: Contributors to the huaweicloud.kps collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Key parsing, public key derivation, KPS fingerprints, passphrases, clear errors without key material."""
from __future__ import annotations

import base64
import hashlib
import os
import shutil
import subprocess

import pytest
from cryptography.hazmat.primitives import serialization

from ansible_collections.huaweicloud.kps.plugins.module_utils import _keys
from ansible_collections.huaweicloud.kps.plugins.module_utils._keys import (
    InvalidPrivateKeyError,
    InvalidPublicKeyError,
    KeyMaterialError,
    PassphraseRequiredError,
    UnsupportedKeyTypeError,
    WrongPassphraseError,
    fingerprint,
    load_private_key,
    public_key_blob,
    same_key,
)

from kps_test_keys import pem, public_line

KINDS = [
    ('rsa', 'ssh-rsa', 'BEGIN RSA PRIVATE KEY'),
    ('ec256', 'ecdsa-sha2-nistp256', 'BEGIN EC PRIVATE KEY'),
    ('ec384', 'ecdsa-sha2-nistp384', 'BEGIN EC PRIVATE KEY'),
    ('ec521', 'ecdsa-sha2-nistp521', 'BEGIN EC PRIVATE KEY'),
    ('ed25519', 'ssh-ed25519', 'BEGIN PRIVATE KEY'),
]
FORMATS = ['pkcs8', 'traditional', 'openssh']


def _formats(kind):
    # ED25519 has no traditional (PKCS#1/SEC1) form.
    return [f for f in FORMATS if not (kind == 'ed25519' and f == 'traditional')]


CASES = [(kind, key_type, marker, fmt) for kind, key_type, marker in KINDS for fmt in _formats(kind)]


def _kps_fingerprint(line):
    digest = hashlib.md5(base64.b64decode(line.split()[1])).hexdigest()
    return ':'.join(digest[i:i + 2] for i in range(0, 32, 2))


@pytest.mark.parametrize('kind, key_type, marker, fmt', CASES)
def test_load_every_format_and_type(kind, key_type, marker, fmt):
    key = load_private_key(pem(kind, fmt))
    assert key.key_type == key_type
    assert key.public_key == public_line(kind)
    assert key.fingerprint == _kps_fingerprint(public_line(kind))
    assert marker in key.pem and 'ENCRYPTED' not in key.pem
    assert 'BEGIN PRIVATE KEY' in key.pkcs8_pem
    # What we would send to KPS reads back as the same key.
    assert load_private_key(key.pem).public_key == key.public_key
    assert not key.was_encrypted


@pytest.mark.parametrize('kind, key_type, marker, fmt', CASES)
def test_bytes_input_and_surrounding_whitespace(kind, key_type, marker, fmt):
    key = load_private_key(('\n  ' + pem(kind, fmt) + '\n\n').encode('ascii'))
    assert key.key_type == key_type


@pytest.mark.parametrize('fmt', ['pkcs8', 'traditional'])
@pytest.mark.parametrize('kind', ['rsa', 'ec256', 'ed25519'])
def test_encrypted_pem(kind, fmt):
    if kind == 'ed25519' and fmt == 'traditional':
        pytest.skip('no traditional form')
    data = pem(kind, fmt, passphrase='s3cret pass')
    key = load_private_key(data, passphrase='s3cret pass')
    assert key.public_key == public_line(kind)
    assert key.was_encrypted
    assert 'ENCRYPTED' not in key.pem
    with pytest.raises(PassphraseRequiredError) as exc:
        load_private_key(data)
    assert 'private_key_passphrase' in str(exc.value)
    with pytest.raises(WrongPassphraseError):
        load_private_key(data, passphrase='wrong')
    with pytest.raises(WrongPassphraseError):
        load_private_key(data.encode(), passphrase=b'wrong')


def test_passphrase_for_unencrypted_key_is_ignored():
    key = load_private_key(pem('rsa', 'traditional'), passphrase='unused')
    assert key.public_key == public_line('rsa') and not key.was_encrypted


@pytest.mark.skipif(shutil.which('ssh-keygen') is None, reason='needs ssh-keygen')
def test_encrypted_openssh_key(tmp_path):
    path = str(tmp_path / 'id')
    subprocess.run(['ssh-keygen', '-q', '-t', 'ed25519', '-N', 'pw-123', '-f', path], check=True)
    with open(path) as handle:
        data = handle.read()
    with pytest.raises(PassphraseRequiredError):
        load_private_key(data)
    try:
        import bcrypt  # noqa: F401  pylint: disable=unused-import
    except ImportError:
        with pytest.raises(UnsupportedKeyTypeError) as exc:
            load_private_key(data, passphrase='pw-123')
        assert 'bcrypt' in str(exc.value) and 'ssh-keygen -p -m PEM' in str(exc.value)
    else:
        with open(path + '.pub') as handle:
            pub = handle.read()
        assert same_key(load_private_key(data, passphrase='pw-123'), pub)
        with pytest.raises(WrongPassphraseError):
            load_private_key(data, passphrase='nope')


@pytest.mark.skipif(shutil.which('ssh-keygen') is None, reason='needs ssh-keygen')
def test_fingerprint_matches_ssh_keygen(tmp_path):
    path = str(tmp_path / 'id')
    subprocess.run(['ssh-keygen', '-q', '-t', 'rsa', '-b', '2048', '-N', '', '-f', path], check=True)
    with open(path) as handle:
        key = load_private_key(handle.read())
    out = subprocess.run(['ssh-keygen', '-l', '-E', 'md5', '-f', path + '.pub'], check=True,
                         capture_output=True, text=True).stdout
    assert 'MD5:' + key.fingerprint in out
    with open(path + '.pub') as handle:
        assert same_key(key, handle.read())


def test_official_style_fingerprint_value():
    line = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl comment here'
    assert fingerprint(line) == _kps_fingerprint(line)
    assert fingerprint(line.split()[1]) == fingerprint(line)  # bare base64 blob
    assert public_key_blob(line) == ' '.join(line.split()[:2])
    assert public_key_blob('  ' + line.replace(' ', '\t', 1) + '\n') == ' '.join(line.split()[:2])


def test_same_key():
    a, b = public_line('rsa'), public_line('rsa2')
    assert same_key(a, a + ' user@host\n')
    assert not same_key(a, b)
    assert same_key(load_private_key(pem('rsa')), a)


@pytest.mark.parametrize('bad', ['', 'ssh-rsa', 'ssh-rsa not*base64', 'ssh-ed25519 ' + public_line('rsa').split()[1],
                                 'ssh-rsa AA=='])
def test_invalid_public_keys(bad):
    with pytest.raises(InvalidPublicKeyError):
        public_key_blob(bad)


def test_dsa_rejected():
    key = pem('dsa', 'pkcs8')
    with pytest.raises(UnsupportedKeyTypeError) as exc:
        load_private_key(key)
    assert 'DSA' in str(exc.value)


def test_unsupported_curve_rejected():
    with pytest.raises(UnsupportedKeyTypeError) as exc:
        load_private_key(pem('ec_k1', 'pkcs8'))
    assert 'secp256k1' in str(exc.value)


@pytest.mark.parametrize('make', [
    lambda: public_line('rsa'),
    lambda: public_line('ed25519') + ' me@host',
    lambda: serialization.load_ssh_public_key(public_line('ec256').encode()).public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode(),
])
def test_public_key_given_instead_of_private(make):
    with pytest.raises(UnsupportedKeyTypeError) as exc:
        load_private_key(make())
    assert 'public key' in str(exc.value)


@pytest.mark.parametrize('data, error', [
    ('', InvalidPrivateKeyError),
    ('   \n', InvalidPrivateKeyError),
    ('hello world', InvalidPrivateKeyError),
    ('-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n', UnsupportedKeyTypeError),
    ('-----BEGIN RSA PRIVATE KEY-----\nMIIBOgIBAAJBAK\n-----END RSA PRIVATE KEY-----\n', InvalidPrivateKeyError),
    ('-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----\n',
     InvalidPrivateKeyError),
    ('-----BEGIN OPENSSH PRIVATE KEY-----\n!!!!\n-----END OPENSSH PRIVATE KEY-----\n', InvalidPrivateKeyError),
])
def test_invalid_private_keys(data, error):
    with pytest.raises(error):
        load_private_key(data)


def test_truncated_keys_are_invalid():
    for fmt in ('pkcs8', 'traditional', 'openssh'):
        data = pem('rsa', fmt)
        lines = data.splitlines()
        truncated = '\n'.join(lines[:len(lines) // 2] + lines[-1:]) + '\n'
        with pytest.raises(InvalidPrivateKeyError):
            load_private_key(truncated)


def test_errors_never_contain_key_material():
    secret = pem('rsa', 'traditional')
    body = ''.join(secret.splitlines()[1:-1])
    samples = [secret[:200] + secret[-40:], secret.replace('BEGIN RSA', 'BEGIN RSAX'), secret.replace('A', 'B', 5)]
    encrypted = pem('ec256', 'pkcs8', passphrase='pw')
    calls = [(s, None) for s in samples] + [(encrypted, None), (encrypted, 'bad-passphrase-value')]
    for data, passphrase in calls:
        try:
            load_private_key(data, passphrase=passphrase)
        except KeyMaterialError as exc:
            text = str(exc)
            assert 'bad-passphrase-value' not in text
            for chunk in (body[i:i + 16] for i in range(0, len(body), 16)):
                assert chunk not in text
            assert exc.msg == text


def test_repr_hides_key():
    key = load_private_key(pem('rsa'))
    assert key.fingerprint in repr(key) and 'PRIVATE' not in repr(key)


def test_missing_cryptography_is_reported(monkeypatch):
    monkeypatch.setattr(_keys, 'HAS_CRYPTOGRAPHY', False)
    with pytest.raises(KeyMaterialError) as exc:
        load_private_key(pem('rsa'))
    assert 'cryptography' in str(exc.value)
    assert os.path.basename(_keys.__file__) == '_keys.py'
