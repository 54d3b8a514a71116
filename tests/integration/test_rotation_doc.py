# Copyright: Contributors to the huaweicloud.kps collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""docs/rotation.md, section "Trying it on your own machine, without SSH hosts", run as written.

The code blocks are read from the page; the commands run in bash in one work directory, with the environment that
getting-started.md section 1 sets (test_getting_started.py checks that the page sets exactly that) and no ``$USER``,
as a root shell of a container has none. The page works on the ``~/.ssh`` of the user that runs it, root here: the
commands run in a mount namespace of their own in which root's home is an overlay whose writes stay in the test's
tmpfs, so root's real ``~/.ssh`` is left alone. What a comment after a command promises (``changed=N``, a failure) is
checked, and so are the files and KPS afterwards.
"""
from __future__ import annotations

import os
import pwd
import re
import shlex
import shutil
import subprocess

import pytest

from integration.doc_blocks import code_blocks, commands, run_bash
from integration.harness import TESTS_DIR
from integration.test_getting_started import RECAP_RE

PAGE = os.path.join(os.path.dirname(TESTS_DIR), 'docs', 'rotation.md')
SECTION = '## Trying it on your own machine, without SSH hosts'


@pytest.fixture
def own_home(ansible, tmp_path_factory):
    """(argv that runs a command in the namespace, in the work directory, without $USER; root's home as the namespace
    shows it).

    The namespace's root home is the real one overlaid by a tmpfs (its ``~/.ssh`` hidden, as on a fresh machine):
    what the commands write there never reaches the real one, and ends with the namespace."""
    if os.geteuid() != 0 or not all(shutil.which(tool) for tool in ('unshare', 'nsenter', 'mount')):
        pytest.skip('the try-out needs root, unshare, nsenter and mount (a home of its own for root)')
    home = pwd.getpwuid(0).pw_dir
    scratch = shlex.quote(str(tmp_path_factory.mktemp('root-home')))
    script = ('mount -t tmpfs -o mode=0700,size=16m kps-root-home {s} && mkdir {s}/upper {s}/work && '
              'mount -t overlay -o lowerdir={h},upperdir={s}/upper,workdir={s}/work kps-root-home {h} && '
              'rm -rf {h}/.ssh && echo ready && exec sleep infinity').format(s=scratch, h=shlex.quote(home))
    with subprocess.Popen(['unshare', '--mount', '--propagation', 'private', 'sh', '-c', script],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as holder:
        try:
            if holder.stdout.readline().strip() != 'ready':
                pytest.skip('no home of its own for root here: %s' % holder.stderr.read().strip())
            yield (['nsenter', '--target', str(holder.pid), '--mount', '--wd=' + ansible.workdir, '--', 'env', '-u', 'USER'],
                   '/proc/%d/root%s' % (holder.pid, home))
        finally:
            holder.kill()
    assert not os.path.exists(os.path.join(home, '.ssh', 'id_tryout-1'))  # the real home stayed as it was


def test_the_local_try_out_runs_as_written(ansible, emulator, own_home):
    blocks = code_blocks(PAGE, SECTION)
    assert [language for language, _text in blocks] == ['console', 'yaml', 'yaml', 'console']
    setup, distribute, rotate, runs = (text for _language, text in blocks)
    for name, text in (('distribute.yml', distribute), ('rotate.yml', rotate)):
        with open(os.path.join(ansible.workdir, name), 'w', encoding='utf-8') as handle:
            handle.write(text)
    env = emulator.module_env()
    inside, home = own_home
    for command, _comment in commands(setup):
        run_bash(ansible, command, env, prefix=inside)
    assert emulator.keypair('tryout-1')['is_key_protection'] is True

    ssh_dir = os.path.join(home, '.ssh')
    for command, comment in commands(runs):
        proc = run_bash(ansible, command, env, fails=comment.startswith('fails'), prefix=inside)
        if comment.startswith('fails'):
            message = ' '.join(proc.stdout.split())
            assert ('the new key pair tryout-2 cannot be shown to log in on localhost (the login check logs in with '
                    'ssh to 127.0.0.1 port 22, and localhost uses the local connection, which needs no sshd: give the '
                    'host the ansible_host and ansible_port of its sshd, or set kps_key_rotation_verify: false to '
                    'rotate without the check)' in message), message[-3000:]
            assert 'would rotate on no host; keeping tryout-1 on localhost' in message
            assert emulator.keypair('tryout-2') is None
        else:
            expected = int(re.match(r'changed=(\d+)', comment).group(1))
            assert [int(value) for value in RECAP_RE.findall(proc.stdout)] == [expected], (command, proc.stdout[-3000:])
        if command == 'ansible-playbook distribute.yml':
            assert sorted(os.listdir(ssh_dir)) == ['authorized_keys', 'id_tryout-1']

    # After the rotation: the new key file and line replaced the old ones; KPS no longer hosts the old private key.
    assert sorted(os.listdir(ssh_dir)) == ['authorized_keys', 'id_tryout-2']
    with open(os.path.join(ssh_dir, 'authorized_keys'), encoding='utf-8') as handle:
        assert [line.split()[-1] for line in handle] == ['huaweicloud.kps:tryout-2']
    assert emulator.keypair('tryout-1')['is_key_protection'] is False
    assert emulator.keypair('tryout-2')['is_key_protection'] is True
