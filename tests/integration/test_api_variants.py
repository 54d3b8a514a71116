# Copyright: Contributors to the huaweicloud.kps collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The modules survive every variant of what no source settles about the real KPS (docs/emulator.md).

Each variant is an emulator switch (/_emulator/switches): the answer for a missing key pair, extra entries
in a batch archive, an archive that lacks an entry, SEC1 EC keys refused, and the ways the listing may page
(pages shorter than ``limit``, ``limit=1000`` refused with a default page of its own, an opaque ``next_marker``).
Each test runs real ansible-playbook processes in the order check mode, real run, check mode again, repeat run,
and asserts on results, files and what the emulator holds.
"""
from __future__ import annotations

import json
import os
import re

import pytest
import yaml
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from ansible_collections.huaweicloud.kps.plugins.module_utils._host_keys import with_openssh_comment

from integration.harness import CONNECTION, exported_text, run_tasks
from kps_emulator import keys
from kps_emulator.testing import seed_keypairs

BATCH = 'batch_export_private_keys'
EXPORT = 'export_private_key'


def four_runs(ansible, tasks):
    """check mode, real run, check mode again, repeat run: the four lists of results."""
    return [run_tasks(ansible, tasks, *(['--check'] if check else [])) for check in (True, False, True, False)]


# ----- the answer for a missing key pair ---------------------------------------------------------------------

@pytest.mark.parametrize('answer', [
    {'status': 400, 'error_code': 'KPS.6004'},  # the emulator's default
    {'status': 404, 'error_code': 'KPS.4016'},
    {'status': 404, 'error_code': None},        # a bare 404, as Terraform expects
    {'status': 400, 'error_code': 'KPS.0002'},  # an unexpected code: confirmed against a listing
], ids=lambda answer: '%s-%s' % (answer['status'], answer['error_code']))
def test_every_not_found_answer(ansible, tmp_path, answer):
    emulator = ansible.emulator
    emulator.set_switches(not_found=answer)
    seed_keypairs(emulator.client(), 1, prefix='have-')
    emulator.clear_requests()
    private_key, public_key = keys.generate('ed25519')
    key_file = tmp_path / 'new.pem'
    key_file.write_text(private_key)
    key_file.chmod(0o600)
    ansible.add_secret(private_key)
    tasks = [
        {'name': 'import with create', 'huaweicloud.kps.kps_private_key_import': {
            'name': 'brand-new', 'private_key_path': str(key_file)}},
        {'name': 'export a missing key pair', 'huaweicloud.kps.kps_private_key_export': {
            'name': 'nope', 'dest': str(tmp_path / 'nope.pem')}},
        {'name': 'info', 'huaweicloud.kps.kps_keypair_info': {'names': ['have-0000', 'nope']}},
        {'name': 'clear a missing key pair', 'huaweicloud.kps.kps_private_key_import': {
            'name': 'nope', 'state': 'absent'}},
    ]
    runs = four_runs(ansible, tasks)
    for index, (imported, exported, info, cleared) in enumerate(runs):
        first = index < 2
        assert not imported.get('failed'), imported['msg']
        assert imported['changed'] is first
        if index in (0, 2):  # check mode warns and reports what a run would write once the key pair exists
            assert not exported.get('failed') and exported['files'][0]['action'] == 'create'
            assert [w for w in exported['warnings'] if 'key pair nope does not exist in KPS' in w]
        else:
            assert exported['failed'] and exported['msg'] == (
                'Cannot export: key pair nope does not exist in KPS. Nothing was exported or written.')
            assert exported['missing'] == ['nope']
        assert [kp['name'] for kp in info['keypairs']] == ['have-0000'] and info['missing'] == ['nope']
        assert info['keypairs'][0]['frozen_state'] == 0
        assert not cleared.get('failed') and cleared['changed'] is False
        assert cleared['msg'] == 'Key pair nope does not exist: nothing to clear.'
    record = emulator.keypair('brand-new')
    assert record['is_key_protection'] and record['private_key'] == private_key
    assert keys.same_public_key(record['public_key'], public_key)
    assert not (tmp_path / 'nope.pem').exists()
    assert len(emulator.requests('create_keypair')) == 1  # the real run only
    shows = emulator.requests('show_keypair')
    assert shows and all(entry['status'] in (200, answer['status']) for entry in shows)


# ----- batch archives ----------------------------------------------------------------------------------------

@pytest.fixture
def hosted(ansible):
    """12 hosted key pairs (two batches), registered with the secret guard: {name: private PEM}."""
    return ansible.seed_hosted(12, prefix='b-')


# Each archive variant with dest (files written) and without (keys returned).
WITH_DEST = pytest.mark.parametrize('with_dest', [True, False], ids=['dest', 'no-dest'])


@pytest.fixture
def dest(tmp_path, with_dest):
    """The export's dest: an empty 0700 directory, or None (the keys are returned)."""
    if not with_dest:
        return None
    directory = tmp_path / 'keys'
    directory.mkdir(mode=0o700)
    return directory


def export_task(names, dest=None):
    args = {'names': names}
    if dest:
        args['dest'] = str(dest)
    return {'name': 'export', 'huaweicloud.kps.kps_private_key_export': args, 'no_log': dest is None}


def assert_files(directory, made):
    assert sorted(os.listdir(str(directory))) == sorted('%s.pem' % name for name in made)
    for name, private in made.items():
        path = directory / ('%s.pem' % name)
        assert path.read_text() == exported_text(private)
        assert path.stat().st_mode & 0o777 == 0o600


def archive_runs(ansible, names, dest, **switches):
    """The four runs of one export of ``names`` with the emulator's archive ``switches`` on: the results, in order
    (none failed)."""
    ansible.emulator.set_switches(**switches)
    results = [result for (result,) in four_runs(ansible, [export_task(names, dest)])]
    for result in results:
        assert not result.get('failed'), result.get('msg')
    return results


@WITH_DEST
def test_archive_with_extra_entries(ansible, hosted, with_dest, dest):
    """A readme, a directory and a .pub per key beside the keys: the batch is used, nothing else is asked."""
    names = sorted(hosted)
    for index, result in enumerate(archive_runs(ansible, names, dest, archive_extra_entries=True)):
        assert not result.get('warnings')
        if with_dest:
            assert result['changed'] is (index < 2)
        else:
            expected = None if index in (0, 2) else dict((name, exported_text(pem)) for name, pem in hosted.items())
            assert result['private_keys'] == (dict.fromkeys(names) if expected is None else expected)
    if with_dest:
        assert_files(dest, hosted)
    # a run that writes needs 2 batch calls; without dest both real runs export
    assert len(ansible.emulator.requests(BATCH)) == (2 if with_dest else 4)
    assert ansible.emulator.requests(EXPORT) == []


@WITH_DEST
def test_archive_that_drops_an_entry_falls_back_to_single_exports(ansible, hosted, with_dest, dest):
    names = sorted(hosted)
    for index, result in enumerate(archive_runs(ansible, names, dest, archive_drop_entry=True)):
        exported = index == 1 or (index == 3 and not with_dest)
        if exported:
            warnings = [w for w in result['warnings'] if 'one call each instead' in w]
            assert len(warnings) == 2
            for warning, chunk in zip(warnings, (names[:10], names[10:])):
                assert re.fullmatch(
                    r"huaweicloud\.kps\.kps_private_key_export: KPS call 'batch export' failed: the archive lacks "
                    r"the private key of %s \(request id \w+\); exported the %d key pairs of that batch \(%s\) one "
                    r"call each instead\." % (chunk[-1], len(chunk), ', '.join(chunk)), warning), warning
        else:
            assert not result.get('warnings')
        if not with_dest:
            assert result['private_keys'] == (dict((name, exported_text(pem)) for name, pem in hosted.items())
                                              if exported else dict.fromkeys(names))
    if with_dest:
        assert_files(dest, hosted)
    runs_that_export = 1 if with_dest else 2
    assert len(ansible.emulator.requests(BATCH)) == 2 * runs_that_export
    assert len(ansible.emulator.requests(EXPORT)) == 12 * runs_that_export


@WITH_DEST
def test_a_key_that_cannot_be_recovered_is_never_returned_or_written(ansible, hosted, with_dest, dest):
    """The archive lacks an entry and the single export of that key fails: the task fails, returns no key."""
    ansible.emulator.set_switches(archive_drop_entry=True)
    names = sorted(hosted)[:3]
    ansible.emulator.add_faults({'call': EXPORT, 'status': 400, 'error_code': 'KPS.6005', 'count': 99})
    (result,) = run_tasks(ansible, [export_task(names, dest)])
    assert result['failed'] and "KPS call 'export private key' failed: HTTP 400 KPS.6005" in result['msg']
    assert 'private_keys' not in result and 'private_key' not in result
    if with_dest:
        assert os.listdir(str(dest)) == []
    assert len(ansible.emulator.requests(BATCH)) == 1


# ----- EC keys: SEC1 refused ---------------------------------------------------------------------------------

def test_ec_keys_are_imported_when_sec1_is_refused(ansible, tmp_path):
    """No source shows SEC1 (BEGIN EC PRIVATE KEY) accepted: with the switch on, import still works (PKCS#8)."""
    ansible.emulator.set_switches(sec1_refused=True)
    key = ec.generate_private_key(ec.SECP384R1())
    sec1 = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                             serialization.NoEncryption()).decode()
    public = key.public_key().public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH).decode()
    key_file = tmp_path / 'ec.pem'
    key_file.write_text(sec1)
    key_file.chmod(0o600)
    ansible.add_secret(sec1)
    task = {'name': 'import an EC key given as SEC1', 'huaweicloud.kps.kps_private_key_import': {
        'name': 'ec-key', 'private_key_path': str(key_file)}}
    runs = four_runs(ansible, [task])
    assert [result['changed'] for (result,) in runs] == [True, True, False, False]
    assert not any(result.get('failed') for (result,) in runs)
    record = ansible.emulator.keypair('ec-key')
    assert record['is_key_protection'] and keys.same_public_key(record['public_key'], public)
    assert record['private_key'].startswith('-----BEGIN PRIVATE KEY-----')
    assert [entry['status'] for entry in ansible.emulator.requests('create_keypair')] == [200]


# ----- listings that page differently ------------------------------------------------------------------------

# Each way KPS may page ListKeypairs (docs/emulator.md), as emulator switches: pages of 10 while limit asks 1000
# (next_marker set); limit=1000 refused (KPS.0002 naming limit), so the client lists by the default page, 1000
# or 10; next_marker an opaque token. 25 key pairs: with pages of 10, ls-0020 ... ls-0024 are on page 3.
LISTING_VARIANTS = {
    'page-cap': {'list_page_cap': 10},
    'max-limit': {'list_max_limit': 100},
    'max-limit-default-page': {'list_max_limit': 100, 'list_default_limit': 10},
    'opaque-marker': {'list_opaque_marker': True, 'list_page_cap': 10},
}
ROLE_KEYS = ('ls-0005', 'ls-0024')  # installed by the role on each host: page 1 and page 3


def _listing_playbook(inventory_hosts, result_file, fingerprint, public_key, dest):
    """One playbook: every listing consumer, writes in the order check / real / check / repeat."""
    def info(**args):
        return {'huaweicloud.kps.kps_keypair_info': args}

    export = {'huaweicloud.kps.kps_private_key_export': {'names': ['ls-0001', 'ls-0021', 'ls-0024'], 'dest': dest}}
    create = {'huaweicloud.kps.kps_keypair': {'name': 'ls-new', 'public_key': public_key}}
    tasks = [info(), info(name_pattern='ls-002*', is_key_protection=True), info(fingerprint=fingerprint),
             info(names=['ls-0003', 'ls-0024', 'nope']),
             info(name='ls-0022')]                                           # its show fails: the listing has it
    tasks += [dict(export, check_mode=check) for check in (True, False, True, False)]
    tasks += [dict(create, check_mode=check) for check in (True, False, True, False)]
    tasks += [{'huaweicloud.kps.kps_keypair': {'name': 'ls-0022', 'state': 'absent'}}]  # its show fails too
    tasks = [dict(task, name='consumer %d' % index, register='r%d' % index, ignore_errors=True)
             for index, task in enumerate(tasks)]
    plays = [{'name': 'the modules', 'hosts': 'localhost', 'gather_facts': False,
              'module_defaults': {'group/huaweicloud.kps.kps': CONNECTION}, 'tasks': tasks}]
    stat = {'name': 'what the role left', 'ansible.builtin.stat': {'path': '{{ host_dir }}/id_{{ item }}'},
            'loop': list(ROLE_KEYS), 'register': 'key_files'}
    record = {'name': 'record it', 'ansible.builtin.set_fact': {
        'role_runs': "{{ role_runs | default([]) + [key_files.results | map(attribute='stat') | list] }}"}}
    role = {'role': 'huaweicloud.kps.kps_key_distribution', 'kps_key_distribution_auth': CONNECTION,
            'kps_key_distribution_keys': [{'name': name, 'private_key': {'path': '{{ host_dir }}/id_%s' % name}}
                                          for name in ROLE_KEYS]}
    for check in (True, False, True, False):
        plays.append({'name': 'the role', 'hosts': inventory_hosts, 'gather_facts': False, 'check_mode': check,
                      'roles': [role], 'post_tasks': [dict(stat, check_mode=False), dict(record, check_mode=False)]})
    hosts = inventory_hosts.split(',')
    keep = "{{ {'results': {%s}, 'role_runs': dict(%r | zip(%r | map('extract', hostvars, 'role_runs')))} | to_json }}" % (
        ', '.join("'r%d': r%d" % (index, index) for index in range(len(tasks))), hosts, hosts)
    plays.append({'name': 'keep the results', 'hosts': 'localhost', 'gather_facts': False, 'tasks': [
        {'name': 'keep', 'ansible.builtin.copy': {'content': keep, 'dest': result_file, 'mode': '0600'}}]})
    return plays


@pytest.mark.parametrize('variant', sorted(LISTING_VARIANTS))
def test_every_listing_consumer_under_each_paging(ansible, tmp_path, variant):
    """kps_keypair_info (all, filters, names), export by names, the not-found confirmation of a show,
    kps_keypair's existence checks and the distribution role's public-key read, under one paging variant."""
    emulator = ansible.emulator
    hosted = ansible.seed_hosted(25, prefix='ls-')
    emulator.set_switches(not_found={'status': 400, 'error_code': 'KPS.0002'}, **LISTING_VARIANTS[variant])
    # Every show of a missing key pair is then confirmed by a listing; a show of ls-0022 fails for a reason of its
    # own twice: the listing must find it (on page 3) so that the error is reported, not "missing".
    emulator.add_faults({'call': 'show_keypair', 'path': '/keypairs/ls-0022$', 'status': 400,
                         'error_code': 'KPS.0002', 'error_msg': 'emulated failure', 'count': 2})
    _private, public_key = keys.generate('ed25519')
    hosts = {}
    for name in ('h1',):  # the role's KPS reads do not depend on the number of hosts
        (tmp_path / name).mkdir(mode=0o700)
        hosts[name] = {'ansible_connection': 'local', 'host_dir': str(tmp_path / name)}
    inventory = tmp_path / 'inventory.yml'
    inventory.write_text(yaml.safe_dump({'all': {'hosts': hosts}}))
    dest = tmp_path / 'exported'
    dest.mkdir(mode=0o700)
    result_file = tmp_path / 'results.json'
    plays = _listing_playbook('h1', str(result_file), emulator.keypair('ls-0023')['fingerprint'], public_key,
                              str(dest))
    ansible.playbook(plays, inventory=str(inventory))
    kept = json.loads(result_file.read_text())
    r = [kept['results']['r%d' % index] for index in range(len(kept['results']))]

    names = sorted(hosted)
    assert [kp['name'] for kp in r[0]['keypairs']] == names
    assert [kp['name'] for kp in r[1]['keypairs']] == names[20:]
    assert [kp['name'] for kp in r[2]['keypairs']] == ['ls-0023']
    assert [kp['name'] for kp in r[3]['keypairs']] == ['ls-0003', 'ls-0024'] and r[3]['missing'] == ['nope']
    assert r[4]['failed'] and "KPS call 'show key pair' failed: HTTP 400 KPS.0002: emulated failure" in r[4]['msg']
    assert [result.get('failed', False) for result in r[5:13]] == [False] * 8, [res.get('msg') for res in r[5:13]]
    assert [result['changed'] for result in r[5:9]] == [True, True, False, False]  # export: check/real/check/repeat
    assert sorted(os.listdir(str(dest))) == ['ls-0001.pem', 'ls-0021.pem', 'ls-0024.pem']
    for name in ('ls-0001', 'ls-0021', 'ls-0024'):
        assert (dest / (name + '.pem')).read_text() == exported_text(hosted[name])
    assert [result['changed'] for result in r[9:13]] == [True, True, False, False]  # kps_keypair: the same
    assert keys.same_public_key(emulator.keypair('ls-new')['public_key'], public_key)
    assert r[13]['failed'] and "KPS call 'show key pair' failed: HTTP 400 KPS.0002" in r[13]['msg']
    assert emulator.keypair('ls-0022') is not None

    for host, runs in kept['role_runs'].items():  # the role: check, real, check, repeat
        assert [[stat['exists'] for stat in run] for run in runs] == [[False, False]] + [[True, True]] * 3, host
        files = [[(stat.get('inode'), stat.get('mtime'), stat.get('mode')) for stat in run] for run in runs]
        assert all(run == files[1] for run in files[1:]), host  # the same files after the real run
        for name in ROLE_KEYS:
            path = tmp_path / host / ('id_' + name)
            installed = with_openssh_comment(exported_text(hosted[name]), 'huaweicloud.kps:' + name)
            assert path.read_text() == installed and path.stat().st_mode & 0o777 == 0o600

    listing = emulator.requests('list_keypairs')
    refused = [entry for entry in listing if 'limit=1000' in entry['query']]
    if 'max_limit' in variant.replace('-', '_'):  # every listing asked limit=1000 once, then paged without limit
        assert refused and all(entry['status'] == 400 for entry in refused)
    assert all(entry['status'] == 200 for entry in listing if entry not in refused)
    markers = [entry['query'] for entry in listing if 'marker=' in entry['query']]
    assert bool(markers) is (variant != 'max-limit')
    assert [('marker=kps-page.' in query) for query in markers] == [variant == 'opaque-marker'] * len(markers)
