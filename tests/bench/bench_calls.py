# Copyright: Contributors to the huaweicloud.kps collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Section 1: KPS and IAM calls per operation, from the emulator's request log, against what they should be.

Every operation is one ``ansible-playbook`` run of one task (or of the role). The expected calls are the
modules' documented contract, written out as exact call counts: an unchanged import is one read, an
unchanged export makes no export call, a changed export of N keys makes ceil(N/10) batch calls (one plain
export call for a single key), ``names`` reads the metadata with one listing (one call per 50 key pairs of
the project), and the role costs the same whatever the number of hosts. Without ``project_id`` every module
run adds one IAM project lookup.
"""
from __future__ import annotations

import collections
import contextlib
import os
import sys

import yaml

from benchlib import BATCH, EXPORT_CALLS, LIST_PAGE, Emulator, ceil_div, describe_calls, split_calls
from kps_emulator import keys
from kps_emulator.testing import seed_keypairs

EXPORT_SIZES = (1, 10, 50, 200)
ROLE_HOSTS = (1, 3, 10)
ROLE_KEYS = 5
ROLE = 'huaweicloud.kps.kps_key_distribution'


def _expected(project_id, **calls):
    expected = collections.Counter(dict((call, count) for call, count in calls.items() if count))
    if not project_id:
        expected['iam_projects'] += 1
    return expected


def _export_expected(count, changed, total, project_id):
    """Calls of a ``names`` export of ``count`` keys in a project of ``total`` key pairs."""
    if count == 1:
        return _expected(project_id, show_keypair=1, export_private_key=1 if changed else 0)
    return _expected(project_id, list_keypairs=ceil_div(total, LIST_PAGE),
                     batch_export_private_keys=ceil_div(count, BATCH) if changed else 0)


def _row(operation, case, project_id, state, calls, expected, run, extra=None):
    kps, iam = split_calls(calls)
    row = {'section': 'calls', 'operation': operation, 'case': case, 'project_id': project_id, 'state': state,
           'calls': dict(calls), 'expected': dict(expected), 'kps_calls': kps, 'iam_calls': iam,
           'export_calls': sum(calls[call] for call in EXPORT_CALLS),
           'match': collections.Counter(calls) == collections.Counter(expected), 'wall': run.wall, 'cpu': run.cpu}
    row.update(extra or {})
    return row


class _LocalHosts:
    """Fallback when real SSH hosts cannot be started: N inventory hosts with the local connection."""

    def __init__(self, count, workdir):
        self.names = ['local%d' % index for index in range(1, count + 1)]
        self.inventory = os.path.join(workdir, 'local-inventory.yml')
        self.homes = os.path.join(workdir, 'local-homes')
        for name in self.names:
            os.makedirs(os.path.join(self.homes, name), mode=0o700, exist_ok=True)
        hosts = dict((name, {'ansible_connection': 'local', 'ansible_python_interpreter': sys.executable})
                     for name in self.names)
        with open(self.inventory, 'w') as handle:
            yaml.safe_dump({'all': {'children': {'kps_hosts': {'hosts': hosts}}}}, handle)


@contextlib.contextmanager
def role_hosts(count, workdir, log):
    """Real SSH hosts (tests/integration/ssh_hosts.py) when this machine can run them, else local hosts."""
    from integration import ssh_hosts  # pylint: disable=import-outside-toplevel
    reason = ssh_hosts.unavailable_reason()
    if reason:
        log('role hosts: %d local-connection hosts with separate key paths (%s)' % (count, reason))
        yield 'local', _LocalHosts(count, workdir)
        return
    log('role hosts: starting %d real SSH hosts (network namespaces, one sshd each)' % count)
    with ssh_hosts.ssh_hosts(count, os.path.join(workdir, 'ssh-hosts')) as hosts:
        yield 'ssh', hosts


def _role_keys(names, kind, hosts):
    if kind == 'ssh':
        return [{'name': name, 'authorized_users': ['root']} for name in names]
    # Local hosts share this machine's home directories: a separate path per host, no authorized_keys.
    return [{'name': name, 'private_key': {'path': '%s/{{ inventory_hostname }}/id_%s' % (hosts.homes, name)}}
            for name in names]


def measure(workdir, log, quick=False):
    rows = []
    export_sizes = (1, 10) if quick else EXPORT_SIZES
    role_hosts_counts = (1, 3) if quick else ROLE_HOSTS
    with Emulator(workdir, 'calls') as emu:
        client = emu.client()
        keydir = os.path.join(emu.workdir, 'keys')
        os.makedirs(keydir, mode=0o700)

        def key_file(name, pem):
            path = os.path.join(keydir, name + '.pem')
            with open(path, 'w') as handle:
                handle.write(pem)
            return path

        def one(operation, case, project_id, state, tasks, expected, hosts='localhost', extra=None, args=()):
            run, calls = emu.counted(emu.playbook, emu.play(tasks, project_id, hosts=hosts), *args)
            row = _row(operation, case, project_id, state, calls, expected, run, extra)
            rows.append(row)
            log('  %-8s %-22s project_id=%-5s %-9s %s%s' % (
                operation, case, project_id, state, describe_calls(calls), '' if row['match'] else '  MISMATCH'))
            return row

        for project_id in (True, False):
            tag = 'p' if project_id else 'l'
            # Import: a key pair that does not exist (created), then the same again (already hosted).
            private_key, _public = keys.generate('ed25519')
            task = {'huaweicloud.kps.kps_private_key_import': {
                'name': 'imp-%s-new' % tag, 'private_key_path': key_file('imp-%s-new' % tag, private_key)}}
            one('import', 'missing key pair', project_id, 'changed', [task],
                _expected(project_id, show_keypair=2, create_keypair=1))
            one('import', 'already hosted', project_id, 'unchanged', [task], _expected(project_id, show_keypair=1))
            bare = seed_keypairs(client, 1, prefix='imp-%s-bare-' % tag, hosted=False)
            name, pem = next(iter(bare.items()))
            one('import', 'not hosted', project_id, 'changed',
                [{'huaweicloud.kps.kps_private_key_import': {'name': name, 'private_key_path': key_file(name, pem)}}],
                _expected(project_id, show_keypair=2, import_private_key=1))

            # Export of one key with name + dest.
            name = next(iter(seed_keypairs(client, 1, prefix='exp-%s-one-' % tag)))
            task = {'huaweicloud.kps.kps_private_key_export': {
                'name': name, 'dest': os.path.join(emu.workdir, 'one-%s' % tag, name + '.pem'), 'create_dirs': True}}
            one('export', 'name, 1 key', project_id, 'changed', [task],
                _expected(project_id, show_keypair=1, export_private_key=1))
            one('export', 'name, 1 key', project_id, 'unchanged', [task], _expected(project_id, show_keypair=1))

            # Export of N keys with names + dest (a directory).
            for count in export_sizes:
                names = sorted(seed_keypairs(client, count, prefix='exp-%s-%d-' % (tag, count)))
                task = {'huaweicloud.kps.kps_private_key_export': {
                    'names': names, 'dest': os.path.join(emu.workdir, 'n-%s-%d' % (tag, count)), 'create_dirs': True}}
                for state in ('changed', 'unchanged'):
                    total = emu.keypair_count()
                    one('export', 'names, N=%d' % count, project_id, state, [task],
                        _export_expected(count, state == 'changed', total, project_id),
                        extra={'n': count, 'project_keypairs': total})

        # The role: K keys on 1, 3, 10 hosts; the export runs once on the controller whatever the host count.
        with role_hosts(max(role_hosts_counts), emu.workdir, log) as (kind, hosts):
            for project_id in (True, False):
                tag = 'p' if project_id else 'l'
                for count in role_hosts_counts:
                    names = sorted(seed_keypairs(client, ROLE_KEYS, prefix='role-%s-%d-' % (tag, count)))
                    limit = ':'.join(hosts.names[:count])
                    play = [{'name': 'bench role', 'hosts': 'kps_hosts', 'gather_facts': False, 'roles': [{
                        'role': ROLE, 'kps_key_distribution_keys': _role_keys(names, kind, hosts),
                        'kps_key_distribution_auth': emu.auth(project_id)}]}]
                    for state in ('changed', 'unchanged'):
                        total = emu.keypair_count()
                        expected = _expected(project_id, list_keypairs=ceil_div(total, LIST_PAGE),
                                             batch_export_private_keys=ceil_div(ROLE_KEYS, BATCH))
                        run, calls = emu.counted(emu.playbook, play, '-i', hosts.inventory, '--limit', limit,
                                                 '-f', str(max(role_hosts_counts)), inventory=True)
                        row = _row('role', 'K=%d keys, %d host%s' % (ROLE_KEYS, count, 's' if count > 1 else ''),
                                   project_id, state, calls, expected, run,
                                   {'hosts': count, 'host_kind': kind, 'project_keypairs': total})
                        rows.append(row)
                        log('  %-8s %-22s project_id=%-5s %-9s %s%s' % (
                            'role', row['case'], project_id, state, describe_calls(calls),
                            '' if row['match'] else '  MISMATCH'))
    _check_role_host_independence(rows)
    return rows


def _check_role_host_independence(rows):
    """Flag role rows whose calls differ from the 1-host run of the same variant and state."""
    base = {}
    for row in rows:
        if row['operation'] == 'role' and row['hosts'] == 1:
            base[(row['project_id'], row['state'])] = row
    for row in rows:
        if row['operation'] != 'role':
            continue
        ref = base.get((row['project_id'], row['state']))
        # Compare KPS/IAM call counts, not list pages (those follow the project's size, which grows by 5 a run).
        same = ref is not None and split_calls(row['calls'])[1] == split_calls(ref['calls'])[1] and \
            row['export_calls'] == ref['export_calls']
        row['same_as_one_host'] = same
        if not same:
            row['match'] = False
