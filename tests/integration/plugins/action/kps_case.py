# Copyright: Contributors to the huaweicloud.kps collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Test-only action plugin: frame one test case of a batched playbook (fault matrix, bad input).

It runs on the controller, inside the ansible-playbook process, so a case costs one module run, not three.

``phase: before``: drop queued faults, clear the request log, set the clock skew, queue ``faults``, expire
tokens when asked, and return a snapshot of the key pairs ``keypairs`` (the emulator's full records, with
the hosted private key replaced by its SHA-256) and of the local ``paths`` (files, and every entry of
directories: SHA-256, mode, size).

``phase: after``: read the request log and the faults left, take the same snapshot, reset the clock and the
faults, and write ``{case, result, before, after, requests, faults_left}`` to ``record_dir/<case>.json``,
where the Python test asserts on it.
"""
from __future__ import annotations

import hashlib
import json
import os
import stat
import urllib.error
import urllib.request
from urllib.parse import quote

from ansible.plugins.action import ActionBase


def _control(url, method, path, body=None):
    data = None if body is None else json.dumps(body).encode('utf-8')
    request = urllib.request.Request(url.rstrip('/') + '/_emulator' + path, data=data, method=method,
                                     headers={'Content-Type': 'application/json'})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # nosec - loopback test emulator
            return json.loads(response.read() or b'null')
    except urllib.error.HTTPError as exc:
        if exc.code == 404 and path.startswith('/keypairs/'):
            return None
        raise


def _keypair(url, name):
    record = _control(url, 'GET', '/keypairs/' + quote(name, safe=''))
    if record is None:
        return None
    private_key = record.pop('private_key', None)
    record['private_key_sha256'] = hashlib.sha256(private_key.encode('utf-8')).hexdigest() if private_key else None
    return record


def _file(path):
    try:
        st = os.lstat(path)
    except OSError:
        return None
    if not stat.S_ISREG(st.st_mode):
        return {'type': 'other', 'mode': stat.S_IMODE(st.st_mode)}
    with open(path, 'rb') as handle:
        digest = hashlib.sha256(handle.read()).hexdigest()
    return {'type': 'file', 'sha256': digest, 'mode': stat.S_IMODE(st.st_mode), 'size': st.st_size}


def _path(path):
    if os.path.isdir(path) and not os.path.islink(path):
        return {'type': 'dir', 'mode': stat.S_IMODE(os.stat(path).st_mode),
                'entries': dict((name, _file(os.path.join(path, name))) for name in sorted(os.listdir(path)))}
    return _file(path)


def snapshot(url, keypairs, paths):
    return {'keypairs': dict((name, _keypair(url, name)) for name in keypairs or []),
            'paths': dict((path, _path(path)) for path in paths or [])}


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = False

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        args = self._task.args
        url = args['emulator']
        phase = args.get('phase', 'before')
        if phase == 'before':
            _control(url, 'DELETE', '/faults')
            _control(url, 'DELETE', '/requests')
            _control(url, 'POST', '/clock', {'skew_seconds': args.get('clock_skew') or 0})
            if args.get('faults'):
                _control(url, 'POST', '/faults', args['faults'])
            if args.get('expire_tokens'):
                _control(url, 'POST', '/tokens/expire')
            result['snapshot'] = snapshot(url, args.get('keypairs'), args.get('paths'))
            return result
        record = {
            'case': args['case'],
            'result': args.get('result'),
            'before': args.get('before'),
            'requests': _control(url, 'GET', '/requests'),
            'faults_left': _control(url, 'GET', '/faults'),
            'after': snapshot(url, args.get('keypairs'), args.get('paths')),
        }
        _control(url, 'DELETE', '/faults')
        _control(url, 'POST', '/clock', {'skew_seconds': 0})
        path = os.path.join(args['record_dir'], '%s.json' % args['case'])
        with open(path, 'w') as handle:
            json.dump(record, handle, default=repr, sort_keys=True)
        return result
