# Copyright: Contributors to the huaweicloud.kps collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Docs pages run as written: their code blocks, their commands, and bash runs through the secret guard."""
from __future__ import annotations

import re
import subprocess

BLOCK_RE = re.compile(r'^```(\w+)\n(.*?)^```$', re.M | re.S)


def code_blocks(page, heading):
    """(language, text) of every code block in the section of ``page`` that starts with ``heading``, in order."""
    with open(page, encoding='utf-8') as handle:
        text = handle.read()
    section = text.split('\n' + heading + '\n', 1)[1].split('\n## ', 1)[0]
    return BLOCK_RE.findall(section)


def commands(text):
    """(command, comment) per line of a console block."""
    result = []
    for line in text.splitlines():
        command, _sep, comment = line.partition('  #')
        if command.strip():
            result.append((command.strip(), comment.strip()))
    return result


def run_bash(ansible, command, env, stdin=None, fails=False, cwd=None, prefix=()):
    """Run ``command`` in bash (in ``cwd``, default the runner's work dir) through the runner's secret guard; it
    must succeed (or fail, with ``fails``). ``prefix``: the argv that runs bash (e.g. nsenter into a namespace).

    A new session has no terminal, so prompts (``read -s``, ``--ask-vault-pass``) read ``stdin``."""
    run_env = ansible.env(env)
    proc = subprocess.run(list(prefix) + ['bash', '-c', command], cwd=cwd or ansible.workdir, env=run_env, input=stdin,
                          capture_output=True, text=True, check=False, timeout=600, start_new_session=True)
    ansible.check_run(run_env, proc.stdout, proc.stderr)
    assert (proc.returncode != 0) is fails, '%s: rc=%d\n%s\n%s' % (
        command, proc.returncode, proc.stdout[-5000:], proc.stderr[-3000:])
    return proc
