# Copyright: Contributors to the huaweicloud.kps collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""kps_private_key_import ad hoc (``ansible localhost -m ...``), and its integration target at -vvvv with every
key the target generates registered with the secret guard."""
from __future__ import annotations

import json
import os

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from integration.harness import secret_forms

MODULE = 'huaweicloud.kps.kps_private_key_import'
TARGET = 'kps_private_key_import'


def add_private_key(ansible, pem, public_keys):
    """Register a private key with the secret guard, minus the parts it shares with a public key.

    An RSA PEM holds the modulus and an OpenSSH-format key holds the whole public key, so some of their
    base64 lines can appear in a public key, which the module rightly returns.
    """
    blobs = [line.split()[1] for line in public_keys]
    forms = set(form for form in secret_forms(pem) if not any(form in blob for blob in blobs))
    ansible.secrets.update(forms)
    return len(forms)


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
    add_private_key(ansible, pem, [public])
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
    add_private_key(ansible, record['private_key'], [public])
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


def test_target_vvvv_shows_no_key_material(ansible):
    """Every key of the target, the unencrypted PEM sent to KPS and the passphrase are checked at -vvvv."""
    proc = ansible.target(TARGET, '-vvvv')
    keys_dir = os.path.join(ansible.workdir, 'kps-test-keys')
    names = sorted(os.listdir(keys_dir))
    public_keys = []
    for name in names:
        if name.endswith('.pub'):
            with open(os.path.join(keys_dir, name)) as handle:
                public_keys.append(handle.read())
    with open(os.path.join(keys_dir, 'passphrase')) as handle:
        passphrase = handle.read().strip()
    ansible.add_secret(passphrase)

    private_keys = []
    for name in names:
        if name.endswith('.pub') or name == 'passphrase':
            continue
        with open(os.path.join(keys_dir, name), 'rb') as handle:
            data = handle.read()
        private_keys.append(data.decode())
        if b'OPENSSH' not in data:  # the PEM form sent to KPS (OpenSSH ones are sent like the hosted keys below)
            key = serialization.load_pem_private_key(data, password=passphrase.encode() if name.endswith('_enc') else None)
            fmt = serialization.PrivateFormat.PKCS8 if 'ed25519' in name else serialization.PrivateFormat.TraditionalOpenSSL
            private_keys.append(key.private_bytes(serialization.Encoding.PEM, fmt, serialization.NoEncryption()).decode())
    client = ansible.emulator.client()
    _status, _headers, listing = client.json('GET', client.kps(), expect=200)
    for item in listing['keypairs']:
        record = ansible.emulator.keypair(item['keypair']['name'])
        if record.get('private_key'):
            private_keys.append(record['private_key'])

    forms = sum(add_private_key(ansible, pem, public_keys) for pem in private_keys)
    assert len(private_keys) >= 25 and forms >= 250  # the check is not vacuous
    ansible.check_no_secret(proc.stdout + proc.stderr)
