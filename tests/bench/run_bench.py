# Copyright: Contributors to the huaweicloud.kps collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""``make bench``: API calls per operation, per-task cost and scaling of huaweicloud.kps, against the emulator.

    .venv/bin/python tests/bench/run_bench.py [--only calls,per-task,scaling,fleet,slicing,batch-import] [--runs 5] [--quick] [--keep]

Starts and stops its own emulators (one per section, loopback only), prints the tables, and writes
``tests/bench/results/bench-<time>.json``, ``latest.json``, ``latest.md`` (the tables as Markdown) and
``bench.png``. Exit code 0 when every call count matches its expectation, 1 when one does not (the time goals
are reported, never enforced: they depend on the machine), 2 when a measured run failed. See README.md.
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import signal
import subprocess
import sys
import time

from benchlib import ROOT, BenchError, collections_dir, remove_tree, tempdir

RESULTS_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'results')
SECTIONS = ('calls', 'per-task', 'scaling', 'fleet', 'slicing', 'batch-import')
GOAL_PING_RATIO = 1.25
GOAL_URI_RATIO = 1.0
GOAL_FLOOR_RATIO = 1.05
GOAL_EXPORT_1000_SECONDS = 10.0


def log(text):
    print(text, flush=True)


def _meta():
    def git(*args):
        proc = subprocess.run(['git', '-C', ROOT] + list(args), capture_output=True, text=True, check=False)
        return proc.stdout.strip()

    from ansible.release import __version__ as ansible_version  # pylint: disable=import-outside-toplevel
    return {'date': datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%dT%H:%M:%SZ'),
            'commit': git('rev-parse', '--short', 'HEAD'), 'dirty': bool(git('status', '--porcelain', '--', 'plugins')),
            'python': platform.python_version(), 'ansible_core': ansible_version, 'cpus': os.cpu_count(),
            'load_before': os.getloadavg()}


# ----- tables ------------------------------------------------------------------------------------------------

def table(headers, rows):
    """A plain-text table and its Markdown form."""
    cells = [[str(cell) for cell in row] for row in rows]
    widths = [max(len(headers[i]), *(len(row[i]) for row in cells)) if cells else len(headers[i])
              for i in range(len(headers))]
    lines = ['  '.join(h.ljust(widths[i]) for i, h in enumerate(headers)).rstrip(),
             '  '.join('-' * width for width in widths)]
    lines += ['  '.join(row[i].ljust(widths[i]) for i in range(len(headers))).rstrip() for row in cells]
    markdown = ['| %s |' % ' | '.join(headers), '|%s|' % '|'.join('---' for _header in headers)]
    markdown += ['| %s |' % ' | '.join(row) for row in cells]
    return '\n'.join(lines), '\n'.join(markdown)


def _calls_text(calls):
    short = {'show_keypair': 'show', 'list_keypairs': 'list', 'create_keypair': 'create', 'batch_import_keypairs': 'batch-import',
             'import_private_key': 'import', 'export_private_key': 'export', 'batch_export_private_keys': 'batch',
             'clear_private_key': 'clear', 'update_keypair': 'update', 'delete_keypair': 'delete',
             'iam_projects': 'iam-projects', 'iam_token': 'iam-token'}
    order = list(short)
    names = sorted(calls, key=lambda call: order.index(call) if call in order else len(order))
    return ' '.join('%s:%d' % (short.get(call, call), calls[call]) for call in names if calls[call]) or '-'


def calls_table(rows):
    body = [[row['operation'], row['case'], 'yes' if row['project_id'] else 'no', row['state'], row['kps_calls'],
             row['iam_calls'], row['export_calls'], _calls_text(row['calls']), _calls_text(row['expected']),
             'ok' if row['match'] else 'MISMATCH'] for row in rows]
    return table(['operation', 'case', 'project_id', 'state', 'KPS', 'IAM', 'export calls', 'measured',
                  'expected', 'check'], body)


def _ms(seconds):
    return '-' if seconds is None else '%.0f ms' % (seconds * 1000)


def per_task_table(result):
    body = []
    for variant, row in result['per_task'].items():
        module = result['modules'][variant]
        imports = module['imports']
        body.append([variant, _ms(row['wall']), _ms(row['cpu'])]
                    + ['%.2fx' % row['%s_vs_%s' % (kind, ref)] for ref in ('ping', 'uri', 'floor')
                       for kind in ('wall', 'cpu')]
                    + [_ms(module['wall']), _ms(module.get('cpu')), '%.1f MiB' % (module['peak_rss_kib'] / 1024.0),
                       _ms(module['import_total']),
                       ', '.join('%s %s' % (label, _ms(value)) for label, value in imports.items()) or '-'])
    headers = ['task', 'wall/task', 'CPU/task', 'wall vs ping', 'CPU vs ping', 'wall vs uri', 'CPU vs uri',
               'wall vs floor', 'CPU vs floor', 'module process', 'module CPU', 'peak RSS', 'imports',
               'imports by package (cumulative)']
    text, markdown = table(headers, body)
    note = ('%d tasks per playbook, median of %d runs; baseline (playbook with no task) %s wall, %s CPU, '
            'subtracted before dividing by %d.' % (result['tasks'], result['runs'], _ms(result['baseline']['wall']),
                                                   _ms(result['baseline']['cpu']), result['tasks']))
    export = result['per_task']['export']
    if 'wall_vs_floor_rounds' in export:
        note += (' Export vs floor, ratio of each round, quartiles: wall %.2fx to %.2fx, CPU %.2fx to %.2fx.'
                 % (export['wall_vs_floor_rounds'] + export['cpu_vs_floor_rounds']))
    return text + '\n' + note, markdown + '\n\n' + note


def scaling_table(rows):
    body = []
    for row in rows:
        body.append([row['style'], row['n'], row['state'], '%.2f s' % row['wall'], '%.2f s' % row['cpu'],
                     '%.0f' % row['kps_calls'], '%.0f' % row['export_calls'],
                     '%.1f ms' % (1000.0 * row['wall'] / row['n']),
                     'extrapolated' if row['extrapolated'] else _calls_text(row['calls'])])
    return table(['style', 'N', 'state', 'wall', 'CPU', 'KPS calls', 'export calls', 'wall per key', 'calls / note'],
                 body)


def fleet_table(rows):
    body = []
    for row in rows:
        unchanged, changed = row['unchanged'], row['changed']
        body.append([row['hosts'], '%.2f s' % row['ping'], '%.2f s' % unchanged['wall'], '%.2fx' % unchanged['vs_ping'],
                     '%.2fx' % (unchanged['cpu'] / row['ping_cpu']), '%.2f s' % changed['wall'],
                     '%.2fx' % changed['vs_ping'], '%.2fx' % (changed['cpu'] / row['ping_cpu']),
                     _calls_text(unchanged['calls']), unchanged['export_calls'], _calls_text(changed['calls']),
                     row['rounds']])
    return table(['hosts', 'ping play (wall)', 'role unchanged', 'wall vs ping', 'CPU vs ping', 'role changed',
                  'wall vs ping', 'CPU vs ping', 'KPS calls unchanged', 'export calls unchanged', 'KPS calls changed',
                  'rounds'], body)


def slicing_table(rows):
    from bench_fleet import RATE_LIMIT  # pylint: disable=import-outside-toplevel
    body = [[row['state'], '%d x %d hosts' % (row['slices'], row['hosts_per_slice']), '%.1f s' % row['wall'],
             row['kps_calls'], row['expected_calls'], row['throttled'], row['export_calls'],
             'all succeeded' if not row['failed_slices'] else 'FAILED: %s' % row['failed_slices']] for row in rows]
    text, markdown = table(['run', 'slices', 'wall', 'KPS calls answered', 'formula', '429s absorbed',
                            'export calls', 'slices'], body)
    note = ('One emulator throttled to %d requests/s (HTTP 429, Retry-After: 1). Formula (docs/benchmark.md): '
            'calls per job = S x (ceil(P / 1000) + [some host of the slice needs keys] x (lookup(K) + ceil(K/10))), '
            'S slices, P key pairs in the project, K key pairs needed, lookup: the rule of section 1.' % RATE_LIMIT)
    return text + '\n' + note, markdown + '\n\n' + note


def batch_import_table(rows):
    body = [[row['n'], row['state'], '%.2f s' % row['wall'], '%.2f s' % row['cpu'], row['kps_calls'], row['writes'],
             _calls_text(row['calls']), _calls_text(row['expected']), 'ok' if row['match'] else 'MISMATCH']
            for row in rows]
    return table(['keys', 'run', 'wall', 'CPU', 'KPS calls', 'writes', 'measured', 'expected', 'check'], body)


def goals(results):
    out = []
    from bench_fleet import GOAL_CHANGED, GOAL_UNCHANGED  # pylint: disable=import-outside-toplevel
    for row in results.get('fleet') or []:
        for state, goal in (('unchanged', GOAL_UNCHANGED), ('changed', GOAL_CHANGED)):
            ratio = row[state]['vs_ping']
            out.append(['role %s on %d host(s) <= %.1fx ping play' % (state, row['hosts'], goal), '%.2fx' % ratio,
                        'met' if ratio <= goal else 'missed by %.0f%%' % (100 * (ratio / goal - 1))])
        out.append(['no export call in an unchanged run, %d host(s)' % row['hosts'],
                    '%d' % row['unchanged']['export_calls'], 'met' if row['unchanged']['export_calls'] == 0 else 'MISSED'])
    for row in results.get('slicing') or []:
        out.append(['job slicing (%s): every slice succeeds, calls = formula' % row['state'],
                    '%d/%d calls, %d failed' % (row['kps_calls'], row['expected_calls'], len(row['failed_slices'])),
                    'met' if not row['failed_slices'] and row['kps_calls'] == row['expected_calls'] else 'MISSED'])
    per_task = results.get('per_task')
    if per_task:
        for variant in ('import', 'export'):
            row = per_task['per_task'][variant]
            out.append(['unchanged %s wall per task <= %.2fx ping' % (variant, GOAL_PING_RATIO),
                        '%.2fx' % row['wall_vs_ping'], 'met' if row['wall_vs_ping'] <= GOAL_PING_RATIO else
                        'missed by %.0f%%' % (100 * (row['wall_vs_ping'] / GOAL_PING_RATIO - 1))])
            out.append(['unchanged %s wall per task <= uri' % variant, '%.2fx' % row['wall_vs_uri'],
                        'met' if row['wall_vs_uri'] <= GOAL_URI_RATIO else
                        'missed by %.0f%%' % (100 * (row['wall_vs_uri'] / GOAL_URI_RATIO - 1))])
        row = per_task['per_task']['export']
        for kind, label in (('cpu', 'CPU'), ('wall', 'wall')):
            ratio = row['%s_vs_floor' % kind]
            out.append(['unchanged export %s per task <= %.2fx floor' % (label, GOAL_FLOOR_RATIO), '%.2fx' % ratio,
                        'met' if ratio <= GOAL_FLOOR_RATIO else
                        'missed by %.0f%%' % (100 * (ratio / GOAL_FLOOR_RATIO - 1))])
    for row in results.get('scaling') or []:
        if row['style'] == 'names' and row['n'] == 1000 and row['state'] == 'changed':
            out.append(['export of 1000 keys in one task < %.0f s (whole playbook)' % GOAL_EXPORT_1000_SECONDS,
                        '%.2f s' % row['wall'], 'met' if row['wall'] < GOAL_EXPORT_1000_SECONDS else
                        'missed by %.0f%%' % (100 * (row['wall'] / GOAL_EXPORT_1000_SECONDS - 1))])
    from bench_batch_import import GOAL_CHANGED_SECONDS, GOAL_REPEAT_SECONDS  # pylint: disable=import-outside-toplevel
    for row in results.get('batch_import') or []:
        if row['state'] not in ('changed', 'unchanged'):
            continue  # the refused run has no goal
        goal = GOAL_CHANGED_SECONDS if row['state'] == 'changed' else GOAL_REPEAT_SECONDS
        text = '%d keys hosted in one task < %.0f s' if row['state'] == 'changed' else \
            'repeat of the %d-key task < %.0f s, 0 writes'
        met = row['wall'] < goal and (row['state'] == 'changed' or row['writes'] == 0)
        out.append([text % (row['n'], goal), '%.2f s, %d writes' % (row['wall'], row['writes']),
                    'met' if met else 'MISSED'])
    calls = results.get('calls')
    if calls:
        bad = [row for row in calls if not row['match']]
        out.append(['call counts as expected (%d operations)' % len(calls), '%d mismatch(es)' % len(bad),
                    'met' if not bad else 'MISSED'])
    return table(['goal', 'measured', 'status'], out) if out else None


# ----- chart -------------------------------------------------------------------------------------------------

def chart(results, path):
    try:
        import matplotlib  # pylint: disable=import-outside-toplevel
        matplotlib.use('Agg')
        import matplotlib.pyplot as plt  # pylint: disable=import-outside-toplevel
    except ImportError:
        log('matplotlib is not installed: no chart (make bench installs tests/bench/requirements.txt)')
        return None
    panels = [name for name in ('per_task', 'scaling') if results.get(name)]
    if not panels:
        return None
    fig, axes = plt.subplots(1, len(panels), figsize=(5.2 * len(panels), 3.6), dpi=100, squeeze=False)
    axes = axes[0]
    if 'per_task' in panels:
        ax = axes[panels.index('per_task')]
        per_task = results['per_task']['per_task']
        names = list(per_task)
        xs = range(len(names))
        ax.bar([x - 0.2 for x in xs], [per_task[n]['wall'] * 1000 for n in names], 0.4, label='wall')
        ax.bar([x + 0.2 for x in xs], [per_task[n]['cpu'] * 1000 for n in names], 0.4, label='CPU')
        ax.axhline(per_task['ping']['wall'] * 1000 * GOAL_PING_RATIO, color='grey', linestyle=':', linewidth=1,
                   label='goal: %.2fx ping wall' % GOAL_PING_RATIO)
        ax.set_xticks(list(xs))
        ax.set_xticklabels(names)
        ax.set_ylabel('ms per task')
        ax.set_title('Cost of one task (unchanged)')
        ax.legend(fontsize=8)
    if 'scaling' in panels:
        ax = axes[panels.index('scaling')]
        for style, state, marker in (('names', 'changed', 'o'), ('names', 'unchanged', 's'),
                                     ('loop', 'changed', '^'), ('loop', 'unchanged', 'v')):
            rows = sorted((row for row in results['scaling'] if row['style'] == style and row['state'] == state),
                          key=lambda row: row['n'])
            measured = [row for row in rows if not row['extrapolated']]
            line = ax.plot([row['n'] for row in measured], [row['wall'] for row in measured], marker=marker,
                           label='%s, %s' % (style, state))[0]
            if len(rows) > len(measured) and measured:
                tail = [measured[-1]] + [row for row in rows if row['extrapolated']]
                ax.plot([row['n'] for row in tail], [row['wall'] for row in tail], linestyle='--',
                        color=line.get_color())
        ax.axhline(GOAL_EXPORT_1000_SECONDS, color='grey', linestyle=':', linewidth=1, label='goal: 1000 keys < 10 s')
        ax.set_xscale('log')
        ax.set_yscale('log')
        ax.set_xlabel('key pairs exported (N)')
        ax.set_ylabel('playbook wall time (s)')
        ax.set_title('names task vs loop of name (dashed: extrapolated)')
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


# ----- main --------------------------------------------------------------------------------------------------

def _terminate(signum, _frame):
    raise SystemExit(128 + signum)  # runs the finally blocks: emulators and SSH hosts are stopped


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n', 1)[0])
    parser.add_argument('--only', default=','.join(SECTIONS), help='comma-separated sections: %s' % ', '.join(SECTIONS))
    parser.add_argument('--runs', type=int, default=5, help='rounds of the per-task playbooks (default 5)')
    parser.add_argument('--quick', action='store_true', help='small sizes and 5 tasks per playbook (a smoke run)')
    parser.add_argument('--keep', action='store_true', help='keep the work directory (playbooks, emulator state)')
    parser.add_argument('--output', default=RESULTS_DIR, help='where to write the JSON, Markdown and PNG')
    options = parser.parse_args(argv)
    sections = [name.strip() for name in options.only.split(',') if name.strip()]
    unknown = sorted(set(sections) - set(SECTIONS))
    if unknown:
        parser.error('unknown section(s): %s' % ', '.join(unknown))

    signal.signal(signal.SIGTERM, _terminate)
    workdir = tempdir('kps-bench-')
    # A given KPS_TEST_COLLECTIONS_DIR (e.g. a copy of an older tree, for before/after figures) is used as is.
    os.environ.setdefault('KPS_TEST_COLLECTIONS_DIR', collections_dir(os.path.join(workdir, 'collections')))
    # pylint: disable=import-outside-toplevel
    import bench_batch_import as batch_import_section
    import bench_calls as calls_section
    import bench_fleet as fleet_section
    import bench_per_task as per_task_section
    import bench_scaling as scaling_section

    results = {'meta': _meta()}
    started = time.monotonic()
    status = 0
    try:
        if 'calls' in sections:
            log('== 1. KPS and IAM calls per operation')
            results['calls'] = calls_section.measure(workdir, log, quick=options.quick)
        if 'per-task' in sections:
            log('== 2. Cost per task (%d rounds)' % options.runs)
            results['per_task'] = per_task_section.measure(workdir, log, runs=options.runs, quick=options.quick)
        if 'scaling' in sections:
            log('== 3. Scaling: one names task vs a loop of single-name calls')
            results['scaling'] = scaling_section.measure(workdir, log, quick=options.quick)
        if 'fleet' in sections:
            log('== 4. The role at fleet scale: unchanged and changed against a ping play on the same hosts')
            results['fleet'] = fleet_section.measure(workdir, log, runs=min(options.runs, 3), quick=options.quick)
        if 'slicing' in sections:
            log('== 5. AWX job slicing: concurrent slices against a throttled KPS')
            results['slicing'] = fleet_section.slicing(workdir, log, quick=options.quick)
        if 'batch-import' in sections:
            log('== 6. A migration: existing private keys hosted by one kps_private_key_import task with keys')
            results['batch_import'] = batch_import_section.measure(workdir, log, quick=options.quick)
    except BenchError as exc:
        log('benchmark run failed: %s' % exc)
        status = 2
    finally:
        if options.keep:
            log('work directory kept: %s' % workdir)
        else:
            remove_tree(workdir)
    results['meta']['seconds'] = time.monotonic() - started
    results['meta']['load_after'] = os.getloadavg()

    markdown = []
    for key, title, render in (('calls', '1. KPS and IAM calls per operation', calls_table),
                               ('per_task', '2. Cost per task (unchanged runs)', per_task_table),
                               ('scaling', '3. Scaling: names task vs loop of name', scaling_table),
                               ('fleet', '4. The role at fleet scale (K = 2 key pairs, forks 5, pipelining)', fleet_table),
                               ('slicing', '5. AWX job slicing against a throttled KPS', slicing_table),
                               ('batch_import', '6. A migration: 1000 existing keys hosted by one task', batch_import_table)):
        if results.get(key):
            text, md = render(results[key])
            log('\n%s\n%s' % (title, text))
            markdown.append('### %s\n\n%s\n' % (title, md))
    goal_tables = goals(results)
    if goal_tables:
        log('\nGoals\n%s' % goal_tables[0])
        markdown.append('### Goals\n\n%s\n' % goal_tables[1])
    meta = results['meta']
    footer = ('commit %s%s, Python %s, ansible-core %s, %s CPUs, load average %.1f before / %.1f after, '
              'bench took %.0f s' % (meta['commit'], ' (plugins/ modified)' if meta['dirty'] else '', meta['python'],
                                     meta['ansible_core'], meta['cpus'], meta['load_before'][0], meta['load_after'][0],
                                     meta['seconds']))
    log('\n' + footer)
    markdown.append(footer + '\n')

    os.makedirs(options.output, exist_ok=True)
    stamp = datetime.datetime.now().strftime('%Y%m%d-%H%M%S')
    for name in ('bench-%s.json' % stamp, 'latest.json'):
        with open(os.path.join(options.output, name), 'w') as handle:
            json.dump(results, handle, indent=1, sort_keys=True)
    with open(os.path.join(options.output, 'latest.md'), 'w') as handle:
        handle.write('\n'.join(markdown))
    png = chart(results, os.path.join(options.output, 'bench.png'))
    log('results: %s%s' % (os.path.join(options.output, 'latest.json'), ', ' + png if png else ''))
    if status == 0 and any(not row['match'] for row in (results.get('calls') or []) + (results.get('batch_import') or [])):
        status = 1
    if status == 0 and (any(row['unchanged']['export_calls'] for row in results.get('fleet') or [])
                        or any(row['kps_calls'] != row['expected_calls'] for row in results.get('slicing') or [])):
        status = 1
    return status


if __name__ == '__main__':
    sys.exit(main())
