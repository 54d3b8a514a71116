# Copyright: Contributors to the huaweicloud.kps collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Section 1: KPS and IAM calls per operation, from the emulator's request log, against what they should be.

Every operation is one ``ansible-playbook`` run of one task (or of the role). The expected calls are the
modules' documented contract, written out as exact call counts: an unchanged import is one read, an
unchanged export makes no export call, a changed export of N keys makes ceil(N/10) batch calls (one plain
export call for a single key), ``names`` reads the metadata by the rule of ``KpsClient.find_keypairs`` (pages
of 1000 that stop once every name is found or the last page is read, or show calls once they are fewer: ``lookup_reads`` below), and
the role costs the same whatever the number of hosts. Without ``project_id`` every module run adds one IAM
project lookup. The role exports nothing when the hosts already hold their keys.
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


def lookup_reads(project_names, wanted):
    """(list calls, show calls) the documented lookup rule makes for ``wanted`` in a project listed in name order.

    One name: one show. Several: pages of LIST_PAGE until every name is found or the last page (the emulator's
    next_marker is null on it) is read; once the pages read are as many as the names still missing, one show per
    missing name.
    """
    if len(wanted) == 1:
        return 0, 1
    project_names, missing, pages = sorted(project_names), set(wanted), 0
    while True:
        page = project_names[pages * LIST_PAGE:(pages + 1) * LIST_PAGE]
        pages += 1
        missing -= set(page)
        if pages * LIST_PAGE >= len(project_names):
            return pages, 0
        if not missing or pages >= len(missing):
            return pages, len(missing)


def _export_expected(names, changed, project_names, project_id):
    """Calls of a ``names`` export of ``names`` in a project of ``project_names``."""
    lists, shows = lookup_reads(project_names, names)
    single = len(names) == 1
    return _expected(project_id, list_keypairs=lists, show_keypair=shows,
                     export_private_key=1 if changed and single else 0,
                     batch_export_private_keys=ceil_div(len(names), BATCH) if changed and not single else 0)


def _project_names(emu):
    """The names of every key pair of the emulator's project (its own client, not the collection's), in name order."""
    client, marker, found = emu.client(), None, []
    while True:
        query = {'limit': str(LIST_PAGE)}
        if marker:
            query['marker'] = marker
        body = client.json('GET', client.kps(), query=query, expect=200)[2]
        found += [item['keypair']['name'] for item in body['keypairs']]
        marker = body['page_info'].get('next_marker')
        if not marker:
            return found


def seed_filler(client, count, prefix):
    """``count`` key pairs without a hosted key, 10 per batch-import call (fast: no key is hosted)."""
    for start in range(0, count, 10):
        body = [{'keypair': {'name': '%s%05d' % (prefix, index), 'public_key': keys.generate('ed25519')[1]}}
                for index in range(start, min(count, start + 10))]
        failed = client.json('POST', client.kps('/batch-import'), body, expect=200)[2]['failed_keypairs']
        if failed:
            raise RuntimeError('seeding failed: %s' % failed[:3])


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

            # kps_keypair: generated and hosted with a description, unchanged, description update, delete.
            task = {'huaweicloud.kps.kps_keypair': {'name': 'kp-%s' % tag, 'encryption_type': 'default',
                                                    'description': 'one'}}
            one('keypair', 'generate and host', project_id, 'changed', [task],
                _expected(project_id, show_keypair=2, create_keypair=1, update_keypair=1))
            one('keypair', 'generate and host', project_id, 'unchanged', [task], _expected(project_id, show_keypair=1))
            task['huaweicloud.kps.kps_keypair']['description'] = 'two'
            one('keypair', 'description', project_id, 'changed', [task],
                _expected(project_id, show_keypair=2, update_keypair=1))
            task = {'huaweicloud.kps.kps_keypair': {'name': 'kp-%s' % tag, 'state': 'absent'}}
            one('keypair', 'delete', project_id, 'changed', [task], _expected(project_id, show_keypair=1, delete_keypair=1))
            one('keypair', 'delete', project_id, 'unchanged', [task], _expected(project_id, show_keypair=1))

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
                    project = _project_names(emu)
                    one('export', 'names, N=%d' % count, project_id, state, [task],
                        _export_expected(names, state == 'changed', project, project_id),
                        extra={'n': count, 'project_keypairs': len(project)})

        # The role: K keys on 1, 3, 10 hosts; KPS calls on the controller, once, whatever the host count.
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
                        project = _project_names(emu)
                        total = len(project)
                        # The public keys: every page of the project (a short page ends it). A changed run adds the
                        # export of the keys the hosts lack (the lookup rule, then batches); an unchanged one, nothing.
                        changed = state == 'changed'
                        lists, shows = lookup_reads(project, names) if changed else (0, 0)
                        expected = collections.Counter(dict((call, count) for call, count in (
                            ('list_keypairs', total // LIST_PAGE + 1 + lists), ('show_keypair', shows),
                            ('batch_export_private_keys', ceil_div(ROLE_KEYS, BATCH) if changed else 0),
                            ('iam_projects', 0 if project_id else (2 if changed else 1))) if count))
                        run, calls = emu.counted(emu.playbook, play, '-i', hosts.inventory, '--limit', limit,
                                                 '-f', str(max(role_hosts_counts)), inventory=True)
                        row = _row('role', 'K=%d keys, %d host%s' % (ROLE_KEYS, count, 's' if count > 1 else ''),
                                   project_id, state, calls, expected, run,
                                   {'hosts': count, 'host_kind': kind, 'project_keypairs': total})
                        rows.append(row)
                        log('  %-8s %-22s project_id=%-5s %-9s %s%s' % (
                            'role', row['case'], project_id, state, describe_calls(calls),
                            '' if row['match'] else '  MISMATCH'))
    rows += _big_project(workdir, log, one_row=_row)
    _check_role_host_independence(rows)
    return rows


BIG_PROJECT = 5000  # key pairs besides the exported ones: 6 pages of 1000


def _big_project(workdir, log, one_row):
    """``names`` exports in a project of 5000+ key pairs: names on the first page, and names on the last pages."""
    rows = []
    with Emulator(workdir, 'calls-big') as emu:
        client = emu.client()
        log('  seeding %d key pairs (batch import)' % BIG_PROJECT)
        seed_filler(client, BIG_PROJECT, 'm-fill-')
        cases = (('names, N=10, first page', sorted(seed_keypairs(client, 10, prefix='a-first-'))),
                 ('names, N=2, last page', sorted(seed_keypairs(client, 2, prefix='z-last-'))))
        for case, names in cases:
            task = {'huaweicloud.kps.kps_private_key_export': {
                'names': names, 'dest': os.path.join(emu.workdir, case.split(',')[1].strip()), 'create_dirs': True}}
            for state in ('changed', 'unchanged'):
                project = _project_names(emu)
                expected = _export_expected(names, state == 'changed', project, True)
                run, calls = emu.counted(emu.playbook, emu.play([task], True))
                row = one_row('export', '%s of %d' % (case, len(project)), True, state, calls, expected, run,
                              {'n': len(names), 'project_keypairs': len(project)})
                rows.append(row)
                log('  %-8s %-22s project_id=%-5s %-9s %s%s' % (
                    'export', row['case'], True, state, describe_calls(calls), '' if row['match'] else '  MISMATCH'))
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
