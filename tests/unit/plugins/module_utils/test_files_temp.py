# Copyright: Contributors to the huaweicloud.kps collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Temp file names of _files (used by kps_private_key_export and kps_private_key_file) and the clean-up of
those that killed runs left behind."""
from __future__ import annotations

import os
import stat
import subprocess
import sys
import time

from ansible_collections.huaweicloud.kps.plugins.module_utils import _files as runner


def _dead_pid():
    proc = subprocess.Popen(['true'])  # pylint: disable=consider-using-with
    proc.wait()
    return proc.pid


def _touch(path, age=0):
    path.write_text('secret')
    if age:
        when = time.time() - age
        os.utime(str(path), (when, when))
    return str(path)


def test_temp_prefix_names_the_file_host_and_process(tmp_path):
    prefix = runner.temp_prefix(str(tmp_path / 'web.pem'))
    assert prefix == '.web.pem.kps-%s-%d.' % (runner.host_tag(), os.getpid())


def test_stale_temp_files(tmp_path):
    dest = tmp_path / 'web.pem'
    tag = runner.host_tag()
    dead = _touch(tmp_path / ('.web.pem.kps-%s-%d.abc123.tmp' % (tag, _dead_pid())))
    old_elsewhere = _touch(tmp_path / '.web.pem.kps-0000beef-1.abc123.tmp', age=2 * runner.STALE_TEMP_AGE)
    _touch(tmp_path / ('.web.pem.kps-%s-%d.abc123.tmp' % (tag, os.getpid())))      # this run's own
    _touch(tmp_path / ('.web.pem.kps-%s-%d.abc123.tmp' % (tag, os.getppid())))     # a live process
    _touch(tmp_path / '.web.pem.kps-0000beef-1.abc123.tmp.keep')                    # not our pattern
    _touch(tmp_path / ('.web.pem.kps-0000beef-%d.abc123.tmp' % _dead_pid()))          # another host, recent: its pid
    # is dead here, so only the host tag keeps it (a pid on another host says nothing about a process here)
    other = _touch(tmp_path / ('.other.pem.kps-%s-%d.abc123.tmp' % (tag, _dead_pid())))  # another destination
    _touch(tmp_path / '.web.pem.abc123.tmp')                                          # not tagged: never ours
    os.symlink(dead, str(tmp_path / ('.web.pem.kps-%s-%d.link.tmp' % (tag, _dead_pid()))))  # a link: not ours
    with runner.open_dir(str(tmp_path)) as folder:
        assert folder.stale_temp_files(dest.name) == sorted(os.path.basename(path) for path in [dead, old_elsewhere])
        # Several destinations, one listing: each one's stale files, no others.
        assert folder.stale_temp_files(dest.name, 'other.pem') == sorted(
            os.path.basename(path) for path in [dead, old_elsewhere, other])
        assert folder.stale_temp_files('db.pem') == []


def test_a_killed_run_leaves_a_0600_temp_file_that_the_next_write_removes(tmp_path):
    """SIGKILL with the key complete in the temp file, just before its final mode: what is left is 0600,
    however wide the final mode (the final mode comes after fsync, immediately before the rename)."""
    script = (
        'import os, signal, sys\n'
        'from ansible_collections.huaweicloud.kps.plugins.module_utils import _files\n'
        'def killed(*args, **kwargs):\n'
        '    os.kill(os.getpid(), signal.SIGKILL)\n'
        '_files.os.fchmod = killed\n'
        '_files.write_secret_file(sys.argv[1], "secret", mode=0o644)\n')
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    proc = subprocess.run([sys.executable, '-c', script, str(tmp_path / 'web.pem')], env=env, check=False)
    assert proc.returncode == -9
    left = os.listdir(str(tmp_path))
    assert len(left) == 1 and left[0].startswith('.web.pem.kps-')
    assert stat.S_IMODE(os.stat(str(tmp_path / left[0])).st_mode) == 0o600
    runner.write_secret_file(str(tmp_path / 'web.pem'), 'new\n')
    assert os.listdir(str(tmp_path)) == ['web.pem']


def test_write_secret_file_removes_stale_temp_files(tmp_path):
    dest = tmp_path / 'key.pem'
    stale = _touch(tmp_path / ('.key.pem.kps-%s-%d.abc123.tmp' % (runner.host_tag(), _dead_pid())))
    runner.write_secret_file(str(dest), 'new\n')
    assert not os.path.exists(stale)
    assert sorted(os.listdir(str(tmp_path))) == ['key.pem']


def test_a_file_planted_at_the_temp_name_is_neither_written_nor_reused(tmp_path, monkeypatch):
    """Whoever can write the directory may guess a temp name: the temp file is created with O_EXCL, so a file or a
    link already there is left as it was and the write takes the next name."""
    victim = tmp_path / 'victim'
    victim.write_text('not yours\n')
    names = iter(['.web.pem.guessed.tmp', '.web.pem.linked.tmp', '.web.pem.free.tmp'])
    monkeypatch.setattr(runner, '_temp_name', lambda name: next(names))
    planted = tmp_path / '.web.pem.guessed.tmp'
    planted.write_text('planted\n')
    os.symlink(str(victim), str(tmp_path / '.web.pem.linked.tmp'))
    with runner.open_dir(str(tmp_path)) as folder:
        folder.write('web.pem', 'KEY\n')
    assert (tmp_path / 'web.pem').read_text() == 'KEY\n'
    assert planted.read_text() == 'planted\n' and victim.read_text() == 'not yours\n'
    assert os.path.islink(str(tmp_path / '.web.pem.linked.tmp'))
