# Copyright: Contributors to the huaweicloud.kps collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Make the work tree importable as ``ansible_collections.huaweicloud.kps`` and ``tests/`` importable.

ansible-test needs the tree to live under ``ansible_collections/huaweicloud/kps``; plain pytest does
not, so we point a symlink at the work tree from a private directory (imports follow symlinks). The process
that made the directory removes it when it exits; its xdist workers and the ansible processes the tests
start find it through KPS_TEST_COLLECTIONS_DIR.
"""
from __future__ import annotations

import atexit
import os
import shutil
import sys
import tempfile

TESTS_DIR = os.path.dirname(os.path.abspath(__file__))
COLLECTION_ROOT = os.path.dirname(TESTS_DIR)


def _collections_dir():
    """Return a directory holding ansible_collections/huaweicloud/kps for this work tree."""
    parts = COLLECTION_ROOT.split(os.sep)
    if parts[-3:-1] == ['ansible_collections', 'huaweicloud']:
        return os.sep.join(parts[:-3])  # already laid out as a collection (ansible-test, installed copy)
    base = tempfile.mkdtemp(prefix='kps-collections-')
    atexit.register(shutil.rmtree, base, ignore_errors=True)  # removes the symlink, never what it points to
    namespace_dir = os.path.join(base, 'ansible_collections', 'huaweicloud')
    os.makedirs(namespace_dir)
    os.symlink(COLLECTION_ROOT, os.path.join(namespace_dir, 'kps'))
    return base


COLLECTIONS_DIR = os.environ.get('KPS_TEST_COLLECTIONS_DIR') or _collections_dir()
os.environ['KPS_TEST_COLLECTIONS_DIR'] = COLLECTIONS_DIR  # subprocesses (ansible-playbook) reuse it
for path in (COLLECTIONS_DIR, TESTS_DIR):
    if path not in sys.path:
        sys.path.insert(0, path)
