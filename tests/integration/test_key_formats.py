# Copyright: Contributors to the huaweicloud.kps collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Keys that work (issue 14): what kps_private_key_export writes loads in OpenSSH, in every ``format``.

Keys are made by ``ssh-keygen`` in its default (OpenSSH) format, with and without a passphrase, imported and
exported through real ansible-playbook runs against the emulator, and read back by Debian's ``ssh-keygen -y``,
which must print the key pair's public key.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess

import pytest

from integration.harness import CONNECTION

SSH_KEYGEN = shutil.which('ssh-keygen') or '/usr/bin/ssh-keygen'
pytestmark = pytest.mark.skipif(not os.path.exists(SSH_KEYGEN), reason='needs ssh-keygen (OpenSSH)')

RECAP_RE = re.compile(r'^localhost\s+: ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)', re.M)
# name: (ssh-keygen -t, -b, passphrase or None)
KEYS = {
    'rsa2048': ('rsa', '2048', None),
    'rsa4096': ('rsa', '4096', 'pass-rsa4096'),
    'ecdsa256': ('ecdsa', '256', None),
    'ecdsa384': ('ecdsa', '384', 'pass-ecdsa384'),
    'ed25519': ('ed25519', '256', None),
    'ed25519-enc': ('ed25519', '256', 'pass-ed25519'),
}
FORMATS = ['openssh', 'pkcs8', 'pem', 'kps']
# The first line of the file per key type and format. kps is what the import sent: PKCS#1 for RSA, PKCS#8 else.
FIRST_LINES = {
    'openssh': dict.fromkeys(('rsa', 'ecdsa', 'ed25519'), '-----BEGIN OPENSSH PRIVATE KEY-----'),
    'pkcs8': dict.fromkeys(('rsa', 'ecdsa', 'ed25519'), '-----BEGIN PRIVATE KEY-----'),
    'pem': {'rsa': '-----BEGIN RSA PRIVATE KEY-----', 'ecdsa': '-----BEGIN EC PRIVATE KEY-----'},
    'kps': {'rsa': '-----BEGIN RSA PRIVATE KEY-----', 'ecdsa': '-----BEGIN PRIVATE KEY-----',
            'ed25519': '-----BEGIN PRIVATE KEY-----'},
}


def _recap(proc):
    rows = RECAP_RE.findall(proc.stdout)
    assert len(rows) == 1, proc.stdout[-3000:]
    ok, changed, unreachable, failed = (int(value) for value in rows[0])
    assert unreachable == 0 and failed == 0, proc.stdout[-3000:]
    return changed


def _make_keys(directory, names):
    """ssh-keygen keys in its default format; the passphrase in <key>.passphrase (the guard reads those)."""
    os.makedirs(directory, exist_ok=True)
    for name in names:
        key_type, bits, passphrase = KEYS[name]
        path = os.path.join(directory, name)
        subprocess.run([SSH_KEYGEN, '-q', '-t', key_type, '-b', bits, '-N', passphrase or '', '-C', name,
                        '-f', path], check=True)
        with open(path) as handle:
            assert handle.readline().strip() == '-----BEGIN OPENSSH PRIVATE KEY-----'
        if passphrase:
            with open(path + '.passphrase', 'w') as handle:
                handle.write(passphrase)


def _public(directory, name):
    with open(os.path.join(directory, name + '.pub')) as handle:
        return handle.read().split()[:2]


def _ssh_keygen_y(path):
    return subprocess.run([SSH_KEYGEN, '-y', '-f', path], capture_output=True, text=True, check=False,
                          stdin=subprocess.DEVNULL, timeout=60)


def _import_task(keys_dir, names):
    return {
        'name': 'KPS hosts the keys made by ssh-keygen',
        'huaweicloud.kps.kps_private_key_import': {
            'name': '{{ item }}',
            'private_key_path': '%s/{{ item }}' % keys_dir,
            'private_key_passphrase': "{{ lookup('file', '%s/' ~ item ~ '.passphrase', errors='ignore') "
                                      "| default(omit, true) }}" % keys_dir},
        'loop': names,
        'no_log': True,
    }


def _play(tasks):
    return [{
        'name': 'key formats', 'hosts': 'localhost', 'gather_facts': False,
        'module_defaults': {'group/huaweicloud.kps.kps': CONNECTION},
        'tasks': tasks,
    }]


def _names_for(fmt):
    return [name for name in KEYS if not (fmt == 'pem' and KEYS[name][0] == 'ed25519')]


def _check_real_check_repeat(ansible, play, first_changed):
    """The project's order of runs; returns the runs' outputs. Check mode reports what the real run does."""
    runs = [ansible.playbook(play, '--check', '--diff'), ansible.playbook(play, '--diff'),
            ansible.playbook(play, '--check', '--diff'), ansible.playbook(play)]
    assert [_recap(proc) for proc in runs] == [first_changed, first_changed, 0, 0]
    return runs


def test_every_exported_file_loads_in_openssh(ansible, emulator, tmp_path):
    keys_dir, out = str(tmp_path / 'keys'), str(tmp_path / 'out')
    _make_keys(keys_dir, KEYS)
    tasks = [_import_task(keys_dir, list(KEYS))]
    for fmt in FORMATS:
        tasks.append({'name': 'Export in format %s' % fmt,
                      'huaweicloud.kps.kps_private_key_export': {
                          'names': _names_for(fmt), 'dest': '%s/%s' % (out, fmt), 'create_dirs': True,
                          'format': fmt}})
    first, _real, _check, _repeat = _check_real_check_repeat(ansible, _play(tasks), 1 + len(FORMATS))
    # The first check runs before the key pairs exist: the export says so and reports what it would write.
    assert 'key pairs %s do not exist in KPS' % ', '.join(_names_for('pem')) in ' '.join(first.stderr.split())

    for name, (key_type, _bits, _passphrase) in KEYS.items():
        # What the import sent (issue 16.4): PKCS#1 for RSA, PKCS#8 for ECDSA and ED25519; the emulator took it.
        hosted = emulator.keypair(name)['private_key']
        assert hosted.startswith(FIRST_LINES['kps'][key_type]), name
        for fmt in FORMATS:
            if fmt not in FIRST_LINES or key_type not in FIRST_LINES[fmt]:
                assert not os.path.exists('%s/%s/%s.pem' % (out, fmt, name))
                continue
            path = '%s/%s/%s.pem' % (out, fmt, name)
            with open(path) as handle:
                text = handle.read()
            assert text.splitlines()[0] == FIRST_LINES[fmt][key_type] and text.endswith('-----\n'), (name, fmt)
            assert os.stat(path).st_mode & 0o777 == 0o600
            proc = _ssh_keygen_y(path)
            if key_type == 'ed25519' and fmt in ('pkcs8', 'kps'):
                # OpenSSH 9.2 cannot read ED25519 keys as PKCS#8: why openssh is the default (module docs).
                assert proc.returncode != 0 and 'invalid format' in proc.stderr, (name, fmt)
            else:
                assert proc.returncode == 0, (name, fmt, proc.stderr)
                assert proc.stdout.split()[:2] == _public(keys_dir, name), (name, fmt)


def test_returned_values_in_every_format_are_the_files(ansible, tmp_path):
    """Without dest, the values are the same text as the files: written by kps_private_key_file, run twice."""
    keys_dir, out = str(tmp_path / 'keys'), str(tmp_path / 'out')
    names = ['rsa2048', 'ecdsa256', 'ed25519-enc']
    _make_keys(keys_dir, names)
    ansible.playbook(_play([_import_task(keys_dir, names)]))
    tasks = []
    for fmt in FORMATS:
        wanted = [name for name in names if fmt != 'pem' or not name.startswith('ed25519')]
        tasks += [
            {'name': 'Export the keys as values in format %s' % fmt,
             'huaweicloud.kps.kps_private_key_export': {'names': wanted, 'format': fmt},
             'register': 'values', 'no_log': True},
            {'name': 'Export into files in format %s' % fmt,
             'huaweicloud.kps.kps_private_key_export': {'names': wanted, 'dest': '%s/files-%s' % (out, fmt),
                                                        'create_dirs': True, 'format': fmt}},
            {'name': 'Write the values in format %s' % fmt,
             'huaweicloud.kps.kps_private_key_file': {'path': '%s/values-%s-{{ item.key }}' % (out, fmt),
                                                      'content': '{{ item.value }}'},
             'loop': '{{ values.private_keys | dict2items }}', 'no_log': True},
        ]
    play = _play(tasks)
    assert _recap(ansible.playbook(play)) == 2 * len(FORMATS)
    assert _recap(ansible.playbook(play)) == 0, 'the same key must give the same text on every export'
    for fmt in FORMATS:
        for name in names:
            if fmt == 'pem' and name.startswith('ed25519'):
                continue
            with open('%s/values-%s-%s' % (out, fmt, name)) as value, \
                    open('%s/files-%s/%s.pem' % (out, fmt, name)) as written:
                assert value.read() == written.read(), (name, fmt)


def test_reformat_check_real_check_repeat(ansible, tmp_path):
    """A file with the right key in another format: 'reformat' in check mode, diff and message, then done."""
    keys_dir, out = str(tmp_path / 'keys'), str(tmp_path / 'out')
    names = ['rsa2048', 'ecdsa384']
    _make_keys(keys_dir, names)
    ansible.playbook(_play([_import_task(keys_dir, names), {
        'name': 'Files as release 1.0.0 wrote them (traditional PEM)',
        'huaweicloud.kps.kps_private_key_export': {'names': names, 'dest': out, 'format': 'pem',
                                                   'create_dirs': True}}]))
    before = {}
    for name in names:
        with open('%s/%s.pem' % (out, name)) as handle:
            before[name] = handle.read()
    play = _play([
        {'name': 'Export with the default format', 'register': 'exported',
         'huaweicloud.kps.kps_private_key_export': {'names': names, 'dest': out}},
        {'name': 'Check the actions', 'ansible.builtin.assert': {'that': [
            "exported.files | map(attribute='action') | list == [expected_action] * 2",
            "exported.files | map(attribute='format') | unique | list == ['openssh']",
            'exported.msg == expected_msg']}},
    ])
    rewrite = dict(expected_action='reformat')
    check = ansible.playbook(play, '--check', '--diff', extra_vars=dict(
        rewrite, expected_msg='Would rewrite 2 files holding the right key to the openssh format '
                              '(1 batch export call).'))
    assert _recap(check) == 1
    assert check.stdout.count('-    "format": "pem"') == 2 and check.stdout.count('+    "format": "openssh"') == 2
    for name in names:
        with open('%s/%s.pem' % (out, name)) as handle:
            assert handle.read() == before[name], 'check mode must not write'
    real = ansible.playbook(play, '--diff', extra_vars=dict(
        rewrite, expected_msg='Rewrote 2 files holding the right key to the openssh format (1 batch export call).'))
    assert _recap(real) == 1
    unchanged = dict(expected_action='none', expected_msg='All 2 private key files already up to date; '
                                                          'nothing exported.')
    assert _recap(ansible.playbook(play, '--check', '--diff', extra_vars=unchanged)) == 0
    assert _recap(ansible.playbook(play, extra_vars=unchanged)) == 0
    for name in names:
        path = '%s/%s.pem' % (out, name)
        with open(path) as handle:
            assert handle.readline().strip() == '-----BEGIN OPENSSH PRIVATE KEY-----'
        assert _ssh_keygen_y(path).stdout.split()[:2] == _public(keys_dir, name)


def test_traditional_pem_of_ed25519_fails_before_any_export(ansible, emulator, tmp_path):
    keys_dir, out = str(tmp_path / 'keys'), str(tmp_path / 'out')
    _make_keys(keys_dir, ['ed25519', 'rsa2048'])
    ansible.playbook(_play([_import_task(keys_dir, ['ed25519', 'rsa2048'])]))
    emulator.clear_requests()
    play = _play([{'name': 'Export as traditional PEM',
                   'huaweicloud.kps.kps_private_key_export': {'names': ['rsa2048', 'ed25519'], 'dest': out,
                                                              'create_dirs': True, 'format': 'pem'}}])
    proc = ansible.playbook(play, check=False)
    assert proc.returncode != 0
    assert ('format=pem (traditional PEM) does not exist for ED25519 keys (key pair ed25519). Use format=openssh, '
            'which every OpenSSH since 6.5 loads, or format=pkcs8. Nothing was exported or written.') in proc.stdout
    calls = [entry['call'] for entry in emulator.requests()]
    assert 'export_private_key' not in calls and 'batch_export_private_keys' not in calls and calls
    assert not os.path.exists(out)


def test_encrypted_openssh_key_without_bcrypt(ansible, emulator, tmp_path):
    """A host without bcrypt: the import says what to install, or how to give an unencrypted copy."""
    keys_dir = str(tmp_path / 'keys')
    _make_keys(keys_dir, ['ed25519-enc'])
    hide = tmp_path / 'no-bcrypt' / 'bcrypt'
    hide.mkdir(parents=True)
    (hide / '__init__.py').write_text("raise ImportError('bcrypt is hidden by the test')\n")
    env = {'PYTHONPATH': str(hide.parent)}
    task = {'name': 'Import the encrypted key', 'huaweicloud.kps.kps_private_key_import': {
        'name': 'ed25519-enc', 'private_key_path': os.path.join(keys_dir, 'ed25519-enc'),
        'private_key_passphrase': "{{ lookup('file', '%s/ed25519-enc.passphrase') }}" % keys_dir}}
    proc = ansible.playbook(_play([task]), env=env, check=False)
    assert proc.returncode != 0
    assert ('needs the Python library bcrypt on the host running the module (pip install bcrypt; it is in the '
            'collection\'s requirements.txt). Or give the module an unencrypted copy of the key: cp <file> <copy> '
            '&& ssh-keygen -p -N \\"\\" -f <copy> (works for every key type)') in proc.stdout
    assert emulator.keypair('ed25519-enc') is None
    # The workaround the message gives works for this ED25519 key (-m PEM would not have).
    copy = str(tmp_path / 'copy')
    shutil.copy(os.path.join(keys_dir, 'ed25519-enc'), copy)
    subprocess.run([SSH_KEYGEN, '-q', '-p', '-P', KEYS['ed25519-enc'][2], '-N', '', '-f', copy], check=True)
    proc = ansible.playbook(_play([{'name': 'Import the unencrypted copy',
                                    'huaweicloud.kps.kps_private_key_import': {'name': 'ed25519-enc',
                                                                               'private_key_path': copy}}]), env=env)
    assert _recap(proc) == 1 and emulator.keypair('ed25519-enc')['public_key'].split()[:2] == _public(
        keys_dir, 'ed25519-enc')
