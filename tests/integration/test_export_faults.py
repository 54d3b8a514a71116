# Copyright: Contributors to the huaweicloud.kps collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""kps_private_key_export against a misbehaving KPS, ad hoc, and at -vvvv.

Faults come from the emulator's fault control. The rule under test: the task either succeeds with every
file right, or fails with every file that existed before byte-for-byte unchanged and no temp file left.
"""
from __future__ import annotations

import json
import os
import re

import pytest

from integration.harness import CONNECTION, exported_text, public_key_of

BATCH = 'batch_export_private_keys'


@pytest.fixture
def seeded(ansible):
    """25 key pairs with hosted private keys, registered with the secret guard: {name: private PEM}."""
    return ansible.seed_hosted(25, prefix='f-')


@pytest.fixture
def keydir(tmp_path, seeded):
    """A directory with two right files, two wrong ones and a stranger file; the rest are missing."""
    directory = tmp_path / 'keys'
    directory.mkdir(mode=0o700)
    names = sorted(seeded)
    for name in names[:2]:  # right: the key in the format the module writes by default
        (directory / ('%s.pem' % name)).write_text(exported_text(seeded[name]))
    (directory / ('%s.pem' % names[2])).write_text(seeded[names[3]])
    (directory / ('%s.pem' % names[3])).write_text('not a key\n')
    (directory / 'README').write_text('left alone\n')
    for path in directory.iterdir():
        path.chmod(0o600)
    return directory


def snapshot(directory):
    return dict((path.name, (path.read_bytes(), path.stat().st_mode)) for path in directory.iterdir())


def export(ansible, names, dest, **options):
    """Run the module once in a playbook; returns its result (which holds no key: dest is given)."""
    result_file = os.path.join(ansible.workdir, 'result.json')
    args = dict(names=names, dest=str(dest), **options)
    ansible.playbook([{
        'name': 'export', 'hosts': 'localhost', 'gather_facts': False,
        'module_defaults': {'group/huaweicloud.kps.kps': CONNECTION},
        'tasks': [
            {'name': 'export the private keys', 'huaweicloud.kps.kps_private_key_export': args,
             'register': 'exported', 'ignore_errors': True},
            {'name': 'keep the result', 'ansible.builtin.copy': {
                'content': '{{ exported | to_json }}', 'dest': result_file, 'mode': '0600'}},
        ]}])
    with open(result_file) as handle:
        return json.load(handle)


def assert_all_right(directory, seeded):
    for name, private in seeded.items():
        path = directory / ('%s.pem' % name)
        assert oct(path.stat().st_mode & 0o777) == oct(0o600)
        assert public_key_of(path.read_text()) == public_key_of(private), name
    assert sorted(p.name for p in directory.iterdir()) == sorted(['README'] + ['%s.pem' % n for n in seeded])


@pytest.mark.parametrize('fault, message', [
    ({'truncate_zip': True}, r'corrupt or truncated|not a readable zip'),
    ({'corrupt_zip': True}, r'corrupt or truncated|not a readable zip'),
])
def test_bad_archive_fails_and_changes_nothing(ansible, seeded, keydir, fault, message):
    before = snapshot(keydir)
    ansible.emulator.add_faults(dict(fault, call=BATCH))
    result = export(ansible, sorted(seeded), keydir)
    assert result['failed']
    assert re.search(message, result['msg']), result['msg']
    assert snapshot(keydir) == before, 'no file changed and no temp file left'

    # The fault was used up: the next run fixes everything.
    result = export(ansible, sorted(seeded), keydir)
    assert result['changed'] and not result.get('failed')
    assert_all_right(keydir, seeded)


def test_archive_with_a_foreign_private_key_is_not_used(ansible, seeded, keydir):
    """An archive holding a private key of no requested key pair: that batch is exported one key at a time."""
    ansible.emulator.add_faults({'call': BATCH, 'extra_zip_entry': True})
    result = export(ansible, sorted(seeded), keydir)
    assert not result.get('failed') and result['changed']
    assert [w for w in result['warnings'] if 'matches no requested key pair' in w and 'one call each instead' in w]
    assert_all_right(keydir, seeded)
    # 21 files to write: 3 batch calls; the first archive is refused and its 10 key pairs are exported singly
    assert len(ansible.emulator.requests(BATCH)) == 3
    assert len(ansible.emulator.requests('export_private_key')) == 10


def test_server_error_is_retried(ansible, seeded, keydir):
    ansible.emulator.add_faults({'call': BATCH, 'status': 500, 'count': 1})
    result = export(ansible, sorted(seeded), keydir)
    assert any('retrying' in warning for warning in result['warnings'])
    assert_all_right(keydir, seeded)
    # 21 files to write: 3 batch calls, plus the one that got the 500
    assert [entry['status'] for entry in ansible.emulator.requests(BATCH)] == [500, 200, 200, 200]


def test_dropped_connection_is_retried(ansible, seeded, keydir):
    ansible.emulator.add_faults({'call': BATCH, 'drop': True, 'count': 1})
    assert not export(ansible, sorted(seeded), keydir).get('failed')
    assert_all_right(keydir, seeded)
    assert len(ansible.emulator.requests(BATCH)) == 4


def test_connection_dropped_after_the_first_batch_writes_nothing(ansible, seeded, keydir):
    before = snapshot(keydir)
    # The first batch call is answered (a tiny delay is the fault that lets it through); every later one is dropped.
    ansible.emulator.add_faults({'call': BATCH, 'delay': 0.01, 'count': 1}, {'call': BATCH, 'drop': True, 'count': 50})
    result = export(ansible, sorted(seeded), keydir, retries=1)
    assert result['failed'] and 'batch export' in result['msg']
    assert len(ansible.emulator.requests(BATCH)) == 3  # the first chunk, then the second chunk twice
    assert snapshot(keydir) == before


def test_adhoc(ansible, seeded, tmp_path):
    name = sorted(seeded)[0]
    dest = tmp_path / 'adhoc.pem'
    env = ansible.emulator.module_env()
    first = ansible.adhoc('huaweicloud.kps.kps_private_key_export', 'name=%s dest=%s' % (name, dest), env=env)
    assert 'CHANGED' in first.stdout
    assert public_key_of(dest.read_text()) == public_key_of(seeded[name])
    again = ansible.adhoc('huaweicloud.kps.kps_private_key_export', 'name=%s dest=%s' % (name, dest), env=env)
    assert 'SUCCESS' in again.stdout and '"changed": false' in again.stdout

    names = ','.join(sorted(seeded)[:12])
    directory = tmp_path / 'adhoc'
    check = ansible.adhoc('huaweicloud.kps.kps_private_key_export',
                          'names=%s dest=%s create_dirs=true' % (names, directory), '--check', env=env)
    assert 'CHANGED' in check.stdout and not directory.exists()
    ansible.adhoc('huaweicloud.kps.kps_private_key_export', 'names=%s dest=%s create_dirs=true' % (names, directory),
                  env=env)
    assert len(os.listdir(directory)) == 12
