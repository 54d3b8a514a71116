# Copyright: Contributors to the huaweicloud.kps collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Section 3: exporting N key pairs with one ``names`` task versus a loop of N single-``name`` module calls.

A fresh emulator holds exactly 1000 hosted key pairs with RSA 2048 keys (what KPS generates; they share a pool of
40 keys so that seeding takes seconds, see ``benchlib.seed_rsa_keypairs``). For each N, the
``names`` task writes ``<dest>/<name>.pem`` for the first N key pairs (changed: the directory is new), then runs
again (unchanged). The loop is what a user would write without ``names``: ``loop`` over the names with
``name: "{{ item }}"`` and one ``dest`` file per item. The loop is measured for N = 10 and 100; for N = 1000 it
would take minutes, so its figures are extrapolated from the per-item cost between N = 10 and N = 100 and
marked as such.
"""
from __future__ import annotations

from benchlib import EXPORT_CALLS, Emulator, seed_rsa_keypairs, split_calls

SIZES = (10, 100, 1000)
LOOP_SIZES = (10, 100)
PROJECT_KEYPAIRS = 1000


def _row(style, count, state, run, calls, extrapolated=False):
    kps, iam = split_calls(calls)
    return {'section': 'scaling', 'style': style, 'n': count, 'state': state, 'wall': run.wall if run else None,
            'cpu': run.cpu if run else None, 'calls': dict(calls), 'kps_calls': kps, 'iam_calls': iam,
            'export_calls': sum(calls.get(call, 0) for call in EXPORT_CALLS), 'extrapolated': extrapolated}


def _extrapolate(rows, style, state, count):
    """Linear in N through the two measured loop sizes (per-item cost and fixed cost)."""
    small, large = [next(row for row in rows if row['style'] == style and row['state'] == state and row['n'] == n)
                    for n in LOOP_SIZES]
    span = float(large['n'] - small['n'])
    row = {'section': 'scaling', 'style': style, 'n': count, 'state': state, 'extrapolated': True, 'calls': {}}
    for field in ('wall', 'cpu', 'kps_calls', 'iam_calls', 'export_calls'):
        slope = (large[field] - small[field]) / span
        row[field] = large[field] + slope * (count - large['n'])
    return row


def measure(workdir, log, quick=False):
    sizes = (10, 100) if quick else SIZES
    loop_sizes = (10,) if quick else LOOP_SIZES
    rows = []
    with Emulator(workdir, 'scaling') as emu:
        names = seed_rsa_keypairs(emu.client(), max(sizes) if quick else PROJECT_KEYPAIRS, 'scale-')
        log('  seeded %d hosted RSA key pairs' % len(names))
        for count in sizes:
            task = {'huaweicloud.kps.kps_private_key_export': {
                'names': names[:count], 'dest': '%s/names-%d' % (emu.workdir, count), 'create_dirs': True}}
            for state in ('changed', 'unchanged'):
                run, calls = emu.counted(emu.playbook, emu.play([task]), name='scale-names-%d' % count)
                rows.append(_row('names', count, state, run, calls))
                log('  names  N=%-5d %-9s %7.2fs wall %7.2fs CPU, %d KPS calls (%d export)' % (
                    count, state, run.wall, run.cpu, rows[-1]['kps_calls'], rows[-1]['export_calls']))
        for count in loop_sizes:
            task = {'huaweicloud.kps.kps_private_key_export': {
                'name': '{{ item }}', 'dest': '%s/loop-%d/{{ item }}.pem' % (emu.workdir, count), 'create_dirs': True},
                'loop': names[:count]}
            for state in ('changed', 'unchanged'):
                run, calls = emu.counted(emu.playbook, emu.play([task]), name='scale-loop-%d' % count)
                rows.append(_row('loop', count, state, run, calls))
                log('  loop   N=%-5d %-9s %7.2fs wall %7.2fs CPU, %d KPS calls (%d export)' % (
                    count, state, run.wall, run.cpu, rows[-1]['kps_calls'], rows[-1]['export_calls']))
        if not quick:
            for count in sizes:
                if count not in loop_sizes:
                    for state in ('changed', 'unchanged'):
                        rows.append(_extrapolate(rows, 'loop', state, count))
    return rows
