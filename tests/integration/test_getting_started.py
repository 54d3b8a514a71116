# Copyright: Contributors to the huaweicloud.kps collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""docs/getting-started.md, section "1. Against the local emulator", run as written.

The code blocks are read from the page itself, so the page and this test cannot drift apart. Only two things
differ from a reader's shell: the test starts the emulator itself (on a free port, so the block that starts it
is skipped and the URL in the ``export`` block is replaced), and the secret key the reader pastes comes from
stdin. Every command runs in bash in one work directory; what a comment after a command promises
(``changed=N``, the public key ``ssh-keygen -y`` prints) is checked.
"""
from __future__ import annotations

import os
import re
import subprocess

from integration.harness import TESTS_DIR

PAGE = os.path.join(os.path.dirname(TESTS_DIR), 'docs', 'getting-started.md')
SECTION = '## 1. Against the local emulator'
DOC_URL = 'http://127.0.0.1:8443'
BLOCK_RE = re.compile(r'^```(\w+)\n(.*?)^```$', re.M | re.S)
RECAP_RE = re.compile(r'^localhost\s+: ok=\d+\s+changed=(\d+)\s+unreachable=0\s+failed=0', re.M)


def _blocks():
    """(language, text) of every code block in the section, in order."""
    with open(PAGE, encoding='utf-8') as handle:
        text = handle.read()
    section = text.split(SECTION, 1)[1].split('\n## ', 1)[0]
    return BLOCK_RE.findall(section)


def _commands(text):
    """(command, comment) per line of a console block."""
    result = []
    for line in text.splitlines():
        command, _sep, comment = line.partition('  #')
        if command.strip():
            result.append((command.strip(), comment.strip()))
    return result


def _bash(ansible, command, env, stdin=None):
    run_env = ansible.env(env)
    proc = subprocess.run(['bash', '-c', command], cwd=ansible.workdir, env=run_env, input=stdin,
                          capture_output=True, text=True, check=False, timeout=600)
    ansible.check_run(run_env, proc.stdout, proc.stderr)
    assert proc.returncode == 0, '%s failed (rc=%d)\n%s\n%s' % (
        command, proc.returncode, proc.stdout[-5000:], proc.stderr[-3000:])
    return proc


def test_getting_started_runs_as_written(ansible, emulator):
    blocks = _blocks()
    languages = [language for language, _text in blocks]
    assert languages == ['console', 'console', 'console', 'yaml', 'console', 'console'], languages
    start, exports, keygen, playbook, runs, check_key = (text for _language, text in blocks)

    # The block that starts the emulator is replaced by the test's own emulator, on the port the page names.
    assert 'make emulator' in start and '8443' in start
    assert DOC_URL in exports
    pasted = re.search(r'# paste (\S+)', exports).group(1)
    assert pasted == emulator.secret_key, 'the page must show the emulator\'s default secret key'
    # The environment the block leaves goes to a file: it holds the secret key, which no output may show.
    dump = os.path.join(ansible.workdir, '.environment')
    _bash(ansible, exports.replace(DOC_URL, emulator.url) + '\nenv -0 > %s\n' % dump, {},
          stdin=emulator.secret_key + '\n')
    with open(dump, encoding='utf-8') as handle:
        doc_env = dict(item.split('=', 1) for item in handle.read().split('\0') if item.startswith('HW_'))
    os.unlink(dump)
    assert doc_env == dict(emulator.module_env()), 'the page must set exactly what the modules need'

    for command, _comment in _commands(keygen):
        _bash(ansible, command, doc_env)
    with open(os.path.join(ansible.workdir, 'first.yml'), 'w', encoding='utf-8') as handle:
        handle.write(playbook)

    written = os.path.join(ansible.workdir, 'exported', 'deploy.pem')
    steps = _commands(runs)
    assert [command for command, _comment in steps] == [
        'ansible-playbook first.yml --check --diff', 'ansible-playbook first.yml', 'ansible-playbook first.yml']
    for index, (command, comment) in enumerate(steps):
        proc = _bash(ansible, command, doc_env)
        expected = int(re.match(r'changed=(\d+)', comment).group(1))
        assert [int(value) for value in RECAP_RE.findall(proc.stdout)] == [expected], proc.stdout[-3000:]
        if index == 0:
            # Check mode wrote nothing and created nothing, and said why the export could go on.
            assert not os.path.exists(written) and emulator.keypair('deploy') is None
            assert 'key pair deploy does not exist in KPS' in ' '.join(proc.stderr.split())
    assert os.stat(written).st_mode & 0o777 == 0o600

    with open(os.path.join(ansible.workdir, 'deploy_key.pub'), encoding='utf-8') as handle:
        public = handle.read().split()[:2]
    assert public[0] == 'ssh-ed25519'
    ((command, comment),) = _commands(check_key)
    assert command == 'ssh-keygen -y -f exported/deploy.pem' and 'deploy_key.pub' in comment
    assert _bash(ansible, command, doc_env).stdout.split()[:2] == public
