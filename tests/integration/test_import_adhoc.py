# Copyright: Contributors to the huaweicloud.kps collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""kps_private_key_import ad hoc (``ansible localhost -m ...``). The target itself runs at -vvvv in
test_targets.py, where the secret guard picks up the keys it generates from its work dir."""
from __future__ import annotations

import json

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

MODULE = 'huaweicloud.kps.kps_private_key_import'


def adhoc_result(proc):
    """The status and module result of a one-host ad hoc run: '[diff]localhost | CHANGED => {...}'."""
    start = proc.stdout.find('localhost | ')
    assert start >= 0, proc.stdout
    head, _sep, body = proc.stdout[start:].partition(' => ')
    return head.split(' | ')[1].strip(), json.loads(body)


def test_adhoc_create_then_unchanged(ansible, tmp_path):
    key = ed25519.Ed25519PrivateKey.generate()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH,
                            serialization.NoEncryption()).decode()
    public = key.public_key().public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH).decode()
    ansible.add_secret(pem)
    path = tmp_path / 'adhoc_ed25519'
    path.write_text(pem)
    path.chmod(0o600)
    env = ansible.emulator.module_env()  # credentials from HW_* variables, as in AWX
    args = 'name=adhoc private_key_path=%s' % path

    proc = ansible.adhoc(MODULE, args, '--check', '--diff', env=env)
    status, checked = adhoc_result(proc)
    assert status == 'CHANGED' and checked['msg'] == 'Would create key pair adhoc with its private key hosted by KPS.'
    assert '-    "exists": false,' in proc.stdout and '+    "exists": true,' in proc.stdout
    assert ansible.emulator.keypair('adhoc') is None

    status, created = adhoc_result(ansible.adhoc(MODULE, args, env=env))
    assert status == 'CHANGED' and created['keypair']['public_key'] == public
    record = ansible.emulator.keypair('adhoc')
    assert record['is_key_protection'] and record['fingerprint'] == created['keypair']['fingerprint']

    for extra in (['--check'], []):
        status, again = adhoc_result(ansible.adhoc(MODULE, args, *extra, env=env))
        assert status == 'SUCCESS' and again['changed'] is False
        assert again['msg'] == 'KPS already hosts this private key for key pair adhoc.'


def test_adhoc_failure_is_one_clear_line(ansible, tmp_path):
    env = ansible.emulator.module_env()
    proc = ansible.adhoc(MODULE, 'name=adhoc private_key_path=%s' % (tmp_path / 'missing'), env=env, check=False)
    assert proc.returncode != 0
    status, failed = adhoc_result(proc)
    assert status == 'FAILED!'
    assert failed['msg'].startswith('Cannot read private_key_path %s' % (tmp_path / 'missing'))
    assert ansible.emulator.requests() == []
