# Copyright: Contributors to the huaweicloud.kps collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Passphrase-protected key files (issue 27): kps_private_key_export and kps_keypair write the key as
``ssh-keygen -N`` does, ``ssh-keygen -y -P`` loads it, and an unchanged file stays without an export call."""
from __future__ import annotations

import os
import shutil
import subprocess

import pytest

from integration.harness import run_tasks
from integration.test_key_formats import _import_task, _make_keys, _play, _public, _recap

SSH_KEYGEN = shutil.which('ssh-keygen') or '/usr/bin/ssh-keygen'
pytestmark = pytest.mark.skipif(not os.path.exists(SSH_KEYGEN), reason='needs ssh-keygen (OpenSSH)')

PASSPHRASE = 'correct horse battery'
WRONG = 'some older passphrase'
NAMES = ['rsa2048', 'ecdsa256', 'ed25519']
EXPORTS = ('export_private_key', 'batch_export_private_keys')


def _load(path, passphrase):
    return subprocess.run([SSH_KEYGEN, '-y', '-P', passphrase, '-f', path], capture_output=True, text=True,
                          check=False, stdin=subprocess.DEVNULL, timeout=60)


def test_export_and_keypair_write_passphrase_files(ansible, emulator, tmp_path):
    keys_dir, out = str(tmp_path / 'keys'), str(tmp_path / 'out')
    _make_keys(keys_dir, NAMES)
    # The guard treats files named *passphrase* as secrets and decrypts the key files of the run with them.
    (tmp_path / 'file.passphrase').write_text(PASSPHRASE)
    (tmp_path / 'wrong.passphrase').write_text(WRONG)
    ansible.add_secret(PASSPHRASE)
    ansible.add_secret(WRONG)
    ansible.playbook(_play([_import_task(keys_dir, NAMES)]))
    os.makedirs(out)
    # rsa2048: the right key under another passphrase; ecdsa256: the right key unencrypted; ed25519: no file.
    shutil.copy(os.path.join(keys_dir, 'rsa2048'), os.path.join(out, 'rsa2048.pem'))
    subprocess.run([SSH_KEYGEN, '-q', '-p', '-P', '', '-N', WRONG, '-f', os.path.join(out, 'rsa2048.pem')],
                   check=True)
    shutil.copy(os.path.join(keys_dir, 'ecdsa256'), os.path.join(out, 'ecdsa256.pem'))
    play = _play([
        {'name': 'Export passphrase-protected files',
         'huaweicloud.kps.kps_private_key_export': {'names': NAMES, 'dest': out,
                                                    'passphrase': '{{ file_passphrase }}'}},
        {'name': 'A key pair KPS generates, written passphrase-protected',
         'huaweicloud.kps.kps_keypair': {'name': 'generated', 'dest': out + '/generated',
                                         'passphrase': '{{ file_passphrase }}'}},
    ])
    secret = dict(file_passphrase=PASSPHRASE)
    emulator.clear_requests()

    check = ansible.playbook(play, '--check', '--diff', extra_vars=secret)
    assert _recap(check) == 2
    assert not [entry for entry in emulator.requests() if entry['call'] in EXPORTS]
    assert emulator.keypair('generated') is None
    # The diff says why each file is rewritten (never the passphrase: the guard checks every run).
    assert check.stdout.count('-    "encryption": "another passphrase"') == 1
    assert check.stdout.count('-    "encryption": "unencrypted"') == 1
    assert check.stdout.count('-    "encryption": null') == 1
    assert check.stdout.count('+    "encryption": "passphrase"') == 3

    real = ansible.playbook(play, '-vvvv', '--diff', extra_vars=secret)
    assert _recap(real) == 2
    assert 'Wrote 2 of 3 private key files, rewrote 1 file holding the right key to the openssh format with the ' \
           'passphrase (1 batch export call).' in real.stdout
    emulator.clear_requests()
    again = ansible.playbook(play, '--check', '--diff', '-vvvv', extra_vars=secret)
    assert _recap(again) == 0 and 'All 3 private key files already up to date; nothing exported.' in again.stdout
    assert _recap(ansible.playbook(play, extra_vars=secret)) == 0
    assert not [entry for entry in emulator.requests() if entry['call'] in EXPORTS]

    generated = emulator.keypair('generated')['public_key'].split()[:2]
    for name, public in [(name, _public(keys_dir, name)) for name in NAMES] + [('generated', generated)]:
        path = os.path.join(out, name if name == 'generated' else name + '.pem')
        assert os.stat(path).st_mode & 0o777 == 0o600
        with open(path) as handle:
            assert handle.readline().strip() == '-----BEGIN OPENSSH PRIVATE KEY-----'
        proc = _load(path, PASSPHRASE)
        assert proc.returncode == 0 and proc.stdout.split()[:2] == public, (name, proc.stderr)
        assert _load(path, WRONG).returncode != 0, name  # encrypted, not merely readable
        assert _load(path, '').returncode != 0, name


def test_passphrase_bad_input_fails_before_any_call(ansible, emulator, tmp_path):
    keys_dir, out = str(tmp_path / 'keys'), str(tmp_path / 'out')
    _make_keys(keys_dir, ['rsa2048'])
    ansible.playbook(_play([_import_task(keys_dir, ['rsa2048'])]))
    os.makedirs(out)
    ansible.add_secret(PASSPHRASE)
    emulator.clear_requests()
    export = 'huaweicloud.kps.kps_private_key_export'
    results = run_tasks(ansible, [
        {export: {'name': 'rsa2048', 'dest': out + '/a.pem', 'passphrase': ''}},
        {export: {'name': 'rsa2048', 'dest': out + '/b.pem', 'passphrase': PASSPHRASE, 'format': 'pkcs8'}},
        {export: {'name': 'rsa2048', 'passphrase': PASSPHRASE}},
        {'huaweicloud.kps.kps_keypair': {'name': 'gen', 'dest': out + '/gen', 'passphrase': PASSPHRASE,
                                         'format': 'pem'}},
        {'huaweicloud.kps.kps_keypair': {'name': 'gen', 'passphrase': PASSPHRASE}},
    ])
    assert [result.get('failed') for result in results] == [True] * 5
    nothing = ' Nothing was exported or written.'
    assert [result['msg'] for result in results] == [
        'passphrase is empty. Give a non-empty passphrase, or leave passphrase out to write the key unencrypted.'
        + nothing,
        'passphrase needs format=openssh: files are encrypted only in the OpenSSH private key format, as '
        'ssh-keygen -N writes them (format=pkcs8 cannot be). Use format=openssh, or leave passphrase out.' + nothing,
        'passphrase encrypts the files at dest; without dest the keys are returned, unencrypted. Give dest, or '
        'leave passphrase out.' + nothing,
        'passphrase needs format=openssh: files are encrypted only in the OpenSSH private key format, as '
        'ssh-keygen -N writes them (format=pem cannot be). Use format=openssh, or leave passphrase out. '
        'Nothing was sent.',
        'missing parameter(s) required by \'passphrase\': dest',
    ]
    assert emulator.requests() == [] and os.listdir(out) == []
