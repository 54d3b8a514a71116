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
# Under ansible-test this file is imported as ansible_collections.huaweicloud.kps.tests.conftest, and tests/ is
# not on sys.path: put it there before importing from it.
if TESTS_DIR not in sys.path:
    sys.path.insert(0, TESTS_DIR)

from ansible_env import COLLECTIONS_DIR_VAR, laid_out_collections_dir, link_collection  # pylint: disable=wrong-import-position


def _private_dir():
    """A temp dir that the process that made it removes when it exits (the symlink, never what it points to)."""
    base = tempfile.mkdtemp(prefix='kps-collections-')
    atexit.register(shutil.rmtree, base, ignore_errors=True)
    return base


COLLECTIONS_DIR = os.environ.get(COLLECTIONS_DIR_VAR) or laid_out_collections_dir() or link_collection(_private_dir())
os.environ[COLLECTIONS_DIR_VAR] = COLLECTIONS_DIR  # subprocesses (ansible-playbook) reuse it
if COLLECTIONS_DIR not in sys.path:
    sys.path.insert(0, COLLECTIONS_DIR)
