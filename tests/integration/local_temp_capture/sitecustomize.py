# Copyright: Contributors to the huaweicloud.kps collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Keep a copy of every file that Ansible deletes from its local temporary directory (test helper).

Put this directory on PYTHONPATH and set KPS_LOCAL_TEMP_CAPTURE to a directory: in every Python process of the
run (ansible-playbook and its forked workers), an audit hook copies each regular file below ANSIBLE_LOCAL_TEMP
into that directory just before it is removed. Ansible deletes its temporary files right after use (the
`copy` action's content file, the module files it transfers without pipelining), so a test that scans the
capture directory sees what touched the controller's disk, however briefly.
"""
from __future__ import annotations

import itertools
import os
import shutil
import sys


def _install():
    capture = os.environ.get('KPS_LOCAL_TEMP_CAPTURE')
    local_temp = os.environ.get('ANSIBLE_LOCAL_TEMP')
    if not capture or not local_temp:
        return
    local_temp = os.path.realpath(local_temp) + os.sep
    counter = itertools.count()
    busy = []

    def hook(event, args):
        if event != 'os.remove' or busy:
            return
        path, dir_fd = args[0], args[1] if len(args) > 1 else None
        try:
            path = os.fsdecode(path)
            if dir_fd is not None and dir_fd >= 0 and not os.path.isabs(path):
                path = os.path.join(os.readlink('/proc/self/fd/%d' % dir_fd), path)
            path = os.path.realpath(path)
            if not path.startswith(local_temp) or not os.path.isfile(path):
                return
            busy.append(True)
            try:
                target = os.path.join(capture, '%d-%d-%s' % (os.getpid(), next(counter), os.path.basename(path)))
                shutil.copyfile(path, target)
            finally:
                busy.pop()
        except Exception:  # pylint: disable=broad-except  # never break the process under test
            pass

    os.makedirs(capture, exist_ok=True)
    sys.addaudithook(hook)


_install()
