# Copyright: Contributors to the huaweicloud.kps collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Apply each deliberate bug of hack/mutations.yml to a copy of the tree and run the tests that must catch it.

A mutation is caught when its tests fail, survived when they pass (a rule that no test guards), and broken when
its ``old`` text is not in the file exactly once (the list is stale: fix the entry) or pytest could not run the
tests (a test id that no longer exists). The work tree is never changed: the tracked and new files are copied to
a temporary directory, and each mutation is applied there alone and undone before the next.

Usage: hack/mutation.py [--only ID ...] [--list] [--keep] [--timeout SECONDS] [--pytest-args '-n 2']
Exit status: 0 when every mutation was caught, 1 otherwise. Not part of `make test` (it runs the covering tests
once per mutation); `make mutation` runs it.
"""
from __future__ import annotations

import argparse
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import time

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LIST = os.path.join(ROOT, 'hack', 'mutations.yml')
FIELDS = ('id', 'rule', 'file', 'old', 'new', 'tests')


def load(path=LIST):
    """The mutation list, checked: every entry has every field, ids are unique."""
    with open(path, encoding='utf-8') as handle:
        entries = yaml.safe_load(handle)
    seen = set()
    for number, entry in enumerate(entries, 1):
        # `new` may be empty (the change deletes `old`); every other field must say something.
        missing = [field for field in FIELDS if entry.get(field) in (None, '', []) and not (field == 'new' and field in entry)]
        if missing:
            raise SystemExit('%s: entry %d (%s) lacks %s' % (path, number, entry.get('id', '?'), ', '.join(missing)))
        if entry['id'] in seen:
            raise SystemExit('%s: id %s is used twice' % (path, entry['id']))
        seen.add(entry['id'])
    return entries


def copy_tree(destination):
    """The tracked and new (unignored) files of the work tree, as `make tree` copies them."""
    files = subprocess.run(['git', 'ls-files', '-z', '--cached', '--others', '--exclude-standard'], cwd=ROOT,
                           check=True, capture_output=True).stdout.split(b'\0')
    for name in filter(None, files):
        source = os.path.join(ROOT, os.fsdecode(name))
        if not os.path.lexists(source):  # deleted but not yet committed
            continue
        target = os.path.join(destination, os.fsdecode(name))
        os.makedirs(os.path.dirname(target), exist_ok=True)
        shutil.copy2(source, target, follow_symlinks=False)


def run_one(tree, entry, pytest_args, timeout):
    """Apply one mutation in ``tree``, run its tests, undo it. Returns (verdict, seconds, detail)."""
    path = os.path.join(tree, entry['file'])
    with open(path, encoding='utf-8') as handle:
        original = handle.read()
    count = original.count(entry['old'])
    if count != 1:
        return 'broken', 0.0, '`old` occurs %d times in %s (the entry is stale)' % (count, entry['file'])
    with open(path, 'w', encoding='utf-8') as handle:
        handle.write(original.replace(entry['old'], entry['new']))
    # A fresh environment for the tests: they lay out their own collections dir from this copy.
    env = {key: value for key, value in os.environ.items() if key != 'KPS_TEST_COLLECTIONS_DIR'}
    argv = [sys.executable, '-m', 'pytest', '-p', 'no:cacheprovider', '-q', '-x', '--no-header', '-rN']
    argv += shlex.split(pytest_args) + list(entry['tests'])
    start = time.monotonic()
    try:
        proc = subprocess.run(argv, cwd=tree, env=env, capture_output=True, text=True, check=False, timeout=timeout)
    except subprocess.TimeoutExpired:
        # A hang is an observable change too (a FIFO that blocks a read), but say so: a test should fail instead.
        return 'caught', time.monotonic() - start, 'timed out after %ds (the tests hang instead of failing)' % timeout
    finally:
        with open(path, 'w', encoding='utf-8') as handle:
            handle.write(original)
    seconds = time.monotonic() - start
    last = (proc.stdout.strip().splitlines() or [''])[-1]
    # pytest exits 1 when a test failed; with xdist, -x turns that into 2 (interrupted) after the first failure.
    if proc.returncode == 1 or (proc.returncode == 2 and ' failed' in last):
        return 'caught', seconds, last
    if proc.returncode == 0:
        return 'SURVIVED', seconds, last
    return 'broken', seconds, 'pytest exit %d: %s' % (proc.returncode, last or proc.stderr.strip()[-300:])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n', 1)[0])
    parser.add_argument('--only', nargs='+', metavar='ID', help='run these mutations only')
    parser.add_argument('--list', action='store_true', help='print the mutations and exit')
    parser.add_argument('--keep', action='store_true', help='keep the copy of the tree (its path is printed)')
    parser.add_argument('--timeout', type=int, default=900, help='seconds for the tests of one mutation (default 900)')
    parser.add_argument('--pytest-args', default='-n 2', help="extra pytest arguments (default: '-n 2')")
    args = parser.parse_args(argv)
    entries = load()
    if args.only:
        unknown = sorted(set(args.only) - {entry['id'] for entry in entries})
        if unknown:
            parser.error('unknown mutation ids: %s' % ', '.join(unknown))
        entries = [entry for entry in entries if entry['id'] in args.only]
    if args.list:
        for entry in entries:
            print('%-40s %s: %s' % (entry['id'], entry['file'], entry['rule']))
        return 0
    tree = tempfile.mkdtemp(prefix='kps-mutation-')
    try:
        copy_tree(tree)
        results = []
        for number, entry in enumerate(entries, 1):
            verdict, seconds, detail = run_one(tree, entry, args.pytest_args, args.timeout)
            results.append(verdict)
            print('[%d/%d] %-8s %-40s %5.0fs  %s' % (number, len(entries), verdict, entry['id'], seconds, detail),
                  flush=True)
    finally:
        if args.keep:
            print('tree kept in %s' % tree)
        else:
            shutil.rmtree(tree, ignore_errors=True)
    caught = results.count('caught')
    print('%d caught, %d survived, %d broken of %d mutations' % (
        caught, results.count('SURVIVED'), results.count('broken'), len(results)))
    return 0 if caught == len(results) else 1


if __name__ == '__main__':
    sys.exit(main())
