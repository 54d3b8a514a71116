# Copyright: Contributors to the huaweicloud.kps collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Section 6: a migration, 1000 existing private keys hosted by one ``kps_private_key_import`` task with ``keys``.

The keys are files (mode 0600) of RSA 2048 keys in PKCS#1 PEM, what most existing keys are; they share a pool
of 40 keys so that generating them takes seconds (as ``benchlib.seed_rsa_keypairs``). KPS starts empty. The
task runs once (changed: every key pair created with its key hosted, ceil(1000/10) batch-import calls), then
again (unchanged: one listing, no write). Goals: the first run under 10 s, the repeat under 3 s with 0 writes.
"""
from __future__ import annotations

import os

from benchlib import BATCH, LIST_PAGE, BenchError, Emulator, ceil_div, split_calls

from kps_emulator import keys

COUNT = 1000
POOL = 40
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


def measure(workdir, log, quick=False):
    count = 100 if quick else COUNT
    rows = []
    with Emulator(workdir, 'batch-import') as emu:
        pool = [keys.generate('rsa')[0] for _index in range(POOL)]
        key_dir = os.path.join(emu.workdir, 'keys')
        os.makedirs(key_dir, mode=0o700)
        items = []
        for index in range(count):
            path = os.path.join(key_dir, 'key-%04d.pem' % index)
            with open(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), 'w') as handle:
                handle.write(pool[index % POOL])
            items.append({'name': 'migrated-%04d' % index, 'private_key_path': path})
        log('  wrote %d RSA 2048 key files (a pool of %d keys)' % (count, POOL))
        task = {'huaweicloud.kps.kps_private_key_import': {'keys': items}}
        for state in ('changed', 'unchanged'):
            run, calls = emu.counted(emu.playbook, emu.play([task]), name='batch-import-%s' % state)
            kps, _iam = split_calls(calls)
            writes = sum(calls.get(call, 0) for call in WRITES)
            expected = expected_calls(count, state == 'changed')
            rows.append({'section': 'batch_import', 'n': count, 'state': state, 'wall': run.wall, 'cpu': run.cpu,
                         'calls': dict(calls), 'kps_calls': kps, 'writes': writes, 'expected': expected,
                         'match': dict((call, n) for call, n in calls.items() if n) == expected})
            log('  keys N=%-5d %-9s %7.2fs wall %7.2fs CPU, %d KPS calls (%d writes)' % (
                count, state, run.wall, run.cpu, kps, writes))
        hosted = sum(1 for item in items if (emu.process.keypair(item['name']) or {}).get('is_key_protection'))
        if hosted != count:
            raise BenchError('%d of %d key pairs host their private key after the run' % (hosted, count))
    return rows
