# Copyright: Contributors to the huaweicloud.kps collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""kps_private_key_import with ``keys``: a migration of 25 existing keys in one task, against the emulator.

One key of the 25 is bad (a KMS key KPS does not have): the other 24 are hosted, the task fails naming it,
and a re-run after fixing it hosts only that one. Check mode, real run, check mode again and a repeat run, each
a real ``ansible`` process (ad hoc, JSON arguments) through the secret guard; the real runs at -vvvv.
"""
from __future__ import annotations

import ast
import collections
import json
import os

import yaml
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from integration.harness import TESTS_DIR
from integration.test_import_adhoc import MODULE, adhoc_result
from kps_emulator import keys

WRITES = ('create_keypair', 'batch_import_keypairs', 'import_private_key', 'clear_private_key', 'update_keypair',
          'delete_keypair')


def calls(emulator):
    counted = collections.Counter(entry['call'] for entry in emulator.requests())
    emulator.clear_requests()
    return counted


def writes(counted):
    return sum(counted[call] for call in WRITES)


def generate(kind):
    """(private PEM, public line): RSA and ED25519 as the emulator makes them, ECDSA P-256 in SEC1 PEM."""
    if kind != 'ecdsa':
        return keys.generate(kind)
    key = ec.generate_private_key(ec.SECP256R1())
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                                serialization.NoEncryption()).decode()
    public = key.public_key().public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH).decode()
    return private, public


def run(ansible, items, *args):
    proc = ansible.adhoc(MODULE, json.dumps({'keys': items}), *args, env=ansible.emulator.module_env(), check=False)
    status, result = adhoc_result(proc)
    return status, result, proc


def test_migration_of_25_keys_one_bad(ansible, tmp_path):
    emu = ansible.emulator
    client = emu.client()
    kinds = ['rsa', 'ecdsa'] + ['ed25519'] * 23
    items = []
    for index, kind in enumerate(kinds):
        private, public = generate(kind)
        path = tmp_path / ('key-%02d' % index)
        path.write_text(private)
        path.chmod(0o600)
        ansible.add_secret(private)
        items.append({'name': 'mig-%02d' % index, 'private_key_path': str(path), 'public': public, 'private': private})
    # Two key pairs exist already: mig-00 without its key (one import call), mig-01 hosting it (no call).
    client.json('POST', client.kps(), {'keypair': {'name': 'mig-00', 'public_key': items[0]['public']}}, expect=200)
    client.json('POST', client.kps(), {'keypair': {'name': 'mig-01', 'public_key': items[1]['public'], 'key_protection': {
        'private_key': items[1]['private'], 'encryption': {'type': 'default'}}}}, expect=200)
    args = [{'name': item['name'], 'private_key_path': item['private_key_path']} for item in items]
    args[7].update(encryption_type='kms', kms_key_name='kps/missing')  # the bad one: KPS refuses it
    emu.clear_requests()

    status, checked, proc = run(ansible, args, '--check', '--diff')
    assert status == 'CHANGED', proc.stdout
    assert checked['created'] == ['mig-%02d' % index for index in range(2, 25)]
    assert checked['imported'] == ['mig-00'] and checked['unchanged'] == ['mig-01'] and checked['failed_keys'] == []
    assert checked['msg'] == '25 keys: would create 23 key pairs with the private keys hosted by KPS, would import ' \
                             'the private keys of 1 existing key pair, 1 already hosted.'
    assert [entry['action'] for entry in checked['key_results'][:3]] == ['import', 'none', 'create']
    assert checked['key_results'][2]['msg'] == 'Would create key pair mig-02 with its private key hosted by KPS.'
    diff = proc.stdout.split('localhost | ')[0]  # the key pairs to write, by name; not mig-01 (already hosted)
    assert '     "mig-02": {\n-        "exists": false,' in diff and '"mig-01"' not in diff
    assert calls(emu) == {'list_keypairs': 1}

    status, failed, proc = run(ansible, args, '-vvvv')
    assert status == 'FAILED!' and proc.returncode != 0
    assert failed['changed'] is True and failed['failed_keys'] == ['mig-07']
    assert failed['created'] == ['mig-%02d' % index for index in range(2, 25) if index != 7]
    assert failed['imported'] == ['mig-00'] and failed['unchanged'] == ['mig-01']
    assert failed['msg'].startswith('25 keys: created 22 key pairs with the private keys hosted by KPS, imported the '
                                    'private keys of 1 existing key pair, 1 already hosted, 1 failed. Failed: mig-07: '
                                    'KPS did not create key pair mig-07: KPS.6008: ')
    bad = failed['key_results'][7]
    assert bad['failed'] is True and bad['changed'] is False and bad['keypair'] is None
    assert all(entry['keypair']['is_key_protection'] for entry in failed['key_results'] if entry['name'] != 'mig-07')
    # ceil(23 / 10) batch calls, one import, a listing before and after.
    assert calls(emu) == {'list_keypairs': 2, 'batch_import_keypairs': 3, 'import_private_key': 1}
    hosted = [item['name'] for item in items if (emu.keypair(item['name']) or {}).get('is_key_protection')]
    assert len(hosted) == 24 and 'mig-07' not in hosted

    args[7].update(kms_key_name='kps/default')  # fixed
    status, checked, proc = run(ansible, args, '--check', '--diff')
    assert status == 'CHANGED' and checked['created'] == ['mig-07'] and len(checked['unchanged']) == 24
    assert calls(emu) == {'list_keypairs': 1}

    status, fixed, proc = run(ansible, args, '-vvvv')
    assert status == 'CHANGED' and fixed['created'] == ['mig-07'] and len(fixed['unchanged']) == 24
    # One batch call for the one key pair left; the re-read of one name is a show.
    assert calls(emu) == {'list_keypairs': 1, 'batch_import_keypairs': 1, 'show_keypair': 1}
    assert emu.keypair('mig-07')['encryption']['kms_key_name'] == 'kps/default'

    for extra in (['--check', '--diff'], []):
        status, again, proc = run(ansible, args, *extra)
        assert status == 'SUCCESS' and again['changed'] is False and len(again['unchanged']) == 25
        assert again['msg'] == '25 keys: 25 already hosted.'
        assert calls(emu) == {'list_keypairs': 1}


def migration_example():
    """The tasks of kps_private_key_import's EXAMPLES from its batch import on, as written."""
    path = os.path.join(os.path.dirname(TESTS_DIR), 'plugins', 'modules', 'kps_private_key_import.py')
    with open(path, encoding='utf-8') as handle:
        tree = ast.parse(handle.read())
    examples = next(node.value.value for node in tree.body if isinstance(node, ast.Assign)
                    and getattr(node.targets[0], 'id', None) == 'EXAMPLES')
    for block in [yaml.safe_load(examples)] + [task['block'] for task in yaml.safe_load(examples) if 'block' in task]:
        for index, task in enumerate(block):
            if 'keys' in task.get(MODULE, {}):
                return block[index:]
    raise AssertionError('no example with keys')


def test_migration_example_names_the_failed_key_despite_no_log(ansible, tmp_path):
    """The docs example sets no_log (the task templates a private key): its failure must still say which key
    failed and why, and the re-run after the fix host only that one."""
    tasks = migration_example()
    assert tasks[0]['no_log'] is True
    text = yaml.safe_dump(tasks).replace('/srv/migration/', str(tmp_path) + '/')
    files = {}
    for name, kind in (('alice_id_ed25519', 'ed25519'), ('bob_id_rsa', 'rsa'), ('ci_deploy', 'ecdsa')):
        private, _public = generate(kind)
        ansible.add_secret(private)
        files[name] = private
    for name in ('alice_id_ed25519', 'bob_id_rsa'):
        (tmp_path / name).write_text(files[name])
    (tmp_path / 'bob_id_rsa').write_text(files['bob_id_rsa'][:300] + '\n-----END RSA PRIVATE KEY-----\n')  # damaged
    play = [{'hosts': 'localhost', 'gather_facts': False, 'tasks': yaml.safe_load(text),
             'vars': {'vault_migration_passphrase': 'unused-for-unencrypted-keys',
                      'vault_ci_deploy_key': files['ci_deploy']}}]
    env = ansible.emulator.module_env()

    proc = ansible.playbook(play, env=env, check=False)
    assert proc.returncode != 0
    # In a task result, as every ansible-core shows it (2.19 also prints a failed module's message in its [ERROR]
    # line, no_log or not; before 2.19 the import task's failure is only "censored").
    assert '"msg": "3 keys: created 2 key pairs with the private keys hosted by KPS, 1 failed. Failed: bastion-bob: ' \
           'Cannot use the private key for key pair bastion-bob' in proc.stdout, proc.stdout
    assert [name for name in ('bastion-alice', 'bastion-bob', 'ci-deploy')
            if (ansible.emulator.keypair(name) or {}).get('is_key_protection')] == ['bastion-alice', 'ci-deploy']

    (tmp_path / 'bob_id_rsa').write_text(files['bob_id_rsa'])  # fixed
    proc = ansible.playbook(play, env=env)
    assert "created ['bastion-bob'], imported [], unchanged ['bastion-alice', 'ci-deploy']" in proc.stdout
    assert ansible.emulator.keypair('bastion-bob')['scope'] == 'domain'
