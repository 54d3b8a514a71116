# Copyright: Contributors to the huaweicloud.kps collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A pytest run of this suite leaves nothing in the system temp directory (tests/conftest.py's collections dir)."""
from __future__ import annotations

import os
import subprocess
import sys

TESTS_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_a_pytest_run_leaves_nothing_in_the_system_temp_dir(tmp_path):
    system_tmp = tmp_path / 'tmp'
    system_tmp.mkdir()
    env = dict(os.environ, TMPDIR=str(system_tmp))
    env.pop('KPS_TEST_COLLECTIONS_DIR', None)  # as in a fresh run, which makes its own collections dir
    proc = subprocess.run([sys.executable, '-m', 'pytest', os.path.join(TESTS_DIR, 'unit', 'test_meta.py'),
                           '-p', 'no:cacheprovider', '-q', '--basetemp', str(tmp_path / 'basetemp')],
                          env=env, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert os.listdir(str(system_tmp)) == []
