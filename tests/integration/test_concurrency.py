# Copyright: Contributors to the huaweicloud.kps collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""20 forks at once against one emulator: each host imports its own new key pair and exports another one.

An inventory of 20 local hosts (``ansible_connection: local``), ``-f 20``. Host N creates key pair ``imp-N`` with
its private key hosted (RSA, ECDSA and Ed25519 keys in turn), exports the hosted key pair ``exp-N`` to its own
file, and exports three shared key pairs into its own directory (reads of the same key pairs at the same
time). Afterwards: every task succeeded, every file holds the right key, and the emulator holds exactly the
expected key pairs, each with its fingerprint and hosted private key, and answered no request with an error.
"""
from __future__ import annotations

import json
import os
import time

import yaml
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from integration.harness import CONNECTION, REPORTS, public_key_of
from kps_emulator import keys
from kps_emulator.testing import seed_keypairs

HOSTS = 20
SHARED = ['shared-0000', 'shared-0001', 'shared-0002']


def generate(kind):
    if kind == 'ecdsa':
        return ec.generate_private_key(ec.SECP384R1()).private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption()).decode()
    return keys.generate(kind)[0]


def test_twenty_forks(ansible, emulator, tmp_path):
    client = emulator.client()
    exported = seed_keypairs(client, HOSTS, prefix='exp-')
    shared = seed_keypairs(client, len(SHARED), prefix='shared-')
    to_import = {}
    for index in range(HOSTS):
        private = generate(('rsa', 'ecdsa', 'ed25519')[index % 3])
        to_import['imp-%04d' % index] = private
    for private in list(exported.values()) + list(shared.values()) + list(to_import.values()):
        ansible.add_secret(private)

    hosts = {}
    for index in range(HOSTS):
        host_dir = tmp_path / ('host-%02d' % index)
        host_dir.mkdir(mode=0o700)
        key_file = host_dir / 'import.pem'
        key_file.write_text(to_import['imp-%04d' % index])
        key_file.chmod(0o600)
        hosts['h%02d' % index] = {'ansible_connection': 'local', 'host_dir': str(host_dir), 'index': index,
                                  'import_name': 'imp-%04d' % index, 'export_name': 'exp-%04d' % index}
    inventory = tmp_path / 'inventory.yml'
    inventory.write_text(yaml.safe_dump({'all': {'hosts': hosts}}))
    play = [{'name': 'twenty at once', 'hosts': 'all', 'gather_facts': False,
             'module_defaults': {'group/huaweicloud.kps.kps': CONNECTION}, 'tasks': [
                 {'name': 'import', 'huaweicloud.kps.kps_private_key_import': {
                     'name': '{{ import_name }}', 'private_key_path': '{{ host_dir }}/import.pem'}, 'register': 'imp'},
                 {'name': 'export one', 'huaweicloud.kps.kps_private_key_export': {
                     'name': '{{ export_name }}', 'dest': '{{ host_dir }}/export.pem'}, 'register': 'exp'},
                 {'name': 'export the shared ones', 'huaweicloud.kps.kps_private_key_export': {
                     'names': SHARED, 'dest': '{{ host_dir }}/shared', 'create_dirs': True}, 'register': 'shr'},
                 {'name': 'keep the results', 'ansible.builtin.copy': {
                     'dest': '{{ host_dir }}/results.json', 'mode': '0600',
                     'content': '{{ {"imp": imp, "exp": exp, "shr": shr} | to_json }}'}}]}]
    emulator.clear_requests()
    started = time.monotonic()
    proc = ansible.playbook(play, '-f', str(HOSTS), inventory=str(inventory))
    elapsed = time.monotonic() - started
    assert 'failed=0' in proc.stdout and proc.stdout.count('ok=4') == HOSTS, proc.stdout[-3000:]

    for name, host in hosts.items():
        host_dir = host['host_dir']
        with open(os.path.join(host_dir, 'results.json')) as handle:
            results = json.load(handle)
        imp = results['imp']
        assert imp['changed'] and imp['keypair']['name'] == host['import_name'], (name, imp)
        assert imp['keypair']['fingerprint'] == keys.fingerprint(public_key_of(to_import[host['import_name']]))
        assert results['exp']['changed'] and results['shr']['changed']
        with open(os.path.join(host_dir, 'export.pem')) as handle:
            assert public_key_of(handle.read()) == public_key_of(exported[host['export_name']])
        for shared_name in SHARED:
            with open(os.path.join(host_dir, 'shared', shared_name + '.pem')) as handle:
                assert public_key_of(handle.read()) == public_key_of(shared[shared_name])
        assert sorted(os.listdir(os.path.join(host_dir, 'shared'))) == sorted(n + '.pem' for n in SHARED)

    # The emulator's state: exactly the expected key pairs, each with its own key hosted, nothing else.
    assert emulator.health()['keypairs'] == 2 * HOSTS + len(SHARED)
    expected = dict(exported, **shared)
    expected.update(to_import)
    for name, private in expected.items():
        record = emulator.keypair(name)
        assert record['is_key_protection'], name
        assert record['fingerprint'] == keys.fingerprint(public_key_of(private)), name
        assert public_key_of(record['private_key']) == public_key_of(private), name
    log = emulator.requests()
    errors = [(entry['call'], entry['status'], entry['error_code']) for entry in log
              if entry['status'] >= 400 and not (entry['call'] == 'show_keypair' and entry['error_code'] == 'KPS.6004')]
    assert not errors, errors
    calls = [entry['call'] for entry in log]
    # per host: show (missing), create, show; show + export; list + batch export
    assert calls.count('create_keypair') == HOSTS and calls.count('import_private_key') == 0
    assert calls.count('export_private_key') == HOSTS and calls.count('batch_export_private_keys') == HOSTS
    REPORTS.append(('huaweicloud.kps concurrency (test_concurrency.py)', [
        '%d hosts, -f %d: %d module runs, %d API calls, no error, in %.0f s' % (
            HOSTS, HOSTS, 3 * HOSTS, len(log), elapsed)]))
