# Copyright: Contributors to the huaweicloud.kps collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""An unprivileged user on the host, created for one test and removed after it, and what it can do.

The tests run as root (the trusted side); the attacker is a real user made with ``useradd``, with a home
directory of its own (as every user has) below a test directory that other users can traverse. It acts
through ``setpriv --reuid/--regid --clear-groups``: no capability, no supplementary group.
"""
from __future__ import annotations

import grp
import os
import pwd
import shutil
import stat
import subprocess
import tempfile
import uuid

import pytest

needs_root = pytest.mark.skipif(os.geteuid() != 0 or not shutil.which('useradd') or not shutil.which('setpriv'),
                                reason='attack tests need root, useradd and setpriv')


def unique_name(prefix):
    return '%s%s' % (prefix, uuid.uuid4().hex[:8])  # user and group names: at most 32 characters


class Attacker:
    """A user ``name`` (uid/gid, home ``home``) that exists until ``remove()``."""

    def __init__(self, base):
        self.name = unique_name('kpsatk')
        home_root = os.path.join(base, 'home')
        os.makedirs(home_root, mode=0o755, exist_ok=True)
        self.home = os.path.join(home_root, self.name)
        subprocess.run(['useradd', '--create-home', '--home-dir', self.home, '--shell', '/usr/sbin/nologin',
                        '--user-group', self.name], check=True, capture_output=True)
        entry = pwd.getpwnam(self.name)
        self.uid, self.gid = entry.pw_uid, entry.pw_gid
        self.group = grp.getgrgid(self.gid).gr_name
        self._procs = []

    def argv(self, argv):
        return ['setpriv', '--reuid=%d' % self.uid, '--regid=%d' % self.gid, '--clear-groups', '--'] + list(argv)

    def run(self, argv, check=True):
        """Run ``argv`` as the attacker; returns the CompletedProcess (text)."""
        return subprocess.run(self.argv(argv), capture_output=True, text=True, check=check, timeout=120)

    def spawn(self, argv, **kwargs):
        proc = subprocess.Popen(self.argv(argv), **kwargs)  # pylint: disable=consider-using-with
        self._procs.append(proc)
        return proc

    def can_read(self, path):
        return self.run(['cat', str(path)], check=False).returncode == 0

    def symlink(self, target, link):
        self.run(['ln', '-s', str(target), str(link)])

    def remove(self):
        for proc in self._procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        subprocess.run(['userdel', '--remove', self.name], check=False, capture_output=True)
        try:
            grp.getgrnam(self.name)
        except KeyError:
            return
        subprocess.run(['groupdel', self.name], check=False, capture_output=True)


class Group:
    """A group the attacker is not in, until ``remove()``."""

    def __init__(self):
        self.name = unique_name('kpsgrp')
        subprocess.run(['groupadd', self.name], check=True, capture_output=True)
        self.gid = grp.getgrnam(self.name).gr_gid

    def remove(self):
        subprocess.run(['groupdel', self.name], check=False, capture_output=True)


def attack_base():
    """A root-owned directory that every user can traverse (not the test's 0700 tmp_path)."""
    base = tempfile.mkdtemp(prefix='kps-attack-')
    os.chmod(base, 0o755)
    return base


def file_state(path):
    """What an attack must not change: content, owner, group, mode and inode of a file."""
    st = os.lstat(str(path))
    with open(str(path), 'rb') as handle:
        return handle.read(), st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode), st.st_ino
