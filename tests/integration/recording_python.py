# Copyright: Contributors to the huaweicloud.kps collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A managed host's Python that records what each module received, and that can lie in its reports.

Test helper: a host's ``ansible_python_interpreter`` is a small script (:func:`interpreter`) that runs this file
with the real Python. For every module run (pipelined: the module on stdin; or a module file as argument) it
appends one JSON line to ``KPS_RECORD_LOG``: the host, the module, and for ``kps_host_keys`` the names of the
private keys it was given (never the keys). With ``KPS_FAKE_NEEDS=name,...`` the host is compromised: the report
of every ``kps_host_keys`` call without private keys asks for those key pairs too (``needs_private_keys``,
OpenSSH format, ``pending``).
"""
from __future__ import annotations

import ast
import json
import os
import stat
import subprocess
import sys


def interpreter(path, host, log, fake_needs=()):
    """Write an interpreter script for ``host`` at ``path``; returns the path."""
    with open(path, 'w') as handle:
        handle.write('#!/bin/sh\nKPS_RECORD_HOST=%s KPS_RECORD_LOG=%s KPS_FAKE_NEEDS=%s exec %s %s "$@"\n' % (
            host, log, ','.join(fake_needs), sys.executable, os.path.abspath(__file__)))
    os.chmod(path, stat.S_IRWXU)
    return path


def _module_call(source):
    """(module name, module arguments) of an AnsiballZ payload."""
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call) and getattr(node.func, 'id', None) == '_ansiballz_main':
            found = {keyword.arg: ast.literal_eval(keyword.value) for keyword in node.keywords
                     if keyword.arg in ('ansible_module', 'params')}
            return found['ansible_module'], json.loads(found['params'])['ANSIBLE_MODULE_ARGS']
    return None, {}


def main():
    if len(sys.argv) > 1:
        with open(sys.argv[1], 'rb') as handle:
            payload = handle.read()
        proc = subprocess.run([sys.executable] + sys.argv[1:], capture_output=True, check=False)
    else:
        payload = sys.stdin.buffer.read()
        proc = subprocess.run([sys.executable], input=payload, capture_output=True, check=False)
    module, args = _module_call(payload.decode('utf-8'))
    stdout = proc.stdout
    if module in ('kps_host_keys', 'huaweicloud.kps.kps_host_keys'):
        given = args.get('private_keys')
        entry = {'host': os.environ['KPS_RECORD_HOST'], 'module': module.rsplit('.', 1)[-1],
                 'private_keys': sorted(given) if given is not None else None}
        with open(os.environ['KPS_RECORD_LOG'], 'a') as handle:
            handle.write(json.dumps(entry) + '\n')
        fake = [name for name in os.environ.get('KPS_FAKE_NEEDS', '').split(',') if name]
        if fake and given is None:
            result = json.loads(stdout)
            needs = result.setdefault('needs_private_keys', {})
            needs['openssh'] = sorted(set(needs.get('openssh', [])) | set(fake))
            result['pending'] = True
            stdout = json.dumps(result).encode('utf-8')
    sys.stdout.buffer.write(stdout)
    sys.stderr.buffer.write(proc.stderr)
    sys.exit(proc.returncode)


if __name__ == '__main__':
    main()
