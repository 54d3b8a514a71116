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

from integration.doc_blocks import code_blocks, commands, run_bash
from integration.harness import TESTS_DIR

PAGE = os.path.join(os.path.dirname(TESTS_DIR), 'docs', 'getting-started.md')
SECTION = '## 1. Against the local emulator'
DOC_URL = 'http://127.0.0.1:8443'
RECAP_RE = re.compile(r'^localhost\s+: ok=\d+\s+changed=(\d+)\s+unreachable=0\s+failed=0', re.M)


def _blocks(heading=SECTION):
    return code_blocks(PAGE, heading)


def test_getting_started_runs_as_written(ansible, emulator):
    blocks = _blocks()
    languages = [language for language, _text in blocks]
    assert languages == ['console', 'console', 'console', 'yaml', 'console', 'text', 'console'], languages
    start, exports, keygen, playbook, runs, warnings, check_key = (text for _language, text in blocks)
    warnings = warnings.splitlines()

    # The block that starts the emulator is replaced by the test's own emulator, on the port the page names.
    assert 'make emulator' in start and '8443' in start
    assert DOC_URL in exports
    pasted = re.search(r'# paste (\S+)', exports).group(1)
    assert pasted == emulator.secret_key, 'the page must show the emulator\'s default secret key'
    # The environment the block leaves goes to a file: it holds the secret key, which no output may show.
    dump = os.path.join(ansible.workdir, '.environment')
    run_bash(ansible, exports.replace(DOC_URL, emulator.url) + '\nenv -0 > %s\n' % dump, {},
             stdin=emulator.secret_key + '\n')
    with open(dump, encoding='utf-8') as handle:
        doc_env = dict(item.split('=', 1) for item in handle.read().split('\0') if item.startswith('HW_'))
    os.unlink(dump)
    assert doc_env == dict(emulator.module_env()), 'the page must set exactly what the modules need'

    for command, _comment in commands(keygen):
        run_bash(ansible, command, doc_env)
    with open(os.path.join(ansible.workdir, 'first.yml'), 'w', encoding='utf-8') as handle:
        handle.write(playbook)

    written = os.path.join(ansible.workdir, 'exported', 'deploy.pem')
    steps = commands(runs)
    assert [command for command, _comment in steps] == [
        'ansible-playbook first.yml --check --diff', 'ansible-playbook first.yml', 'ansible-playbook first.yml']
    for index, (command, comment) in enumerate(steps):
        proc = run_bash(ansible, command, doc_env)
        expected = int(re.match(r'changed=(\d+)', comment).group(1))
        assert [int(value) for value in RECAP_RE.findall(proc.stdout)] == [expected], proc.stdout[-3000:]
        # The warnings the page shows: the first two in every run, the third in the check run only.
        shown = [line for line in (proc.stdout + proc.stderr).splitlines() if line.startswith('[WARNING]')]
        assert shown == (warnings if index == 0 else warnings[:2]), shown
        if index == 0:
            # Check mode wrote nothing and created nothing, and said why the export could go on.
            assert not os.path.exists(written) and emulator.keypair('deploy') is None
            assert 'key pair deploy does not exist in KPS' in ' '.join(proc.stderr.split())
    assert os.stat(written).st_mode & 0o777 == 0o600

    with open(os.path.join(ansible.workdir, 'deploy_key.pub'), encoding='utf-8') as handle:
        public = handle.read().split()[:2]
    assert public[0] == 'ssh-ed25519'
    ((command, comment),) = commands(check_key)
    assert command == 'ssh-keygen -y -f exported/deploy.pem' and 'deploy_key.pub' in comment
    assert run_bash(ansible, command, doc_env).stdout.split()[:2] == public


def test_ad_hoc_forms_leak_nothing_on_failure(ansible, emulator):
    """The section "Ad hoc" as written: each command fails on purpose first (wrong secret key, wrong
    passphrase) at -vvvv, and the secret guard finds neither the secret key, the
    passphrases nor the key in the output (ansible-core prints a failed ad hoc task's arguments as typed); then
    the passphrase forms import the key. (-vvvv shows all that the normal verbosity shows, and more.)"""
    export, from_env, from_vault = (text for _language, text in _blocks('## Ad hoc'))
    passphrase, wrong = 'backup-key-passphrase-1', 'not-the-passphrase-22'
    vault_password = 'vault-password-of-the-test'
    for secret in (passphrase, wrong, vault_password):
        ansible.add_secret(secret)
    key = os.path.join(ansible.workdir, 'backup_key')
    subprocess.run(['ssh-keygen', '-q', '-t', 'ed25519', '-N', passphrase, '-f', key], check=True)
    with open(key, encoding='utf-8') as handle:
        ansible.add_secret(handle.read(), passphrase)
    doc_env = dict(emulator.module_env())

    ((command, _comment),) = commands(export)
    wrong_sk = dict(doc_env, HW_SECRET_KEY='WrongSecretKeyOfTheTest' + 'x' * 17)
    ansible.add_secret(wrong_sk['HW_SECRET_KEY'])
    proc = run_bash(ansible, command + ' -vvvv', wrong_sk, fails=True)
    assert 'APIGW.0301' in proc.stdout and "Origin: <adhoc 'huaweicloud.kps" in proc.stdout
    assert emulator.keypair('deploy') is None and not [entry for entry in emulator.requests() if entry['auth'] == 'aksk']

    (read, _comment), (command, _comment) = commands(from_env)
    assert read.startswith('read -rs HW_PRIVATE_KEY_PASSPHRASE') and 'private_key_passphrase' not in command
    proc = run_bash(ansible, read + '\n' + command + ' -vvvv', doc_env, stdin=wrong + '\n', fails=True)
    assert 'the passphrase is wrong' in proc.stdout, proc.stdout[-3000:]
    assert emulator.keypair('backup') is None
    proc = run_bash(ansible, read + '\n' + command, doc_env, stdin=passphrase + '\n')
    assert 'localhost | CHANGED' in proc.stdout and emulator.keypair('backup')['is_key_protection']

    (create, comment), (command, _comment) = commands(from_vault)
    assert create == 'ansible-vault create vault.yml' and 'pp: <the passphrase' in comment
    assert 'private_key_passphrase={{ pp }}' in command and command.endswith('-e @vault.yml --ask-vault-pass')
    # ansible-vault create runs $EDITOR on the new file: this one writes the line the comment describes. The
    # test has no terminal, which ansible-vault create refuses unless told (--skip-tty-check).
    editor = os.path.join(ansible.workdir, 'editor.sh')
    with open(editor, 'w', encoding='utf-8') as handle:
        handle.write('#!/bin/sh\nprintf "pp: %s\\n" "$TEST_PP" > "$1"\n')
    os.chmod(editor, 0o700)
    vault = os.path.join(ansible.workdir, 'vault.yml')
    for pp, outcome in ((wrong, 'the passphrase is wrong'), (passphrase, 'localhost | SUCCESS')):
        if os.path.exists(vault):
            os.unlink(vault)
        run_bash(ansible, create + ' --skip-tty-check', dict(doc_env, EDITOR=editor, TEST_PP=pp),
                 stdin=(vault_password + '\n') * 2)
        with open(vault, encoding='utf-8') as handle:
            assert handle.read().startswith('$ANSIBLE_VAULT;')
        proc = run_bash(ansible, command + (' -vvvv' if pp == wrong else ''), doc_env, stdin=vault_password + '\n',
                        fails=pp == wrong)
        assert outcome in proc.stdout, proc.stdout[-3000:]
