# Copyright: Contributors to the huaweicloud.kps collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""kps_private_key_export without a network: the decisions, the call counts and the files it writes.

The KPS client is replaced by ``FakeKps``, which keeps its key pairs in memory, counts calls and builds
real batch-export zip archives that go through the collection's own archive parser, so hostile archives
are tested end to end (module -> runner -> parser -> nothing written).
"""
from __future__ import annotations

import base64
import grp
import io
import json
import os
import pwd
import re
import stat
import struct
import subprocess
import sys
import zipfile
from unittest import mock

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from ansible_collections.huaweicloud.kps.plugins.module_utils import _export_runner as runner
from ansible_collections.huaweicloud.kps.plugins.module_utils import _files, _keys
from ansible_collections.huaweicloud.kps.plugins.module_utils._host_keys import openssh_comment
from ansible_collections.huaweicloud.kps.plugins.module_utils._http import HuaweiCloudError
from ansible_collections.huaweicloud.kps.plugins.module_utils._keys import fingerprint, load_private_key
from ansible_collections.huaweicloud.kps.plugins.module_utils._kps import KpsClient, parse_batch_export_zip
from ansible_collections.huaweicloud.kps.plugins.module_utils._module import KpsModule
from ansible_collections.huaweicloud.kps.plugins.modules import kps_private_key_export
from ansible_collections.huaweicloud.kps.tests.unit.plugins.modules.utils import run_module, set_module_args

_KEYS = {}


def make_keypair(name, kind='ed25519'):
    """(private PEM, public key line) for ``name``, generated once per session.

    Cached by name and kind: with xdist, which test first asks for a name depends on the worker.
    """
    cache_key = name if kind == 'ed25519' else (name, kind)
    if cache_key not in _KEYS:
        if kind == 'rsa':
            key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            fmt = serialization.PrivateFormat.TraditionalOpenSSL
        elif kind == 'ec':  # SEC1, as release 1.0.0 imported ECDSA keys
            key = ec.generate_private_key(ec.SECP256R1())
            fmt = serialization.PrivateFormat.TraditionalOpenSSL
        else:
            key = ed25519.Ed25519PrivateKey.generate()
            fmt = serialization.PrivateFormat.PKCS8
        private = key.private_bytes(serialization.Encoding.PEM, fmt, serialization.NoEncryption()).decode()
        public = key.public_key().public_bytes(serialization.Encoding.OpenSSH,
                                               serialization.PublicFormat.OpenSSH).decode()
        _KEYS[cache_key] = (private, public)
    return _KEYS[cache_key]


def as_openssh(private):
    """The file the module writes by default for this key (our own OpenSSH serialisation)."""
    return load_private_key(private).private_text('openssh')


def pem_body(private):
    return ''.join(line for line in private.splitlines() if not line.startswith('-----'))


def _damaged_rsa_pem(name):
    """The RSA key of ``name`` with a wrong CRT exponent: same public key, a private key that does not work."""
    key = serialization.load_pem_private_key(make_keypair(name, 'rsa')[0].encode(), password=None)
    numbers = key.private_numbers()
    bad = rsa.RSAPrivateNumbers(numbers.p, numbers.q, numbers.d, numbers.dmp1 + 2, numbers.dmq1, numbers.iqmp,
                                numbers.public_numbers).private_key(unsafe_skip_rsa_key_validation=True)
    return bad.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                             serialization.NoEncryption())


class FakeKps:
    """In-memory KPS with the KpsClient interface; ``zip_hook`` may rewrite batch archives."""

    def __init__(self):
        self.keypairs = {}
        self.calls = []
        self.zip_hook = None
        self.fail_batch_call = None  # 1-based number of the batch call that fails

    def add(self, name, hosted=True, kind='ed25519', comment=' Generated-by-Nova\n'):
        private, public = make_keypair(name, kind)
        self.keypairs[name] = {'name': name, 'type': 'ssh', 'scope': 'user', 'public_key': public + comment,
                               'fingerprint': fingerprint(public), 'is_key_protection': hosted, 'frozen_state': 0,
                               '_private': private}
        return private

    def count(self, call):
        return sum(1 for item in self.calls if item[0] == call)

    @staticmethod
    def _public(record):
        return dict((k, v) for k, v in record.items() if not k.startswith('_'))

    def show_keypair(self, name):
        self.calls.append(('show', name))
        record = self.keypairs.get(name)
        return self._public(record) if record else None

    def list_keypairs(self):
        self.calls.append(('list', None))
        return [self._public(record) for _name, record in sorted(self.keypairs.items())]

    def iter_pages(self):
        yield self.list_keypairs(), False

    # The real lookup, export checks and batch fallback, on top of the fake calls above.
    find_keypairs = KpsClient.find_keypairs
    export_checked = KpsClient.export_checked
    export_private_keys = KpsClient.export_private_keys

    def export_private_key(self, name):
        self.calls.append(('export', name))
        record = self.keypairs.get(name)
        if not record or not record['is_key_protection']:
            raise HuaweiCloudError('export private key', status=400, error_code='KPS.6005',
                                   error_msg='No private key managed: %s' % name)
        return record['_private']

    def batch_export_private_keys(self, keypairs):
        names = [item['name'] for item in keypairs]
        self.calls.append(('batch', names))
        assert 1 <= len(names) <= 10
        if self.fail_batch_call == self.count('batch'):
            raise HuaweiCloudError('batch export', status=500, error_code='KPS.0003', error_msg='boom', attempts=3)
        entries = [('%s.pem' % name, self.keypairs[name]['_private'].encode()) for name in names]
        if self.zip_hook:
            data = self.zip_hook(entries)
        else:
            data = build_zip(entries)
        return parse_batch_export_zip(data, keypairs, request_id='req-1')

    @property
    def exports(self):
        return self.count('export') + self.count('batch')


def build_zip(entries, compression=zipfile.ZIP_STORED):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, 'w', compression) as archive:
        for name, data in entries:
            archive.writestr(zipfile.ZipInfo(name), data, compress_type=compression)
    return buffer.getvalue()


@pytest.fixture
def kps():
    fake = FakeKps()
    with mock.patch.object(KpsModule, 'kps', new_callable=mock.PropertyMock, return_value=fake):
        yield fake


def run(args, check_mode=False, diff=False, no_log=False, fail=False):
    args = dict(args)
    args.update(_ansible_check_mode=check_mode, _ansible_diff=diff, _ansible_no_log=no_log)
    with set_module_args(args):
        return run_module(kps_private_key_export.main, fail=fail)


NOBODY = pwd.getpwnam('nobody').pw_uid
NOGROUP = grp.getgrnam('nogroup').gr_gid
root_only = pytest.mark.skipif(os.geteuid() != 0, reason='giving files to another user needs root')


def read(path):
    with open(path) as handle:
        return handle.read()


def mode_of(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def dir_listing(path):
    return sorted(os.listdir(path))


def snapshot(directory):
    """Every file below ``directory`` with its bytes and mode: proves a failed run changed nothing."""
    result = {}
    for root, _dirs, files in os.walk(directory):
        for name in files:
            path = os.path.join(root, name)
            with open(path, 'rb') as handle:
                result[path] = (handle.read(), mode_of(path))
    return result


# ----- pure helpers ----------------------------------------------------------------------------------------

@pytest.mark.parametrize('name, names, expected', [
    ('web', None, ['web']),
    (None, ['a', 'b-1', 'C_2'], ['a', 'b-1', 'C_2']),
    (None, ['x' * 64], ['x' * 64]),
])
def test_requested_names_ok(name, names, expected):
    assert runner.requested_names(name, names) == expected


@pytest.mark.parametrize('name, names, message', [
    (None, [], 'at least one'),
    ('../etc/passwd', None, 'Invalid key pair name'),
    (None, ['ok', 'a b', 'x' * 256], 'Invalid key pair names'),
    (None, ['a.pem'], 'Invalid key pair name'),
    (None, ['a', 'b', 'a', 'b', 'c'], 'a, b more than once'),
])
def test_requested_names_refused(name, names, message):
    with pytest.raises(runner.KpsError, match=message):
        runner.requested_names(name, names)


def test_names_up_to_255_characters_and_251_as_file_names():
    assert runner.requested_names(None, ['x' * 255]) == ['x' * 255]
    assert runner.requested_names('x' * 255, None, '/tmp/k.pem') == ['x' * 255]
    assert runner.requested_names(None, ['x' * 251, 'a'], '/tmp/keys') == ['x' * 251, 'a']
    with pytest.raises(runner.ExportError) as exc:
        runner.requested_names(None, ['a', 'y' * 252], '/tmp/keys')
    assert exc.value.msg == (
        'Key pair name %s... too long for a file name: with names and dest each key is written to <name>.pem, and a '
        'file name has at most 255 characters. Export it with name and a dest file path instead.' % ('y' * 40))


@pytest.mark.parametrize('count, sizes', [
    (0, []), (1, [1]), (9, [9]), (10, [10]), (11, [10, 1]), (25, [10, 10, 5]), (30, [10, 10, 10]),
])
def test_chunked_respects_the_batch_limit(count, sizes):
    chunks = runner.chunked(range(count))
    assert [len(chunk) for chunk in chunks] == sizes
    assert [item for chunk in chunks for item in chunk] == list(range(count))


@pytest.mark.parametrize('count, calls', [(0, 0), (1, 1), (2, 1), (10, 1), (11, 2), (25, 3), (100, 10)])
def test_export_calls_needed(count, calls):
    assert runner.export_calls_needed(count) == calls


class TestKeyMatching:

    def setup_method(self):
        private, public = make_keypair('match-a')
        self.key = load_private_key(private)
        self.public = public
        self.other_public = make_keypair('match-b')[1]

    def test_same_public_key_with_comment_and_newline(self):
        assert runner.key_matches({'public_key': self.public + ' Generated-by-Nova\n'}, self.key)

    def test_other_public_key(self):
        assert not runner.key_matches({'public_key': self.other_public, 'fingerprint': self.key.fingerprint},
                                      self.key)

    def test_fingerprint_only_when_no_public_key(self):
        assert runner.key_matches({'fingerprint': self.key.fingerprint.upper()}, self.key)
        assert not runner.key_matches({'fingerprint': fingerprint(self.other_public)}, self.key)
        assert not runner.key_matches({}, self.key)

    def test_unusable_public_key_falls_back_to_fingerprint(self):
        assert runner.key_matches({'public_key': 'ssh-ed25519 !!!', 'fingerprint': self.key.fingerprint}, self.key)

    def test_rsa(self):
        private, public = make_keypair('match-rsa', 'rsa')
        assert runner.key_matches({'public_key': public}, load_private_key(private))


def inspect(path, passphrase=None):
    """inspect_file as the runner calls it: through the open directory, when there is one."""
    directory, name = os.path.split(path)
    if _files.missing_dirs(directory):
        return runner.inspect_file(None, name, path, passphrase)
    with _files.open_dir(directory) as folder:
        return runner.inspect_file(folder, name, path, passphrase)


class TestInspectFile:

    def test_missing(self, tmp_path):
        state = inspect(str(tmp_path / 'none.pem'))
        assert (state.exists, state.key, state.mode) == (False, None, None)

    def test_missing_parent(self, tmp_path):
        assert not inspect(str(tmp_path / 'no' / 'dir' / 'k.pem')).exists

    def test_key_file(self, tmp_path):
        private, public = make_keypair('inspect')
        path = tmp_path / 'k.pem'
        path.write_text(private)
        path.chmod(0o640)
        state = inspect(str(path))
        assert state.exists and state.mode == 0o640 and state.fingerprint == fingerprint(public)
        assert 'PRIVATE' not in repr(state)

    @pytest.mark.parametrize('content', [b'', b'not a key\n', b'\x00' * 10, b'-----BEGIN PRIVATE KEY-----\nAAAA\n'])
    def test_not_a_key(self, tmp_path, content):
        path = tmp_path / 'k.pem'
        path.write_bytes(content)
        state = inspect(str(path))
        assert state.exists and state.key is None

    def test_encrypted_key_is_not_readable(self, tmp_path):
        key = ed25519.Ed25519PrivateKey.generate()
        path = tmp_path / 'k.pem'
        path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.BestAvailableEncryption(b'secret')))
        assert inspect(str(path)).key is None

    def test_huge_file_is_not_parsed(self, tmp_path):
        path = tmp_path / 'k.pem'
        path.write_bytes(make_keypair('huge')[0].encode() + b'#' * runner.MAX_KEY_BYTES)
        with mock.patch.object(runner, 'load_private_key') as load:
            assert inspect(str(path)).key is None
        assert load.call_count == 0

    def test_symlink_is_not_read_through(self, tmp_path):
        target = tmp_path / 'real.pem'
        target.write_text(make_keypair('link')[0])
        link = tmp_path / 'link.pem'
        link.symlink_to(target)
        state = inspect(str(link))
        assert (state.exists, state.symlink, state.key) == (True, True, None)
        assert runner.decide(state, {'public_key': make_keypair('link')[1]}) == 'replace'

    def test_damaged_rsa_key_is_not_taken_for_the_key(self, tmp_path):
        """Broken CRT parameters: same public key, so only the consistency check tells it is damaged."""
        path = tmp_path / 'k.pem'
        path.write_bytes(_damaged_rsa_pem('inspect-rsa'))
        with mock.patch.object(runner, 'damaged', return_value=False):
            assert inspect(str(path)).fingerprint == fingerprint(make_keypair('inspect-rsa', 'rsa')[1])
        state = inspect(str(path))
        assert state.exists and state.key is None
        path.write_text(make_keypair('inspect-rsa', 'rsa')[0])
        assert inspect(str(path)).key is not None

    def test_directory_is_refused(self, tmp_path):
        with pytest.raises(runner.ExportError, match='not a regular file'):
            inspect(str(tmp_path))


# ----- OpenSSH-format RSA files read with the standard library ------------------------------------------------

def _ssh_string(value):
    return struct.pack('>I', len(value)) + value


def _mpint(number, pad=b''):
    return pad + number.to_bytes((number.bit_length() + 8) // 8, 'big')


def _openssh_rsa_file(numbers, kdf=b'none', public_n=None, public_pad=b'', public_trailing=b'', trailing=b'',
                      padding=None, check=(7, 7)):
    """An unencrypted OpenSSH-format file of the RSA ``numbers`` (cryptography's private numbers), built field by
    field (PROTOCOL.key in OpenSSH's sources) so that a test can bend one rule."""
    pub = numbers.public_numbers
    public = (_ssh_string(b'ssh-rsa') + _ssh_string(_mpint(pub.e)) + _ssh_string(_mpint(public_n or pub.n, public_pad))
              + public_trailing)
    body = struct.pack('>II', *check) + _ssh_string(b'ssh-rsa') + b''.join(
        _ssh_string(_mpint(value)) for value in (pub.n, pub.e, numbers.d, numbers.iqmp, numbers.p, numbers.q))
    body += _ssh_string(b'me@laptop')
    body += bytes(bytearray(range(1, 1 + (-len(body) % 8)))) if padding is None else padding(len(body))
    raw = (b'openssh-key-v1\x00' + _ssh_string(b'none') + _ssh_string(kdf) + _ssh_string(b'') + struct.pack('>I', 1)
           + _ssh_string(public) + _ssh_string(body) + trailing)
    text = base64.b64encode(raw).decode()
    return '-----BEGIN OPENSSH PRIVATE KEY-----\n%s\n-----END OPENSSH PRIVATE KEY-----\n' % '\n'.join(
        text[index:index + 70] for index in range(0, len(text), 70))


def _rsa_numbers(name):
    return serialization.load_pem_private_key(make_keypair(name, 'rsa')[0].encode(), password=None).private_numbers()


def _swapped(numbers):
    """The same key with p and q swapped (and iqmp recomputed): valid, only written the other way round."""
    return rsa.RSAPrivateNumbers(numbers.q, numbers.p, numbers.d, numbers.dmq1, numbers.dmp1,
                                 pow(numbers.p, -1, numbers.q), numbers.public_numbers)


def _other_d(numbers):
    return rsa.RSAPrivateNumbers(numbers.p, numbers.q, numbers.d + 2, numbers.dmp1, numbers.dmq1, numbers.iqmp,
                                 numbers.public_numbers)


def _by_cryptography(data):
    """The key as the export read every file before the standard-library path: cryptography, then ``damaged``."""
    try:
        key = load_private_key(data)
    except runner.KeyMaterialError:
        return None
    return None if runner.damaged(key) else key


def _zero_padding(length):
    return b'\x00' * (-length % 8 or 8)


# (variant, how the file is built, whether it holds a usable key)
OPENSSH_RSA_VARIANTS = [
    ('as written', _openssh_rsa_file, True),
    ('p and q swapped', lambda n: _openssh_rsa_file(_swapped(n)), True),
    ('public n with a leading zero byte', lambda n: _openssh_rsa_file(n, public_pad=b'\x00'), True),
    ('check integers differ', lambda n: _openssh_rsa_file(n, check=(7, 8)), False),
    ('a KDF without a cipher', lambda n: _openssh_rsa_file(n, kdf=b'bcrypt'), False),
    ('bytes after the public key', lambda n: _openssh_rsa_file(n, public_trailing=b'\x00'), False),
    ('bytes after the private section', lambda n: _openssh_rsa_file(n, trailing=b'\x00' * 8), False),
    ('padding of zeros', lambda n: _openssh_rsa_file(n, padding=_zero_padding), False),
    ('a private exponent that does not fit', lambda n: _openssh_rsa_file(_other_d(n)), False),
    ('a public key of another n', lambda n: _openssh_rsa_file(n, public_n=n.public_numbers.n + 2), False),
]


@pytest.mark.parametrize('variant, build, usable', OPENSSH_RSA_VARIANTS, ids=[v[0] for v in OPENSSH_RSA_VARIANTS])
def test_openssh_rsa_files_are_read_without_cryptography_to_the_same_result(tmp_path, variant, build, usable):
    """Whatever a file holds, the standard library reads the same key from it as cryptography did, or leaves it to
    cryptography; a key it vouches for is never loaded with cryptography."""
    data = build(_rsa_numbers('stdlib-rsa')).encode()
    expected = _by_cryptography(data)
    assert (expected is not None) == usable, variant
    path = tmp_path / 'k.pem'
    path.write_bytes(data)
    with mock.patch.object(runner, 'load_private_key', wraps=load_private_key) as load:
        key = inspect(str(path)).key
    if usable:
        assert isinstance(key, runner.OpenSshRsaFileKey) and load.call_count == 0
        assert (key.public_key, key.fingerprint, key.source_format, key.key_type) == (
            expected.public_key, expected.fingerprint, 'openssh', 'ssh-rsa')
        assert key.public_key == ' '.join(make_keypair('stdlib-rsa', 'rsa')[1].split()[:2])
    else:
        assert key is None and load.call_count == 1


def test_the_file_the_export_writes_is_read_without_cryptography(tmp_path):
    private, public = make_keypair('stdlib-written', 'rsa')
    path = tmp_path / 'k.pem'
    path.write_text(as_openssh(private))
    with mock.patch.object(runner, 'load_private_key', side_effect=AssertionError('cryptography was used')):
        state = inspect(str(path))
    assert state.fingerprint == fingerprint(public) and state.key.source_format == 'openssh'
    assert runner.decide(state, {'public_key': public}) == 'none'
    assert runner.decide(state, {'public_key': make_keypair('stdlib-other', 'rsa')[1]}) == 'replace'


@pytest.mark.parametrize('field', range(6))
def test_a_damaged_openssh_rsa_file_is_replaced(tmp_path, field):
    """One bit flipped in n, e, d, iqmp, p or q: the file holds no usable key, whichever check finds it."""
    text = _openssh_rsa_file(_rsa_numbers('stdlib-damaged'))
    raw = bytearray(base64.b64decode(''.join(text.splitlines()[1:-1])))
    offset = raw.index(b'ssh-rsa', raw.index(b'ssh-rsa') + 7) + 7  # the type name in the private section
    for _index in range(field):
        offset += 4 + struct.unpack('>I', bytes(raw[offset:offset + 4]))[0]
    length = struct.unpack('>I', bytes(raw[offset:offset + 4]))[0]
    raw[offset + 4 + length // 2] ^= 0x10
    path = tmp_path / 'k.pem'
    path.write_text('-----BEGIN OPENSSH PRIVATE KEY-----\n%s\n-----END OPENSSH PRIVATE KEY-----\n'
                    % base64.b64encode(bytes(raw)).decode())
    state = inspect(str(path))
    assert state.exists and state.key is None
    assert runner.decide(state, {'public_key': make_keypair('stdlib-damaged', 'rsa')[1]}) == 'replace'


def test_an_encrypted_openssh_rsa_file_is_replaced(tmp_path):
    key = serialization.load_pem_private_key(make_keypair('stdlib-encrypted', 'rsa')[0].encode(), password=None)
    path = tmp_path / 'k.pem'
    path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH,
                                       serialization.BestAvailableEncryption(b'secret')))
    state = inspect(str(path))
    assert state.exists and state.key is None
    assert runner.decide(state, {'public_key': make_keypair('stdlib-encrypted', 'rsa')[1]}) == 'replace'


def test_a_broken_cryptography_fails_the_task_instead_of_replacing_files(tmp_path):
    """cryptography's key modules are imported on first use: if they do not import, the file is not taken for
    garbage (and replaced); the task fails saying what to fix."""
    path = tmp_path / 'k.pem'
    path.write_text(make_keypair('broken-cryptography')[0])
    with mock.patch.object(_keys, 'serialization', _keys._Deferred('cryptography.hazmat.no_such_module')):
        with pytest.raises(_keys.CryptographyImportError, match='cryptography is installed but '
                                                                'cryptography.hazmat.no_such_module does not import'):
            inspect(str(path))


def test_an_unchanged_openssh_rsa_file_does_not_import_cryptographys_key_modules(tmp_path):
    """What makes an unchanged export cheap (docs/benchmark.md): cryptography's key modules stay unimported."""
    private, public = make_keypair('stdlib-imports', 'rsa')
    path = tmp_path / 'k.pem'
    path.write_text(as_openssh(private))
    code = '\n'.join([
        'import sys',
        'from ansible_collections.huaweicloud.kps.plugins.module_utils import _export_runner as runner',
        'from ansible_collections.huaweicloud.kps.plugins.module_utils import _files',
        'with _files.open_dir(sys.argv[1]) as folder:',
        '    state = runner.inspect_file(folder, "k.pem", sys.argv[1] + "/k.pem")',
        'print(state.fingerprint)',
        'print(sorted(name for name in sys.modules if name.startswith("cryptography.hazmat")))',
    ])
    out = subprocess.run([sys.executable, '-c', code, str(tmp_path)], capture_output=True, text=True, check=True,
                         env=dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))).stdout.splitlines()
    assert out == [fingerprint(public), '[]']


@pytest.mark.parametrize('exists, right_key, file_format, force, fmt, action', [
    (False, False, None, False, 'openssh', 'create'),
    (False, False, None, True, 'openssh', 'create'),
    (True, False, 'openssh', False, 'openssh', 'replace'),
    (True, False, 'openssh', True, 'openssh', 'replace'),
    (True, True, 'openssh', False, 'openssh', 'none'),
    (True, True, 'openssh', True, 'openssh', 'rewrite'),
    (True, True, 'pkcs8', False, 'openssh', 'reformat'),
    (True, True, 'pkcs8', True, 'openssh', 'reformat'),
    (True, True, 'openssh', False, 'pkcs8', 'reformat'),
    (True, True, 'pkcs8', False, 'pkcs8', 'none'),
    (True, True, 'pem', False, 'pem', 'none'),
    (True, True, 'openssh', False, 'pem', 'reformat'),
    (True, True, 'openssh', False, 'kps', 'none'),
    (True, True, 'pem', False, 'kps', 'none'),
    (True, True, 'pem', True, 'kps', 'rewrite'),
    (True, False, 'pem', False, 'kps', 'replace'),
])
def test_decision_table(exists, right_key, file_format, force, fmt, action):
    private, public = make_keypair('decide-rsa', 'rsa')
    other = make_keypair('decide-other-rsa', 'rsa')[0]
    key = load_private_key(load_private_key(private if right_key else other).private_text(file_format)) if exists else None
    state = runner.FileState('/x', '/x', exists=exists, mode=0o600 if exists else None, key=key)
    assert runner.decide(state, {'public_key': public}, force, fmt) == action


def test_file_that_is_not_a_key_is_replaced():
    state = runner.FileState('/x', '/x', exists=True, mode=0o600, key=None)
    assert runner.decide(state, {'public_key': make_keypair('decide')[1]}) == 'replace'


# ----- single key pair -------------------------------------------------------------------------------------

class TestSingle:

    def test_check_real_check_repeat(self, kps, tmp_path):
        private = kps.add('web', kind='rsa')
        dest = str(tmp_path / 'web.pem')
        args = {'name': 'web', 'dest': dest}

        check = run(args, check_mode=True)
        assert check['changed'] and check['files'][0]['action'] == 'create'
        assert kps.exports == 0 and not os.path.exists(dest)

        real = run(args)
        assert real['changed'] and real['files'] == check['files']
        assert (kps.count('export'), kps.count('batch'), kps.count('show'), kps.count('list')) == (1, 0, 2, 0)
        assert read(dest) == as_openssh(private) and mode_of(dest) == 0o600
        assert dir_listing(str(tmp_path)) == ['web.pem']

        again = run(args, check_mode=True)
        repeat = run(args)
        for result in (again, repeat):
            assert not result['changed'] and result['files'][0]['action'] == 'none'
        assert kps.exports == 1, 'an unchanged run must not download any private key'

    def test_result_shape_and_no_key_material(self, kps, tmp_path):
        private = kps.add('web')
        public = make_keypair('web')[1]
        result = run({'name': 'web', 'dest': str(tmp_path / 'web.pem')}, diff=True)
        assert set(result['files'][0]) == {'name', 'path', 'fingerprint', 'action', 'changed', 'backup_file', 'format'}
        assert result['keypairs'] == [{'name': 'web', 'type': 'ssh', 'scope': 'user', 'public_key': public,
                                       'fingerprint': fingerprint(public), 'is_key_protection': True,
                                       'frozen_state': 0}]
        assert 'private_key' not in result and 'private_keys' not in result
        text = json.dumps(result)
        assert pem_body(private) not in text and 'PRIVATE KEY' not in text
        for line in private.splitlines()[1:-1]:
            assert line not in text

    def test_diff_before_after(self, kps, tmp_path):
        kps.add('web')
        kps.add('other')
        dest = tmp_path / 'web.pem'
        dest.write_text(make_keypair('other')[0])
        dest.chmod(0o644)
        result = run({'name': 'web', 'dest': str(dest)}, check_mode=True, diff=True)
        assert result['diff'] == [{
            'before_header': str(dest), 'after_header': str(dest),
            'before': {'exists': True, 'mode': '0644', 'fingerprint': fingerprint(make_keypair('other')[1]),
                       'format': 'pkcs8'},
            'after': {'exists': True, 'mode': '0600', 'fingerprint': fingerprint(make_keypair('web')[1]),
                      'format': 'openssh'},
        }]
        assert read(str(dest)) == make_keypair('other')[0]

    def test_wrong_key_is_replaced_with_backup(self, kps, tmp_path):
        private = kps.add('web')
        kps.add('other')
        dest = tmp_path / 'web.pem'
        dest.write_text(make_keypair('other')[0])
        dest.chmod(0o600)
        args = {'name': 'web', 'dest': str(dest), 'backup': True}
        assert run(args, check_mode=True)['files'][0]['action'] == 'replace'
        result = run(args)
        entry = result['files'][0]
        assert entry['action'] == 'replace' and entry['changed'] and entry['backup_file']
        assert read(entry['backup_file']) == make_keypair('other')[0]
        assert read(str(dest)) == as_openssh(private)
        assert not run(args)['changed']

    def test_garbage_file_is_replaced(self, kps, tmp_path):
        kps.add('web')
        dest = tmp_path / 'web.pem'
        dest.write_text('hello\n')
        assert run({'name': 'web', 'dest': str(dest)})['files'][0]['action'] == 'replace'
        assert load_private_key(read(str(dest))).public_key == make_keypair('web')[1]

    def test_wrong_mode_is_fixed_without_export(self, kps, tmp_path):
        kps.add('web')
        dest = tmp_path / 'web.pem'
        dest.write_text(as_openssh(make_keypair('web')[0]))
        dest.chmod(0o644)
        args = {'name': 'web', 'dest': str(dest)}
        check = run(args, check_mode=True)
        assert check['changed'] and check['files'][0]['action'] == 'attributes'
        assert mode_of(str(dest)) == 0o644
        real = run(args)
        assert real['changed'] and real['files'][0]['action'] == 'attributes' and mode_of(str(dest)) == 0o600
        assert kps.exports == 0
        assert not run(args)['changed']

    @pytest.mark.parametrize('mode, expected', [('0640', 0o640), ('u=rw,g=r', 0o640), (0o400, 0o400)])
    def test_mode_option(self, kps, tmp_path, mode, expected):
        kps.add('web')
        dest = str(tmp_path / 'web.pem')
        args = {'name': 'web', 'dest': dest, 'mode': mode}
        check = run(args, check_mode=True, diff=True)
        assert check['diff'][0]['after']['mode'] == '0%03o' % expected
        run(args)
        assert mode_of(dest) == expected
        assert not run(args)['changed']

    def test_invalid_mode_fails_before_any_call(self, kps, tmp_path):
        kps.add('web')
        result = run({'name': 'web', 'dest': str(tmp_path / 'w.pem'), 'mode': 'rwx-nonsense'}, fail=True)
        assert 'mode' in result['msg'] and kps.calls == []

    def test_force_rewrites(self, kps, tmp_path):
        kps.add('web')
        dest = tmp_path / 'web.pem'
        dest.write_text(as_openssh(make_keypair('web')[0]))
        dest.chmod(0o600)
        args = {'name': 'web', 'dest': str(dest), 'force': True}
        assert run(args, check_mode=True)['files'][0]['action'] == 'rewrite'
        assert kps.exports == 0
        result = run(args)
        assert result['changed'] and result['files'][0]['action'] == 'rewrite' and kps.count('export') == 1

    def test_symlink_dest_is_replaced_and_its_target_untouched(self, kps, tmp_path):
        kps.add('web')
        target = tmp_path / 'real.pem'
        target.write_text('old\n')
        target.chmod(0o644)
        link = tmp_path / 'web.pem'
        link.symlink_to(target)
        checked = run({'name': 'web', 'dest': str(link)}, check_mode=True)
        assert checked['files'][0]['action'] == 'replace' and link.is_symlink()
        result = run({'name': 'web', 'dest': str(link)})
        assert result['files'][0]['action'] == 'replace'
        assert not link.is_symlink() and load_private_key(read(str(link))).public_key == make_keypair('web')[1]
        assert read(str(target)) == 'old\n' and mode_of(str(target)) == 0o644

    def test_a_link_to_a_directory_at_dest_is_replaced_and_the_directory_untouched(self, kps, tmp_path):
        kps.add('web')
        elsewhere = tmp_path / 'elsewhere'
        elsewhere.mkdir()
        link = tmp_path / 'web.pem'
        link.symlink_to(elsewhere)
        assert run({'name': 'web', 'dest': str(link)})['files'][0]['action'] == 'replace'
        assert not link.is_symlink() and read(str(link)) == as_openssh(make_keypair('web')[0])
        assert os.listdir(str(elsewhere)) == []

    def test_damaged_key_file_is_replaced(self, kps, tmp_path):
        kps.add('rsa-web', kind='rsa')
        dest = tmp_path / 'rsa-web.pem'
        dest.write_bytes(_damaged_rsa_pem('rsa-web'))
        dest.chmod(0o600)
        args = {'name': 'rsa-web', 'dest': str(dest)}
        assert run(args, check_mode=True)['files'][0]['action'] == 'replace'
        assert run(args)['files'][0]['action'] == 'replace'
        assert read(str(dest)) == as_openssh(make_keypair('rsa-web', 'rsa')[0])
        assert run(args)['changed'] is False

    def test_missing_parent_dir_fails_before_any_call(self, kps, tmp_path):
        kps.add('web')
        result = run({'name': 'web', 'dest': str(tmp_path / 'no' / 'web.pem')}, fail=True)
        assert 'does not exist' in result['msg'] and 'create_dirs' in result['msg']
        assert kps.calls == []

    def test_create_dirs(self, kps, tmp_path):
        kps.add('web')
        dest = tmp_path / 'a' / 'b' / 'web.pem'
        args = {'name': 'web', 'dest': str(dest), 'create_dirs': True}
        assert run(args, check_mode=True)['changed'] and not (tmp_path / 'a').exists()
        assert run(args)['changed']
        assert mode_of(str(tmp_path / 'a' / 'b')) == 0o700 and mode_of(str(dest)) == 0o600
        assert not run(args)['changed']

    def test_dest_is_a_directory(self, kps, tmp_path):
        kps.add('web')
        result = run({'name': 'web', 'dest': str(tmp_path)}, fail=True)
        assert 'is a directory' in result['msg'] and kps.calls == []

    @pytest.mark.parametrize('hosted', [False, None])
    def test_not_hosted_or_missing_fails_before_export(self, kps, tmp_path, hosted):
        if hosted is not None:
            kps.add('web', hosted=hosted)
        result = run({'name': 'web', 'dest': str(tmp_path / 'web.pem')}, fail=True)
        assert ('hosts no private key' if hosted is False else 'does not exist') in result['msg']
        assert kps.exports == 0 and dir_listing(str(tmp_path)) == []

    def test_export_returning_another_key_writes_nothing(self, kps, tmp_path):
        kps.add('web')
        kps.keypairs['web']['_private'] = make_keypair('intruder')[0]
        dest = tmp_path / 'web.pem'
        result = run({'name': 'web', 'dest': str(dest)}, fail=True)
        assert 'is not the key pair' in result['msg'] and dir_listing(str(tmp_path)) == []
        assert pem_body(make_keypair('intruder')[0]) not in json.dumps(result)

    def test_api_error_is_reported_with_code(self, kps, tmp_path):
        kps.add('web')
        with mock.patch.object(FakeKps, 'export_private_key', side_effect=HuaweiCloudError(
                'export private key', status=403, error_code='KPS.9003', error_msg='denied', request_id='r-9')):
            result = run({'name': 'web', 'dest': str(tmp_path / 'web.pem')}, fail=True)
        assert (result['error_code'], result['request_id']) == ('KPS.9003', 'r-9')
        assert dir_listing(str(tmp_path)) == []


# ----- many key pairs --------------------------------------------------------------------------------------

def _seed(kps, count, prefix='k'):
    names = ['%s%02d' % (prefix, index) for index in range(count)]
    for name in names:
        kps.add(name)
    return names


def test_exported_files_are_named_after_the_key_pair_and_carry_no_mark(kps, tmp_path):
    """The rule of the dest option's documentation: <name>.pem in any format, and an OpenSSH-format file with an
    empty comment (only the role marks its files, with huaweicloud.kps:NAME)."""
    names = _seed(kps, 2)
    run({'names': names, 'dest': str(tmp_path)})
    assert dir_listing(str(tmp_path)) == ['k00.pem', 'k01.pem']
    for name in names:
        text = read(str(tmp_path / (name + '.pem')))
        assert text.startswith('-----BEGIN OPENSSH PRIVATE KEY-----') and openssh_comment(text) == ''


class TestBatch:

    @pytest.mark.parametrize('count, batches', [(2, [2]), (10, [10]), (11, [10, 1]), (25, [10, 10, 5])])
    def test_check_real_check_repeat(self, kps, tmp_path, count, batches):
        names = _seed(kps, count)
        kps.add('unrelated')
        args = {'names': names, 'dest': str(tmp_path)}

        check = run(args, check_mode=True)
        assert check['changed'] and kps.exports == 0 and dir_listing(str(tmp_path)) == []
        assert [item['action'] for item in check['files']] == ['create'] * count

        real = run(args)
        assert real['changed'] and real['files'] == check['files']
        assert [len(call[1]) for call in kps.calls if call[0] == 'batch'] == batches
        assert kps.count('export') == 0 and kps.count('show') == 0 and kps.count('list') == 2
        assert dir_listing(str(tmp_path)) == sorted('%s.pem' % name for name in names)
        for name in names:
            path = str(tmp_path / ('%s.pem' % name))
            assert mode_of(path) == 0o600
            assert load_private_key(read(path)).public_key == make_keypair(name)[1]

        for result in (run(args, check_mode=True), run(args)):
            assert not result['changed'] and {item['action'] for item in result['files']} == {'none'}
        assert kps.exports == len(batches)
        assert [item['name'] for item in real['keypairs']] == names

    def test_only_missing_or_wrong_files_are_exported(self, kps, tmp_path):
        names = _seed(kps, 5)
        for name in names[:3]:
            (tmp_path / ('%s.pem' % name)).write_text(as_openssh(make_keypair(name)[0]))
            (tmp_path / ('%s.pem' % name)).chmod(0o600)
        (tmp_path / 'k03.pem').write_text(make_keypair('k00')[0])  # another key pair's key
        result = run({'names': names, 'dest': str(tmp_path)})
        assert [item['action'] for item in result['files']] == ['none', 'none', 'none', 'replace', 'create']
        assert [call for call in kps.calls if call[0] == 'batch'] == [('batch', ['k03', 'k04'])]

    def test_one_file_to_write_uses_the_single_export_call(self, kps, tmp_path):
        names = _seed(kps, 3)
        for name in names[1:]:
            (tmp_path / ('%s.pem' % name)).write_text(as_openssh(make_keypair(name)[0]))
            (tmp_path / ('%s.pem' % name)).chmod(0o600)
        result = run({'names': names, 'dest': str(tmp_path)})
        assert (kps.count('export'), kps.count('batch')) == (1, 0)
        assert '1 export call' in result['msg']

    def test_problems_are_all_named_before_any_export(self, kps, tmp_path):
        _seed(kps, 3)
        kps.add('cold1', hosted=False)
        kps.add('cold2', hosted=False)
        result = run({'names': ['k00', 'gone1', 'cold1', 'k01', 'gone2', 'cold2'], 'dest': str(tmp_path)}, fail=True)
        assert result['missing'] == ['gone1', 'gone2'] and result['not_hosted'] == ['cold1', 'cold2']
        for name in ('gone1', 'gone2', 'cold1', 'cold2'):
            assert name in result['msg']
        assert kps.exports == 0 and dir_listing(str(tmp_path)) == []

    def test_fail_on_missing_false_exports_the_others_and_names_the_skipped(self, kps, tmp_path):
        names = _seed(kps, 2)
        kps.add('cold', hosted=False)
        (tmp_path / 'gone.pem').write_text('a file of a key pair that is gone stays as it is')
        args = {'names': ['gone', 'k00', 'cold', 'k01'], 'dest': str(tmp_path), 'fail_on_missing': False}
        warning = ('huaweicloud.kps.kps_private_key_export: key pair gone does not exist in KPS; KPS hosts no '
                   'private key for key pair cold (import one with huaweicloud.kps.kps_private_key_import). '
                   'fail_on_missing is false: they are skipped.')
        skipped = (' Skipped: key pair gone does not exist in KPS; KPS hosts no private key for key pair cold '
                   '(import one with huaweicloud.kps.kps_private_key_import).')
        results = [run(args, check_mode=True, diff=True), run(args, diff=True), run(args, check_mode=True), run(args)]
        for result in results:
            assert (result['missing'], result['not_hosted']) == (['gone'], ['cold'])
            assert result['warnings'] == [warning]
            assert [item['name'] for item in result['files']] == names
            assert [item['name'] for item in result['keypairs']] == names
        assert [result['changed'] for result in results] == [True, True, False, False]
        assert results[0]['msg'] == 'Would write 2 of 2 private key files (1 batch export call).' + skipped
        assert results[1]['files'] == results[0]['files'] and len(results[1]['diff']) == 2
        assert results[3]['msg'] == 'All 2 private key files already up to date; nothing exported.' + skipped
        assert dir_listing(str(tmp_path)) == ['gone.pem', 'k00.pem', 'k01.pem']
        assert read(str(tmp_path / 'gone.pem')).startswith('a file of a key pair')
        assert kps.calls.count(('batch', names)) == 1 and kps.exports == 1

    @pytest.mark.parametrize('args', [{'name': 'gone'}, {'names': ['gone', 'cold']}])
    def test_fail_on_missing_false_with_nothing_to_export(self, kps, tmp_path, args):
        kps.add('cold', hosted=False)
        dest = tmp_path / 'keys'
        with_dest = dict(args, dest=str(dest / 'gone.pem') if 'name' in args else str(dest), create_dirs=True,
                         fail_on_missing=False)
        result = run(with_dest)
        assert not result['changed'] and result['files'] == [] and result['missing'] == ['gone']
        assert result['msg'].startswith('No private key file to write; nothing exported. Skipped: ')
        assert not dest.exists()  # no directory for nothing
        values = run(dict(args, fail_on_missing=False), no_log=True)
        assert values['msg'].startswith('Nothing exported. Skipped: key pair')
        assert values.get('private_key', values.get('private_keys')) in (None, {})
        assert kps.exports == 0

    def test_fail_on_missing_false_without_dest_returns_the_keys_that_exist(self, kps):
        names = _seed(kps, 2)
        check = run({'names': ['k00', 'gone', 'k01'], 'fail_on_missing': False}, check_mode=True, no_log=True)
        real = run({'names': ['k00', 'gone', 'k01'], 'fail_on_missing': False}, no_log=True)
        assert check['private_keys'] == {'k00': None, 'k01': None} and check['missing'] == ['gone']
        assert sorted(real['private_keys']) == names and real['missing'] == ['gone']
        for name in names:
            assert load_private_key(real['private_keys'][name]).public_key == make_keypair(name)[1]
        assert real['msg'] == ('Exported 2 private keys with 1 batch export call. Skipped: key pair gone does not '
                               'exist in KPS.')

    def test_by_default_the_result_lists_nothing_missing(self, kps, tmp_path):
        _seed(kps, 1)
        result = run({'names': ['k00'], 'dest': str(tmp_path)})
        assert (result['missing'], result['not_hosted']) == ([], []) and 'Skipped' not in result['msg']

    def test_duplicate_names_fail_before_any_call(self, kps, tmp_path):
        result = run({'names': ['a', 'b', 'a'], 'dest': str(tmp_path)}, fail=True)
        assert 'more than once' in result['msg'] and kps.calls == []

    def test_name_and_names_are_exclusive(self, kps, tmp_path):
        result = run({'name': 'a', 'names': ['b'], 'dest': str(tmp_path)}, fail=True)
        assert 'mutually exclusive' in result['msg']

    def test_dest_must_be_a_directory(self, kps, tmp_path):
        _seed(kps, 2)
        (tmp_path / 'file').write_text('x')
        result = run({'names': ['k00', 'k01'], 'dest': str(tmp_path / 'file')}, fail=True)
        assert 'not a directory' in result['msg'] and kps.calls == []

    def test_missing_dir_and_create_dirs(self, kps, tmp_path):
        names = _seed(kps, 3)
        dest = tmp_path / 'keys'
        failed = run({'names': names, 'dest': str(dest)}, fail=True)
        assert 'does not exist' in failed['msg'] and kps.calls == []
        args = {'names': names, 'dest': str(dest), 'create_dirs': True}
        assert run(args, check_mode=True)['changed'] and not dest.exists()
        assert run(args)['changed'] and mode_of(str(dest)) == 0o700 and len(dir_listing(str(dest))) == 3

    @root_only
    def test_a_replaced_file_belongs_to_the_running_user_not_its_old_owner(self, kps, tmp_path):
        names = _seed(kps, 2)
        planted = tmp_path / 'k00.pem'
        planted.write_text('planted by another user')
        os.chown(str(planted), NOBODY, NOGROUP)
        planted.chmod(0o666)
        run({'names': names, 'dest': str(tmp_path)})
        for name in names:
            st = os.stat(str(tmp_path / ('%s.pem' % name)))
            assert (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) == (os.geteuid(), os.getegid(), 0o600)

    @root_only
    def test_owner_and_group_with_a_non_root_user_and_group(self, kps, tmp_path):
        names = _seed(kps, 3)
        # the right key in the right format, root's: only gets the new owner
        (tmp_path / 'k01.pem').write_text(as_openssh(make_keypair('k01')[0]))
        args = {'names': names, 'dest': str(tmp_path), 'owner': 'nobody', 'group': 'nogroup', 'mode': '0640'}
        checked = run(args, check_mode=True)
        assert [item['action'] for item in checked['files']] == ['create', 'attributes', 'create']
        assert os.stat(str(tmp_path / 'k01.pem')).st_uid == 0
        result = run(args)
        assert [item['action'] for item in result['files']] == ['create', 'attributes', 'create']
        for name in names:
            st = os.stat(str(tmp_path / ('%s.pem' % name)))
            assert (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) == (NOBODY, NOGROUP, 0o640)
        assert run(args)['changed'] is False

    @root_only
    def test_a_hard_linked_right_key_is_replaced_not_chowned(self, kps, tmp_path):
        names = _seed(kps, 1)
        elsewhere = tmp_path / 'root-only'
        elsewhere.mkdir(mode=0o700)
        victim = elsewhere / 'k00.pem'
        victim.write_text(make_keypair('k00')[0])
        victim.chmod(0o600)
        keys = tmp_path / 'keys'
        keys.mkdir()
        os.link(str(victim), str(keys / 'k00.pem'))
        result = run({'names': names, 'dest': str(keys), 'owner': 'nobody'})
        assert result['files'][0]['action'] == 'replace'
        st = os.stat(str(victim))
        assert (st.st_uid, st.st_nlink) == (0, 1) and os.stat(str(keys / 'k00.pem')).st_uid == NOBODY

    def test_unknown_owner_fails_before_any_call(self, kps, tmp_path):
        names = _seed(kps, 2)
        failed = run({'names': names, 'dest': str(tmp_path), 'owner': 'no-such-user-kps'}, fail=True)
        assert failed['msg'] == 'owner no-such-user-kps does not exist on this host; give an existing user name or uid.'
        assert kps.calls == [] and dir_listing(str(tmp_path)) == []


# ----- hostile or broken archives: fail, write nothing -----------------------------------------------------

def _truncated(entries):
    return build_zip(entries)[:-40]


def _corrupt(entries):
    data = bytearray(build_zip(entries, zipfile.ZIP_DEFLATED))
    data[60:80] = b'\xff' * 20
    return bytes(data)


def _renamed(new_name):
    def hook(entries):
        return build_zip([(new_name, entries[0][1])] + entries[1:])
    return hook


def _extra_entry(entries):
    return build_zip(entries + [('intruder.pem', make_keypair('intruder')[0].encode())])


def _lacks_one(entries):
    return build_zip(entries[:-1])


def _duplicate(entries):
    return build_zip(entries + [entries[0]])


def _bomb(entries):
    return build_zip([(entries[0][0], entries[0][1] + b'\n' * (2 * 1024 * 1024))] + entries[1:], zipfile.ZIP_DEFLATED)


def _not_a_zip(_entries):
    return b'{"error_code": "KPS.0003"}'


@pytest.mark.filterwarnings('ignore:Duplicate name')
@pytest.mark.parametrize('hook, message', [
    (_truncated, 'not a readable zip|corrupt or truncated'),
    (_corrupt, 'not a readable zip|corrupt or truncated'),
    (_not_a_zip, 'not a readable zip'),
    (_renamed('../k00.pem'), 'unsafe name'),
    (_renamed('/etc/k00.pem'), 'unsafe name'),
    (_duplicate, 'twice'),
    (_bomb, 'larger than any private key'),
])
def test_hostile_archive_writes_nothing(kps, tmp_path, hook, message):
    names = _seed(kps, 12)
    (tmp_path / 'k00.pem').write_text('previous content\n')
    (tmp_path / 'k00.pem').chmod(0o640)
    before = snapshot(str(tmp_path))
    kps.zip_hook = hook
    result = run({'names': names, 'dest': str(tmp_path)}, fail=True)
    assert re.search(message, result['msg']), result['msg']
    assert snapshot(str(tmp_path)) == before
    assert 'PRIVATE KEY' not in json.dumps(result)


def _readme_and_public_keys(entries):
    return build_zip([('keys/', b''), ('README.txt', b'hello')] + entries +
                     [(name[:-4] + '.pub', b'ssh-ed25519 AAAA') for name, _data in entries])


@pytest.mark.parametrize('dest', [True, False])
def test_entries_that_are_not_private_keys_are_ignored(kps, tmp_path, dest):
    names = _seed(kps, 12)
    kps.zip_hook = _readme_and_public_keys
    args = {'names': names, 'dest': str(tmp_path)} if dest else {'names': names}
    result = run(args, no_log=True)
    assert not result['warnings'] and kps.count('batch') == 2 and kps.count('export') == 0
    if dest:
        assert sorted(os.listdir(str(tmp_path))) == ['%s.pem' % name for name in names]
    else:
        assert result['private_keys'] == dict((name, as_openssh(make_keypair(name)[0])) for name in names)


@pytest.mark.parametrize('hook, reason', [(_extra_entry, 'matches no requested key pair'),
                                          (_lacks_one, 'lacks the private key of k09')])
@pytest.mark.parametrize('dest', [True, False])
def test_an_archive_that_cannot_be_matched_falls_back_to_single_exports(kps, tmp_path, hook, reason, dest):
    names = _seed(kps, 12)
    kps.zip_hook = hook
    args = {'names': names, 'dest': str(tmp_path)} if dest else {'names': names}
    result = run(args, no_log=True)
    # each batch archive is unusable, so every key pair of each batch is exported on its own
    assert kps.count('batch') == 2 and kps.count('export') == 12
    assert len(result['warnings']) == 2 and reason in result['warnings'][0]
    assert 'one call each instead' in result['warnings'][0] and 'PRIVATE KEY' not in json.dumps(result['warnings'])
    for name in names:
        if dest:
            assert read(str(tmp_path / ('%s.pem' % name))) == as_openssh(make_keypair(name)[0])
        else:
            assert result['private_keys'][name] == as_openssh(make_keypair(name)[0])
    assert 'intruder.pem' not in os.listdir(str(tmp_path))


def test_a_key_missing_from_the_archive_is_never_returned_as_a_value(kps, tmp_path):
    """The fallback export of the dropped key fails: the task fails, nothing is returned or written."""
    names = _seed(kps, 3)
    kps.zip_hook = _lacks_one
    kps.keypairs['k02']['_private'] = make_keypair('other')[0]  # single export answers with a foreign key
    for args in ({'names': names}, {'names': names, 'dest': str(tmp_path)}):
        result = run(args, no_log=True, fail=True)
        assert "KPS returned a private key for key pair k02 whose public key" in result['msg']
        assert 'private_keys' not in result and 'private_key' not in result
    assert os.listdir(str(tmp_path)) == []


def test_failure_in_a_later_batch_writes_nothing_at_all(kps, tmp_path):
    names = _seed(kps, 25)
    (tmp_path / 'k01.pem').write_text(make_keypair('k02')[0])
    before = snapshot(str(tmp_path))
    kps.fail_batch_call = 3
    result = run({'names': names, 'dest': str(tmp_path)}, fail=True)
    assert result['error_code'] == 'KPS.0003'
    assert kps.count('batch') == 3
    assert snapshot(str(tmp_path)) == before


def test_disk_failure_while_staging_changes_no_file(kps, tmp_path):
    names = _seed(kps, 4)
    for name in names:
        (tmp_path / ('%s.pem' % name)).write_text('old %s\n' % name)
    before = snapshot(str(tmp_path))
    real_fsync = os.fsync
    calls = []

    def flaky_fsync(fd):
        calls.append(fd)
        if len(calls) == 3:
            raise OSError(28, 'No space left on device')
        return real_fsync(fd)

    with mock.patch.object(runner.os, 'fsync', side_effect=flaky_fsync):
        result = run({'names': names, 'dest': str(tmp_path)}, fail=True)
    assert 'No space left on device' in result['msg']
    assert snapshot(str(tmp_path)) == before, 'no file replaced and no temp file left behind'


def test_replace_failure_removes_temp_files(kps, tmp_path):
    names = _seed(kps, 3)
    with mock.patch.object(runner.os, 'replace', side_effect=OSError(13, 'Permission denied')):
        result = run({'names': names, 'dest': str(tmp_path)}, fail=True)
    assert 'Permission denied' in result['msg'] and dir_listing(str(tmp_path)) == []


def test_temp_files_are_0600_until_complete_and_have_their_final_mode_at_the_rename(kps, tmp_path):
    names = _seed(kps, 3)
    seen = []
    real_write, real_replace = os.write, os.replace

    def spy_write(fd, data):
        seen.append(('write', stat.S_IMODE(os.fstat(fd).st_mode)))
        return real_write(fd, data)

    def spy_replace(src, dst, **kwargs):
        seen.append(('replace', stat.S_IMODE(os.stat(src, dir_fd=kwargs['src_dir_fd']).st_mode)))
        return real_replace(src, dst, **kwargs)

    old_umask = os.umask(0)
    try:
        with mock.patch.object(runner.os, 'write', spy_write), mock.patch.object(runner.os, 'replace', spy_replace):
            run({'names': names, 'dest': str(tmp_path), 'mode': '0644'})
    finally:
        os.umask(old_umask)
    assert seen == [('write', 0o600)] * 3 + [('replace', 0o644)] * 3
    assert [mode_of(str(tmp_path / ('%s.pem' % name))) for name in names] == [0o644] * 3


def test_an_unwritable_directory_fails_before_any_export(kps, tmp_path):
    names = _seed(kps, 3)
    real_open = os.open

    def read_only(path, flags, *args, **kwargs):
        if flags & os.O_CREAT:
            raise OSError(30, 'Read-only file system')
        return real_open(path, flags, *args, **kwargs)

    with mock.patch.object(runner.os, 'open', read_only):
        failed = run({'names': names, 'dest': str(tmp_path)}, fail=True)
    assert failed['msg'] == ('Cannot create a temporary file in %s: Read-only file system. Nothing was exported.'
                             % tmp_path)
    assert kps.exports == 0 and dir_listing(str(tmp_path)) == []


def test_a_run_that_fails_half_way_lists_the_files_it_changed(kps, tmp_path):
    names = _seed(kps, 3)
    real_replace = os.replace
    done = []

    def third_fails(src, dst, **kwargs):
        if len(done) == 2:
            raise OSError(28, 'No space left on device')
        done.append(dst)
        return real_replace(src, dst, **kwargs)

    with mock.patch.object(runner.os, 'replace', third_fails):
        failed = run({'names': names, 'dest': str(tmp_path / 'new'), 'create_dirs': True}, fail=True)
    changed = [str(tmp_path / 'new'), str(tmp_path / 'new' / 'k00.pem'), str(tmp_path / 'new' / 'k01.pem')]
    assert failed['changed'] is True and failed['changed_files'] == changed
    assert failed['msg'] == ('Could not replace %s: No space left on device. Changed before the failure: %s.'
                             % (tmp_path / 'new' / 'k02.pem', ', '.join(changed)))
    assert dir_listing(str(tmp_path / 'new')) == ['k00.pem', 'k01.pem']


def test_an_export_failure_after_creating_the_directory_lists_it(kps, tmp_path):
    names = _seed(kps, 3)
    kps.fail_batch_call = 1
    failed = run({'names': names, 'dest': str(tmp_path / 'new'), 'create_dirs': True}, fail=True)
    assert failed['error_code'] == 'KPS.0003' and failed['changed_files'] == [str(tmp_path / 'new')]
    assert failed['msg'].startswith("KPS call 'batch export' failed: ")
    assert failed['msg'].endswith('. Changed before the failure: %s.' % (tmp_path / 'new'))


# ----- without dest: values, not files ---------------------------------------------------------------------

class TestNoDest:

    def test_single_key_is_returned_with_a_warning(self, kps):
        private = kps.add('web')
        result = run({'name': 'web'})
        assert result['private_key'] == as_openssh(private) and not result['changed']
        assert any('no_log' in warning for warning in result['warnings'])
        assert not any(pem_body(private) in warning for warning in result['warnings'])
        assert kps.count('export') == 1 and 'files' not in result

    def test_many_keys_no_warning_with_no_log(self, kps):
        names = _seed(kps, 12)
        result = run({'names': names}, no_log=True)
        assert result['private_keys'] == dict((name, as_openssh(make_keypair(name)[0])) for name in names)
        assert result['warnings'] == [] and not result['changed']
        assert [len(call[1]) for call in kps.calls if call[0] == 'batch'] == [10, 2]

    def test_check_mode_exports_nothing(self, kps):
        names = _seed(kps, 3)
        result = run({'names': names}, check_mode=True, no_log=True)
        assert result['private_keys'] == dict((name, None) for name in names)
        assert kps.exports == 0 and not result['changed']
        assert run({'name': 'k00'}, check_mode=True, no_log=True)['private_key'] is None

    def test_not_hosted_fails(self, kps):
        kps.add('cold', hosted=False)
        result = run({'name': 'cold'}, fail=True, no_log=True)
        assert 'hosts no private key' in result['msg'] and kps.exports == 0


# ----- format ----------------------------------------------------------------------------------------------

KIND_FORMATS = [(kind, fmt) for kind in ('rsa', 'ec', 'ed25519') for fmt in ('openssh', 'pkcs8', 'pem', 'kps')
                if not (kind == 'ed25519' and fmt == 'pem')]
FIRST_LINES = {
    ('rsa', 'openssh'): 'OPENSSH', ('rsa', 'pkcs8'): 'PRIVATE', ('rsa', 'pem'): 'RSA', ('rsa', 'kps'): 'RSA',
    ('ec', 'openssh'): 'OPENSSH', ('ec', 'pkcs8'): 'PRIVATE', ('ec', 'pem'): 'EC', ('ec', 'kps'): 'EC',
    ('ed25519', 'openssh'): 'OPENSSH', ('ed25519', 'pkcs8'): 'PRIVATE', ('ed25519', 'kps'): 'PRIVATE',
}


def _first_line(kind, fmt):
    return '-----BEGIN %s KEY-----' % ('PRIVATE' if FIRST_LINES[kind, fmt] == 'PRIVATE'
                                       else FIRST_LINES[kind, fmt] + ' PRIVATE')


class TestFormat:

    @pytest.mark.parametrize('kind, fmt', KIND_FORMATS)
    def test_file_and_value_in_each_format(self, kps, tmp_path, kind, fmt):
        private = kps.add('web-' + kind, kind=kind)
        dest = str(tmp_path / 'web.pem')
        result = run({'name': 'web-' + kind, 'dest': dest, 'format': fmt})
        expected_format = {'RSA': 'pem', 'EC': 'pem', 'PRIVATE': 'pkcs8', 'OPENSSH': 'openssh'}[FIRST_LINES[kind, fmt]]
        text = load_private_key(private).private_text(expected_format)
        assert read(dest) == text and text.splitlines()[0] == _first_line(kind, fmt)
        assert result['files'][0]['format'] == expected_format
        assert run({'name': 'web-' + kind, 'format': fmt}, no_log=True)['private_key'] == text
        assert not run({'name': 'web-' + kind, 'dest': dest, 'format': fmt})['changed']

    def test_reformat_check_real_check_repeat(self, kps, tmp_path):
        private = kps.add('web', kind='rsa')
        dest = tmp_path / 'web.pem'
        dest.write_text(private)  # the right key, as release 1.0.0 wrote it (PKCS#1)
        dest.chmod(0o600)
        args = {'name': 'web', 'dest': str(dest)}

        check = run(args, check_mode=True, diff=True)
        assert check['changed'] and check['files'][0]['action'] == 'reformat'
        assert check['msg'] == 'Would rewrite 1 file holding the right key to the openssh format (1 export call).'
        assert [(item['before']['format'], item['after']['format']) for item in check['diff']] == [('pem', 'openssh')]
        assert check['diff'][0]['before']['fingerprint'] == check['diff'][0]['after']['fingerprint']
        assert read(str(dest)) == private and kps.exports == 0

        real = run(args, diff=True)
        assert real['changed'] and real['files'] == check['files'] and real['diff'] == check['diff']
        assert real['msg'] == 'Rewrote 1 file holding the right key to the openssh format (1 export call).'
        assert read(str(dest)) == as_openssh(private) and mode_of(str(dest)) == 0o600

        for result in (run(args, check_mode=True), run(args)):
            assert not result['changed'] and result['files'][0]['action'] == 'none'
            assert result['files'][0]['format'] == 'openssh'
        assert kps.exports == 1

    def test_reformat_and_write_in_one_message(self, kps, tmp_path):
        names = _seed(kps, 3)
        (tmp_path / 'k00.pem').write_text(make_keypair('k00')[0])  # right key, PKCS#8
        (tmp_path / 'k01.pem').write_text(as_openssh(make_keypair('k01')[0]))
        result = run({'names': names, 'dest': str(tmp_path)}, check_mode=True)
        assert [item['action'] for item in result['files']] == ['reformat', 'attributes', 'create']
        assert result['msg'] == ('Would write 1 of 3 private key files, would rewrite 1 file holding the right key '
                                 'to the openssh format (1 batch export call); would fix the mode or owner of 1 file.')

    def test_kps_format_keeps_any_encoding_of_the_right_key(self, kps, tmp_path):
        private = kps.add('web', kind='rsa')
        dest = tmp_path / 'web.pem'
        dest.write_text(as_openssh(private))
        dest.chmod(0o600)
        result = run({'name': 'web', 'dest': str(dest), 'format': 'kps'}, check_mode=True, diff=True)
        assert not result['changed'] and result['files'][0]['format'] == 'openssh'
        forced = run({'name': 'web', 'dest': str(dest), 'format': 'kps', 'force': True}, check_mode=True, diff=True)
        assert forced['files'][0]['format'] is None and forced['diff'][0]['after']['format'] is None
        forced = run({'name': 'web', 'dest': str(dest), 'format': 'kps', 'force': True}, diff=True)
        assert forced['files'][0]['format'] == 'pem' and read(str(dest)) == private

    def test_kps_format_writes_only_the_parsed_key(self, kps, tmp_path):
        """Not the server's bytes: no junk around the PEM block, our line endings, a final newline."""
        private = kps.add('web', kind='rsa')
        kps.keypairs['web']['_private'] = 'junk before\r\n' + private.replace('\n', '\r\n').strip() + '\r\nmore junk'
        dest = str(tmp_path / 'web.pem')
        run({'name': 'web', 'dest': dest, 'format': 'kps'})
        assert read(dest) == private
        names = _seed(kps, 2)
        kps.keypairs['k00']['_private'] = private_with_junk = make_keypair('k00')[0] + 'trailing junk\n'
        assert 'junk' in private_with_junk
        run({'names': names, 'dest': str(tmp_path), 'format': 'kps'})
        assert read(str(tmp_path / 'k00.pem')) == make_keypair('k00')[0]

    @pytest.mark.parametrize('dest', [True, False])
    @pytest.mark.parametrize('check_mode', [True, False])
    def test_traditional_pem_of_ed25519_fails_before_any_export(self, kps, tmp_path, dest, check_mode):
        kps.add('rsa-key', kind='rsa')
        kps.add('ed-a')
        kps.add('ed-b')
        args = {'names': ['ed-a', 'rsa-key', 'ed-b'], 'format': 'pem'}
        if dest:
            args['dest'] = str(tmp_path)
        result = run(args, check_mode=check_mode, fail=True)
        assert result['msg'] == ('format=pem (traditional PEM) does not exist for ED25519 keys (key pairs ed-a, '
                                 'ed-b). Use format=openssh, which every OpenSSH since 6.5 loads, or format=pkcs8. '
                                 'Nothing was exported or written.')
        assert kps.exports == 0 and dir_listing(str(tmp_path)) == []
        # The result holds no private key, so no warning says it does (without dest, no_log is not set here).
        assert not result.get('warnings'), result.get('warnings')

    def test_check_mode_warns_about_a_key_pair_that_does_not_exist_yet(self, kps, tmp_path):
        kps.add('cold', hosted=False)
        dest = str(tmp_path / 'keys')
        args = {'names': ['new', 'cold'], 'dest': dest, 'create_dirs': True}
        check = run(args, check_mode=True, diff=True)
        assert check['changed'] and [item['action'] for item in check['files']] == ['create', 'create']
        assert check['warnings'] == [
            'huaweicloud.kps.kps_private_key_export: key pair new does not exist in KPS; KPS hosts no private key '
            'for key pair cold (import one with huaweicloud.kps.kps_private_key_import). Check mode goes on as if '
            'an earlier task of the play had fixed that; a real run fails unless one does.']
        assert check['keypairs'][0]['name'] == 'new' and check['keypairs'][0]['fingerprint'] is None
        assert kps.exports == 0 and not os.path.exists(dest)
        real = run(args, fail=True)
        assert real['missing'] == ['new'] and real['not_hosted'] == ['cold'] and not os.path.exists(dest)


def test_a_passphrase_file_whose_header_names_another_key_is_not_blamed_on_the_passphrase(tmp_path):
    """The passphrase decrypts the file, but its unencrypted header names the key pair's key while another key is
    inside: cryptography refuses it as it refuses a wrong passphrase; the diff says which it is."""
    from ansible_collections.huaweicloud.kps.plugins.module_utils._openssh import (  # pylint: disable=import-outside-toplevel
        decode_armour,
        openssh_armour,
    )
    _private, public = make_keypair('header-web', 'ed25519')
    other = load_private_key(make_keypair('header-other', 'ed25519')[0])
    blobs = [base64.b64decode(line.split()[1]) for line in (other.public_key, public)]
    raw = decode_armour(other.private_text('openssh', 'the passphrase'))
    assert raw.count(blobs[0]) == 1  # in the header only
    path = tmp_path / 'k'
    path.write_text(openssh_armour(raw.replace(*blobs)))
    state = inspect(str(path), 'the passphrase')
    assert (state.encryption, state.key) == ('passphrase, but its header does not match the key inside', None)
    assert runner.decide(state, {'public_key': public}, encrypt=True) == 'replace'
    assert inspect(str(path), 'another one').encryption == 'another passphrase'


@pytest.mark.parametrize('kind', ['rsa', 'ec', 'ed25519'])
def test_a_passphrase_file_is_read_by_decrypting_it(tmp_path, kind):
    """With the task's passphrase: the right key encrypted with it stays; another passphrase or an unencrypted
    file is rewritten, and the state says which (the diff's encryption field)."""
    private, public = make_keypair('passphrase-' + kind, kind)
    key = load_private_key(private)
    keypair = {'public_key': public}
    path = tmp_path / 'k.pem'
    path.write_text(key.private_text('openssh', 'the passphrase'))
    state = inspect(str(path), 'the passphrase')
    assert (state.encryption, state.fingerprint) == ('passphrase', fingerprint(public))
    assert runner.decide(state, keypair, encrypt=True) == 'none'
    assert runner.decide(state, keypair) == 'reformat'  # the task has no passphrase: written unencrypted
    state = inspect(str(path), 'another one')
    assert (state.encryption, state.key) == ('another passphrase', None)
    assert runner.decide(state, keypair, encrypt=True) == 'replace'
    path.write_text(key.private_text('openssh'))
    state = inspect(str(path), 'the passphrase')
    assert (state.encryption, state.fingerprint) == ('unencrypted', fingerprint(public))
    assert runner.decide(state, keypair, encrypt=True) == 'reformat'
    assert runner.decide(state, keypair) == 'none'
