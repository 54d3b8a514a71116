# Copyright: Contributors to the huaweicloud.kps collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Section 6: a migration, 1000 existing private keys hosted by one ``kps_private_key_import`` task with ``keys``.

The keys are files (mode 0600) of RSA 2048 keys in PKCS#1 PEM, what most existing keys are; they share a pool
of 40 keys so that generating them takes seconds (as ``benchlib.seed_rsa_keypairs``). KPS starts empty. The
task runs once (changed: every key pair created with its key hosted, ceil(1000/10) batch-import calls), then
again (unchanged: one listing, no write). Goals: the first run under 10 s, the repeat under 3 s with 0 writes.

A third run, in an empty project of its own, is a migration that KPS partly refuses: 1000 distinct Ed25519 keys
(a pool would register the same secrets again and again), one in every 100 with a KMS key KPS does not have, so
that 10 batch answers each report a failed key pair (its reason scrubbed of the secrets sent so far). No goal; it
shows that the failures cost no more than the rest (the scrubber once compiled a regex of every secret form
registered so far for each failed batch: minutes for 1000 RSA keys).
"""
from __future__ import annotations

import os

from benchlib import BATCH, LIST_PAGE, BenchError, Emulator, ceil_div, split_calls

from kps_emulator import keys

COUNT = 1000
POOL = 40
REFUSED_EVERY = 100
GOAL_CHANGED_SECONDS = 10.0
GOAL_REPEAT_SECONDS = 3.0
WRITES = ('create_keypair', 'batch_import_keypairs', 'import_private_key', 'clear_private_key', 'update_keypair',
          'delete_keypair')


def expected_calls(count, changed):
    """Calls of a ``keys`` task for ``count`` (at most LIST_PAGE) new key pairs in an empty project: a listing
    (one page), and when it writes, ceil(count/10) batch-import calls and a listing of what it wrote."""
    assert count <= LIST_PAGE
    if changed:
        return {'list_keypairs': 2, 'batch_import_keypairs': ceil_div(count, BATCH)}
    return {'list_keypairs': 1}


def _row(emu, task, count, state, expected):
    run, calls = emu.counted(emu.playbook, emu.play([task]), name='batch-import-%s' % state)
    kps, _iam = split_calls(calls)
    writes = sum(calls.get(call, 0) for call in WRITES)
    return {'section': 'batch_import', 'n': count, 'state': state, 'wall': run.wall, 'cpu': run.cpu,
            'calls': dict(calls), 'kps_calls': kps, 'writes': writes, 'expected': expected,
            'match': dict((call, n) for call, n in calls.items() if n) == expected}


def _write_keys(key_dir, texts):
    os.makedirs(key_dir, mode=0o700)
    paths = []
    for index, text in enumerate(texts):
        path = os.path.join(key_dir, 'key-%04d.pem' % index)
        with open(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), 'w') as handle:
            handle.write(text)
        paths.append(path)
    return paths


def measure(workdir, log, quick=False):
    count = 100 if quick else COUNT
    rows = []
    with Emulator(workdir, 'batch-import') as emu:
        pool = [keys.generate('rsa')[0] for _index in range(POOL)]
        paths = _write_keys(os.path.join(emu.workdir, 'keys'), [pool[index % POOL] for index in range(count)])
        items = [{'name': 'migrated-%04d' % index, 'private_key_path': path} for index, path in enumerate(paths)]
        log('  wrote %d RSA 2048 key files (a pool of %d keys)' % (count, POOL))
        task = {'huaweicloud.kps.kps_private_key_import': {'keys': items}}
        for state in ('changed', 'unchanged'):
            rows.append(_row(emu, task, count, state, expected_calls(count, state == 'changed')))
            log('  keys N=%-5d %-9s %7.2fs wall %7.2fs CPU, %d KPS calls (%d writes)' % (
                count, state, rows[-1]['wall'], rows[-1]['cpu'], rows[-1]['kps_calls'], rows[-1]['writes']))
        hosted = sum(1 for item in items if (emu.process.keypair(item['name']) or {}).get('is_key_protection'))
        if hosted != count:
            raise BenchError('%d of %d key pairs host their private key after the run' % (hosted, count))
    with Emulator(workdir, 'batch-import-refused') as emu:
        paths = _write_keys(os.path.join(emu.workdir, 'keys'), [keys.generate('ed25519')[0] for _index in range(count)])
        items = [{'name': 'migrated-%04d' % index, 'private_key_path': path} for index, path in enumerate(paths)]
        refused = items[REFUSED_EVERY - 1::REFUSED_EVERY]
        for item in refused:
            item.update(encryption_type='kms', kms_key_name='kps/missing')
        # the task fails naming the refused keys (ignore_errors: the playbook run succeeds)
        task = {'huaweicloud.kps.kps_private_key_import': {'keys': items}, 'ignore_errors': True}
        rows.append(_row(emu, task, count, 'refused', expected_calls(count, True)))
        log('  keys N=%-5d %-9s %7.2fs wall %7.2fs CPU, %d KPS calls (%d writes), %d refused' % (
            count, 'refused', rows[-1]['wall'], rows[-1]['cpu'], rows[-1]['kps_calls'], rows[-1]['writes'],
            len(refused)))
        hosted = sum(1 for item in items if (emu.process.keypair(item['name']) or {}).get('is_key_protection'))
        if hosted != count - len(refused):
            raise BenchError('%d of %d key pairs host their private key after the run' % (hosted, count - len(refused)))
    return rows
