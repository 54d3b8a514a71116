# Copyright: Contributors to the huaweicloud.kps collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Key parsing, public key derivation, KPS fingerprints, passphrases, clear errors without key material."""
from __future__ import annotations

import base64
import hashlib
import os
import shutil
import subprocess
import sys

import pytest
from cryptography.hazmat.primitives import serialization

from ansible_collections.huaweicloud.kps.plugins.module_utils import _keys, _openssh
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
)
from ansible_collections.huaweicloud.kps.tests.unit.plugins.module_utils.kps_test_keys import pem, public_line, same_key

# The marker is that of what is sent to KPS: PKCS#1 for RSA, PKCS#8 for the others (issue 16.4).
KINDS = [
    ('rsa', 'ssh-rsa', 'BEGIN RSA PRIVATE KEY'),
    ('ec256', 'ecdsa-sha2-nistp256', 'BEGIN PRIVATE KEY'),
    ('ec384', 'ecdsa-sha2-nistp384', 'BEGIN PRIVATE KEY'),
    ('ec521', 'ecdsa-sha2-nistp521', 'BEGIN PRIVATE KEY'),
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
    assert 'BEGIN PRIVATE KEY' in key.private_text('pkcs8')
    # What we would send to KPS reads back as the same key.
    assert load_private_key(key.pem).public_key == key.public_key
    assert not key.was_encrypted


@pytest.mark.parametrize('kind, key_type, marker, fmt', CASES)
def test_bytes_input_and_surrounding_whitespace(kind, key_type, marker, fmt):
    key = load_private_key(('\n  ' + pem(kind, fmt) + '\n\n').encode('ascii'))
    assert key.key_type == key_type


@pytest.mark.parametrize('kind, fmt', [(kind, fmt) for kind in ('rsa', 'ec256', 'ed25519')
                                       for fmt in _formats(kind) if fmt != 'openssh'])
def test_encrypted_pem(kind, fmt):
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
        assert 'bcrypt' in str(exc.value) and 'ssh-keygen -p -N ""' in str(exc.value)
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
        with pytest.raises(KeyMaterialError) as exc:
            load_private_key(data, passphrase=passphrase)
        text = str(exc.value)
        assert 'bad-passphrase-value' not in text
        for chunk in (body[i:i + 16] for i in range(0, len(body), 16)):
            assert chunk not in text
        assert exc.value.msg == text


def test_repr_hides_key():
    key = load_private_key(pem('rsa'))
    assert key.fingerprint in repr(key) and 'PRIVATE' not in repr(key)


def test_missing_cryptography_is_reported(monkeypatch):
    monkeypatch.setattr(_keys, 'HAS_CRYPTOGRAPHY', False)
    with pytest.raises(KeyMaterialError) as exc:
        load_private_key(pem('rsa'))
    assert str(exc.value) == 'The Python library cryptography is required to read private keys.'


# ----- what the export writes: PrivateKey.private_text -------------------------------------------------------

# The first line of each written format; traditional PEM is PKCS#1 for RSA and SEC1 for ECDSA.
FIRST_LINES = {'openssh': '-----BEGIN OPENSSH PRIVATE KEY-----', 'pkcs8': '-----BEGIN PRIVATE KEY-----'}
TRADITIONAL_MARKERS = {'rsa': '-----BEGIN RSA PRIVATE KEY-----', 'ec256': '-----BEGIN EC PRIVATE KEY-----',
                       'ec384': '-----BEGIN EC PRIVATE KEY-----', 'ec521': '-----BEGIN EC PRIVATE KEY-----'}
WRITE_CASES = [(kind, fmt) for kind, _type, _marker in KINDS for fmt in _keys.PRIVATE_FORMATS
               if not (kind == 'ed25519' and fmt == 'pem')]


@pytest.mark.parametrize('kind, fmt', WRITE_CASES)
def test_private_text_in_every_format(kind, fmt):
    text = load_private_key(pem(kind)).private_text(fmt)
    assert text.splitlines()[0] == FIRST_LINES.get(fmt, TRADITIONAL_MARKERS.get(kind))
    assert text.endswith('-----\n') and 'ENCRYPTED' not in text
    back = load_private_key(text)
    assert back.public_key == public_line(kind) and back.source_format == fmt and not back.was_encrypted


@pytest.mark.parametrize('kind, fmt', WRITE_CASES)
def test_private_text_is_the_same_whatever_the_input(kind, fmt):
    """Same key, same text: from any input encoding, on every call (the role compares files byte by byte)."""
    texts = {load_private_key(pem(kind, source)).private_text(fmt) for source in ('pkcs8', 'openssh')}
    texts.add(load_private_key(pem(kind)).private_text(fmt))
    assert len(texts) == 1


def test_openssh_text_has_a_fixed_check_pair():
    text = load_private_key(pem('ed25519')).private_text('openssh')
    body = ''.join(text.splitlines()[1:-1])
    assert max(len(line) for line in text.splitlines()) == 70
    raw = base64.b64decode(body)
    # The private section starts after the public key string and its own length; its two checkints are equal.
    offset = len(b'openssh-key-v1\0')
    for _field in range(3):
        offset += 4 + int.from_bytes(raw[offset:offset + 4], 'big')
    offset += 4
    offset += 4 + int.from_bytes(raw[offset:offset + 4], 'big') + 4
    assert raw[offset:offset + 4] == raw[offset + 4:offset + 8]
    reference = serialization.load_ssh_private_key(text.encode(), password=None)
    assert reference.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                                   serialization.NoEncryption()) == _keys_raw(pem('ed25519'))


def _keys_raw(text):
    key = serialization.load_pem_private_key(text.encode(), password=None)
    return key.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                             serialization.NoEncryption())


def test_traditional_pem_of_ed25519_is_refused():
    key = load_private_key(pem('ed25519'))
    with pytest.raises(UnsupportedKeyTypeError) as exc:
        key.private_text('pem')
    assert str(exc.value) == ('format=pem (traditional PEM) does not exist for ED25519 keys. Use format=openssh, '
                              'which every OpenSSH since 6.5 loads, or format=pkcs8.')
    with pytest.raises(ValueError):
        key.private_text('der')


@pytest.mark.parametrize('source, expected', [('pkcs8', 'pkcs8'), ('traditional', 'pem'), ('openssh', 'openssh')])
def test_source_format_is_recorded(source, expected):
    assert load_private_key(pem('rsa', source)).source_format == expected
    assert load_private_key(pem('ec256', source)).source_format == expected


def test_source_format_of_encrypted_keys():
    assert load_private_key(pem('rsa', 'pkcs8', passphrase='pw'), 'pw').source_format == 'pkcs8'
    assert load_private_key(pem('ec256', 'traditional', passphrase='pw'), 'pw').source_format == 'pem'


@pytest.mark.skipif(shutil.which('ssh-keygen') is None, reason='needs ssh-keygen')
@pytest.mark.parametrize('kind, fmt', WRITE_CASES)
def test_ssh_keygen_loads_what_we_write(tmp_path, kind, fmt):
    """OpenSSH loads every written key, except ED25519 in PKCS#8 (OpenSSH 9.2 cannot read that)."""
    path = tmp_path / 'key'
    path.write_text(load_private_key(pem(kind)).private_text(fmt))
    path.chmod(0o600)
    proc = subprocess.run(['ssh-keygen', '-y', '-f', str(path)], capture_output=True, text=True, check=False)
    if kind == 'ed25519' and fmt == 'pkcs8':
        assert proc.returncode != 0 and 'invalid format' in proc.stderr
    else:
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout.split()[:2] == public_line(kind).split()


@pytest.mark.skipif(shutil.which('ssh-keygen') is None, reason='needs ssh-keygen')
def test_encrypted_openssh_key_without_bcrypt(tmp_path, monkeypatch):
    """What cryptography does when bcrypt is not installed: a clear error with a workaround for every type."""
    from cryptography.exceptions import UnsupportedAlgorithm  # pylint: disable=import-outside-toplevel
    from cryptography.hazmat.primitives.serialization import ssh  # pylint: disable=import-outside-toplevel

    def no_bcrypt(*_args, **_kwargs):
        raise UnsupportedAlgorithm('Need bcrypt module')

    monkeypatch.setattr(ssh, '_bcrypt_kdf', no_bcrypt)
    path = str(tmp_path / 'id')
    subprocess.run(['ssh-keygen', '-q', '-t', 'ed25519', '-N', 'pw-123', '-f', path], check=True)
    with open(path) as handle:
        data = handle.read()
    with pytest.raises(UnsupportedKeyTypeError) as exc:
        load_private_key(data, passphrase='pw-123')
    assert str(exc.value) == (
        'Decrypting an encrypted OpenSSH-format private key needs the Python library bcrypt on the host running '
        'the module (pip install bcrypt; it is in the collection\'s requirements.txt). Or give the module an '
        'unencrypted copy of the key: cp <file> <copy> && ssh-keygen -p -N "" -f <copy> (works for every key '
        'type), and remove the copy afterwards.')
    assert 'pw-123' not in str(exc.value)


@pytest.mark.parametrize('key_type, openssh_type', [('ecdsa', 'ecdsa-sha2-nistp256'), ('ed25519', 'ssh-ed25519')])
def test_generate_private_key_of_a_type_kps_does_not_generate(tmp_path, key_type, openssh_type):
    """A new key each call, in PKCS#8 for KPS (and for format=kps), that ssh-keygen loads in the OpenSSH format."""
    key = _keys.generate_private_key(key_type)
    assert key.key_type == openssh_type and _keys.key_type_of(key) == key_type
    assert key.public_key != _keys.generate_private_key(key_type).public_key
    assert key.pem.startswith('-----BEGIN PRIVATE KEY-----\n')
    assert key.private_text(_keys.KPS_FORMAT) == key.private_text(_keys.PKCS8) == key.pem
    path = tmp_path / 'id'
    path.write_text(key.private_text(_keys.OPENSSH))
    path.chmod(0o600)
    derived = subprocess.run(['ssh-keygen', '-y', '-f', str(path)], check=True, capture_output=True, text=True)
    assert derived.stdout.split()[:2] == key.public_key.split()


def test_generate_private_key_refuses_what_kps_generates():
    with pytest.raises(ValueError):
        _keys.generate_private_key('rsa')


@pytest.mark.parametrize('line, key_type', [
    ('ssh-rsa AAAA', 'rsa'), ('ecdsa-sha2-nistp384 AAAA x', 'ecdsa'), ('ssh-ed25519 AAAA', 'ed25519'),
    ('ssh-dss AAAA', None), ('sk-ssh-ed25519@openssh.com AAAA', None), ('', None), (None, None),
])
def test_key_type_of_a_public_key_line(line, key_type):
    assert _keys.key_type_of(line) == key_type


def _ssh_keygen(*args, check=False):
    return subprocess.run(['ssh-keygen'] + list(args), capture_output=True, text=True, check=check,
                          stdin=subprocess.DEVNULL)


@pytest.mark.skipif(shutil.which('ssh-keygen') is None, reason='needs ssh-keygen')
@pytest.mark.parametrize('kind', ['rsa', 'ec256', 'ec384', 'ed25519'])
def test_encrypt_openssh_writes_what_ssh_keygen_writes_and_reads(tmp_path, kind):
    """encrypt_openssh (the one place keys are encrypted) as ssh-keygen -N: aes256-ctr, bcrypt, 16 rounds, a random
    16-byte salt, the comment inside the encrypted part; ssh-keygen -y -P loads it and ssh-keygen -p re-encrypts it."""
    from ansible_collections.huaweicloud.kps.plugins.module_utils._host_keys import with_openssh_comment  # pylint: disable=import-outside-toplevel
    from ansible_collections.huaweicloud.kps.plugins.module_utils._openssh import openssh_header  # pylint: disable=import-outside-toplevel
    plain = with_openssh_comment(load_private_key(pem(kind)).private_text('openssh'), 'huaweicloud.kps:web')
    text = _keys.encrypt_openssh(plain, 'correct horse')
    assert text != _keys.encrypt_openssh(plain, 'correct horse')  # random salt and check integers
    assert openssh_header(text) == dict(public_key=public_line(kind), encrypted=True, cipher='aes256-ctr', kdf='bcrypt',
                                        rounds=16)
    raw = base64.b64decode(''.join(text.splitlines()[1:-1]))
    assert raw[raw.index(b'bcrypt') + 6:][:8] == b'\0\0\0\x18\0\0\0\x10'  # KDF options: a 16-byte salt, then rounds
    assert max(len(line) for line in text.splitlines()) == 70 and text.endswith('-----END OPENSSH PRIVATE KEY-----\n')
    assert b'huaweicloud.kps:web' not in raw
    key = load_private_key(text, 'correct horse')
    assert key.was_encrypted and key.public_key == public_line(kind)
    path = tmp_path / 'key'
    path.write_text(text)
    path.chmod(0o600)
    loaded = _ssh_keygen('-y', '-P', 'correct horse', '-f', str(path))
    assert loaded.returncode == 0 and loaded.stdout.split()[:2] == public_line(kind).split(), loaded.stderr
    assert _ssh_keygen('-y', '-P', 'wrong horse', '-f', str(path)).returncode != 0
    assert _ssh_keygen('-y', '-P', '', '-f', str(path)).returncode != 0
    changed = _ssh_keygen('-p', '-P', 'correct horse', '-N', 'new words', '-f', str(path))
    assert changed.returncode == 0 and "Key has comment 'huaweicloud.kps:web'" in changed.stdout, changed.stderr
    assert load_private_key(path.read_text(), 'new words').public_key == public_line(kind)


@pytest.mark.skipif(shutil.which('ssh-keygen') is None, reason='needs ssh-keygen')
def test_private_text_with_a_passphrase_is_encrypt_openssh(monkeypatch):
    """The export and kps_keypair encrypt through the same function as the role."""
    calls = []
    real = _keys.encrypt_openssh
    monkeypatch.setattr(_keys, 'encrypt_openssh', lambda text, passphrase: calls.append(text) or real(text, passphrase))
    key = load_private_key(pem('ed25519'))
    text = key.private_text('openssh', 'pw words')
    assert calls == [key.private_text('openssh')]
    assert load_private_key(text, 'pw words').public_key == public_line('ed25519')


@pytest.mark.parametrize('text', [
    pem('rsa'),  # PEM
    None,  # an encrypted OpenSSH-format key (below)
    '-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----\n',
])
def test_encrypt_openssh_refuses_anything_but_one_unencrypted_openssh_key(text):
    if text is None:
        text = load_private_key(pem('ed25519')).private_text('openssh', 'pw words')
    with pytest.raises(ValueError):
        _keys.encrypt_openssh(text, 'pw words')


def test_missing_for_passphrases_names_what_a_host_lacks(monkeypatch):
    assert _keys.missing_for_passphrases() == []
    monkeypatch.setitem(sys.modules, 'bcrypt', None)  # import bcrypt raises ImportError
    assert _keys.missing_for_passphrases() == ['bcrypt']
    monkeypatch.setattr(_keys, '_CRYPTOGRAPHY_VERSION', '3.0.1')
    assert _keys.missing_for_passphrases() == ['cryptography (3.1 or later)', 'bcrypt']
    monkeypatch.setattr(_keys, 'HAS_CRYPTOGRAPHY', False)
    assert _keys.missing_for_passphrases() == ['cryptography (3.1 or later)', 'bcrypt']


def _decrypted_private_section(text, passphrase):
    """The private section of an OpenSSH-format key encrypted with aes256-ctr and bcrypt, decrypted as OpenSSH's
    PROTOCOL.key says (not with cryptography's loader, which does not show it)."""
    import bcrypt  # pylint: disable=import-outside-toplevel
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes  # pylint: disable=import-outside-toplevel

    raw = base64.b64decode(''.join(text.splitlines()[1:-1]))
    fields, offset = [], len(b'openssh-key-v1\0')
    for _index in range(3):  # cipher, KDF, KDF options
        length = int.from_bytes(raw[offset:offset + 4], 'big')
        fields.append(raw[offset + 4:offset + 4 + length])
        offset += 4 + length
    offset += 4  # number of keys
    offset += 4 + int.from_bytes(raw[offset:offset + 4], 'big')  # public key
    length = int.from_bytes(raw[offset:offset + 4], 'big')
    encrypted = raw[offset + 4:offset + 4 + length]
    assert fields[:2] == [b'aes256-ctr', b'bcrypt'] and offset + 4 + length == len(raw)
    salt, rounds = fields[2][4:-4], int.from_bytes(fields[2][-4:], 'big')
    derived = bcrypt.kdf(passphrase.encode(), salt, 48, rounds, True)
    decryptor = Cipher(algorithms.AES(derived[:32]), modes.CTR(derived[32:])).decryptor()
    return decryptor.update(encrypted) + decryptor.finalize()


@pytest.mark.skipif(shutil.which('ssh-keygen') is None, reason='needs ssh-keygen')
@pytest.mark.parametrize('cipher', ['aes256-ctr', 'aes256-cbc', 'aes256-gcm@openssh.com'])
def test_openssh_passphrase_decrypts_by_the_check_integers(tmp_path, cipher):
    """ssh-keygen's own test of a passphrase, in every cipher cryptography decrypts: True for the passphrase, False
    for another, None where it cannot tell (unencrypted, another cipher, not such a file)."""
    path = tmp_path / 'key'
    path.write_text(load_private_key(pem('ed25519')).private_text('openssh'))
    path.chmod(0o600)
    subprocess.run(['ssh-keygen', '-q', '-p', '-P', '', '-N', 'pw words', '-Z', cipher, '-f', str(path)], check=True,
                   capture_output=True, stdin=subprocess.DEVNULL)
    text = path.read_text()
    assert (_keys.openssh_passphrase_decrypts(text, 'pw words'), _keys.openssh_passphrase_decrypts(text, 'pw word')) == (
        True, False)
    other = _openssh.openssh_armour(_openssh.decode_armour(text).replace(_openssh.ssh_string(cipher.encode()),
                                                                         _openssh.ssh_string(b'aes128-ctr')))
    assert _keys.openssh_passphrase_decrypts(other, 'pw words') is None
    assert _keys.openssh_passphrase_decrypts(load_private_key(pem('ed25519')).private_text('openssh'), 'pw') is None
    assert _keys.openssh_passphrase_decrypts(pem('rsa'), 'pw words') is None


def test_encrypt_openssh_needs_no_host_side_module():
    """The OpenSSH format lives in _openssh, imported by _keys at its top: encrypting a key (the export, kps_keypair)
    loads neither _host_keys nor anything else of the host side, and works where _host_keys cannot be imported."""
    code = '\n'.join([
        'import sys',
        'prefix = "ansible_collections.huaweicloud.kps.plugins.module_utils."',
        'sys.modules[prefix + "_host_keys"] = None  # any import of it raises ImportError',
        'from ansible_collections.huaweicloud.kps.plugins.module_utils import _keys',
        'key = _keys.load_private_key(sys.stdin.read())',
        'text = key.private_text("openssh", "pw words")',
        'assert _keys.load_private_key(text, "pw words").public_key == key.public_key',
        'print("\\n".join(sorted(m[len(prefix):] for m, v in sys.modules.items() if v and m.startswith(prefix))))',
    ])
    proc = subprocess.run([sys.executable, '-c', code], input=pem('ed25519'), capture_output=True, text=True,
                          check=False, env=dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path)))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ['_errors', '_keys', '_openssh']


def test_encrypt_openssh_pads_to_the_cipher_block_with_random_equal_check_integers():
    from ansible_collections.huaweicloud.kps.plugins.module_utils._host_keys import (  # pylint: disable=import-outside-toplevel
        with_openssh_comment,
    )
    plain = with_openssh_comment(load_private_key(pem('ed25519')).private_text('openssh'), 'huaweicloud.kps:web')
    sections = [_decrypted_private_section(_keys.encrypt_openssh(plain, 'pw words'), 'pw words') for _index in range(2)]
    for section in sections:
        assert len(section) % 16 == 0 and section[:4] == section[4:8]
        comment = section.index(b'huaweicloud.kps:web') + len(b'huaweicloud.kps:web')
        assert section[comment:] == bytes(range(1, 1 + len(section) - comment))  # padding 1, 2, 3, ...
    assert sections[0][:4] != sections[1][:4]  # random, as ssh-keygen writes them
    assert sections[0][8:] == sections[1][8:]
