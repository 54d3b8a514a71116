# Copyright: Contributors to the huaweicloud.kps collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Section 2: what one task costs, side by side with the same ansible-playbook.

Playbooks of 20 tasks each on localhost (``-c local``): ``ansible.builtin.ping``, ``ansible.builtin.uri`` doing
the KPS show call with an IAM token (what a user without this collection would write), our import (unchanged)
and our export (unchanged, with ``dest``), the floor of the export's stack (``library/kps_bench_floor.py``: one
GET with requests, the public key of the same file derived with cryptography), plus a playbook with no task as
the baseline (start-up and play overhead). They run round-robin, ``runs`` rounds, in a rotated order, so that drift in the machine's load hits
every variant alike. Per-task cost = (median total - median baseline) / 20, for wall and CPU time.

Then the module process on its own: each module's AnsiballZ payload (kept with ANSIBLE_KEEP_REMOTE_FILES=1)
is run directly, ``runs`` times, for its wall time, CPU time and peak RSS (``os.wait4``), and once more per run
under ``python -X importtime`` for the import time by package.
"""
from __future__ import annotations

import glob
import os
import re
import statistics
import subprocess
import sys
import time

from benchlib import BenchError, Emulator, median

from kps_emulator import keys
from kps_emulator.testing import seed_keypairs

TASKS = 20
VARIANTS = ('ping', 'uri', 'import', 'export', 'floor')
REFERENCES = ('ping', 'uri', 'floor')
KEY = 'pertask-key'
# The floor module is test-only; every playbook (the baseline too) runs with the same library path.
LIBRARY = {'ANSIBLE_LIBRARY': os.path.join(os.path.dirname(os.path.abspath(__file__)), 'library')}
IMPORTTIME_RE = re.compile(r'^import time:\s+(\d+)\s+\|\s+(\d+)\s+\|( *)(\S+)\s*$')
# Packages whose cumulative import time is reported on its own (first import of each).
IMPORT_GROUPS = (
    ('ansible basic', 'ansible.module_utils.basic'),
    ('ansible urls', 'ansible.module_utils.urls'),
    ('requests', 'requests'),
    ('cryptography', 'cryptography.hazmat.primitives.serialization'),
    ('collection utils', 'ansible_collections.huaweicloud.kps.plugins.module_utils._module'),
)


def _task(variant, emu, key_path, dest, token):
    show_url = '%s/v3/%s/keypairs/%s' % (emu.url, emu.process.project_id, KEY)
    if variant == 'ping':
        return {'ansible.builtin.ping': {}}
    if variant == 'uri':
        return {'ansible.builtin.uri': {
            'url': show_url, 'headers': {'X-Auth-Token': token}, 'return_content': False, 'status_code': 200}}
    if variant == 'floor':
        return {'kps_bench_floor': {'url': show_url, 'token': token, 'path': dest}}
    if variant == 'import':
        return {'huaweicloud.kps.kps_private_key_import': {'name': KEY, 'private_key_path': key_path}}
    return {'huaweicloud.kps.kps_private_key_export': {'name': KEY, 'dest': dest}}


def _tasks(variant, count, *args):
    return [dict({'name': '%s %d' % (variant, index + 1)}, **_task(variant, *args)) for index in range(count)]


def parse_importtime(text):
    """(total microseconds of top-level imports, {group label: cumulative microseconds})."""
    total = 0
    groups = {}
    wanted = dict((module, label) for label, module in IMPORT_GROUPS)
    for line in text.splitlines():
        match = IMPORTTIME_RE.match(line)
        if not match:
            continue
        cumulative, indent, module = int(match.group(2)), len(match.group(3)), match.group(4)
        if indent <= 1:
            total += cumulative
        if module in wanted and wanted[module] not in groups:
            groups[wanted[module]] = cumulative
    return total, groups


def run_payload(payload, importtime=False):
    """Run an AnsiballZ payload; returns (wall seconds, CPU seconds, peak RSS in KiB, stderr text)."""
    argv = [sys.executable] + (['-X', 'importtime'] if importtime else []) + [payload]
    start = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    stderr = proc.stderr.read()
    _pid, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    proc.stderr.close()
    if proc.returncode != 0:
        raise BenchError('payload %s failed (rc=%d): %s' % (payload, proc.returncode, stderr[-2000:]))
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss, stderr


def quartiles(values):
    """(first quartile, third quartile) of ``values``: the spread printed next to a median."""
    if len(values) < 2:
        return (values[0], values[0]) if values else (None, None)
    low, _median, high = statistics.quantiles(values, n=4, method='inclusive')
    return low, high


def measure(workdir, log, runs=5, quick=False):
    tasks = 5 if quick else TASKS
    with Emulator(workdir, 'per-task') as emu:
        client = emu.client()
        # An RSA 2048 key pair, what KPS generates; hosted, and in a local file for the import task.
        private_key, public_key = keys.generate('rsa')
        client.json('POST', client.kps(), {'keypair': {'name': KEY, 'public_key': public_key, 'key_protection': {
            'private_key': private_key, 'encryption': {'type': 'default'}}}}, expect=200)
        seed_keypairs(client, 20, prefix='pertask-other-')  # a project that holds more than this one key
        key_path = os.path.join(emu.workdir, 'import.pem')
        with open(key_path, 'w') as handle:
            handle.write(private_key)
        dest = os.path.join(emu.workdir, 'export', KEY + '.pem')
        os.makedirs(os.path.dirname(dest), mode=0o700)
        token = emu.client().login()
        args = (emu, key_path, dest, token)

        playbooks = {'baseline': emu.write_playbook(emu.play([]), 'pertask-baseline')}
        for variant in VARIANTS:
            playbooks[variant] = emu.write_playbook(emu.play(_tasks(variant, tasks, *args)), 'pertask-' + variant)

        # Warm-up (not measured): creates the export file, fills caches; each module's payload is kept.
        payloads = {}
        for variant in VARIANTS:
            keep = os.path.join(emu.workdir, 'keep-' + variant)
            emu.playbook(emu.play(_tasks(variant, 1, *args)), name='pertask-warm-' + variant,
                         env=dict(LIBRARY, ANSIBLE_KEEP_REMOTE_FILES='1', ANSIBLE_REMOTE_TMP=keep, ANSIBLE_LOCAL_TEMP=keep))
            found = glob.glob(os.path.join(keep, '*', 'AnsiballZ_*.py'))
            if len(found) != 1:
                raise BenchError('expected one AnsiballZ payload for %s, found %r' % (variant, found))
            payloads[variant] = found[0]
        emu.playbook(playbooks['baseline'], env=LIBRARY)

        order = ['baseline'] + list(VARIANTS)
        samples = dict((name, {'wall': [], 'cpu': []}) for name in order)
        for round_index in range(runs):
            rotated = order[round_index % len(order):] + order[:round_index % len(order)]
            for name in rotated:
                run, calls = emu.counted(emu.playbook, playbooks[name], env=LIBRARY)
                samples[name]['wall'].append(run.wall)
                samples[name]['cpu'].append(run.cpu)
                if name in ('import', 'export', 'floor') and sum(calls.values()) != tasks:
                    raise BenchError('%s: expected %d KPS calls (one show per task), got %r' % (name, tasks, calls))
            log('  round %d/%d: %s' % (round_index + 1, runs, ', '.join(
                '%s %.2fs' % (name, samples[name]['wall'][-1]) for name in order)))

        base_wall, base_cpu = median(samples['baseline']['wall']), median(samples['baseline']['cpu'])
        per_task = {}
        for variant in VARIANTS:
            per_task[variant] = {
                'total_wall': median(samples[variant]['wall']), 'total_cpu': median(samples[variant]['cpu']),
                'wall': (median(samples[variant]['wall']) - base_wall) / tasks,
                'cpu': (median(samples[variant]['cpu']) - base_cpu) / tasks,
                'samples': samples[variant]}
        for variant in VARIANTS:
            for ref in REFERENCES:
                for kind in ('wall', 'cpu'):
                    per_task[variant]['%s_vs_%s' % (kind, ref)] = per_task[variant][kind] / per_task[ref][kind]
        # How noisy the export/floor ratio is: the ratio of each round (its baseline subtracted), quartiles.
        for kind in ('wall', 'cpu'):
            rounds = [(export - base) / (floor - base) for export, floor, base in zip(
                samples['export'][kind], samples['floor'][kind], samples['baseline'][kind])]
            per_task['export']['%s_vs_floor_rounds' % kind] = quartiles(rounds)

        # The module process alone: wall, peak RSS, import time.
        modules = {}
        for variant in VARIANTS:
            walls, cpus, rss, totals, groups = [], [], [], [], {}
            for _index in range(runs):
                wall, cpu, maxrss, _err = run_payload(payloads[variant])
                walls.append(wall)
                cpus.append(cpu)
                rss.append(maxrss)
                _wall, _cpu, _rss, stderr = run_payload(payloads[variant], importtime=True)
                total, by_group = parse_importtime(stderr)
                totals.append(total / 1e6)
                for label, micro in by_group.items():
                    groups.setdefault(label, []).append(micro / 1e6)
            modules[variant] = {'wall': median(walls), 'cpu': median(cpus), 'peak_rss_kib': median(rss),
                                'import_total': median(totals), 'payload_bytes': os.path.getsize(payloads[variant]),
                                'imports': dict((label, median(values)) for label, values in groups.items())}
            log('  module %-7s process %.3fs wall, %.3fs CPU, peak RSS %.1f MiB, imports %.3fs' % (
                variant, modules[variant]['wall'], modules[variant]['cpu'], modules[variant]['peak_rss_kib'] / 1024.0,
                modules[variant]['import_total']))
    return {'tasks': tasks, 'runs': runs, 'baseline': {'wall': base_wall, 'cpu': base_cpu,
                                                       'samples': samples['baseline']},
            'per_task': per_task, 'modules': modules}
