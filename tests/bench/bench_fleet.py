# Copyright: Contributors to the huaweicloud.kps collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Sections 4 and 5: the role kps_key_distribution at fleet scale, and AWX job slicing against a throttled KPS.

4. ``fleet``: the role with K = 2 key pairs, unchanged and changed, on 1, 20 and 100 inventory hosts, against a
   one-task ``ansible.builtin.ping`` play on the same hosts in the same run (round-robin, so that both see the
   same load). The hosts use the local connection with distinct inventory names, forks 5 and pipelining, and a
   key directory of their own (``homes/<host>/``); a changed run starts from empty key directories. Goals:
   unchanged <= 2.5x the ping play, changed <= 4x, and no export call in an unchanged run.
5. ``slicing``: AWX job slicing, simulated: S = 10 ``ansible-playbook`` processes at once, each running the role
   on its own 10 hosts (what a sliced job template runs), against one emulator throttled to 20 requests per
   second (HTTP 429 with ``Retry-After``, see docs/emulator.md), in a project of 2500 key pairs (a listing is 3
   calls, so the slices' calls come in bursts). Every slice must succeed; the section counts the
   KPS calls, the 429 answers the modules absorbed (they retry after ``Retry-After``) and the wall time, first
   run (changed) and second run (unchanged), and compares the calls with the formula of docs/benchmark.md.
"""
from __future__ import annotations

import collections
import os
import re
import shutil
import subprocess
import sys
import time

import yaml
from bench_calls import lookup_reads
from benchlib import BATCH, EXPORT_CALLS, LIST_PAGE, BenchError, Emulator, ansible_env, ceil_div, median, seed_rsa_keypairs

ROLE = 'huaweicloud.kps.kps_key_distribution'
SIZES = (1, 20, 100)
KEYS = 2
FORKS = 5
GOAL_UNCHANGED = 2.5
GOAL_CHANGED = 4.0
SLICES = 10
SLICE_HOSTS = 10
RATE_LIMIT = 20
# Key pairs in the project of the slicing simulation: listing it takes 3 calls (pages of 1000), so that the
# slices' calls arrive in bursts, as in the project of a big organisation.
SLICING_PROJECT_KEYPAIRS = 2500
RECAP_RE = re.compile(r'^(\S+)\s+: ok=\d+\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)', re.M)
PIPELINING = {'ANSIBLE_PIPELINING': 'True'}


def calls_per_job(slices, project_names, needed):
    """KPS calls of one sliced job (docs/benchmark.md): per slice, every page of the project (the public keys),
    and when some host of the slice needs keys, the export: the lookup rule for those names, then ceil(K / 10)
    batch exports (one format; a single key: one show and one export)."""
    listing = max(1, ceil_div(len(project_names), LIST_PAGE))  # the last page has no next_marker
    if not needed:
        return slices * listing
    lists, shows = lookup_reads(project_names, needed)
    return slices * (listing + lists + shows + ceil_div(len(needed), BATCH))


def _inventory(path, names, homes):
    hosts = dict((name, {'ansible_connection': 'local', 'ansible_python_interpreter': sys.executable})
                 for name in names)
    for name in names:
        os.makedirs(os.path.join(homes, name), mode=0o700, exist_ok=True)
    with open(path, 'w') as handle:
        yaml.safe_dump({'all': {'children': {'kps_hosts': {'hosts': hosts}}}}, handle)


def _role_play(emu, names, homes):
    keys = [{'name': name, 'private_key': {'path': '%s/{{ inventory_hostname }}/id_%s' % (homes, name)}}
            for name in names]
    return [{'name': 'bench fleet role', 'hosts': 'kps_hosts', 'gather_facts': False,
             'roles': [{'role': ROLE, 'kps_key_distribution_keys': keys, 'kps_key_distribution_auth': emu.auth()}]}]


PING_PLAY = [{'name': 'bench fleet ping', 'hosts': 'kps_hosts', 'gather_facts': False,
              'tasks': [{'ansible.builtin.ping': {}}]}]


def _recap_changed(run, count):
    recap = RECAP_RE.findall(run.stdout)
    if len(recap) != count or any(row[2] != '0' or row[3] != '0' for row in recap):
        raise BenchError('a host failed or was unreachable:\n%s' % run.stdout[-3000:])
    return sum(1 for row in recap if row[1] != '0')


def _wipe(homes):
    for host in os.listdir(homes):
        for name in os.listdir(os.path.join(homes, host)):
            os.unlink(os.path.join(homes, host, name))


def _export_calls(calls):
    return sum(calls.get(call, 0) for call in EXPORT_CALLS)


def measure(workdir, log, runs=3, quick=False):
    sizes = (1, 5) if quick else SIZES
    rows = []
    with Emulator(workdir, 'fleet') as emu:
        names = seed_rsa_keypairs(emu.client(), KEYS, 'fleet-')
        for count in sizes:
            homes = os.path.join(emu.workdir, 'homes-%d' % count)
            inventory = os.path.join(emu.workdir, 'inventory-%d.yml' % count)
            _inventory(inventory, ['h%03d' % index for index in range(count)], homes)
            role_play = emu.write_playbook(_role_play(emu, names, homes), 'fleet-role-%d' % count)
            ping_play = emu.write_playbook(PING_PLAY, 'fleet-ping-%d' % count)
            args = ('-i', inventory, '-f', str(FORKS))
            samples = collections.defaultdict(list)
            calls = {}
            rounds = 1 if count >= 100 and not quick else runs
            for round_index in range(rounds):
                _wipe(homes)
                run, calls['changed'] = emu.counted(emu.playbook, role_play, *args, env=PIPELINING, inventory=True)
                if _recap_changed(run, count) != count:
                    raise BenchError('the changed run did not change every host')
                samples['changed'].append(run)
                run, calls['unchanged'] = emu.counted(emu.playbook, role_play, *args, env=PIPELINING, inventory=True)
                if _recap_changed(run, count) != 0:
                    raise BenchError('the unchanged run changed a host:\n%s' % run.stdout[-3000:])
                samples['unchanged'].append(run)
                samples['ping'].append(emu.playbook(ping_play, *args, env=PIPELINING, inventory=True))
                log('  %3d hosts, round %d: ping %.1fs, role unchanged %.1fs, changed %.1fs' % (
                    count, round_index + 1, samples['ping'][-1].wall, samples['unchanged'][-1].wall,
                    samples['changed'][-1].wall))
            ping = median([run.wall for run in samples['ping']])
            row = {'section': 'fleet', 'hosts': count, 'keys': KEYS, 'rounds': rounds, 'ping': ping}
            for state in ('unchanged', 'changed'):
                wall = median([run.wall for run in samples[state]])
                row[state] = {'wall': wall, 'cpu': median([run.cpu for run in samples[state]]),
                              'vs_ping': wall / ping, 'calls': dict(calls[state]),
                              'kps_calls': sum(calls[state].values()), 'export_calls': _export_calls(calls[state])}
            row['ping_cpu'] = median([run.cpu for run in samples['ping']])
            rows.append(row)
    return rows


def _spawn(emu, playbook, inventory):
    argv = [os.path.join(os.path.dirname(sys.executable), 'ansible-playbook'), playbook, '-i', inventory,
            '-f', str(FORKS)]
    out = open(inventory + '.out', 'w+')  # pylint: disable=consider-using-with
    proc = subprocess.Popen(argv, env=ansible_env(emu.workdir, PIPELINING), cwd=emu.workdir,  # pylint: disable=consider-using-with
                            stdout=out, stderr=subprocess.STDOUT, text=True)
    return proc, out


def slicing(workdir, log, quick=False):
    slices = 3 if quick else SLICES
    with Emulator(workdir, 'slicing') as emu:
        project = seed_rsa_keypairs(emu.client(), SLICING_PROJECT_KEYPAIRS, 'slice-')
        names = project[:KEYS]
        homes = os.path.join(emu.workdir, 'homes')
        jobs = []
        for index in range(slices):
            inventory = os.path.join(emu.workdir, 'slice-%02d.yml' % index)
            _inventory(inventory, ['s%02dh%02d' % (index, host) for host in range(SLICE_HOSTS)], homes)
            jobs.append(inventory)
        playbook = emu.write_playbook(_role_play(emu, names, homes), 'slice-role')
        emu.process.control('POST', '/rate_limit', {'per_second': RATE_LIMIT})
        rows = []
        for state in ('changed', 'unchanged'):
            emu.process.clear_requests()
            start = time.perf_counter()
            procs = [_spawn(emu, playbook, inventory) for inventory in jobs]
            outputs = []
            for proc, out in procs:
                proc.wait(timeout=1800)
                out.seek(0)
                outputs.append((proc.returncode, out.read()))
                out.close()
            wall = time.perf_counter() - start
            failed = [index for index, (returncode, _text) in enumerate(outputs) if returncode != 0]
            log_entries = emu.process.requests()
            throttled = sum(1 for entry in log_entries if entry.get('fault') == 'rate_limit')
            calls = collections.Counter(entry['call'] for entry in log_entries if entry.get('fault') != 'rate_limit')
            expected = calls_per_job(slices, project, names if state == 'changed' else [])
            row = {'section': 'slicing', 'state': state, 'slices': slices, 'hosts_per_slice': SLICE_HOSTS,
                   'rate_limit': RATE_LIMIT, 'wall': wall, 'failed_slices': failed, 'answered_calls': dict(calls),
                   'kps_calls': sum(calls.values()), 'throttled': throttled, 'requests': len(log_entries),
                   'expected_calls': expected, 'project_keypairs': len(project), 'keys': KEYS,
                   'export_calls': _export_calls(calls)}
            rows.append(row)
            log('  %s: %d slices x %d hosts, %.1fs wall, %d KPS calls answered (formula: %d), %d answered 429, '
                '%d failed slice(s)' % (state, slices, SLICE_HOSTS, wall, row['kps_calls'], expected, throttled,
                                        len(failed)))
            if failed:
                raise BenchError('slice(s) %s failed:\n%s' % (failed, outputs[failed[0]][1][-3000:]))
        shutil.rmtree(homes, ignore_errors=True)
    return rows
