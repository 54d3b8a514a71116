# Copyright: Contributors to the huaweicloud.kps collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The modules survive every variant of what no source settles about the real KPS (docs/emulator.md).

Each variant is an emulator switch (/_emulator/switches): the answer for a missing key pair, extra entries
in a batch archive, an archive that lacks an entry, SEC1 EC keys refused. Each test runs real ansible-playbook processes in the
order check mode, real run, check mode again, repeat run, and asserts on results, files and what the
emulator holds.
"""
from __future__ import annotations

import os
import re

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from integration.harness import exported_text, run_tasks
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
